"""Whole-image OCR: find the text lines (``recog.detection``), read each with a text-line model,
and put them in reading order.

    import recog
    reader = recog.load("latin-det")           # the detector with the default text-line model
    page = reader.read("scan.png")              # or an (H, W, 3) array
    print(page.text)                            # reading order, blank lines between blocks
    for line in page.lines:
        print(line.text, line.box, line.confidence)   # box: 4 corners in the image's pixels
    pages = reader.read_pages("doc.pdf")        # one Page per PDF page (images give one)

Each detected box is cut out by a perspective warp, turned upright along its long side, and read.
The longest few lines of each direction are read turned half a turn too; where most of them
read surer so, all lines of that direction are turned, so upside-down pages (and lines) read
right at the cost of a few extra crops per page. The page's orientation is the one most
of its lines have, and its tilt their median tilt; reading order is found in that upright frame
(``recog_edge.layout``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from recog.detection.detector import DetectionModel
from recog.image import ImageError, image_from_array, is_pdf, load_image, load_pdf_pages
from recog.inference import Recognition, RecognitionModel
from recog_edge.pages import Page, PageLine, is_line_image, read_boxes, read_page
from recog_edge.pieces import PIECE

UNSURE_BELOW = 0.9  # --draw marks readings less confident than this


def image_size(path: str | Path) -> tuple[int, int] | None:
    """(height, width) from an image file's header, without decoding it; None where unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
    except Exception:  # noqa: BLE001 - any failure: the full read reports it properly
        return None
    return height, width


def is_line_file(path: str | Path) -> bool:
    """Whether an image file looks like one text line (``is_line_image``). PDFs do not; a file whose
    header cannot be read counts as one, so it needs no detector to be reported as unreadable."""
    if is_pdf(path):
        return False
    size = image_size(path)
    return size is None or is_line_image(*size)


class PageReader:
    """A text detector and a text-line recogniser reading whole images and PDF pages.

    Args:
        detector: the detection model. recognizer: the text-line model.
        turn: find lines set upside down (a few of each direction are read turned too; see ``read_boxes``).
        piece: lines wider than this many heights are read in pieces cut at word gaps
            (``recog_edge.pieces``; 0: whole).
        search_options: DecodingOptions for the recogniser (e.g. ``beam=4``).
    """

    def __init__(self, detector: DetectionModel, recognizer: RecognitionModel, turn: bool = True,
                 piece: int = PIECE, **search_options: Any) -> None:
        if recognizer.kind != "image":
            raise ValueError("PageReader needs a text-line recogniser, not a speech model")
        self.detector = detector
        self.recognizer = recognizer
        self.turn, self.piece = turn, piece
        self.search_options = search_options

    def read(self, source: str | Path | np.ndarray, name: str | None = None) -> Page:
        """One image file or array (uint8 (H, W[, 3|4])) -> its Page; ImageError naming it where
        it cannot be read. A PDF is read with ``read_pages``."""
        if isinstance(source, np.ndarray):
            return self.read_image(image_from_array(source, name or "array"), name or "array")
        if is_pdf(source):
            raise ImageError(f"{source}: a PDF has pages: read it with read_pages")
        return self.read_image(load_image(source), str(source))

    def read_pages(self, path: str | Path) -> list[Page]:
        """Every page of a PDF (rendered at 150 dpi), or the one page of an image file; ImageError
        naming the file (and page) where one cannot be read."""
        return [page if isinstance(page, Page) else _raise(page) for _, page in self.read_each([path])]

    def read_each(self, paths: Iterable[str | Path], dpi: float = 150) -> Iterator[tuple[str, Page | ImageError]]:
        """``(name, Page or ImageError)`` for every image file and every page of every PDF, in order;
        a bad file or page never stops the rest. PDF pages render at ``dpi``."""
        for path in paths:
            if not is_pdf(path):
                try:
                    yield str(path), self.read(path)
                except ImageError as err:
                    yield str(path), err
                continue
            try:
                for number, image in load_pdf_pages(path, dpi):
                    if isinstance(image, ImageError):
                        yield f"{path}#{number}", image
                    else:
                        page = self.read_image(image, str(path))
                        page.page = number
                        yield f"{path}#{number}", page
            except ImageError as err:
                yield str(path), err

    def read_inputs(self, paths: Iterable[str | Path], mode: str = "auto", dpi: float = 150
                    ) -> Iterator[tuple[str, Page | Recognition | Exception]]:
        """``(name, result or error)`` for image files and PDFs in order: a line image (``mode``
        "auto" and ``is_line_file``, or ``mode`` "lines") is read directly as one text line (a
        Recognition; consecutive ones in batches), anything else (``mode`` "detect", PDFs) as a page."""
        if mode not in ("auto", "lines", "detect"):
            raise ValueError(f"mode must be auto, lines or detect, got {mode!r}")
        run: list[str] = []
        for path in paths:
            if mode == "lines" or (mode == "auto" and is_line_file(path)):
                run.append(str(path))
                continue
            yield from self.recognizer.transcribe_each(run, **self.search_options)
            run = []
            yield from self.read_each([path], dpi)
        yield from self.recognizer.transcribe_each(run, **self.search_options)

    def read_image(self, image: np.ndarray, name: str) -> Page:
        """A loaded uint8 RGB image (H, W, 3) -> its Page (``name`` as its path)."""
        return read_page(image, name, self.detector.detect, self._read, self.turn, self.piece)

    def read_boxes(self, image: np.ndarray, boxes: list[np.ndarray], scores: list[float]) -> list[PageLine]:
        """Read the text in each box (reading corners) of ``image``, turning upside-down lines
        (``recog_edge.pages.read_boxes``), long ones in pieces (``recog_edge.pieces``)."""
        return read_boxes(image, boxes, scores, self._read, self.turn, self.piece)

    def _read(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        return [(r.text, r.confidence) for r in self.recognizer.transcribe(crops, **self.search_options)]


def _raise(err: Exception) -> Page:
    raise err


def draw_page(image: np.ndarray, page: Page) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) with each line's box outlined and its text written above it,
    for a person to check a result by eye."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for n, line in enumerate(page.lines):
        box = np.array(line.box, np.float64)
        height = max(float(np.linalg.norm(box[3] - box[0])), 8.0)
        font = ImageFont.load_default(size=max(10, int(height * 0.6)))
        colour = (220, 30, 30) if line.confidence < UNSURE_BELOW else (30, 160, 30)
        draw.polygon([tuple(p) for p in box], outline=colour, width=max(1, int(height / 12)))
        draw.ellipse([box[0][0] - 3, box[0][1] - 3, box[0][0] + 3, box[0][1] + 3], fill=colour)  # the text's start
        label = f"{n + 1}: {line.text}"
        x, y = float(box[:, 0].min()), float(box[:, 1].min())
        left, top, right, bottom = draw.textbbox((x, y), label, font=font, anchor="lb")
        draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=(255, 255, 224))
        draw.text((x, y), label, font=font, fill=colour, anchor="lb")
    return np.asarray(canvas)
