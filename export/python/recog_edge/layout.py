"""Reading order: text boxes -> blocks (paragraphs, headings, table rows, ...) -> rows -> boxes.

Boxes are taken by their upright (deskewed) bounds ``(x0, y0, x1, y1)``. The page is cut, top to
bottom, into *bands*: boxes overlapping vertically by half a box (one visual row: a line, or the
cells of a table row). A run of three or more bands that share an empty vertical strip -- a *gutter*
at least half a line wide, found in the run's first two rows (or between them where one is a single
box: panels whose lines are out of step) -- is a multi-column region when the
lines on both sides are text-like (several times wider than the gutter and many lines high) or when
each side has rows of its own, with nothing beside them on the other (a sidebar beside a main area,
two panels of a screen). Its left part is read before its right, each ordered the same way
recursively (so three columns work too). A table, a form or a receipt also has empty strips between
its cells, but its cells are short and its rows come in pairs (a price never stands alone), so it
stays row by row; but a table beside a column of prose (lines long and filling the column, some rows
of their own) is a column of its own where its rows start out of step with the prose's lines (a
table's wrapped text cell starts on its row). In a row of short items a gutter must be clearly its
widest gap (a menu bar is not columns); a first row whose right part starts more than an indent
right of the right column is not part of the region (a running header: title ... page 3); a gap of
more than two lines, and twice the widest gap between the region's rows so far, ends a region (what
follows is read after all its columns; the fields of a form spaced wider than two lines stay in
their panel; below its first row, with no gaps to compare, only a gap of more than four lines
does: the first rows of two panels on a screen are often set far apart); where a region found
from one row ends sooner than one that starts a row or two lower (a gap in a menu bar above two
panels, against the gutter between the panels), that row is read on its own, above the longer
region; so is a row of short items (a menu bar) above a region as long, and a row whose gap lies in
a gutter over twice as wide found a row or two lower (a menu bar in two boxes over a sidebar).
Rows outside regions form blocks, split into paragraphs where the gap above a row is wider than half
a line or the text size jumps (a heading).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ROW_OVERLAP = 0.5  # boxes overlapping vertically by this share of the shorter one's height share a row
MIN_COLUMN_BANDS = 3  # bands a gutter must run through to make columns
GUTTER_LINES = 0.5  # least gutter width, in line heights
THIN = 0.5  # a box less high than this many lines (a row of dashes) narrows a gutter only by spanning it
GUTTER_OVER_GAPS = 1.5  # ... and this much wider than the other gaps of the row the columns start in
COLUMN_ALIGN = 3.0  # the first row's right part starts at most this many lines (an indent) right of the right column
TEXT_LIKE = 3.0  # a column's median box is at least this many gutter widths wide
TEXT_LINE = 8.0  # ... and this many line heights (a line of text, not a label)
ALONE_ROWS = 2  # or: each side has at least this many rows with nothing on the other side
SHARED_ROWS = 0.7  # ... and at most this share of the rows hold both sides (a receipt's items and prices
# share most rows: read across, even where a missed item name leaves two prices alone). Dev receipt 91 of
# synth_pages v2: 40 of 51 rows shared; sidebars and panels on the test and dev pages: at most 7 of 27
PROSE_LINE = 10.0  # or: one side is prose (text-like, its median line this many line heights wide
PROSE_FILL = 0.8  # ... and this share of its widest: lines fill the column) with ALONE_ROWS rows of its own
OUT_OF_STEP = 0.12  # ... beside a table whose rows start out of step with it by this share of its line pitch
MENU_ITEMS = 4  # a row of this many short items is a menu bar: read above columns that start below it
LOOKAHEAD_BANDS = 2  # columns starting this many bands lower win where they run further down
GUTTER_OVER_ROW = 2.0  # ... or as far, with a gutter this many times wider than the one through this row
SECTION_GAP = 2.0  # a gap wider than this many line heights ends a column region
SECTION_OVER_GAPS = 2.0  # ... and than this many times the widest gap between its rows so far
FIRST_GAP = 4.0  # the gap below a region's first row (no gaps so far) ends it only when wider than this
PARAGRAPH_GAP = 0.5  # a gap above a row wider than this many line heights starts a paragraph
HEADING_RATIO = 1.3  # a row this much taller (or shorter) than the one above starts a block


def corners_order(corners: np.ndarray) -> list[list[list[int]]]:
    """``reading_order`` of boxes given by their reading corners (N, 4, 2), taken in the page's
    upright frame (``text_frame``): how the page reader orders its lines."""
    upright = text_frame(np.asarray(corners, np.float64).reshape(-1, 4, 2))  # (N, 4, 2)
    return reading_order(np.concatenate([upright.min(axis=1), upright.max(axis=1)], axis=1))  # x0, y0, x1, y1


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
    """Boxes grouped into rows, top to bottom, each row left to right: a box joins the row above
    when it overlaps the row's last box vertically by half the shorter one's height (so a line
    set in a larger size on the same baseline, e.g. a running header's title and page number,
    shares the row; the boxes must be deskewed first)."""
    centre = (bounds[:, 1] + bounds[:, 3]) / 2
    bands: list[list[int]] = []
    for i in sorted(idx, key=lambda i: (centre[i], bounds[i, 0])):
        if bands:
            last = max(bands[-1], key=lambda j: bounds[j, 3])
            overlap = min(bounds[i, 3], bounds[last, 3]) - max(bounds[i, 1], bounds[last, 1])
            shorter = min(bounds[i, 3] - bounds[i, 1], bounds[last, 3] - bounds[last, 1])
            if overlap >= ROW_OVERLAP * shorter:
                bands[-1].append(i)
                continue
        bands.append([i])
    return [sorted(band, key=lambda i: bounds[i, 0]) for band in bands]


def _gaps(bounds: np.ndarray, band: list[int], min_width: float) -> list[tuple[float, float]]:
    """Empty x-intervals between the boxes of a band at least ``min_width`` wide."""
    gaps, right = [], -np.inf
    for i in sorted(band, key=lambda i: bounds[i, 0]):
        if right > -np.inf and bounds[i, 0] - right >= min_width:
            gaps.append((right, bounds[i, 0]))
        right = max(right, bounds[i, 2])
    return gaps


def _short_items(bounds: np.ndarray, band: list[int], line: float) -> bool:
    """True where no box of the band is as wide as a line of text (labels, cells, menu items)."""
    return all(bounds[i, 2] - bounds[i, 0] < TEXT_LINE * line for i in band)


def _gutter_candidates(bounds: np.ndarray, band: list[int], line: float) -> list[tuple[float, float]]:
    """Gaps of a band wide enough to be a gutter; in a row of short items (a menu bar, a table row)
    only a gap clearly wider than the others."""
    gaps = _gaps(bounds, band, 0.0)
    short_row = _short_items(bounds, band, line)
    found = []
    for lo, hi in gaps:
        others = [b - a for a, b in gaps if (a, b) != (lo, hi)]
        if hi - lo >= GUTTER_LINES * line and not (short_row and others and hi - lo < GUTTER_OVER_GAPS * max(others)):
            found.append((lo, hi))
    return found


def _column_run(bounds: np.ndarray, bands: list[list[int]], start: int, line: float
                ) -> tuple[int, float, float] | None:
    """The longest run of bands from ``start`` sharing a gutter: (end band, gutter middle, gutter
    width) or None. Gutters are looked for in the first two bands (a column may start a row lower
    than its neighbour), and between them where one is a single box."""
    best: tuple[int, float, float] | None = None
    candidates = _gutter_candidates(bounds, bands[start], line)
    if start + 1 < len(bands):
        candidates += _gutter_candidates(bounds, bands[start + 1], line)
        if min(len(bands[start]), len(bands[start + 1])) == 1:  # panels whose lines are out of step
            candidates += _gaps(bounds, bands[start] + bands[start + 1], GUTTER_LINES * line)
    centre = (bounds[:, 0] + bounds[:, 2]) / 2
    for lo, hi in candidates:
        end, widest = start, 0.0
        while end < len(bands):
            band = bands[end]
            if end > start:
                gap = bounds[band, 1].min() - bounds[bands[end - 1], 3].max()
                if gap > (max(SECTION_GAP * line, SECTION_OVER_GAPS * widest) if widest > 0 else FIRST_GAP * line):
                    break
                widest = max(widest, gap)
            mid = (lo + hi) / 2
            edges = [i for i in band if bounds[i, 3] - bounds[i, 1] >= THIN * line  # a part-found row of dashes
                     or (bounds[i, 0] <= lo and bounds[i, 2] >= hi)]  # does not narrow it; a rule across ends it
            new_lo = max([lo, *(bounds[i, 2] for i in edges if centre[i] < mid)])
            new_hi = min([hi, *(bounds[i, 0] for i in edges if centre[i] >= mid)])
            if new_hi - new_lo < GUTTER_LINES * line:
                break
            lo, hi, end = new_lo, new_hi, end + 1
        mid = (lo + hi) / 2
        first_right = [bounds[i, 0] for i in bands[start] if centre[i] >= mid]
        if end - start < MIN_COLUMN_BANDS or (first_right and min(first_right) - hi > COLUMN_ALIGN * line):
            continue  # too short, or the first row's right part does not start the right column (title ... page 3)
        run = bands[start:end]
        halves = [[i for band in run for i in band if (centre[i] < mid) == side] for side in (True, False)]
        if min(len(h) for h in halves) < 2:
            continue
        sides = [bounds[h, 2] - bounds[h, 0] for h in halves]  # box widths, left side then right
        text_sides = [np.median(w) >= max(TEXT_LIKE * (hi - lo), TEXT_LINE * line) for w in sides]
        left = [sum(centre[i] < mid for i in band) for band in run]
        alone = (sum(n == len(band) for n, band in zip(left, run, strict=True)), sum(n == 0 for n in left))
        shared = len(run) - sum(alone)  # rows with boxes on both sides
        independent = min(alone) >= ALONE_ROWS and shared <= SHARED_ROWS * len(run)  # each side has rows of its own
        prose = [text and np.median(w) >= max(PROSE_LINE * line, PROSE_FILL * w.max())
                 for text, w in zip(text_sides, sides, strict=True)]
        beside = any(p and n >= ALONE_ROWS and _out_of_step(bounds, halves[1 - k], halves[k], line)
                     for k, (p, n) in enumerate(zip(prose, alone, strict=True)))  # a table beside prose
        if (all(text_sides) or independent or beside) and (best is None or end > best[0]):
            best = (end, mid, hi - lo)
    return best


def _out_of_step(bounds: np.ndarray, items: list[int], prose: list[int], line: float) -> bool:
    """Whether ``items`` (a table's cells) start out of step with the lines of ``prose`` beside
    them: their tops' median distance to the nearest prose line's top is a good share of the prose's
    line pitch (a table's wrapped text cell starts on its row's top, in step with the row). The
    pitch is taken between tops over half a line apart (a line found as two boxes is one line)."""
    tops = np.sort(bounds[prose, 1])
    steps = np.diff(tops)
    steps = steps[steps > 0.5 * line]
    if not len(steps):
        return False
    pitch = float(np.median(steps))
    offsets = np.abs(bounds[items, 1][:, None] - tops[None, :]).min(axis=1)
    return float(np.median(offsets)) >= OUT_OF_STEP * pitch


def _blocks(bounds: np.ndarray, idx: list[int]) -> list[list[list[int]]]:
    if not idx:
        return []
    line = float(np.median(_heights(bounds, idx)))
    bands = _bands(bounds, idx)
    blocks: list[list[list[int]]] = []
    rows: list[list[int]] = []  # consecutive rows outside column regions
    runs: dict[int, tuple[int, float, float] | None] = {}  # band -> its column run, each looked for once

    def run_at(band: int) -> tuple[int, float, float] | None:
        if band not in runs:
            runs[band] = _column_run(bounds, bands, band, line)
        return runs[band]

    start = 0
    while start < len(bands):
        run = run_at(start)
        menu = len(bands[start]) >= MENU_ITEMS and _short_items(bounds, bands[start], line)
        if run is not None and any((later := run_at(s)) is not None
                                   and (later[0] > run[0] or (later[0] == run[0] and (
                                       menu or later[2] >= GUTTER_OVER_ROW * run[2])))
                                   for s in range(start + 1, min(start + 1 + LOOKAHEAD_BANDS, run[0]))):
            run = None  # a gutter a row or two lower runs further (or as far, below a menu bar or where this
            # row's gap is a word gap inside a much wider gutter): read this row above
        if run is None:
            rows.append(bands[start])
            start += 1
            continue
        end, mid, _ = run
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
