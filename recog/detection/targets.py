"""DB training targets from text boxes: the shrunk-core probability map and the border threshold map.

As in the DB paper (and PP-OCR's MakeShrinkMap / MakeBorderMap): a polygon of area A and
perimeter L is shrunk by D = A (1 - r^2) / L (r = 0.4) for its core, and dilated by D for its
border band, where the threshold falls from ``thresh_max`` at the edge to ``thresh_min`` at
distance D. Polygons too small to shrink are ignored (masked out), not taught as background.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from recog_edge.boxes import offset_polygon, polygon_area, polygon_perimeter

SHRINK_RATIO = 0.4
THRESH_MIN, THRESH_MAX = 0.3, 0.7
MIN_TEXT_SIDE = 3.0  # pixels: a box thinner than this is ignored


def shrink_distance(poly: np.ndarray, ratio: float = SHRINK_RATIO) -> float:
    """DB's offset D = A (1 - r^2) / L."""
    perimeter = polygon_perimeter(poly)
    return polygon_area(poly) * (1 - ratio**2) / perimeter if perimeter > 0 else 0.0


def _segment_distances(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of every point (xs, ys) to the segment a-b."""
    ab = b - a
    length2 = float(ab @ ab) or 1e-6
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / length2, 0, 1)
    return np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1]))


def draw_border(poly: np.ndarray, distance: float, canvas: np.ndarray, mask: np.ndarray) -> None:
    """Fill ``mask`` inside ``poly`` dilated by ``distance`` and raise ``canvas`` to
    1 - (distance to the nearest edge) / ``distance`` there."""
    grown = offset_polygon(poly, distance)
    if not grown:
        return
    region = grown[0]
    cv2.fillPoly(mask, [np.round(region).astype(np.int32)], 1.0)
    h, w = canvas.shape
    x0, y0 = np.floor(region.min(0)).astype(int)
    x1, y1 = np.ceil(region.max(0)).astype(int)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if cx1 < cx0 or cy1 < cy0:
        return
    ys, xs = np.mgrid[cy0:cy1 + 1, cx0:cx1 + 1].astype(np.float32)
    nearest = np.min([_segment_distances(xs, ys, poly[i], poly[(i + 1) % len(poly)]) for i in range(len(poly))], axis=0)
    closeness = 1 - np.clip(nearest / distance, 0, 1)
    canvas[cy0:cy1 + 1, cx0:cx1 + 1] = np.maximum(canvas[cy0:cy1 + 1, cx0:cx1 + 1], closeness)


def make_targets(height: int, width: int, polygons: Sequence[np.ndarray], ignore: Sequence[bool] | None = None
                 ) -> dict[str, np.ndarray]:
    """Targets for one image of ``height`` x ``width`` with text ``polygons`` ((N, 2) pixels each);
    ``ignore[i]``: the i-th region is neither text nor background (e.g. unreadable). Returns
    float32 (H, W) maps ``shrink``, ``shrink_mask``, ``thresh``, ``thresh_mask``."""
    shrink = np.zeros((height, width), np.float32)
    shrink_mask = np.ones((height, width), np.float32)
    canvas = np.zeros((height, width), np.float32)
    thresh_mask = np.zeros((height, width), np.float32)
    ignore = ignore if ignore is not None else [False] * len(polygons)
    for poly, skip in zip(polygons, ignore, strict=True):
        poly = np.asarray(poly, np.float32)
        rect_w, rect_h = cv2.minAreaRect(poly)[1]
        distance = shrink_distance(poly)
        cores = offset_polygon(poly, -distance) if not skip and min(rect_w, rect_h) >= MIN_TEXT_SIDE else []
        if not cores:
            cv2.fillPoly(shrink_mask, [np.round(poly).astype(np.int32)], 0.0)
            continue
        cv2.fillPoly(shrink, [np.round(c).astype(np.int32) for c in cores], 1.0)
        draw_border(poly, distance, canvas, thresh_mask)
    thresh = canvas * (THRESH_MAX - THRESH_MIN) + THRESH_MIN
    return {"shrink": shrink, "shrink_mask": shrink_mask, "thresh": thresh, "thresh_mask": thresh_mask}
