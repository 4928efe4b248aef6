"""Text detection: DB targets and post-processing on hand-made maps, reading order on hand-made
layouts, and a tiny detector trained on rendered pages finding every line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.detection.metrics import DetectionCounts, quad_iou
from recog.detection.targets import make_targets, shrink_distance
from recog_edge.boxes import (
    BoxOptions,
    DetectOptions,
    boxes_from_map,
    crop_box,
    detect_page,
    grow_box,
    order_corners,
    reading_corners,
    runs_up_or_down,
    unboxed_share,
)
from recog_edge.layout import page_text, reading_order
from tests.helpers import rect, train_tiny_detector


def test_boxes_grow_cores_back_and_drop_faint_and_tiny_regions():
    prob = np.zeros((200, 300), np.float32)
    prob[40:50, 50:150] = 0.9  # a text core 100 x 10
    prob[120:130, 20:280] = 0.95
    prob[170:180, 50:150] = 0.45  # above thresh but too faint for box_thresh
    prob[10:12, 200:260] = 0.9  # 2 px thin: below min_size
    found = boxes_from_map(prob)
    assert len(found) == 2
    boxes = sorted((b for b, _ in found), key=lambda b: b[0, 1])
    # unclip: D = area * 1.5 / perimeter = 1000 * 1.5 / 220 ~ 6.8 px on every side
    assert quad_iou(boxes[0], rect(43.2, 33.2, 155.8, 55.8)) > 0.9
    assert all(score > 0.6 for _, score in found)
    scaled = sorted((b for b, _ in boxes_from_map(prob, scale=(2.0, 0.5))), key=lambda b: b[0, 1])
    np.testing.assert_allclose(scaled[0], boxes[0] * [2.0, 0.5], atol=1e-4)
    assert len(boxes_from_map(prob, options=BoxOptions(box_thresh=0.4))) == 3


def test_corners_are_ordered_and_tall_boxes_read_along_their_long_side():
    shuffled = rect(10, 20, 110, 40)[[2, 0, 3, 1]]
    np.testing.assert_array_equal(order_corners(shuffled), rect(10, 20, 110, 40))
    tall = rect(0, 0, 20, 100)
    first = reading_corners(tall)[0]
    np.testing.assert_array_equal(first, [0, 100])  # text running bottom to top starts at the bottom left
    np.testing.assert_array_equal(reading_corners(rect(0, 0, 100, 20)), rect(0, 0, 100, 20))


def test_unboxed_share_counts_the_text_pixels_no_box_covers():
    prob = np.zeros((20, 40), np.float32)
    prob[2:6, 2:30] = 0.9  # boxed below
    prob[10:14, 2:16] = 0.9  # not boxed: as many pixels as half the first region
    assert unboxed_share(prob, [rect(1, 1, 31, 7)], thresh=0.3) == pytest.approx(56 / 168)
    assert unboxed_share(prob, [], thresh=0.3) == 1.0
    assert unboxed_share(np.zeros((4, 4), np.float32), [], thresh=0.3) == 0.0


class HorizontalDetector:
    """A stand-in for a detector trained on horizontal lines: text probability is the first channel
    (of the luminance the detector reads) averaged over 15 pixels along rows, so 8 px wide upright
    strips 8 px apart blur into one faint region (dropped by box_thresh) while the same strips
    turned a quarter stay apart and bright."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import cv2

        self.calls += 1
        return cv2.blur(batch[0, :, :, 0].astype(np.float32) / 255, (15, 1))


def strips_page(vertical: bool) -> np.ndarray:
    page = np.zeros((300, 300, 3), np.uint8)
    for i in range(5):
        page[60:210, 60 + 16 * i: 68 + 16 * i] = 255  # 5 white strips, 8 px wide, 150 px tall, 8 px apart
    return page if vertical else np.ascontiguousarray(np.rot90(page))


