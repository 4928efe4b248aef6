"""Text boxes without torch (shared by ``recog.detection`` and the edge runtime): the size a page
is detected at, from a DB probability map to text boxes, and from a box to an upright line crop.

The steps are PP-OCR's DBPostProcess (which RapidOCR runs too): threshold the map, find the
connected regions' contours (OpenCV), fit each a minimum-area rectangle, drop the small and the
faint (mean probability inside below ``box_thresh``), grow the rest back from DB's shrunk core
by the unclip offset D = A r / L (pyclipper), and fit again. A box is 4 corners (4, 2) in the
order top-left, top-right, bottom-right, bottom-left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

STRIDE = 32  # a detector's input sides are multiples of this


def polygon_area(poly: np.ndarray) -> float:
    """Signed-free area of a polygon (N, 2) (shoelace)."""
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def polygon_perimeter(poly: np.ndarray) -> float:
    return float(np.linalg.norm(poly - np.roll(poly, -1, axis=0), axis=1).sum())


def offset_polygon(poly: np.ndarray, distance: float) -> list[np.ndarray]:
    """``poly`` (N, 2) grown (distance > 0) or shrunk (< 0) by ``distance`` pixels with rounded
    joins (pyclipper): zero, one or more polygons."""
    offset = pyclipper.PyclipperOffset()
    offset.AddPath([tuple(p) for p in np.round(poly).astype(np.int64)], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return [np.array(p, dtype=np.float32).reshape(-1, 2) for p in offset.Execute(distance)]


@dataclass(frozen=True)
class BoxOptions:
    """How a probability map becomes boxes.

    thresh: map value above which a pixel is text. box_thresh: least mean probability of a kept
    box. unclip_ratio: how far a core grows back (D = area * ratio / perimeter; DB's shrink
    r = 0.4 is undone by about 1.5). min_size: least short side in pixels of the map.
    max_candidates: regions looked at, largest first.
    """

    thresh: float = 0.3
    box_thresh: float = 0.6
    unclip_ratio: float = 1.5
    min_size: float = 3.0
    max_candidates: int = 1000


def order_corners(points: np.ndarray) -> np.ndarray:
    """4 corners in any order -> top-left, top-right, bottom-right, bottom-left (by the image axes)."""
    points = points[np.argsort(points[:, 0], kind="stable")]
    left, right = points[:2], points[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def min_area_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-area rectangle around ``points`` (its corners ordered) and its short side."""
    rect = cv2.minAreaRect(points.astype(np.float32))
    return order_corners(cv2.boxPoints(rect)), float(min(rect[1]))


def mean_score(prob: np.ndarray, box: np.ndarray) -> float:
    """Mean of ``prob`` (H, W) inside the polygon ``box``."""
    h, w = prob.shape
    x0, y0 = np.clip(np.floor(box.min(0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(box.max(0)).astype(int), 0, [w - 1, h - 1])
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(box - [x0, y0]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0])


def boxes_from_map(prob: np.ndarray, scale: tuple[float, float] = (1.0, 1.0), options: BoxOptions = BoxOptions(),
                   image_size: tuple[int, int] | None = None) -> list[tuple[np.ndarray, float]]:
    """Text boxes in a probability map ``prob`` (H, W): ``(corners (4, 2) float32, score)`` each,
    corners multiplied by ``scale`` (x, y) to the original image's pixels and, given its
    ``image_size`` (width, height), kept inside it."""
    bitmap = (prob > options.thresh).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=cv2.contourArea, reverse=True)[:options.max_candidates]
    found = []
    for contour in contours:
        box, short_side = min_area_box(contour.reshape(-1, 2))
        if short_side < options.min_size:
            continue
        score = mean_score(prob, box)
        if score < options.box_thresh:
            continue
        perimeter = polygon_perimeter(box)
        grown = offset_polygon(box, polygon_area(box) * options.unclip_ratio / perimeter) if perimeter else []
        if len(grown) != 1:
            continue
        box, short_side = min_area_box(grown[0])
        if short_side < options.min_size + 2:
            continue
        box = box * np.asarray(scale, np.float32)
        if image_size is not None:
            box = np.clip(box, 0, [image_size[0] - 1, image_size[1] - 1]).astype(np.float32)
        found.append((box, score))
    return found


