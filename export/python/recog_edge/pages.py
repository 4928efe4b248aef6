"""Whole-image OCR without torch: the flow shared by ``recog.pages`` and the edge runtime (find
boxes, read each crop, turn upside-down lines, put them in reading order), its result types, and
``EdgePageReader``, which runs it on exported models with onnxruntime.

    reader = EdgePageReader("exported-det/", "exported-lines/")   # `recog export` of each model
    page = reader.read("scan.png")
    print(page.text)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recog_edge.boxes import (
    BoxOptions,
    DetectOptions,
    crop_box,
    detect_page,
    reading_corners,
    turn_half,
)
from recog_edge.layout import corners_order, page_text
from recog_edge.pieces import PIECE, in_pieces
from recog_edge.sessions import open_export

if TYPE_CHECKING:
    from recog_edge.lines import EdgeLineModel

TURN_SAMPLE = 8  # lines of each direction read upside down too, to tell whether they all are
TURN_WINDOW = 12  # ... each one's first this many heights of width only, both ways (a line's cost grows with it)
TURN_MARGIN = 0.04  # ... and they turn only if read surer turned by this much confidence on average
LINE_MAX_HEIGHT = 100  # an image at most this tall is one text line (``is_line_image``)
LINE_MIN_RATIO = 5.0  # ... and so is one up to 240 px tall and this many times wider

Detect = Callable[[np.ndarray], list[tuple[np.ndarray, float]]]  # image -> (corners (4, 2), score) each
Read = Callable[[list[np.ndarray]], list[tuple[str, float]]]  # line crops -> (text, confidence) each


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

    def printed(self, plain: bool = False) -> str:
        """How ``recog ocr`` and ``recog-edge ocr`` print the page (a line follows): its text under a
        ``==> path <==`` header (``(page N)`` for a PDF page) with a blank line after, or with ``plain``
        (``--format txt``) its text alone, a PDF page's ended by a form feed as pdftotext ends it."""
        if plain:
            return self.text + ("\f" if self.page is not None else "")
        return f"==> {self.path}{f' (page {self.page})' if self.page is not None else ''} <==\n{self.text}\n"


def is_line_image(height: int, width: int) -> bool:
    """Whether an image of this size is a single text line (read directly, not detected in)."""
    return height <= LINE_MAX_HEIGHT or (height <= 240 and width >= LINE_MIN_RATIO * height)


def read_page(image: np.ndarray, name: str, detect: Detect, read: Read, turn: bool = True, piece: int = PIECE
              ) -> Page:
    """One uint8 RGB image (H, W, 3) -> its Page: ``detect`` finds the boxes, ``read`` reads line
    crops (upright along each box's long side; those wider than ``piece`` heights in pieces, see
    ``recog_edge.pieces``), upside-down lines are turned (``read_boxes``), and the lines are put in
    reading order in the page's upright frame (``recog_edge.layout``)."""
    height, width = image.shape[:2]
    found = detect(image)
    lines = read_boxes(image, [reading_corners(box) for box, _ in found], [score for _, score in found], read, turn,
                       piece)
    lines = [line for line in lines if line.text.strip()]
    if not lines:
        return Page(name, width, height, "", [])
    blocks = corners_order(np.array([line.box for line in lines], np.float64))
    order = [i for block in blocks for row in block for i in row]
    return Page(name, width, height, page_text(blocks, [line.text for line in lines]), [lines[i] for i in order])


def read_boxes(image: np.ndarray, boxes: list[np.ndarray], scores: list[float], read: Read, turn: bool = True,
               piece: int = PIECE) -> list[PageLine]:
    """Read the text in each box (reading corners) of ``image``, those wider than ``piece`` heights
    in pieces (``recog_edge.pieces.in_pieces``). Lines running the same way (by
    quarter turns) are upright together or upside down together: with ``turn``, the longest few
    of each such group are read both ways (their first ``TURN_WINDOW`` heights of width: the same
    pixels each way, at a fraction of a long line's cost), and where most read surer turned, by
    ``TURN_MARGIN`` on average, the group turns. (Upside-down lines read surer turned by 0.05-0.12;
    a lone upright line in a script face read 0.004 surer turned, and turned, it read as nonsense.)"""
    if not boxes:
        return []
    boxes = list(boxes)  # turned ones are replaced: the caller's list stays as it was
    read = in_pieces(read, piece)
    crops = [crop_box(image, box) for box in boxes]
    results = read(crops)

    if turn:
        for group in direction_groups(boxes).values():
            if not turns(turn_gains(crops, boxes, group, read)):
                continue
            turned = read([_turned(crops[i]) for i in group])
            for i, result in zip(group, turned, strict=True):
                results[i], boxes[i] = result, turn_half(boxes[i])
    return [PageLine(text, np.round(box.astype(np.float64), 1).tolist(), confidence, round(float(score), 4))
            for (text, confidence), box, score in zip(results, boxes, scores, strict=True)]


