"""Document pages of the synthetic page recipe: A4 portrait pages of running text.

A page is A4 at 100-200 dpi (150 dpi, 1240 x 1754 px, for every test page) on white or off-white
paper: margins, sometimes a running header, a heading (1.5-2.4 times the body size, in the bold face
of the body's family when the split has one), then paragraphs (word-wrapped, ragged right),
subheadings, bulleted or numbered lists and small tables (2-5 columns, 3-8 rows and a header row,
with a grid, rules, a shaded header or no lines), in one column or in two with a gutter of 3-6 %
of the page width, and sometimes a footer. Body text is 9-14 pt at the page's dpi, never under 12
px of line height; as a box holds 100 characters at most, a small or condensed face is set larger
or in a narrower column, so that a line holds about MEASURE characters at most. A block never
continues from one column into the next: a paragraph that reaches a column's foot is cut there (so
reading order is unambiguous). About a fifth of the pages get a mild scan look: a skew of up to
+-2 degrees, then some of grey, blur, noise and JPEG.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from canvas import (
    WHITE,
    Block,
    BlockPlan,
    Canvas,
    Cell,
    Page,
    Shape,
    bold_of,
    dark_ink,
    draw_block,
    extremes,
    fitter,
    gen,
    ink_width,
    line_height,
    line_recipe,
    metrics,
    pick,
    readable,
    running_words,
    shade,
    size_for_height,
    texts,
    title_case,
    warp_page,
    words_text,
    wrap,
)
from fonts import Face

from recog import augment

A4_INCHES = (210 / 25.4, 297 / 25.4)
TEST_DPI = 150  # every test page: 1240 x 1754 px
DPI_RANGE = (100, 200)
BODY_PT = (9.0, 14.0)
MIN_LINE_HEIGHT = 12  # px, ascent + descent of the body face
P_TWO_COLUMNS = 0.3
GUTTER = (0.03, 0.06)  # of the page width
P_SCAN = 0.2
MAX_SKEW = 2.0  # degrees
BULLETS = ("-", "*", "1.")
MEASURE = 90  # most characters a column's lines hold on average
MEASURE_SAMPLE = "Pack my box with five dozen liquor jugs, 1234 times. THE QUICK BROWN FOX"
# Body face: sans or serif mostly, sometimes a typewriter face, now and then anything.
BODY_CATEGORIES = ((0.85, ("sans", "serif")), (0.93, ("mono",)), (1.01, None))


@dataclass
class DocStyle:
    """The typography of one document page."""

    body: str  # font paths
    bold: str
    size: int  # body font size, px
    pitch: int  # baseline to baseline, px
    gap: float  # space between blocks, px
    ink: np.ndarray
    accent: np.ndarray  # headings' ink
    paper: np.ndarray
    rule: int  # line thickness, px


def chars_per_line(path: str, size: int, width: float) -> float:
    """How many characters of running text a line ``width`` px wide holds, about."""
    return width * len(MEASURE_SAMPLE) / max(1, ink_width(MEASURE_SAMPLE, path, size))


def off_white(rng: np.random.Generator) -> np.ndarray:
    """Cream, grey or bluish white paper."""
    return np.clip(rng.uniform(236, 252) + np.array([rng.uniform(0, 6), rng.uniform(-2, 3), rng.uniform(-8, 2)]),
                   0, 255)


# ---------------------------------------------------------------------------------------------
# Blocks (measured at a column width, placed later)
# ---------------------------------------------------------------------------------------------


def stacked(texts_: list[str], path: str, size: int, pitch: float, x: float = 0, align: str = "left",
            first_x: float | None = None) -> BlockPlan:
    """One cell per row, rows ``pitch`` apart; ``first_x`` the first row's x (an indent)."""
    ascent, descent = metrics(path, size)
    rows = [[Cell(t, path, size, first_x if i == 0 and first_x is not None else x, ascent + i * pitch, align)]
            for i, t in enumerate(texts_)]
    return BlockPlan(rows, ascent + (len(texts_) - 1) * pitch + descent)