def test_a_page_of_lines_running_up_is_detected_a_quarter_turn_round_and_its_boxes_turned_back():
    detector = HorizontalDetector()
    found = detect_page(strips_page(vertical=True), detector, DetectOptions())
    assert detector.calls == 2  # upright: nothing boxed; then turned
    assert len(found) == 5
    centres = sorted(float(box[:, 0].mean()) for box, _ in found)
    assert centres == pytest.approx([63.5 + 16 * i for i in range(5)], abs=1.5)
    for box, _ in found:
        assert box[:, 1].min() < 65 and box[:, 1].max() > 205  # tall, along the strip
        assert np.array_equal(box, order_corners(box))


class PartlyVerticalDetector:
    """A stand-in for a detector that saw a few pages turned a quarter: of 5 lines running up it
    boxes 3 (the other 2 are faint: text, but under box_thresh, 40 % of the text left unboxed, under
    UNBOXED_RETRY); of the same lines running across it boxes all 5."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        ink = batch[0, :, :, 0].astype(np.float32) / 255  # (H, W)
        vertical = ink.sum(axis=0).max() > ink.sum(axis=1).max()  # strips run up or down
        if vertical:
            columns = np.flatnonzero(ink.any(axis=0))
            faint = columns[columns >= columns.max() - 24]  # the last two strips
            ink[:, faint] *= 0.45
        return ink


def test_a_page_whose_lines_are_boxed_running_up_but_only_in_part_is_detected_a_quarter_turn_round():
    detector = PartlyVerticalDetector()
    options = DetectOptions(boxes=BoxOptions(box_thresh=0.6))
    found = detect_page(strips_page(vertical=True), detector, options)
    assert detector.calls == 2  # 3 tall boxes upright, unboxed share 0.4; then turned: 5 boxes
    assert len(found) == 5
    assert all(runs_up_or_down(box) for box, _ in found)
    assert not any(runs_up_or_down(box) for box, _ in detect_page(strips_page(vertical=False), detector, options))
    assert detector.calls == 3  # lines running across are detected once


@pytest.mark.parametrize("quarters", [1, 2, 3])
def test_a_turned_training_crop_turns_its_boxes_with_its_pixels(quarters):
    import cv2

    from recog.detection.training import turn_square

    image = np.zeros((64, 64, 3), np.uint8)
    box = np.array([[8, 10], [40, 10], [40, 18], [8, 18]], np.float32)  # a line 32 x 8 at the top left
    cv2.fillPoly(image, [box.astype(np.int32)], (255, 255, 255))
    turned, (moved,) = turn_square(image, [box], quarters)
    drawn = np.zeros((64, 64), np.uint8)
    cv2.fillPoly(drawn, [np.round(moved).astype(np.int32)], 1)
    ink = turned[:, :, 0] > 0
    assert (drawn.astype(bool) != ink).sum() < 0.3 * ink.sum()  # on the turned line's pixels, to a pixel's edge
    assert runs_up_or_down(order_corners(moved)) == (quarters % 2 == 1)


def test_a_page_of_horizontal_lines_is_detected_once():
    detector = HorizontalDetector()
    found = detect_page(strips_page(vertical=False), detector, DetectOptions())
    assert detector.calls == 1 and len(found) == 5


def test_targets_shrink_the_core_band_the_border_and_ignore_tiny_boxes():
    box = rect(20, 20, 120, 50)
    targets = make_targets(80, 160, [box, rect(20, 60, 100, 62)])
    core = targets["shrink"] > 0
    distance = shrink_distance(box)
    ys, xs = np.nonzero(core)
    assert xs.min() >= 20 + distance - 1 and xs.max() <= 120 - distance + 1
    assert 0 < core.sum() < 100 * 30
    assert targets["shrink_mask"][61, 50] == 0  # the 2 px line is ignored, not taught as background
    assert targets["shrink_mask"][5, 5] == 1
    thresh = targets["thresh"]
    assert thresh.min() >= 0.3 - 1e-6 and thresh.max() <= 0.7 + 1e-6
    assert thresh[20, 70] > 0.65 and thresh[35, 70] < thresh[22, 70]  # high on the edge, falling inside
    assert targets["thresh_mask"][20 - int(distance) + 1, 70] == 1


def test_crop_of_a_rotated_box_is_upright_and_sized_like_the_box():
    image = np.full((200, 200, 3), 255, np.uint8)
    angle = np.radians(30)
    u, v = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    box = np.array([[50, 50], [50, 50] + 100 * u, [50, 50] + 100 * u + 20 * v, [50, 50] + 20 * v], np.float32)
    crop = crop_box(image, box, margin=0.0, ends=0.0)
    assert crop.shape[:2] == (20, 100)
    grown = grow_box(box, 0.5)
    assert np.linalg.norm(grown[1] - grown[0]) == pytest.approx(120, abs=0.01)
    assert np.linalg.norm(grown[3] - grown[0]) == pytest.approx(40, abs=0.01)
    grown = grow_box(box, 0.5, ends=1.0)  # the ends grow along the line, the sides across it
    assert np.linalg.norm(grown[1] - grown[0]) == pytest.approx(140, abs=0.01)
    assert np.linalg.norm(grown[3] - grown[0]) == pytest.approx(40, abs=0.01)


def test_line_crop_keeps_the_ends_a_tight_box_leaves_out():
    """A detector's box stops at the letters' ink, short of a leading bullet and a trailing full
    stop; the crop reaches out along the line (``CROP_ENDS``) and keeps both, but not a word a
    column gap away."""
    image = np.full((60, 400, 3), 255, np.uint8)
    image[20:40, 100:300] = 0  # the letters, 20 px high: the box
    image[29:31, 95:98] = 0  # a dash before them
    image[36:40, 302:305] = 0  # a full stop after them
    image[20:40, 325:360] = 0  # the next column's word, a gap of 1.25 heights away
    crop = crop_box(image, rect(100, 20, 300, 40))
    dark = (crop[..., 0] < 128).any(axis=0)  # columns of the crop with ink
    runs = np.flatnonzero(np.diff(dark.astype(int)))  # where ink starts and stops
    assert len(runs) == 6  # dash, letters, stop: three runs of ink, each inside the crop
    assert not dark[0] and not dark[-1]


def test_counts_match_boxes_one_to_one():
    counts = DetectionCounts()
    counts.add([rect(0, 0, 10, 10), rect(0, 0, 10, 10), rect(50, 50, 60, 60)], [rect(1, 0, 10, 10), rect(0, 30, 5, 35)])
    assert (counts.matched, counts.detected, counts.reference) == (1, 3, 2)
    assert counts.precision == pytest.approx(1 / 3) and counts.recall == 0.5


def _order(boxes: list[tuple[str, tuple[float, float, float, float]]]) -> str:
    texts = [t for t, _ in boxes]
    return page_text(reading_order(np.array([b for _, b in boxes])), texts)


def _rows(boxes: list[tuple[str, tuple[float, float, float, float]]]) -> list[str]:
    """The page text's non-empty rows, in reading order."""
    return [row for row in _order(boxes).split("\n") if row]