CROP_MARGIN = 0.2  # of a box's height, added above and below a line crop. On true (ascender-to-descender)
# boxes of the page recipe's dev pages latin-lines 1 reads best at 0.1 (0.25 / 0.5: 8.1 / 27.8 % CER on
# documents against 6.2 %); latin-det 1's boxes (unclip 1.3) are a little tighter, and with them 0.2 read
# 25 dev pages at 20.9 % page CER against 22.5 % at 0.1 and 23.4 % at 0.3 (all measured with the margin on all
# four sides, before CROP_ENDS)
CROP_ENDS = 0.35  # of a box's height, added before and after a line crop. latin-det's boxes stop short of
# a line's ends (a trailing full stop, a leading bullet); latin-lines 6 read the lines matched on 60 fresh
# dev pages at 2.69 % CER with 0.35 against 2.90 % with 0.2 (0.5: 2.72 %, 0.65: 2.68 %, signs worse as
# their borders come in), and the 60-page test set's at 1.15 against 1.55 % (recipes/synth_pages/README.md)


def grow_box(box: np.ndarray, margin: float, ends: float | None = None) -> np.ndarray:
    """``box`` (4, 2; top-left first, clockwise) with ``margin`` times its height added above and
    below and ``ends`` times its height (``margin`` where None) before and after, along its own
    axes (so a rotated box grows as it lies)."""
    across, down = box[1] - box[0], box[3] - box[0]
    height = float(np.linalg.norm(down))
    if height == 0 or not np.linalg.norm(across):
        return box
    u = across / np.linalg.norm(across) * ((margin if ends is None else ends) * height)
    v = down / height * (margin * height)
    return (box + np.array([-u - v, u - v, u + v, -u + v])).astype(np.float32)


def crop_box(image: np.ndarray, box: np.ndarray, margin: float = CROP_MARGIN, ends: float = CROP_ENDS) -> np.ndarray:
    """The quadrilateral ``box`` (4, 2; top-left first, clockwise), grown by ``margin`` above and
    below and ``ends`` before and after (of its height), of ``image`` (H, W, 3) warped to an upright
    rectangle as wide as its top and bottom edges and as tall as its sides (outside the image: the
    edge pixels repeated)."""
    box = grow_box(np.asarray(box, np.float32), margin, ends)
    width = int(round(max(np.linalg.norm(box[1] - box[0]), np.linalg.norm(box[2] - box[3]))))
    height = int(round(max(np.linalg.norm(box[3] - box[0]), np.linalg.norm(box[2] - box[1]))))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def reading_corners(box: np.ndarray) -> np.ndarray:
    """A box's corners starting from the top-left of its text, assuming text runs along the long
    side: an upright-ordered box that is taller than wide (1.5x) is read as text turned 90 degrees
    anticlockwise (its first corner the bottom-left), as PP-OCR reads vertical crops."""
    width = np.linalg.norm(box[1] - box[0])
    height = np.linalg.norm(box[3] - box[0])
    return np.roll(box, 1, axis=0) if height >= 1.5 * width else box


def turn_half(box: np.ndarray) -> np.ndarray:
    """The same box read upside down (its corners rotated by two)."""
    return np.roll(box, 2, axis=0)


@dataclass(frozen=True)
class DetectOptions:
    """Detection settings. max_side: the longer side is scaled down to at most this (A4 at 150
    dpi: 1754 -> 1280); min_side: a smaller image's shorter side is scaled up to this."""

    max_side: int = 1280
    min_side: int = 256
    boxes: BoxOptions = BoxOptions()


def detection_size(height: int, width: int, options: DetectOptions = DetectOptions()) -> tuple[int, int, float]:
    """The (height, width) an image is resized to before padding, and the scale used."""
    scale = min(1.0, options.max_side / max(height, width))
    if min(height, width) * scale < options.min_side:
        scale = min(options.min_side / min(height, width), options.max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale)), scale


def pad_to_stride(image: np.ndarray, stride: int = STRIDE) -> np.ndarray:
    """``image`` (H, W, 3) padded at the bottom and right (by edge replication) to multiples of ``stride``."""
    h, w = image.shape[:2]
    return cv2.copyMakeBorder(image, 0, -h % stride, 0, -w % stride, cv2.BORDER_REPLICATE)


