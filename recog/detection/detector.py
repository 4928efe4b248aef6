"""Using a trained text detector: an image in, text boxes out (``DetectionModel.detect``).

The image is scaled so its longer side is at most ``max_side`` pixels (a small image is enlarged
until its shorter side reaches ``min_side``, within that limit), padded to a multiple of 32, run
through the network, and the probability map is turned into boxes in the original image's
pixels (``recog_edge.boxes``). Huge images cost no more than a ``max_side`` one to detect
in; line crops are then taken from the full-resolution original.
"""

from __future__ import annotations

import numpy as np
import torch

from recog.detection.model import TextDetector
from recog_edge.boxes import DetectOptions, boxes_from_map, detection_input


class DetectionModel:
    """A trained TextDetector ready for whole images (uint8 RGB (H, W, 3))."""

    def __init__(self, model: TextDetector, options: DetectOptions | None = None) -> None:
        self.model = model.eval()
        self.options = options or DetectOptions()

    @torch.no_grad()
    def probability(self, image: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The text probability map of ``image`` at detection size (h, w), and the x and y scales
        back to the image."""
        height, width = image.shape[:2]
        padded, h, w = detection_input(image, self.options)
        x = torch.from_numpy(padded).permute(2, 0, 1)[None].float().div_(255)  # (1, 3, H', W')
        prob = self.model(x)["prob"][0, 0, :h, :w].numpy()  # (h, w)
        return prob, width / w, height / h

    def detect(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Text boxes of ``image``: ``(corners (4, 2) float32 in image pixels, score)``, corners
        top-left first and clockwise by the image's axes, in no particular order."""
        prob, sx, sy = self.probability(image)
        return boxes_from_map(prob, (sx, sy), self.options.boxes, image_size=image.shape[1::-1])
