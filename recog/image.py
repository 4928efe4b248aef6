"""Images in: PDF pages rendered to RGB (image files: ``recog_edge.image_file``, which both runtimes
read them with), and SVTRv2's multi-size resizing.

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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from recog_edge import lines
from recog_edge.image_file import MAX_PIXELS, ImageError, load_image, to_rgb  # noqa: F401 - one reader for both runtimes

PDF_DPI = 150  # PDF pages are rendered at this resolution unless told otherwise


def is_pdf(path: str | Path) -> bool:
    """Whether ``path`` names a PDF (by its suffix)."""
    return Path(path).suffix.lower() == ".pdf"


def pdf_page_count(path: str | Path) -> int:
    """The number of pages of a PDF; ImageError (naming it) where it cannot be opened or has none."""
    with _open_pdf(path) as pdf:
        return len(pdf)


def load_pdf_pages(path: str | Path, dpi: float = PDF_DPI, numbers: Iterable[int] | None = None
                   ) -> Iterator[tuple[int, np.ndarray | ImageError]]:
    """Render a PDF's pages (or only the pages ``numbers``, from 1) with pdfium: ``(page number
    from 1, uint8 RGB (H, W, 3))`` each, one at a time (memory holds one page). A page that would
    pass MAX_PIXELS at ``dpi`` is rendered at the largest resolution under it; a page that fails to
    render gives an ImageError naming the file and page in place of its image, and the others
    still come. A file that cannot be opened (corrupt, encrypted, no pages) raises ImageError."""
    import pypdfium2 as pdfium

    with _open_pdf(path) as pdf:
        wanted = range(len(pdf)) if numbers is None else [n - 1 for n in numbers if 0 < n <= len(pdf)]
        for index in wanted:
            try:
                page = pdf[index]
                width_pt, height_pt = page.get_size()
                scale = dpi / 72
                if width_pt * height_pt * scale**2 > MAX_PIXELS:
                    scale = (MAX_PIXELS / (width_pt * height_pt)) ** 0.5 * 0.999
                bitmap = page.render(scale=scale)
                yield index + 1, to_rgb(bitmap.to_pil())
            except (pdfium.PdfiumError, ValueError, OSError) as err:
                yield index + 1, ImageError(f"{path}: page {index + 1}: cannot be rendered ({err})")


class _open_pdf:  # noqa: N801 - used as a context manager like open()
    """A pypdfium2 document, closed on exit; ImageError naming the file where it cannot be opened."""

    def __init__(self, path: str | Path) -> None:
        import pypdfium2 as pdfium

        path = Path(path)
        if not path.is_file():
            raise ImageError(f"{path}: no such file")
        try:
            self.pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as err:
            reason = "encrypted (needs a password)" if "password" in str(err).lower() else f"not a readable PDF ({err})"
            raise ImageError(f"{path}: {reason}") from None
        if len(self.pdf) == 0:
            self.pdf.close()
            raise ImageError(f"{path}: the PDF has no pages")

    def __enter__(self):  # noqa: ANN204
        return self.pdf

    def __exit__(self, *exc: object) -> None:
        self.pdf.close()


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