def detect_options(settings: dict | None) -> DetectOptions:
    """DetectOptions from flat settings (e.g. a shipped detector's ``info["detect"]``): ``max_side``,
    ``min_side`` and any BoxOptions field; the rest default."""
    settings = dict(settings or {})
    sizes = {k: settings.pop(k) for k in ("max_side", "min_side") if k in settings}
    unknown = set(settings) - set(BoxOptions.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown detection settings: {sorted(unknown)}")
    return DetectOptions(**sizes, boxes=BoxOptions(**settings))


def detection_input(image: np.ndarray, options: DetectOptions = DetectOptions()) -> tuple[np.ndarray, int, int]:
    """``image`` (H, W, 3) RGB as a detector reads it: resized to ``detection_size``, its
    ``luminance`` in all three channels (training crops too), and padded to a multiple of the
    stride; with the (h, w) of the resized part, where the map is valid. Legible text differs from
    its ground in luminance; the hue of a pair the detector rarely saw in training (green on
    magenta) otherwise breaks its map into pieces."""
    height, width = image.shape[:2]
    h, w, _ = detection_size(height, width, options)
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if w < width else cv2.INTER_LINEAR)
    return pad_to_stride(luminance(resized)), h, w


def luminance(image: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> its luminance (OpenCV's Rec. 601 grey) in all three channels, as the
    detector reads pages (``detection_input``) and its training crops (``recog.detection.training``)."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


UNBOXED_RETRY = 0.5  # share of a map's text pixels outside every box above which a page is also
# detected a quarter turn round. On 80 synth_pages test pages: 0.98 and 0.94 on the two whose lines
# run up or down (1 of 5 and 3 of 27 lines found upright), at most 0.15 on every other page
RUNNING_UP = 2.0  # a box whose vertical side is this many times its horizontal one runs up or down


def runs_up_or_down(box: np.ndarray) -> bool:
    """Whether a box (corners in order) is a line running up or down the page: its side along the
    image's y axis at least ``RUNNING_UP`` times its side along x."""
    across, along = np.linalg.norm(box[1] - box[0]), np.linalg.norm(box[3] - box[0])
    tall, wide = (along, across) if abs(box[3, 1] - box[0, 1]) >= abs(box[1, 1] - box[0, 1]) else (across, along)
    return bool(tall >= RUNNING_UP * max(wide, 1e-6))


def unboxed_share(prob: np.ndarray, boxes: list[np.ndarray], thresh: float) -> float:
    """The share of ``prob``'s text pixels (above ``thresh``) that no box (corners in map pixels)
    covers: text the detector saw but could not box, as when lines running up or down merge."""
    text = prob > thresh
    covered = np.zeros(prob.shape, np.uint8)
    for box in boxes:
        cv2.fillPoly(covered, [np.round(box).astype(np.int32)], 1)
    return float((text & (covered == 0)).sum() / max(int(text.sum()), 1))


def detect_page(image: np.ndarray, probability: Callable[[np.ndarray], np.ndarray],
                options: DetectOptions = DetectOptions()) -> list[tuple[np.ndarray, float]]:
    """Text boxes of ``image`` (H, W, 3): ``probability`` maps a ``detection_input`` batch (1, H', W', 3)
    to its probability map (H', W'). A detector trained mostly on horizontal lines boxes little of a
    page whose lines run up or down (their regions merge across lines), and one that saw a few such
    pages boxes some of their lines and not the rest. Where most of the map's text is unboxed
    (``UNBOXED_RETRY``) or most boxes run up or down (``runs_up_or_down``), the page turned a
    quarter is detected too, and its boxes, turned back, are kept if they leave less text unboxed.
    Upside-down lines are the reader's job (``recog_edge.pages.read_boxes``)."""
    upright, share = _detect_once(image, probability, options)
    if share > UNBOXED_RETRY or 2 * sum(runs_up_or_down(box) for box, _ in upright) > len(upright):
        turned, turned_share = _detect_once(np.ascontiguousarray(np.rot90(image)), probability, options)
        if turned_share < share:  # (x', y') in the turned image is (W - 1 - y', x') in this one
            width = image.shape[1]
            return [(order_corners(np.stack([width - 1 - box[:, 1], box[:, 0]], axis=1)), score)
                    for box, score in turned]
    return upright


def _detect_once(image: np.ndarray, probability: Callable[[np.ndarray], np.ndarray], options: DetectOptions
                 ) -> tuple[list[tuple[np.ndarray, float]], float]:
    """Boxes of ``image`` in its pixels, and the share of its map's text they leave unboxed."""
    height, width = image.shape[:2]
    padded, h, w = detection_input(image, options)
    prob = probability(padded[None])[:h, :w]  # (h, w)
    scale = np.array([width / w, height / h], np.float32)
    found = boxes_from_map(prob, tuple(scale), options.boxes, image_size=(width, height))
    return found, unboxed_share(prob, [box / scale for box, _ in found], options.boxes.thresh)