def test_two_columns_under_a_heading_read_left_column_first_then_the_table_below():
    boxes = [("Title", (100, 50, 1100, 90))]
    for i in range(6):
        y = 120 + i * 30
        boxes += [(f"L{i}", (100, y, 560, y + 24)), (f"R{i}", (620, y, 1100, y + 24))]
    for r in range(2):
        y = 400 + r * 30
        boxes += [(f"T{r}{c}", (100 + c * 200, y, 160 + c * 200, y + 24)) for c in range(3)]
    text = _order(boxes)
    assert text == ("Title\n\n" + "\n".join(f"L{i}" for i in range(6)) + "\n\n" + "\n".join(f"R{i}" for i in range(6))
                    + "\n\nT00 T01 T02\nT10 T11 T12")


def test_rows_of_short_cells_stay_rows_and_gaps_start_paragraphs():
    receipt = [("Coffee", (20, 100, 120, 120)), ("3.50", (300, 100, 350, 120)),
               ("Cake", (20, 125, 100, 145)), ("4.00", (300, 125, 350, 145)),
               ("Tea", (20, 150, 80, 170)), ("2.00", (300, 150, 350, 170)),
               ("Total", (20, 200, 100, 220)), ("9.50", (300, 200, 350, 220))]
    assert _order(receipt) == "Coffee 3.50\nCake 4.00\nTea 2.00\n\nTotal 9.50"
    heading = [("Big heading", (20, 10, 400, 60)), ("body one", (20, 64, 300, 84)), ("body two", (20, 88, 300, 108))]
    assert _order(heading) == "Big heading\n\nbody one\nbody two"


