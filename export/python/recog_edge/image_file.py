"""Reading image files, for recog and recog-edge alike, so both runtimes read the same pixels:
any file Pillow opens (PNG, JPEG, BMP, TIFF, WebP, GIF, ...) as uint8 RGB (H, W, 3), with its EXIF
orientation applied, transparency composited on white (black text on a transparent background reads
as printed), 16-bit and float images scaled to 8 bits, and decompression bombs refused before they
are decoded. Every error is an ``ImageError`` whose message names the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 64_000_000  # refuse decompression bombs before decoding


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3): EXIF orientation applied; modes 1, L, LA, P,
    RGB, RGBA, I;16 / I, F and CMYK converted (alpha composited on white, 16-bit scaled to 8);
    animated files use their first frame."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: {'a folder, not an image' if path.is_dir() else 'no such file'}")
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
