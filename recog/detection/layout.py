"""Reading order: text boxes -> blocks (paragraphs, headings, table rows, ...) -> rows -> boxes.

Boxes are taken by their upright bounds ``(x0, y0, x1, y1)``. The page is cut, top to bottom,
into *bands*: boxes whose middle halves overlap vertically (one visual row: a line, or the
cells of a table row). A run of three or more bands that share an empty vertical strip -- a
*gutter* at least half a line high wide, with text-like lines (several times wider than the
gutter) on both sides -- is a multi-column region: its left part is read before its right, each
ordered the same way recursively (so three columns work too). A table or a receipt also has
empty strips between its cells, but its cells are short next to the gap, so it stays row by
row; a gap of more than two lines ends a region (what follows is read after all its columns).
Rows outside regions form blocks, split into paragraphs where the gap above a row is
wider than half a line or the text size jumps (a heading).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_COLUMN_BANDS = 3  # bands a gutter must run through to make columns
GUTTER_LINES = 0.5  # least gutter width, in line heights
TEXT_LIKE = 3.0  # a column's median box is at least this many gutter widths wide
SECTION_GAP = 2.0  # a gap wider than this many line heights ends a column region
PARAGRAPH_GAP = 0.5  # a gap above a row wider than this many line heights starts a paragraph
HEADING_RATIO = 1.3  # a row this much taller (or shorter) than the one above starts a block


def reading_order(bounds: np.ndarray) -> list[list[list[int]]]:
    """Indices of ``bounds`` (N, 4: x0, y0, x1, y1) as blocks of rows of boxes, in reading order."""
    bounds = np.asarray(bounds, np.float64).reshape(-1, 4)
    return _blocks(bounds, list(range(len(bounds))))


def page_text(blocks: Sequence[Sequence[Sequence[int]]], texts: Sequence[str]) -> str:
    """The page's text: a row's boxes joined by a space, rows by a newline, blocks by a blank line."""
    rendered = ("\n".join(" ".join(texts[i] for i in row if texts[i]) for row in block) for block in blocks)
    return "\n\n".join(b for b in ("\n".join(r for r in block.split("\n") if r) for block in rendered) if b)


def _heights(bounds: np.ndarray, idx: Sequence[int]) -> np.ndarray:
    return bounds[list(idx), 3] - bounds[list(idx), 1]


def _bands(bounds: np.ndarray, idx: list[int]) -> list[list[int]]:
    """Boxes grouped into rows by overlap of their middle halves, top to bottom; each row left to right."""
    centre = (bounds[:, 1] + bounds[:, 3]) / 2
    quarter = (bounds[:, 3] - bounds[:, 1]) / 4
    bands: list[list[int]] = []
    bottom = -np.inf
    for i in sorted(idx, key=lambda i: (centre[i], bounds[i, 0])):
        if bands and centre[i] - quarter[i] <= bottom:
            bands[-1].append(i)
            bottom = max(bottom, centre[i] + quarter[i])
        else:
            bands.append([i])
            bottom = centre[i] + quarter[i]
    return [sorted(band, key=lambda i: bounds[i, 0]) for band in bands]


def _gaps(bounds: np.ndarray, band: list[int], min_width: float) -> list[tuple[float, float]]:
    """Empty x-intervals between the boxes of a band at least ``min_width`` wide."""
    gaps, right = [], -np.inf
    for i in sorted(band, key=lambda i: bounds[i, 0]):
        if right > -np.inf and bounds[i, 0] - right >= min_width:
            gaps.append((right, bounds[i, 0]))
        right = max(right, bounds[i, 2])
    return gaps


def _column_run(bounds: np.ndarray, bands: list[list[int]], start: int, line: float
                ) -> tuple[int, float] | None:
    """The longest run of bands from ``start`` sharing a gutter: (end band, gutter middle) or None."""
    best: tuple[int, float] | None = None
    min_width = GUTTER_LINES * line
    for lo, hi in _gaps(bounds, bands[start], min_width):
        end = start + 1
        while end < len(bands):
            mid = (lo + hi) / 2
            band = bands[end]
            if bounds[band, 1].min() - bounds[bands[end - 1], 3].max() > SECTION_GAP * line:
                break
            left = [bounds[i, 2] for i in band if (bounds[i, 0] + bounds[i, 2]) / 2 < mid]
            right = [bounds[i, 0] for i in band if (bounds[i, 0] + bounds[i, 2]) / 2 >= mid]
            new_lo, new_hi = max([lo, *left]), min([hi, *right])
            if new_hi - new_lo < min_width:
                break
            lo, hi, end = new_lo, new_hi, end + 1
        if end - start < MIN_COLUMN_BANDS:
            continue
        mid = (lo + hi) / 2
        members = [i for band in bands[start:end] for i in band]
        is_left = [(bounds[i, 0] + bounds[i, 2]) / 2 < mid for i in members]
        sides = [[bounds[i, 2] - bounds[i, 0] for i, left in zip(members, is_left, strict=True) if left == side]
                 for side in (True, False)]
        if all(len(w) >= 2 and np.median(w) >= TEXT_LIKE * (hi - lo) for w in sides):
            if best is None or end > best[0]:
                best = (end, mid)
    return best


def _blocks(bounds: np.ndarray, idx: list[int]) -> list[list[list[int]]]:
    if not idx:
        return []
    line = float(np.median(_heights(bounds, idx)))
    bands = _bands(bounds, idx)
    blocks: list[list[list[int]]] = []
    rows: list[list[int]] = []  # consecutive rows outside column regions
    start = 0
    while start < len(bands):
        run = _column_run(bounds, bands, start, line)
        if run is None:
            rows.append(bands[start])
            start += 1
            continue
        end, mid = run
        blocks += _paragraphs(bounds, rows)
        rows = []
        members = [i for band in bands[start:end] for i in band]
        left = [i for i in members if (bounds[i, 0] + bounds[i, 2]) / 2 < mid]
        blocks += _blocks(bounds, left) + _blocks(bounds, [i for i in members if i not in set(left)])
        start = end
    return blocks + _paragraphs(bounds, rows)


def _paragraphs(bounds: np.ndarray, rows: list[list[int]]) -> list[list[list[int]]]:
    """Consecutive rows split where the gap above a row or a jump in text size says a new block starts."""
    blocks: list[list[list[int]]] = []
    for row in rows:
        if blocks:
            above = blocks[-1][-1]
            h_above, h_row = float(np.median(_heights(bounds, above))), float(np.median(_heights(bounds, row)))
            gap = bounds[row, 1].min() - bounds[above, 3].max()
            ratio = max(h_above, h_row) / max(min(h_above, h_row), 1e-6)
            if gap <= PARAGRAPH_GAP * min(h_above, h_row) and ratio < HEADING_RATIO:
                blocks[-1].append(row)
                continue
        blocks.append([row])
    return blocks