def test_three_columns_and_shuffled_input_order():
    boxes = []
    for i in range(4):
        y = 100 + i * 30
        boxes += [(f"A{i}", (0, y, 300, y + 24)), (f"B{i}", (340, y, 640, y + 24)), (f"C{i}", (680, y, 980, y + 24))]
    rng = np.random.default_rng(0)
    shuffled = [boxes[i] for i in rng.permutation(len(boxes))]
    expected = "\n\n".join("\n".join(f"{c}{i}" for i in range(4)) for c in "ABC")
    assert _order(shuffled) == expected
    assert reading_order(np.zeros((0, 4))) == []


MENU_ABOVE_PANELS = [("dots", (12, 6, 68, 26)), ("url", (410, 8, 605, 23)), ("Help", (12, 36, 43, 53)),
                     ("Terminal", (72, 37, 132, 52)), ("Settings History", (243, 38, 363, 52)),
                     ("Bookmarks", (384, 37, 459, 52)),
                     # a table of short cells on the left, ending at x=340
                     *((f"{c}{i}", (x0, 80 + i * 33, x1, 95 + i * 33)) for i in range(8)
                       for c, x0, x1 in (("a", 47, 117), ("b", 184, 287), ("c", 320, 340))),
                     # the right panel, from the top of the table to the bottom
                     *((f"r{i}", (660, 80 + i * 40, 940, 95 + i * 40)) for i in range(10)),
                     # paragraph lines on the left under the table, across the menu's widest gap
                     *((f"p{i}", (37, 360 + i * 22, 600, 374 + i * 22)) for i in range(4))]


def test_a_menu_bar_gap_above_two_panels_does_not_split_the_page_there():
    """A screen: a window title, a menu whose widest gap happens to run down a blank strip of
    the left panel (beside a table) for a while, and two panels split by a gutter that runs to the
    bottom. The panels are the columns; the title and menu are read above them."""
    boxes = MENU_ABOVE_PANELS
    rows = _rows(boxes)
    assert rows == ["dots url", "Help Terminal Settings History Bookmarks", *(f"a{i} b{i} c{i}" for i in range(8)),
                    *(f"p{i}" for i in range(4)), *(f"r{i}" for i in range(10))]


# A table whose right column holds text wrapped over three lines: its cells share their tops.
WRAPPED_TABLE = [box for r in range(4) for box in (
    (f"name{r}", (100, 100 + r * 90, 180, 124 + r * 90)),
    *((f"desc{r}{k}", (300, 100 + r * 90 + k * 28, 800, 124 + r * 90 + k * 28)) for k in range(3)))]


# Two panels of a screen in 12 px text: a first row across both, rows of their own, then form
# fields on both sides at one pitch, 45 px apart (gaps of 2.75 lines).
TWO_FORM_PANELS = [*((f"a{i}", (30, 100 + 20 * i, 200, 112 + 20 * i)) for i in range(3)),
                   *((f"b{i}", (600, 100 + 30 * i, 800, 112 + 30 * i)) for i in range(3)),
                   *(box for i in range(5) for y in (190 + 45 * i,) for box in (
                       (f"l{i}", (30, y, 80, y + 12)), (f"v{i}", (110, y, 200, y + 12)),
                       (f"m{i}", (600, y + 1, 660, y + 13)), (f"w{i}", (690, y + 1, 800, y + 13))))]


