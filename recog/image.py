"""Images in: arrays checked and converted to RGB, and SVTRv2's multi-size resizing (image files and
PDF pages are read by ``recog_edge.image_file``, which both runtimes use).

A text line of aspect ratio r = round(w / h) goes to one of a few fixed sizes (W x H):
1 -> 64x64, 2 -> 96x48, 3 -> 112x40, 4 -> 128x32, r > 4 -> 32r x 32, so glyphs keep their
shape and batches can group images of one size without padding.

Long lines: SVTRv2 caps r (at 25 in its configs) and squashes longer lines. We choose a larger
cap instead: 32r x 32 up to ``max_width`` = 4096 px (r = 128, ~250 characters of ordinary
type), so every real text line keeps its glyph shapes; the encoder's cost grows linearly in
width for its conv stages and it masks nothing (one size per batch). Only absurd strips wider
than that (e.g. 20000 x 20) are squashed to max_width, which also bounds memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from recog_edge import lines
from recog_edge.image_file import (  # noqa: F401 - one reader of image files and PDF pages for both runtimes
    MAX_PIXELS,
    ImageError,
    is_pdf,
    load_image,
    load_pdf_pages,
    to_rgb,
)


def image_from_array(array: np.ndarray, name: str = "array") -> np.ndarray:
    """An image given as an array -- (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA, uint8 (or floats
    in [0, 1]) -- as uint8 RGB (H, W, 3), with the checks files get; ``name`` for the message."""
    array = np.asarray(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    height, width = array.shape[:2]
    if width == 0 or height == 0:
        raise ImageError(f"{name}: empty image ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageError(f"{name}: image too large ({width}x{height} > {MAX_PIXELS} pixels)")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise ImageError(f"{name}: expected uint8 pixels or floats in [0, 1], got {array.dtype}")
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return to_rgb(Image.fromarray(array))


@dataclass(frozen=True)
class ImageConfig:
    """Multi-size resizing settings; they travel with every checkpoint."""

    height: int = 32
    max_width: int = 4096  # widest line kept unsquashed (ratio 128)
    luminance: bool = False  # the model reads each pixel's luminance in all three channels (ImageFrontend)
    width_scale: float = 1.0  # lines wider than ratio 4 are read this much narrower (fewer columns, faster)

    def __post_init__(self) -> None:
        if not 0.25 <= self.width_scale <= 2.0:
            raise ValueError(f"features.width_scale must be in [0.25, 2], got {self.width_scale}")


def target_size(width: int, height: int, config: ImageConfig = ImageConfig()) -> tuple[int, int]:
    """(W, H) an image of this size is resized to (``recog_edge.lines.target_size``)."""
    return lines.target_size(width, height, config.height, config.max_width, config.width_scale)


def resize_line(image: np.ndarray, config: ImageConfig = ImageConfig()) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (h, w, 3) at the multi-size target for its aspect ratio (one
    implementation with the edge runtime: ``recog_edge.lines.resize_line``)."""
    return lines.resize_line(image, config.height, config.max_width, config.width_scale)


class ImageFrontend(nn.Module):
    """uint8 images (B, H, W, 3) with valid widths (B,) -> float (B, 3, H, W) in [-1, 1]; with
    ``config.luminance`` every channel holds the pixel's luminance."""

    def __init__(self, config: ImageConfig | None = None) -> None:
        super().__init__()
        self.config = config or ImageConfig()

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = images.permute(0, 3, 1, 2).float()  # (B, 3, H, W)
        if self.config.luminance:  # Rec. 601 weights, as OpenCV's RGB2GRAY: hue alone says nothing
            x = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).expand(-1, 3, -1, -1)
        x = x / 127.5 - 1.0
        valid = torch.arange(x.shape[-1], device=x.device)[None, :] < widths[:, None]  # (B, W)
        return x * valid[:, None, None, :], widths
