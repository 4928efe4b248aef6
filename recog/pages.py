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
(``recog.detection.layout``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recog.detection.boxes import crop_box, reading_corners, turn_half
from recog.detection.detector import DetectionModel
from recog.detection.layout import page_text, reading_order
from recog.image import ImageError, image_from_array, is_pdf, load_image, load_pdf_pages
from recog.inference import Recognition, RecognitionModel

LINE_MAX_HEIGHT = 100  # an image at most this tall is one text line (``is_line_image``)
LINE_MIN_RATIO = 5.0  # ... and so is one up to 240 px tall and this many times wider
TURN_SAMPLE = 8  # lines of each direction read upside down too, to tell whether they all are
UNSURE_BELOW = 0.9  # --draw marks readings less confident than this


@dataclass
class PageLine:
    """One text line of a page: its text, its box (4 corners [x, y] in the original image's pixels,
    starting at the text's top-left, clockwise), the recogniser's confidence in [0, 1] and the
    detector's score."""

    text: str
    box: list[list[float]]
    confidence: float
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "box": self.box, "confidence": self.confidence}


@dataclass
class Page:
    """The result for one image (or PDF page): the text in reading order (blocks separated by a
    blank line) and its lines in that order. ``page``: the PDF page number (from 1), else None."""

    path: str
    width: int
    height: int
    text: str
    lines: list[PageLine] = field(default_factory=list)
    page: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"image_filepath": self.path, **({"page": self.page} if self.page is not None else {}),
                "width": self.width, "height": self.height, "text": self.text,
                "lines": [line.to_json() for line in self.lines]}


def is_line_image(height: int, width: int) -> bool:
    """Whether an image of this size is a single text line (read directly, not detected in)."""
    return height <= LINE_MAX_HEIGHT or (height <= 240 and width >= LINE_MIN_RATIO * height)


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


def text_frame(corners: np.ndarray) -> np.ndarray:
    """Box corners (N, 4, 2; reading corners) rotated so the page's text runs left to right: by
    the median direction of its lines (quarter turns first, the most common one, then the median
    tilt within it), so turned pages, skewed scans and tilted signs are ordered upright."""
    direction = corners[:, 1] - corners[:, 0]  # (N, 2): along each line
    angles = np.arctan2(direction[:, 1], direction[:, 0])  # image y points down: clockwise angles
    turns = np.round(angles / (np.pi / 2)).astype(int) % 4
    turn = int(np.bincount(turns, minlength=4).argmax())
    residual = (angles - turn * np.pi / 2 + np.pi) % (2 * np.pi) - np.pi
    angle = turn * np.pi / 2 + float(np.median(residual[turns == turn]))
    cos, sin = np.cos(-angle), np.sin(-angle)
    x, y = corners[..., 0], corners[..., 1]
    return np.stack([x * cos - y * sin, x * sin + y * cos], axis=-1)


class PageReader:
    """A text detector and a text-line recogniser reading whole images and PDF pages.

    Args:
        detector: the detection model. recognizer: the text-line model.
        turn: find lines set upside down (a few of each direction are read turned too; see ``read_boxes``).
        search_options: DecodingOptions for the recogniser (e.g. ``beam=4``).
    """

    def __init__(self, detector: DetectionModel, recognizer: RecognitionModel, turn: bool = True,
                 **search_options: Any) -> None:
        if recognizer.kind != "image":
            raise ValueError("PageReader needs a text-line recogniser, not a speech model")
        self.detector = detector
        self.recognizer = recognizer
        self.turn = turn
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
        height, width = image.shape[:2]
        found = self.detector.detect(image)
        boxes = [reading_corners(box) for box, _ in found]
        lines = self.read_boxes(image, boxes, [score for _, score in found])
        lines = [line for line in lines if line.text.strip()]
        if not lines:
            return Page(name, width, height, "", [])
        upright = text_frame(np.array([line.box for line in lines], np.float64))  # (N, 4, 2)
        bounds = np.concatenate([upright.min(axis=1), upright.max(axis=1)], axis=1)  # (N, 4): x0, y0, x1, y1
        blocks = reading_order(bounds)
        order = [i for block in blocks for row in block for i in row]
        return Page(name, width, height, page_text(blocks, [line.text for line in lines]), [lines[i] for i in order])

    def read_boxes(self, image: np.ndarray, boxes: list[np.ndarray], scores: list[float]) -> list[PageLine]:
        """Read the text in each box (reading corners) of ``image``. Lines running the same way
        (by quarter turns) are upright together or upside down together: the longest few of each
        such group are read turned too, and where most read surer turned, the whole group turns."""
        if not boxes:
            return []
        boxes = list(boxes)  # turned ones are replaced: the caller's list stays as it was
        crops = [crop_box(image, box) for box in boxes]
        results = self.recognizer.transcribe(crops, **self.search_options)
        if self.turn:
            for group in _direction_groups(boxes).values():
                sample = sorted(group, key=lambda i: -float(np.linalg.norm(boxes[i][1] - boxes[i][0])))[:TURN_SAMPLE]
                turned = dict(zip(sample, self._read_turned(crops, sample), strict=True))
                if 2 * sum(turned[i].confidence > results[i].confidence for i in sample) <= len(sample):
                    continue
                rest = [i for i in group if i not in turned]
                turned |= dict(zip(rest, self._read_turned(crops, rest), strict=True))
                for i in group:
                    results[i], boxes[i] = turned[i], turn_half(boxes[i])
        return [PageLine(r.text, np.round(box.astype(np.float64), 1).tolist(), r.confidence, round(float(score), 4))
                for r, box, score in zip(results, boxes, scores, strict=True)]

    def _read_turned(self, crops: list[np.ndarray], indices: list[int]) -> list[Recognition]:
        if not indices:
            return []
        return self.recognizer.transcribe([np.ascontiguousarray(crops[i][::-1, ::-1]) for i in indices],
                                          **self.search_options)


def _direction_groups(boxes: list[np.ndarray]) -> dict[int, list[int]]:
    """Box indices grouped by the quarter turn their text runs in (0: left to right)."""
    groups: dict[int, list[int]] = {}
    for i, box in enumerate(boxes):
        dx, dy = box[1] - box[0]
        groups.setdefault(int(np.round(np.arctan2(dy, dx) / (np.pi / 2))) % 4, []).append(i)
    return groups


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