def test_form_fields_spaced_wider_than_two_lines_stay_in_their_panel():
    """A gap of more than two lines ends a column region only where it is also well over the gaps
    between the region's rows so far: here every field row is as far apart as the last."""
    rows = _rows(TWO_FORM_PANELS)
    assert rows == [*(f"a{i}" for i in range(3)), *(f"l{i} v{i}" for i in range(5)),
                    *(f"b{i}" for i in range(3)), *(f"m{i} w{i}" for i in range(5))]


# A menu bar whose widest gap lies over the gutter between a sidebar and the main area below it.
MENU_OVER_SIDEBAR = [*((f"m{i}", (10 + 50 * i + (70 if i >= 3 else 0), 30, 50 + 50 * i + (70 if i >= 3 else 0), 42))
                       for i in range(6)),
                     *((f"s{i}", (10, 60 + 30 * i, 120, 72 + 30 * i)) for i in range(6)),
                     *((f"t{k}", (240, 60 + 20 * k, 600, 72 + 20 * k)) for k in range(9))]


def test_a_menu_bar_whose_widest_gap_meets_a_sidebar_gutter_is_read_above_both():
    """A region found from the menu row ends where the one from the row below does: a row of short
    items (a menu bar) is then read on its own, above the sidebar and the main area."""
    rows = _rows(MENU_OVER_SIDEBAR)
    assert rows == ["m0 m1 m2 m3 m4 m5", *(f"s{i}" for i in range(6)), *(f"t{k}" for k in range(9))]


def test_a_table_with_wrapped_text_cells_stays_row_by_row():
    rows = _rows(WRAPPED_TABLE)
    assert rows == [row for r in range(4) for row in (f"name{r} desc{r}0", f"desc{r}1", f"desc{r}2")]


# The lower half of a receipt as the detector found it: items and prices, a row of dashes found
# only in part (a thin box from the middle to the prices), totals, then lines of its own.
RECEIPT_WITH_DASHES = [("x6", (15, 333, 78, 351)), *(box for r, (y, x1) in enumerate(
                           [(355, 100), (376, 55), (396, 138), (418, 51), (440, 138), (461, 137)]) for box in (
                           (f"i{r}", (15, y, x1, y + 18)), (f"p{r}", (459, y, 500, y + 18)))),
                       ("dash0", (164, 496, 438, 503)), ("dash1", (444, 496, 493, 504)),
                       *(box for r, y in enumerate([522, 542, 564, 584, 606]) for box in (
                           (f"t{r}", (15, y, 75, y + 18)), (f"v{r}", (452, y, 500, y + 18)))),
                       ("visa", (15, 636, 124, 654)), ("auth", (16, 658, 144, 673)),
                       ("thanks", (191, 690, 322, 705)), ("keep", (193, 713, 319, 724))]


def test_a_row_of_dashes_found_in_part_does_not_make_a_receipt_two_columns():
    """A box much thinner than a line does not narrow a gutter: the gap between the items and the
    prices stays too wide for the centred lines below, so nothing stands alone on the right."""
    rows = _rows(RECEIPT_WITH_DASHES)
    assert rows == ["x6", *(f"i{r} p{r}" for r in range(6)), "dash0 dash1", *(f"t{r} v{r}" for r in range(5)),
                    "visa", "auth", "thanks", "keep"]


# A receipt's item rows: names at the left, prices at the right, two quantity rows alone at the left
# and two prices whose item names the detector missed alone at the right.
RECEIPT_MISSED_NAMES = [box for r in range(20) for box in (
    [(f"q{r}", (20, 100 + 26 * r, 110, 120 + 26 * r))] if r in (3, 8) else
    [(f"p{r}", (300, 100 + 26 * r, 360, 120 + 26 * r))] if r in (12, 16) else
    [(f"i{r}", (20, 100 + 26 * r, 120 + 10 * (r % 5), 120 + 26 * r)),
     (f"p{r}", (300, 100 + 26 * r, 360, 120 + 26 * r))])]


