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
from recog_edge.boxes import DetectOptions, detect_page


class DetectionModel:
    """A trained TextDetector ready for whole images (uint8 RGB (H, W, 3))."""

    def __init__(self, model: TextDetector, options: DetectOptions | None = None) -> None:
        self.model = model.eval()
        self.options = options or DetectOptions()

    def detect(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Text boxes of ``image``: ``(corners (4, 2) float32 in image pixels, score)``, corners
        top-left first and clockwise by the image's axes, in no particular order; a page whose
        lines run up or down is detected a quarter turn round too (``recog_edge.boxes.detect_page``)."""
        return detect_page(image, self.map, self.options)

    @torch.no_grad()
    def map(self, batch: np.ndarray) -> np.ndarray:
        """A ``detection_input`` batch (1, H, W, 3) uint8 -> its probability map (H, W)."""
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255)  # (1, 3, H, W)
        return self.model(x)["prob"][0, 0].numpy()