def turn_gains(crops: list[np.ndarray], boxes: list[np.ndarray], group: list[int], read: Read) -> list[float]:
    """How much surer the longest ``TURN_SAMPLE`` lines of ``group`` (indices into ``crops`` and
    their ``boxes``) read turned half a turn than upright: confidence turned minus upright, each
    read on its first ``TURN_WINDOW`` heights of width. The longer half is read first; where none of
    it reads surer turned, most of the sample cannot (``turns`` says no either way), so the rest is
    not read and its gains are left out. An upright page reads half the windows."""
    sample = sorted(group, key=lambda i: -float(np.linalg.norm(boxes[i][1] - boxes[i][0])))[:TURN_SAMPLE]
    first = (len(sample) + 1) // 2
    gains: list[float] = []
    for part in (sample[:first], sample[first:]):
        if not part or (gains and max(gains) <= 0):
            break
        windows = [crops[i][:, : TURN_WINDOW * crops[i].shape[0]] for i in part]
        both = read(windows + [_turned(w) for w in windows])
        gains += [t[1] - u[1] for u, t in zip(both[: len(part)], both[len(part):], strict=True)]
    return gains


def turns(gains: list[float]) -> bool:
    """Whether a group of lines with these ``turn_gains`` is upside down: most read surer turned,
    by ``TURN_MARGIN`` on average."""
    total = 0.0
    for gain in gains:  # left to right, as pages.js adds (Python 3.12's sum() compensates)
        total += gain
    return 2 * sum(gain > 0 for gain in gains) > len(gains) and total >= TURN_MARGIN * len(gains)


def _turned(crop: np.ndarray) -> np.ndarray:
    """A line crop (h, w, 3) turned half a turn (upside down)."""
    return np.ascontiguousarray(crop[::-1, ::-1])


def direction_groups(boxes: list[np.ndarray]) -> dict[int, list[int]]:
    """Box indices grouped by the quarter turn their text runs in (0: left to right)."""
    groups: dict[int, list[int]] = {}
    for i, box in enumerate(boxes):
        dx, dy = box[1] - box[0]
        groups.setdefault(int(np.round(np.arctan2(dy, dx) / (np.pi / 2))) % 4, []).append(i)
    return groups


class EdgeDetector:
    """An exported text detector (``det.onnx``) on onnxruntime: ``detect(image)`` as
    ``recog.detection.detector.DetectionModel`` does it, its sizes and box settings from the export."""

    def __init__(self, folder: str | Path, threads: int = 1) -> None:
        folder = Path(folder)
        if not (folder / "det.onnx").is_file():
            raise FileNotFoundError(f"{folder}: no det.onnx (write one with `recog export` of a text detector)")
        self.session, meta = open_export(folder / "det.onnx", "detector", threads)
        self.options = DetectOptions(meta["max_side"], meta["min_side"], BoxOptions(**meta["boxes"]))

    def detect(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        return detect_page(image, lambda batch: self.session.run(None, {"images": batch})[0][0, 0], self.options)


class EdgePageReader:
    """Whole images read with an exported detector and an exported text-line model, torch-free."""

    def __init__(self, detector: str | Path, lines: str | Path | EdgeLineModel, threads: int = 1,
                 turn: bool = True, piece: int = PIECE) -> None:
        from recog_edge.lines import EdgeLineModel

        self.detector = EdgeDetector(detector, threads)
        self.lines = lines if isinstance(lines, EdgeLineModel) else EdgeLineModel(lines, threads=threads)
        self.turn, self.piece = turn, piece

    def read(self, image: str | Path | np.ndarray, name: str | None = None) -> Page:
        """An image file or uint8 RGB array (H, W, 3) -> its Page; ValueError naming an unreadable file."""
        from recog_edge.image_file import load_image

        if not isinstance(image, np.ndarray):
            name, image = name or str(image), load_image(image)

        def read(crops: list[np.ndarray]) -> list[tuple[str, float]]:
            return [(r.text, r.confidence) for r in self.lines.read(crops)]

        return read_page(image, name or "array", self.detector.detect, read, self.turn, self.piece)