def test_a_receipt_whose_rows_mostly_hold_an_item_and_its_price_is_read_across():
    """Each side has rows of its own here (quantities at the left, prices whose names were missed at
    the right), as beside a sidebar; but 16 of 20 rows hold both sides, so the rows are read across,
    not the names and then every price."""
    rows = _rows(RECEIPT_MISSED_NAMES)
    assert rows == [f"q{r}" if r in (3, 8) else f"p{r}" if r in (12, 16) else f"i{r} p{r}" for r in range(20)]


# Two columns of prose, then small print (8 px in 18 px lines) across the page below them.
COLUMNS_OVER_SMALL_PRINT = [*((f"L{k}", (30, 100 + 24 * k, 380, 118 + 24 * k)) for k in range(8)),
                            *((f"R{k}", (420, 100 + 24 * k, 770, 118 + 24 * k)) for k in range(8)),
                            ("note", (20, 300, 770, 308))]


def test_small_print_across_the_gutter_still_ends_the_columns():
    """A thin box does not narrow a gutter it lies beside, but one spanning it ends the region."""
    rows = _rows(COLUMNS_OVER_SMALL_PRINT)
    assert rows == [*(f"L{k}" for k in range(8)), *(f"R{k}" for k in range(8)), "note"]


# A table (short cells, rows 49 px apart) beside a column of prose (lines filling the column, 24 px
# apart): each table row shares a visual row with a prose line, 4-9 px out of step with it.
TABLE_BESIDE_PROSE = [*(box for r in range(6) for y in (99 + 49 * r,) for box in (
                          (f"a{r}", (30, y, 110, y + 20)), (f"b{r}", (130, y, 200, y + 20)))),
                      *((f"p{k}", (300, 95 + 24 * k, 700 - (40 if k % 5 == 4 else 0), 115 + 24 * k))
                        for k in range(16))]


def test_a_table_beside_a_column_of_prose_is_read_before_it():
    """No row of the table stands alone, so the sides are not independent, and the cells are not
    text; but the other side is prose whose lines start out of step with the table's rows: columns."""
    rows = _rows(TABLE_BESIDE_PROSE)
    assert rows == [*(f"a{r} b{r}" for r in range(6)), *(f"p{k}" for k in range(16))]


# A menu bar found as two boxes, the gap between them over the gutter between a sidebar and the
# main area below (far narrower than that gutter).
MENU_IN_TWO_BOXES = [("File View Format", (10, 30, 160, 45)), ("Tools Window History", (190, 30, 390, 45)),
                     *((f"s{i}", (15, 60 + 30 * i, 90, 75 + 30 * i)) for i in range(6)),
                     *((f"t{k}", (250, 62 + 20 * k, 700, 77 + 20 * k)) for k in range(9))]


def test_a_menu_bar_in_two_boxes_over_a_sidebar_gutter_is_read_above_both():
    """The region found from the menu row runs as far down as the one from the row below, but its
    gutter is the menu's word gap, a fifth as wide as the sidebar's: the menu is read on its own."""
    rows = _rows(MENU_IN_TWO_BOXES)
    assert rows == ["File View Format Tools Window History", *(f"s{i}" for i in range(6)),
                    *(f"t{k}" for k in range(9))]


# Two panels of a screen whose first rows (a line of text, a heading) are set three lines above
# the rest; then a column of form labels and one of prose, each at its own pitch.
PANELS_SET_APART = [("a0", (250, 65, 420, 80)), ("b0", (840, 62, 1170, 82)),
                    *((f"a{i}", (250, 125 + 45 * (i - 1), 330, 140 + 45 * (i - 1))) for i in range(1, 6)),
                    *((f"b{k}", (840, 127 + 24 * (k - 1), 1220, 142 + 24 * (k - 1))) for k in range(1, 9))]


