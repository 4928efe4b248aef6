"""Long text lines read in pieces cut at word gaps.

A line model with global attention spends time on a line that grows with the square of its width,
and an A4 page's lines are 10-40 heights wide. A crop wider than ``PIECE`` heights is cut in the
widest run of background columns (a word space, at least 1/GAP of its height wide) in the middle
two fifths of it, again and again while a piece is too wide; the pieces are read as lines of their
own (in the same batch as the other lines) and their texts joined with a space. A line without
such a gap is read whole. The page recipe's 200 test pages read in 0.86x the time with recog-edge
(A4 documents 0.83x; recog 0.91x and 0.88x) at page CER 0.86 against 0.88 % (docs/results.md,
``benchmarks/ocr_pages.py --pieces 0,16``).

Every step is integer arithmetic on OpenCV's grey levels, so the web page (``pieces.js``) cuts the
same columns and joins the same texts (its joined confidence may differ in the last bit: JavaScript's
log and exp are not Python's).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise

import numpy as np

PIECE = 16  # a line crop wider than this many of its heights is read in pieces (0: never)
GAP = 6  # ... cut in the widest run of background columns at least 1/GAP of its height wide
CENTRE = (3, 7)  # ... whose centre lies in this span of tenths of the part being cut
FAINT = 4  # a column is background where its ink is below 1/FAINT of the 95th percentile column's
BLANKS = " \t\n\r\f\v"  # what a piece's text is trimmed of (str.strip() and JS trim() differ beyond ASCII)

Read = Callable[[list[np.ndarray]], list[tuple[str, float]]]  # line crops -> (text, confidence) each
PIECES_HELP = (f"page lines wider than this many of their heights are read in pieces cut at word gaps "
               f"(default {PIECE}; 0: whole)")


def piece_width(text: str) -> int:
    """``--pieces``'s value (an argparse type): a whole number of heights, at least 0."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"a whole number of line heights, at least 0, not {text!r}")
    return value


def background_columns(crop: np.ndarray) -> np.ndarray:
    """uint8 RGB (h, w, 3) or grey (h, w) crop -> (w,) bool, True for columns without ink: a column's ink is its
    largest grey-level distance from the crop's median grey level (the background's, as text covers
    less than half of a line), and a column is background below 1/FAINT of the ink of the column at
    the 95th percentile."""
    import cv2

    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    flat = grey.reshape(-1)
    background = int(np.partition(flat, len(flat) // 2)[len(flat) // 2])  # the upper median: a grey level
    ink = np.abs(grey.astype(np.int16) - background).max(axis=0).astype(np.int32)  # (w,)
    k = 95 * (len(ink) - 1) // 100
    strong = int(np.partition(ink, k)[k])
    return FAINT * ink < strong


def gap_runs(background: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True columns, end exclusive, left to right."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], background.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def cut_columns(crop: np.ndarray, piece: int = PIECE) -> list[int]:
    """The columns where ``crop`` (h, w, 3) is cut into pieces at most ``piece`` heights wide where
    its word gaps allow, ascending (none for a crop that narrow, or ``piece`` 0). A part too wide
    is cut in the middle of the widest gap of at least h/GAP columns whose centre lies in the CENTRE
    tenths of it (of equals, the nearest its middle, then the leftmost), and its halves likewise.
    (The widest rather than the nearest the middle: fewer cuts between the letters of a word; on
    the first 24 A4 test documents, raw page CER 1.712 against 1.748 % whole and 1.744 % cutting
    nearest the middle.)"""
    height, width = crop.shape[:2]
    if piece <= 0 or height == 0 or width <= piece * height:
        return []
    runs = [(a, b) for a, b in gap_runs(background_columns(crop)) if GAP * (b - a) >= height]
    cuts: list[int] = []

    def cut(left: int, right: int) -> None:  # the part [left, right)
        if right - left <= piece * height:
            return
        span, best, best_key = right - left, None, None
        for a, b in runs:
            twice = a + b - 2 * left  # twice the gap's centre, from the part's left edge
            key = (a - b, abs(twice - span))  # the widest, then the nearest the middle
            if a >= left and b <= right and 2 * CENTRE[0] * span < 10 * twice < 2 * CENTRE[1] * span \
                    and (best_key is None or key < best_key):
                best, best_key = (a, b), key
        if best is None:
            return
        middle = (best[0] + best[1]) // 2
        cut(left, middle)
        cuts.append(middle)
        cut(middle, right)

    cut(0, width)
    return cuts


def in_pieces(read: Read, piece: int = PIECE) -> Read:
    """``read`` for line crops, with each crop wider than ``piece`` heights read as its pieces
    (``cut_columns``) in the same call: a crop's text is its pieces' non-empty texts, stripped, joined by
    a space, and its confidence their confidences' geometric mean weighted by width (0 where one is 0)."""
    if piece <= 0:
        return read

    def read_pieces(crops: list[np.ndarray]) -> list[tuple[str, float]]:
        parts: list[np.ndarray] = []
        spans: list[tuple[int, int]] = []  # each crop's parts: [first, end)
        for crop in crops:
            edges = [0, *cut_columns(crop, piece), crop.shape[1]]
            spans.append((len(parts), len(parts) + len(edges) - 1))
            parts += [np.ascontiguousarray(crop[:, a:b]) for a, b in pairwise(edges)]
        results = read(parts)
        out = []
        for first, end in spans:
            if end - first == 1:
                out.append(results[first])
                continue
            widths = [parts[i].shape[1] for i in range(first, end)]
            texts = [text.strip(BLANKS) for text, _ in results[first:end]]
            confidences = [confidence for _, confidence in results[first:end]]
            log_sum = 0.0
            for confidence, width in zip(confidences, widths, strict=True):  # left to right, as pieces.js
                log_sum += width * math.log(max(confidence, 1e-300))
            joined = math.exp(log_sum / sum(widths)) if min(confidences) > 0 else 0.0
            out.append((" ".join(t for t in texts if t), joined))
        return out

    return read_pieces
