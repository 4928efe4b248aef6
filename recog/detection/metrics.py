"""Detection quality: boxes matched one to one at an IoU threshold (ICDAR 2015's criterion)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np


def _areas(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """The areas of two convex quadrilaterals (4, 2) and of their intersection."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    area_a, area_b = abs(cv2.contourArea(a)), abs(cv2.contourArea(b))
    if area_a <= 0 or area_b <= 0:
        return area_a, area_b, 0.0
    inter, _ = cv2.intersectConvexConvex(cv2.convexHull(a), cv2.convexHull(b))
    return area_a, area_b, max(float(inter), 0.0)


def quad_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two convex quadrilaterals (4, 2)."""
    area_a, area_b, inter = _areas(a, b)
    return inter / (area_a + area_b - inter) if inter > 0 else 0.0


def inside_share(a: np.ndarray, b: np.ndarray) -> float:
    """The share of convex quadrilateral ``a``'s (4, 2) area that lies inside ``b``."""
    area_a, _, inter = _areas(a, b)
    return inter / area_a if inter > 0 else 0.0


def match_boxes(detected: Sequence[np.ndarray], reference: Sequence[np.ndarray], iou: float = 0.5
                ) -> list[tuple[int, int]]:
    """(detected index, reference index) pairs, each box in at most one, of IoU >= ``iou``,
    matched greedily, best pairs first."""
    pairs = sorted(((quad_iou(d, r), i, j) for i, d in enumerate(detected) for j, r in enumerate(reference)),
                   reverse=True)
    used_d, used_r, matched = set(), set(), []
    for value, i, j in pairs:
        if value < iou:
            break
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
            matched.append((i, j))
    return matched


@dataclass
class DetectionCounts:
    """Matched, detected and reference box counts, summed over images."""

    matched: int = 0
    detected: int = 0
    reference: int = 0

    def add(self, detected: Sequence[np.ndarray], reference: Sequence[np.ndarray], iou: float = 0.5) -> None:
        """Count one image: each reference box matched to at most one detection of IoU >= ``iou``
        (greedily, best pairs first)."""
        self.matched += len(match_boxes(detected, reference, iou))
        self.detected += len(detected)
        self.reference += len(reference)

    @property
    def precision(self) -> float:
        return self.matched / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference if self.reference else 1.0

    @property
    def hmean(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0