def test_the_first_rows_of_two_panels_set_apart_still_start_the_columns():
    """The gap under a region's first row has no gaps before it to be judged against: three lines
    do not end the region there, so each panel is read whole, left then right."""
    rows = _rows(PANELS_SET_APART)
    assert rows == [*(f"a{i}" for i in range(6)), *(f"b{k}" for k in range(9))]


# Two panels whose lines are out of step: no row holds a box of each, so every band is one box.
PANELS_OUT_OF_STEP = [*((f"L{k}", (40, 100 + 30 * k, 400, 114 + 30 * k)) for k in range(6)),
                      *((f"R{k}", (600, 115 + 30 * k, 980, 129 + 30 * k)) for k in range(6))]


def test_two_panels_whose_lines_are_out_of_step_are_read_one_after_the_other():
    """The gutter is found in the first two bands together, though neither has a gap of its own."""
    rows = _rows(PANELS_OUT_OF_STEP)
    assert rows == [*(f"L{k}" for k in range(6)), *(f"R{k}" for k in range(6))]


# A sidebar beside a form, out of step: a band of one sidebar item, then one of a label and its value.
SIDEBAR_BESIDE_FORM = [*((f"s{k}", (14, 77 + 30 * k, 74, 97 + 30 * k)) for k in range(8)),
                       *(box for r in range(5) for y in (93 + 41 * r,) for box in (
                           (f"l{r}", (205, y, 250, y + 16)), (f"v{r}", (280, y, 500, y + 16))))]


def test_a_sidebar_beside_a_form_out_of_step_is_read_before_it():
    """The first band is a sidebar item alone, the second a label and its value: the gutter lies
    between the two bands together, not in either's own gaps (the label's gap is no gutter)."""
    rows = _rows(SIDEBAR_BESIDE_FORM)
    assert rows == [*(f"s{k}" for k in range(8)), *(f"l{r} v{r}" for r in range(5))]


@pytest.fixture(scope="module")
def tiny_detector():
    return train_tiny_detector()


def test_a_tiny_detector_trained_on_rendered_pages_finds_every_line(tiny_detector):
    from recog.detection.detector import DetectionModel
    from recog_edge.boxes import DetectOptions

    model, rendered = tiny_detector
    detector = DetectionModel(model, DetectOptions(max_side=320, min_side=32))
    counts = DetectionCounts()
    for image, boxes in rendered:
        counts.add([box for box, _ in detector.detect(image)], boxes)
    assert counts.hmean == 1.0


def test_validation_draws_boxes_with_the_settings_it_is_given(tiny_detector):
    import torch

    from recog.detection.training import DetectorSystem

    model, rendered = tiny_detector
    items = [{"image": torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255, "size": img.shape[:2],
              "polygons": boxes} for img, boxes in rendered]
    config = {"detector": {"channels": [8, 16, 32, 32, 32], "depths": [1, 1, 1, 1], "inner": 32}}
    hmeans = []
    for val_boxes in (None, {"box_thresh": 0.999}):
        system = DetectorSystem(config, val_boxes=val_boxes)
        system.model.load_state_dict(model.state_dict())
        system.model.eval()
        with torch.no_grad():
            system.validation_step(items, 0)
        hmeans.append(system.counts.hmean)
    assert hmeans == [1.0, 0.0]