def paragraph(prng: random.Random, rng: np.random.Generator, st: DocStyle, width: float, indent: float) -> BlockPlan:
    """A paragraph of 12-110 words, wrapped to ``width``, its first line indented by ``indent``."""
    words = running_words(prng, prng.randint(12, 110))
    rows = wrap(words, fitter(st.body, st.size, [width - indent, width]))
    plan = stacked(rows, st.body, st.size, st.pitch, first_x=indent)
    plan.splittable = True
    return plan


def bullet_list(prng: random.Random, rng: np.random.Generator, st: DocStyle, width: float) -> BlockPlan:
    """2-6 items with "- ", "* " or "1. " bullets; an item's further lines hang under its text."""
    style = BULLETS[int(rng.integers(len(BULLETS)))]
    indent = round(st.size * rng.uniform(0, 2))
    item_gap = st.pitch * rng.uniform(0, 0.4)
    ascent, descent = metrics(st.body, st.size)
    rows: list[list[Cell]] = []
    y = ascent
    for i in range(int(rng.integers(2, 7))):
        prefix = (f"{i + 1}." if style == "1." else style) + " "
        hang = st.size * 0.3 + ink_width(prefix + "x", st.body, st.size) - ink_width("x", st.body, st.size)
        n = prng.randint(2, 25)
        words = running_words(prng, n)[:n]
        fits = fitter(st.body, st.size, [width - indent, width - indent - hang], prefix)
        for j, text in enumerate(wrap(words, fits)):
            rows.append([Cell(prefix + text if j == 0 else text, st.body, st.size, indent + (hang if j else 0), y)])
            y += st.pitch
        y += item_gap
    return BlockPlan(rows, y - st.pitch - item_gap + descent)


def _cell_price(prng: random.Random) -> str:
    return f"{prng.choice(('', '', '$'))}{prng.randint(0, 2999)}.{prng.randint(0, 99):02d}"


# Column kinds of a table: header labels, a cell maker, right-aligned (numbers).
TABLE_COLUMNS: dict[str, tuple[tuple[str, ...], Callable[[random.Random], str], bool]] = {
    "item": (("Item", "Description", "Product", "Service", "Task"),
             lambda p: words_text(p, 1, 3).capitalize(), False),
    "name": (("Name", "Customer", "Contact", "Owner", "Author"),
             lambda p: f"{p.choice(texts.FIRST_NAMES)} {p.choice(texts.LAST_NAMES)}", False),
    "city": (("City", "Location", "Office", "Branch"), lambda p: p.choice(texts.CITIES), False),
    "code": (("Ref", "Code", "SKU", "ID", "Order"), lambda p: gen(p, (texts.t_code,), 14), False),
    "date": (("Date", "Due", "Issued", "Updated"), lambda p: gen(p, (texts.t_date,), 14), False),
    "qty": (("Qty", "Units", "Count", "No."), lambda p: str(p.randint(1, 250)), True),
    "price": (("Price", "Amount", "Total", "Cost", "Fee"), _cell_price, True),
    "pct": (("Change", "Share", "Rate", "Tax"), lambda p: f"{p.uniform(-30, 30):+.1f}%", True),
}
FIRST_COLUMNS = ("item", "name", "city", "code", "date")


