"""Reading image files and PDF pages, for recog and recog-edge alike, so both runtimes read the same
pixels: any file Pillow opens (PNG, JPEG, BMP, TIFF, WebP, GIF, AVIF, ...) as uint8 RGB (H, W, 3),
with its EXIF orientation applied, transparency composited on white (black text on a transparent
background reads as printed), 16-bit and float images scaled to 8 bits, and decompression bombs
refused before they are decoded; PDF pages rendered by pdfium (pypdfium2). Every error is an
``ImageError`` whose message names the file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 64_000_000  # refuse decompression bombs before decoding
PDF_DPI = 150  # PDF pages are rendered at this resolution unless told otherwise


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3): EXIF orientation applied; modes 1, L, LA, P,
    RGB, RGBA, I;16 / I, F and CMYK converted (alpha composited on white, 16-bit scaled to 8);
    animated files use their first frame."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: {'a folder, not an image' if path.is_dir() else 'no such file'}")
    if is_pdf(path):
        raise ImageError(f"{path}: a PDF, not an image (its pages are read as pages, not as text lines)")
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width == 0 or height == 0:
                raise ImageError(f"{path}: empty image ({width}x{height})")
            if width * height > MAX_PIXELS:
                raise ImageError(f"{path}: image too large ({width}x{height} > {MAX_PIXELS} pixels)")
            img.seek(0)
            return to_rgb(ImageOps.exif_transpose(img))
    except ImageError:
        raise
    except Exception as err:  # noqa: BLE001 - UnidentifiedImageError, OSError, SyntaxError, EOFError, struct.error...
        reason = str(err).split("\n")[0] or type(err).__name__
        raise ImageError(f"{path}: not readable as an image ({reason})") from None


def to_rgb(img: Image.Image) -> np.ndarray:
    """A Pillow image of any mode -> uint8 RGB (H, W, 3): 16-bit and float values scaled from their
    own range to 0-255, transparency composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(img, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        gray = scaled.astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def is_pdf(path: str | Path) -> bool:
    """Whether ``path`` names a PDF (by its suffix)."""
    return Path(path).suffix.lower() == ".pdf"


def load_pdf_pages(path: str | Path, dpi: float = PDF_DPI, numbers: Iterable[int] | None = None
                   ) -> Iterator[tuple[int, np.ndarray | ImageError]]:
    """Render a PDF's pages (or only the pages ``numbers``, from 1) with pdfium: ``(page number
    from 1, uint8 RGB (H, W, 3))`` each, one at a time (memory holds one page). A page that would
    pass MAX_PIXELS at ``dpi`` is rendered at the largest resolution under it; a page that fails to
    render gives an ImageError naming the file and page in place of its image, and the others
    still come. A file that cannot be opened (corrupt, encrypted, no pages) raises ImageError."""
    with _open_pdf(path) as pdf:
        pdfium = _pdfium(path)
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
        path = Path(path)
        if not path.is_file():
            raise ImageError(f"{path}: no such file")
        pdfium = _pdfium(path)
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


def _pdfium(path: Path):  # noqa: ANN202 - the pypdfium2 module
    """pypdfium2, which renders PDF pages (recog depends on it; for recog-edge it is the ``pdf``
    extra); ImageError naming ``path`` where it is not installed."""
    try:
        import pypdfium2
    except ImportError:
        raise ImageError(f"{path}: reading PDF pages needs pypdfium2 (pip install pypdfium2, or "
                         "recog-edge[pdf])") from None
    return pypdfium2