def test_recog_train_fits_a_detector_from_yaml_and_recog_load_reads_pages_with_it(tmp_path, one_thread):
    import json

    import yaml
    from PIL import Image

    import recog
    from recog.cli import main
    from recog.pages import PageReader
    from tests.helpers import PAGES, render_page

    rows = []
    for n, lines in enumerate(PAGES):
        image, boxes = render_page(lines)
        Image.fromarray(image).save(tmp_path / f"p{n}.png")
        rows.append({"image_filepath": f"p{n}.png", "lines": [{"text": t, "points": b.tolist()}
                                                              for (_, t), b in zip(lines, boxes, strict=True)]})
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = yaml.safe_load(open("configs/latin_det.yaml"))
    config["model"]["model"]["detector"] = {"channels": [8, 16, 16, 16, 16], "depths": [1, 1, 1, 1], "inner": 16}
    config["data"] |= {"train_manifest": str(tmp_path / "pages.jsonl"), "val_manifest": str(tmp_path / "pages.jsonl"),
                       "crop": 128, "batch_size": 2, "num_workers": 0}
    config["trainer"] |= {"max_steps": 3, "max_time": None, "enable_progress_bar": False, "log_every_n_steps": 1}
    (tmp_path / "det.yaml").write_text(yaml.safe_dump(config))
    main(["train", "--config", str(tmp_path / "det.yaml"), "--run_dir", str(tmp_path / "run")])
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    reader = recog.load(checkpoint)
    assert isinstance(reader, PageReader)
    # the checkpoint reads with the box settings it was validated with, as its shipped model will
    boxes = reader.detector.options.boxes
    assert (boxes.box_thresh, boxes.unclip_ratio) == (config["model"]["val_boxes"]["box_thresh"],
                                                      config["model"]["val_boxes"]["unclip_ratio"]) != (0.6, 1.5)
    # ... and the model folder shipped from it keeps them without --detect
    import subprocess
    import sys

    subprocess.run([sys.executable, "tools/ship_model.py", str(checkpoint), "--name", "det-test",
                    "--out", str(tmp_path / "shipped")], check=True, capture_output=True)
    shipped = json.loads((tmp_path / "shipped" / "config.json").read_text())
    assert shipped["info"]["detect"] == config["model"]["val_boxes"]
    assert reader.read(np.full((64, 300, 3), 255, np.uint8)).lines == []  # untrained: finds nothing, fails nothing
    metrics = (tmp_path / "run" / "logs" / "version_0" / "metrics.csv").read_text()
    assert "train/loss" in metrics and "val/hmean" in metrics


@pytest.mark.parametrize("size", [22, 28])
def test_the_shipped_detector_finds_each_line_of_green_text_on_a_magenta_sign(size: int) -> None:
    """The detector reads luminance (``detection_input``): on this hue pair, rarely seen in
    training, latin-det's map on the colour image broke into pieces (1 box for 4 lines at both
    sizes); on its luminance it boxes each line. latin-lines (from version 12) reads luminance in
    its frontend: version 11, reading colour, read these crops as 'ERTAE IEEG' and the like."""
    from PIL import Image, ImageDraw, ImageFont

    import recog

    image = Image.new("RGB", (900, 700), (80, 55, 95))
    draw = ImageDraw.Draw(image)
    draw.rectangle([150, 250, 620, 520], fill=(185, 75, 150))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", size)
    texts = ["DOLLAR MIDDLE", "577.36 GBP", "Tel: 1-800-SKCOBMC", "A$19.55"]
    for i, text in enumerate(texts):
        draw.text((175, 270 + i * int(size * 1.5)), text, font=font, fill=(70, 235, 60))
    reader = recog.load("latin-det")
    assert len(reader.detector.detect(np.array(image))) == len(texts)
    assert [line.text for line in reader.read(np.array(image)).lines] == texts  # latin-lines reads luminance too


def test_the_detector_trains_on_the_luminance_it_reads(tmp_path) -> None:  # noqa: ANN001
    """Training crops reach the detector as pages do (``detection_input``): luminance in all three
    channels, whatever the page's colours and the crop's colour jitter."""
    import random

    from PIL import Image

    from recog.detection.training import PageCrops

    page = np.zeros((200, 300, 3), np.uint8)
    page[:] = (185, 75, 150)  # a magenta ground
    page[80:110, 40:260] = (70, 235, 60)  # a green line
    Image.fromarray(page).save(tmp_path / "page.png")
    row = {"image_filepath": str(tmp_path / "page.png"),
           "polygons": [np.array([[40, 80], [260, 80], [260, 110], [40, 110]], np.float32)]}
    crops = PageCrops([row], size=128, max_side=300)
    random.seed(0)
    for _ in range(5):
        image = crops[0]["image"]  # (3, S, S) in [0, 1]
        assert torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])