def table(prng: random.Random, rng: np.random.Generator, body: str, bold: str, size: int, width: float,
          rule: int, line_colour: np.ndarray, header_fill: np.ndarray | None, grid: str) -> BlockPlan | None:
    """A table of 2-5 columns and 3-8 rows under a header row (in ``bold``), at most ``width``
    wide (right columns are dropped to fit; None when two do not fit). ``grid``: "grid" (every
    cell ruled), "rules" (top, under the header, bottom), "shade" (``header_fill`` behind the
    header) or "none". Numbers are right-aligned in their column."""
    kinds = [FIRST_COLUMNS[int(rng.integers(len(FIRST_COLUMNS)))]]
    others = [k for k in TABLE_COLUMNS if k not in kinds]
    kinds += [others[i] for i in rng.permutation(len(others))[: int(rng.integers(1, 5))]]
    header = [prng.choice(TABLE_COLUMNS[k][0]) for k in kinds]
    body_rows = [[TABLE_COLUMNS[k][1](prng) for k in kinds] for _ in range(int(rng.integers(3, 9)))]
    pad_x = round(size * rng.uniform(0.5, 1.2))
    lh = max(line_height(body, size), line_height(bold, size))
    pad_y = max(rule + 1, round(lh * rng.uniform(0.2, 0.5)))
    widths = [max(ink_width(header[c], bold, size), *(ink_width(r[c], body, size) for r in body_rows))
              + 2 * pad_x + rule for c in range(len(kinds))]
    while sum(widths) + rule > width and len(kinds) > 2:
        kinds, header, widths = kinds[:-1], header[:-1], widths[:-1]
        body_rows = [r[:-1] for r in body_rows]
    if sum(widths) + rule > width:
        return None
    lefts = np.concatenate([[0], np.cumsum(widths)])
    row_h = lh + 2 * pad_y + rule
    ascent = max(metrics(body, size)[0], metrics(bold, size)[0])
    rows = []
    for r, texts_row in enumerate([header, *body_rows]):
        baseline = r * row_h + rule + pad_y + ascent
        rows.append([Cell(t, bold if r == 0 else body, size,
                          lefts[c + 1] - pad_x if TABLE_COLUMNS[kinds[c]][2] else lefts[c] + rule + pad_x,
                          baseline, "right" if TABLE_COLUMNS[kinds[c]][2] else "left")
                     for c, t in enumerate(texts_row)])
    n, total_w = len(rows), float(lefts[-1] + rule)
    shapes = []
    if grid == "shade" and header_fill is not None:
        shapes.append(Shape(0, 0, total_w, row_h + rule, header_fill))
    if grid in ("grid", "rules"):
        for r in range(n + 1) if grid == "grid" else (0, 1, n):
            shapes.append(Shape(0, r * row_h, total_w, r * row_h + rule, line_colour))
    if grid == "grid":
        for left in lefts:
            shapes.append(Shape(left, 0, left + rule, n * row_h + rule, line_colour))
    return BlockPlan(rows, n * row_h + rule, shapes)


def heading(prng: random.Random, rng: np.random.Generator, st: DocStyle, width: float, centre: bool) -> BlockPlan:
    """The title: 1-2 lines at 1.5-2.4 times the body size, bold when the family has a bold face."""
    size = round(st.size * rng.uniform(1.5, 2.4))
    face = st.bold if rng.random() < 0.85 else st.body
    roll = prng.random()
    if roll < 0.5:
        text = title_case(words_text(prng, 2, 8))
    elif roll < 0.7:
        text = gen(prng, (texts.t_words,), 60).lstrip("-*>#([ ").capitalize() or "Report"
    elif roll < 0.85:
        text = f"{prng.choice(texts.COMPANY_WORDS)} {prng.choice(texts.COMPANY_TYPES)}"
    else:
        text = words_text(prng, 1, 5).upper()
    rows = wrap(text.split(), fitter(face, size, width))[:2]
    pitch = round(line_height(face, size) * rng.uniform(1.0, 1.2))
    return stacked(rows, face, size, pitch, width / 2 if centre else 0, "center" if centre else "left")


def subheading(prng: random.Random, rng: np.random.Generator, st: DocStyle, width: float, number: int) -> BlockPlan:
    """One bold line, maybe numbered ("2. Results", "2.1 Method")."""
    size = round(st.size * rng.uniform(1.0, 1.35))
    text = title_case(words_text(prng, 1, 6))
    roll = prng.random()
    if roll < 0.3:
        text = f"{number}. {text}"
    elif roll < 0.45:
        text = f"{number}.{prng.randint(1, 9)} {text}"
    plan = stacked(wrap(text.split(), fitter(st.bold, size, width))[:1], st.bold, size, 0)
    plan.keep_after = st.gap + 2 * st.pitch
    return plan


def running_header(prng: random.Random, rng: np.random.Generator, st: DocStyle, width: float) -> BlockPlan:
    """A small row at the top: a company or title at the left, a date, reference or page number at
    the right (one row of two boxes)."""
    size = size_for_height(st.body, round(st.size * rng.uniform(0.75, 0.9)), MIN_LINE_HEIGHT)
    left = gen(prng, (texts.t_name_place, lambda p: title_case(words_text(p, 2, 5))), 40)
    right = gen(prng, (texts.t_date, texts.t_code, lambda p: f"Page {p.randint(1, 40)}"), 24)
    ascent = metrics(st.body, size)[0]
    cells = [Cell(left, st.body, size, 0, ascent)]
    if ink_width(left, st.body, size) + ink_width(right, st.body, size) + 3 * size < width:
        cells.append(Cell(right, st.body, size, width, ascent, "right"))
    return BlockPlan([cells], line_height(st.body, size))


def footer(prng: random.Random, rng: np.random.Generator, st: DocStyle, width: float) -> BlockPlan:
    """A page number (centred) or a note at the left and a page number at the right."""
    size = size_for_height(st.body, round(st.size * rng.uniform(0.75, 0.95)), MIN_LINE_HEIGHT)
    page, total = prng.randint(1, 30), prng.randint(30, 90)
    number = prng.choice((f"Page {page} of {total}", f"- {page} -", str(page), f"{page}/{total}"))
    ascent = metrics(st.body, size)[0]
    cells = [Cell(number, st.body, size, width / 2, ascent, "center")]
    if prng.random() < 0.4:
        note = gen(prng, (lambda p: p.choice(("Confidential", "Draft", "Internal use only")),
                          texts.t_url, texts.t_email, texts.t_name_place), 40)
        if ink_width(note, st.body, size) + ink_width(number, st.body, size) + 3 * size < width:
            cells = [Cell(note, st.body, size, 0, ascent), Cell(number, st.body, size, width, ascent, "right")]
    return BlockPlan([cells], line_height(st.body, size))


# ---------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------


def document(rng: np.random.Generator, prng: random.Random, faces: list[Face], split: str, options: dict) -> Page:
    """Draw a document page (see the module docstring). ``options`` may fix "dpi", "columns" (1 or 2),
    "scan", "header" and "footer" (bools); the draws that would pick them are made all the same."""
    dpi = int(rng.integers(DPI_RANGE[0], DPI_RANGE[1] + 1))
    dpi = int(options.get("dpi", TEST_DPI if split == "test" else dpi))
    w, h = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    paper = WHITE.copy() if rng.random() < 0.5 else off_white(rng)
    canvas = Canvas(line_recipe.make_background(h, w, paper, rng, "texture" if rng.random() < 0.3 else "plain"))
    ends = extremes(canvas.image)
    roll = rng.random()
    body = pick(faces, rng, next(c for p, c in BODY_CATEGORIES if roll < p))
    bold = bold_of(body, faces)
    columns = int(options.get("columns", 2 if rng.random() < P_TWO_COLUMNS else 1))
    scan = bool(options.get("scan", rng.random() < P_SCAN))
    left, right = w * rng.uniform(0.07, 0.13), w * rng.uniform(0.07, 0.13)
    top, bottom = h * rng.uniform(0.05, 0.09), h * (1 - rng.uniform(0.05, 0.09))
    gutter = w * rng.uniform(*GUTTER)
    col_w = (w - left - right - gutter * (columns - 1)) / columns
    size = size_for_height(body.path, round(rng.uniform(*BODY_PT) * dpi / 72), MIN_LINE_HEIGHT)
    # A box holds 100 characters at most, so a small or condensed face would leave lines ending far
    # short of the margin: such a face gets a larger size (up to BODY_PT's largest), then narrower
    # columns (wider margins), so that a column holds about MEASURE characters at most.
    while chars_per_line(body.path, size, col_w) > MEASURE and size < BODY_PT[1] * dpi / 72:
        size += 1
    if chars_per_line(body.path, size, col_w) > MEASURE:
        narrower = col_w * MEASURE / chars_per_line(body.path, size, col_w)
        left += (col_w - narrower) * columns / 2
        col_w = narrower
    width = col_w * columns + gutter * (columns - 1)
    lh = line_height(body.path, size)
    ink = dark_ink(rng, ends)
    accent = readable(line_recipe.ink_colour(rng, False), ends) if rng.random() < 0.3 else ink
    st = DocStyle(body.path, bold.path, size, max(lh + max(1, lh // 12), round(size * rng.uniform(1.15, 1.5))), 0.0,
                  ink, accent, paper, max(1, round(dpi / 150)))
    st.gap = st.pitch * rng.uniform(0.4, 1.1)
    indent = round(size * rng.uniform(1.5, 3)) if rng.random() < 0.3 else 0
    blocks: list[Block] = []

    def place(plan: BlockPlan, x: float, y: float, colour: np.ndarray = ink) -> float:
        rows = draw_block(canvas, plan, x, y, colour)
        if rows:
            blocks.append(rows)
        return y + plan.height

    y = top
    if options.get("header", rng.random() < 0.3):
        y = place(running_header(prng, rng, st, width), left, y) + st.gap * 1.5
    y = place(heading(prng, rng, st, width, rng.random() < 0.4), left, y, accent) + st.gap * 1.3
    if columns == 2 and rng.random() < 0.3 and chars_per_line(st.body, size, width) <= MEASURE:
        y = place(paragraph(prng, rng, st, width, indent), left, y) + st.gap
    foot = footer(prng, rng, st, width) if options.get("footer", rng.random() < 0.4) else None
    limit = bottom - (foot.height + 2 * st.gap if foot else 0)

    grid = str(rng.choice(["grid", "rules", "shade", "none"]))
    line_colour = ink if rng.random() < 0.5 else shade(paper, -rng.uniform(80, 150))
    header_fill = shade(paper, -rng.uniform(20, 45))
    counts = {"table": 0, "sub": 0}
    last = ""

    def next_plan() -> BlockPlan | None:
        nonlocal last
        kinds = ["paragraph", "list", "table", "sub"]
        weights = np.array([5.0, 1.5, 1.2 if counts["table"] < 2 else 0.0, 1.0 if last not in ("sub", "") else 0.0])
        kind = kinds[int(rng.choice(4, p=weights / weights.sum()))]
        last = kind
        if kind == "paragraph":
            return paragraph(prng, rng, st, col_w, indent)
        if kind == "list":
            return bullet_list(prng, rng, st, col_w)
        if kind == "sub":
            counts["sub"] += 1
            return subheading(prng, rng, st, col_w, counts["sub"])
        counts["table"] += 1
        return table(prng, rng, st.body, st.bold, size, col_w, st.rule, line_colour,
                     readable(header_fill, [ink]) if grid == "shade" else None, grid)

    # Fill the columns in turn. A block that does not fit is tried again at the top of the next
    # column (a paragraph is cut at the column's foot instead), and smaller blocks are tried in its
    # place, so that columns end near their foot.
    start, carry = y, []
    for col in range(columns):
        x, y = left + col * (col_w + gutter), start
        queue, carry, fails = carry, [], 0
        while fails < 4:
            plan = queue.pop(0) if queue else next_plan()
            if plan is not None and y + plan.height + plan.keep_after <= limit:
                y = place(plan, x, y) + st.gap
                continue
            fails += 1
            if plan is None:
                continue
            head = plan.head(limit - y) if plan.splittable else None
            if head is not None and len(head.rows) >= 2:
                place(head, x, y)  # a paragraph cut at the column's foot: the column is full
                break
            if not plan.splittable and not carry and plan.height <= limit - start:
                carry.append(plan)
    if foot is not None:
        place(foot, left, bottom - foot.height)

    page = Page("document", canvas.image, blocks, body.name, {"dpi": dpi, "columns": columns, "scan": scan})
    if scan:
        skew(page, rng, paper)
    else:
        page.image = np.clip(page.image + 0.5, 0, 255).astype(np.uint8)
    return page


def skew(page: Page, rng: np.random.Generator, paper: np.ndarray) -> None:
    """The scan look: rotate by up to +-MAX_SKEW degrees about the centre (boxes with it), then
    some of grey, a slight blur, noise and JPEG."""
    h, w = page.image.shape[:2]
    angle = rng.uniform(-MAX_SKEW, MAX_SKEW)
    matrix = np.vstack([cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0), [0.0, 0.0, 1.0]])
    warp_page(page, matrix, (w, h), paper)
    image = np.clip(page.image + 0.5, 0, 255).astype(np.uint8)
    grey, blur, sigma = rng.random() < 0.5, rng.random() < 0.5, rng.uniform(0.3, 0.8)
    noise, jpeg = rng.random(), rng.random()
    if grey:
        image = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    if noise < 0.5:
        image = augment.gaussian_noise(image, rng, max_sigma=8.0)
    if jpeg < 0.6:
        image = augment.jpeg(image, rng, 40, 85)
    page.image = image
