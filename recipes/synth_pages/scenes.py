"""Screenshots, receipts and signs of the synthetic page recipe.

* screenshot: a flat UI, 800-1600 px wide, light or dark theme, text 11-18 px (font size): a title
  bar, maybe a menu bar, a sidebar of navigation items (a left column: read before the main area)
  and a status bar; in the main area headings, short paragraphs, forms (labels with input fields,
  beside or above them), rows of buttons (rounded rectangles), a list view (a table) and sometimes
  a code block in a monospace face on its own background, maybe with line numbers.
* receipt: the paper itself, 350-600 px wide and 700-1600 px tall, in a monospace (70 %) or sans
  face: the shop's name and address centred, date and time, separators (a row of "-", "=" or "*"
  that is text, or a drawn dashed rule that is not), item rows with the name at the left and the
  price at the right (two boxes), quantity rows, totals, payment and a footer, maybe a barcode.
* sign: a photo-like 640-1280 px image (a blurred scene of gradients and shapes, with noise), one
  panel of 1-5 lines of 30-120 px text (font size), warped in perspective and rotated by up to
  +-10 degrees as a whole (the boxes with the same matrix), maybe casting a shadow; then blur,
  uneven light and noise.
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np
from canvas import (
    MAX_CHARS,
    WHITE,
    Block,
    BlockPlan,
    Canvas,
    Cell,
    Page,
    Shape,
    advance,
    bold_of,
    centre_matrix,
    draw_block,
    extremes,
    fitter,
    gen,
    hsv,
    ink_width,
    line_height,
    line_recipe,
    metrics,
    mix,
    pick,
    readable,
    running_words,
    shade,
    size_for_height,
    texts,
    title_case,
    transform,
    words_text,
    wrap,
)
from documents import table
from fonts import Face

from recog import augment

APPS = ("Mail", "Editor", "Browser", "Settings", "Files", "Terminal", "Notes", "Calendar", "Invoices", "Admin",
        "Dashboard", "Photos", "Music", "Maps", "Store", "Accounts", "Studio", "Viewer")
MENUS = ("File", "Edit", "View", "Insert", "Format", "Tools", "Window", "Help", "Go", "Run", "Terminal",
         "Selection", "Settings", "History", "Bookmarks", "Account")
NAV = ("Inbox", "Sent", "Drafts", "Archive", "Spam", "Trash", "Home", "Dashboard", "Projects", "Reports",
       "Settings", "Profile", "Messages", "Calendar", "Contacts", "Invoices", "Customers", "Orders", "Products",
       "Analytics", "Help", "Documents", "Downloads", "Pictures", "Team", "Billing", "Security", "Favourites")
BUTTONS = ("OK", "Cancel", "Save", "Submit", "Sign in", "Log in", "Next", "Back", "Delete", "Apply", "Continue",
           "Learn more", "Add to cart", "Download", "Upload", "Send", "Search", "Close", "Retry", "Export", "Share",
           "Edit", "Create account", "Buy now", "Confirm", "Reset", "Save changes")
STATUS = ("Ready", "Saved", "Connected", "Offline", "Syncing...", "Done", "All changes saved", "Loading...")
FORM_FIELDS = {
    "Name": lambda p: f"{p.choice(texts.FIRST_NAMES)} {p.choice(texts.LAST_NAMES)}",
    "Email": lambda p: gen(p, (texts.t_email,), 40),
    "Phone": lambda p: gen(p, (texts.t_phone,), 30),
    "Address": lambda p: gen(p, (texts.t_name_place,), 40),
    "City": lambda p: p.choice(texts.CITIES),
    "Company": lambda p: f"{p.choice(texts.COMPANY_WORDS)} {p.choice(texts.COMPANY_TYPES)}",
    "Username": lambda p: gen(p, (texts.t_email,), 40).split("@")[0],
    "Password": lambda p: "*" * p.randint(6, 14),
    "Date": lambda p: gen(p, (texts.t_date,), 24),
    "Amount": lambda p: gen(p, (texts.t_price,), 24),
    "Reference": lambda p: gen(p, (texts.t_code,), 24),
    "Website": lambda p: gen(p, (texts.t_url,), 40),
    "Quantity": lambda p: str(p.randint(1, 99)),
}
# Sign colour schemes (panel, ink), beside random ones: road and shop signs.
SIGN_SCHEMES = (((0, 110, 60), WHITE), ((0, 70, 160), WHITE), ((190, 20, 30), WHITE), ((250, 200, 0), (0, 0, 0)),
                ((250, 250, 245), (0, 0, 0)), ((15, 15, 15), WHITE), ((110, 60, 30), WHITE), ((0, 0, 0), (250, 200, 0)))


# ---------------------------------------------------------------------------------------------
# Screenshot
# ---------------------------------------------------------------------------------------------


def _code_line(prng: random.Random) -> str:
    """A line of code-like text (indentation is drawn, not written)."""
    w1, w2 = prng.choice(texts.COMMON), prng.choice(texts.COMMON)
    forms = (
        f"def {w1}_{w2}({w1[0]}, {w2[0]}={prng.randint(0, 9)}):",
        f"{w1} = {prng.choice((str(prng.randint(0, 999)), repr(w2), f'{w2}({prng.randint(0, 9)})', 'None', '[]'))}",
        f"return {w1} {prng.choice('+-*/%')} {prng.randint(1, 99)}",
        f"if ({w1} {prng.choice(('==', '!=', '<=', '>=', '<', '>'))} {prng.randint(0, 99)}) {{",
        "}",
        f"// {words_text(prng, 2, 6)}",
        f"# {words_text(prng, 2, 6)}",
        f"import {w1}",
        f'console.log("{words_text(prng, 1, 4)}");',
        f"for {w1[0]} in range({prng.randint(1, 100)}):",
        f"const {w1} = require('{w2}');",
        texts.t_symbols(prng),
    )
    return prng.choice(forms)


def screenshot(rng: np.random.Generator, prng: random.Random, faces: list[Face], split: str, options: dict) -> Page:
    """Draw a screenshot page (see the module docstring)."""
    w = int(rng.integers(800, 1601))
    h = round(w * rng.uniform(0.55, 0.8))
    dark = rng.random() < 0.35
    base = line_recipe.screen_colour(rng, dark)
    canvas = Canvas(np.broadcast_to(base, (h, w, 3)))
    ui = pick(faces, rng, ("sans",) if rng.random() < 0.8 else ("sans", "serif", "other"))
    bold = bold_of(ui, faces)
    mono = pick(faces, rng, ("mono",))
    size = int(rng.integers(11, 19))
    aliased = rng.random() < 0.15
    ink = readable(np.full(3, rng.uniform(200, 250) if dark else rng.uniform(0, 70)), [base])
    muted = readable(mix(ink, base, 0.35), [base])
    accent = hsv(rng.random(), rng.uniform(0.45, 0.9), rng.uniform(0.4, 0.85))
    on_accent = readable(WHITE, [accent])
    lh = line_height(ui.path, size)
    ascent = metrics(ui.path, size)[0]
    blocks: list[Block] = []

    def place(plan: BlockPlan, x: float, y: float) -> None:
        rows = draw_block(canvas, plan, x, y, ink, aliased)
        if rows:
            blocks.append(rows)

    # Title bar: window controls (shapes, not text) and the window's title.
    bar_h = lh + 2 * int(rng.integers(6, 12))
    bar = accent if rng.random() < 0.2 else shade(base, 18 if dark else -18)
    canvas.shape(0, 0, w, bar_h, bar)
    mac = rng.random() < 0.5
    r = 6
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        cx = 14 + r + i * 20 if mac else w - 20 - i * 40
        canvas.shape(cx - r, bar_h / 2 - r, cx + r, bar_h / 2 + r, np.array(colour, float) if mac else ink,
                     ellipse=mac, outline=0 if mac else 1)
    title = f"{gen(prng, (texts.t_words, texts.t_code, texts.t_url, texts.t_email), 50)} - {prng.choice(APPS)}"
    title = wrap(title.split(), fitter(ui.path, size, w - 260))[0]
    title_ink = on_accent if bar is accent else readable(ink, [bar])
    x_title, align = (w / 2, "center") if mac else (16, "left")
    place(BlockPlan([[Cell(title, ui.path, size, x_title, (bar_h - lh) / 2 + ascent, align, title_ink)]], bar_h), 0, 0)
    y = bar_h

    if rng.random() < 0.6:  # menu bar: one row of labels
        menu_h = lh + 2 * int(rng.integers(4, 9))
        menu = shade(base, 8 if dark else -8) if rng.random() < 0.5 else base
        canvas.shape(0, y, w, y + menu_h, menu)
        cells, x = [], 12.0
        labels = [MENUS[i] for i in sorted(rng.choice(len(MENUS), size=int(rng.integers(3, 8)), replace=False))]
        for label in labels:
            cells.append(Cell(label, ui.path, size, x, (menu_h - lh) / 2 + ascent, ink=readable(ink, [menu])))
            x += ink_width(label, ui.path, size) + size * rng.uniform(1.2, 2.2)
        place(BlockPlan([cells], menu_h), 0, y)
        y += menu_h

    status_h = lh + 2 * int(rng.integers(3, 7)) if rng.random() < 0.45 else 0
    bottom = h - status_h
    side_w = int(rng.integers(170, 261)) if rng.random() < 0.4 else 0
    if side_w:  # sidebar: a left column of navigation items, one highlighted
        side = shade(base, rng.uniform(6, 14) * (1 if dark else -1))
        canvas.shape(0, y, side_w, bottom, side)
        pad = int(rng.integers(6, 12))
        item_h = lh + 2 * pad
        selected, icons = int(rng.integers(0, 6)), rng.random() < 0.5
        highlight = mix(side, accent, 0.3)
        rows, shapes, yy = [], [], 12.0
        for i, k in enumerate(rng.permutation(len(NAV))[: int(rng.integers(4, 13))]):
            if y + yy + item_h > bottom - 8:
                break
            fill = highlight if i == selected else side
            if i == selected:
                shapes.append(Shape(6, yy, side_w - 6, yy + item_h, highlight, radius=4))
            if icons:
                icon = readable(muted, [fill])
                shapes.append(Shape(16, yy + item_h / 2 - 6, 28, yy + item_h / 2 + 6, icon, radius=2))
            x = 38 if icons else 18
            rows.append([Cell(NAV[k], ui.path, size, x, yy + pad + ascent, ink=readable(ink, [fill]))])
            yy += item_h
        place(BlockPlan(rows, yy, shapes), 0, y)

    # Main area: elements top to bottom while they fit, in one column or, on a wide screen, in two
    # (a main column and a side panel: the whole left one is read first).
    margin = int(rng.integers(16, 41))
    area_w = w - side_w - 2 * margin
    top = y + int(rng.integers(12, 31))
    gap = lh * rng.uniform(0.8, 1.8)
    weights = {"text": 3.0, "form": 2.0, "buttons": 1.5, "code": 1.0, "table": 1.0}
    split_at = rng.uniform(0.55, 0.7) if area_w >= 900 and rng.random() < 0.35 else 1.0
    gutter = float(rng.integers(24, 49))
    left_w = area_w * split_at - gutter / 2
    columns = [(0.0, area_w)] if split_at == 1.0 else [(0.0, left_w), (left_w + gutter, area_w - left_w - gutter)]
    for col, (offset, width) in enumerate(columns):
        x0, y, fails = side_w + margin + offset, top, 0
        first = True
        while fails < 3:
            if first and rng.random() < (0.7 if col == 0 else 0.4):
                kind = "heading"
            else:
                names = list(weights)
                p = np.array([weights[n] for n in names])
                kind = names[int(rng.choice(len(names), p=p / p.sum()))]
            first = False
            plan = element(kind, rng, prng, faces, ui, bold, mono, size, width, base, ink, muted, accent, on_accent,
                           dark)
            if plan is None or y + plan.height > bottom - 12:
                fails += 1
                continue
            if kind == "code":
                weights["code"] = 0.0  # one code block a screen
            place(plan, x0, y)
            y += plan.height + gap

    if status_h:  # status bar: a note at the left and a position or clock at the right
        fill = accent if rng.random() < 0.4 else shade(base, 10 if dark else -10)
        canvas.shape(0, bottom, w, h, fill)
        text_ink = on_accent if fill is accent else readable(ink, [fill])
        left = prng.choice(STATUS)
        right = prng.choice((f"Ln {prng.randint(1, 400)}, Col {prng.randint(1, 80)}", "UTF-8",
                             gen(prng, (texts.t_time,), 20), f"{prng.randint(1, 999)} items",
                             f"{prng.randint(25, 200)}%"))
        baseline = (status_h - lh) / 2 + ascent
        place(BlockPlan([[Cell(left, ui.path, size, 12, baseline, ink=text_ink),
                          Cell(right, ui.path, size, w - 12, baseline, "right", text_ink)]], status_h), 0, bottom)

    image = np.clip(canvas.image + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.15:
        image = augment.jpeg(image, rng, 60, 95)  # a screenshot shared as JPEG
    return Page("screenshot", image, blocks, ui.name, {"dark": bool(dark)})


def element(kind: str, rng: np.random.Generator, prng: random.Random, faces: list[Face], ui: Face, bold: Face,
            mono: Face, size: int, width: float, base: np.ndarray, ink: np.ndarray, muted: np.ndarray,
            accent: np.ndarray, on_accent: np.ndarray, dark: bool) -> BlockPlan | None:
    """One element of a screenshot's main area, ``width`` px wide at most, or None."""
    lh = line_height(ui.path, size)
    ascent = metrics(ui.path, size)[0]
    if kind == "heading":
        hsize = round(size * rng.uniform(1.3, 2.0))
        text = wrap(title_case(words_text(prng, 1, 5)).split(), fitter(bold.path, hsize, width))[0]
        return BlockPlan([[Cell(text, bold.path, hsize, 0, metrics(bold.path, hsize)[0])]],
                         line_height(bold.path, hsize))
    if kind == "text":
        n = prng.randint(5, 45)
        rows = wrap(running_words(prng, n)[:n], fitter(ui.path, size, min(width, float(rng.integers(380, 900)))))
        pitch = lh + int(rng.integers(2, 8))
        colour = muted if rng.random() < 0.3 else ink
        return BlockPlan([[Cell(t, ui.path, size, 0, ascent + i * pitch, ink=colour)] for i, t in enumerate(rows)],
                         (len(rows) - 1) * pitch + lh)
    if kind == "form":
        return form(rng, prng, ui, size, width, base, ink, muted, dark)
    if kind == "buttons":
        face = bold if rng.random() < 0.5 else ui
        pad_x, pad_y, radius = int(rng.integers(12, 25)), int(rng.integers(6, 11)), int(rng.integers(2, 13))
        button_h = lh + 2 * pad_y
        cells, shapes, x = [], [], 0.0
        for i, k in enumerate(rng.permutation(len(BUTTONS))[: int(rng.integers(1, 5))]):
            label = BUTTONS[k]
            bw = ink_width(label, face.path, size) + 2 * pad_x
            if x + bw > width:
                break
            if i == 0 or rng.random() < 0.3:  # filled (primary) or outlined button
                shapes.append(Shape(x, 0, x + bw, button_h, accent, radius))
                colour = on_accent
            else:
                shapes.append(Shape(x, 0, x + bw, button_h, readable(accent, [base]), radius, outline=1))
                colour = readable(accent, [base])
            baseline = pad_y + metrics(face.path, size)[0]
            cells.append(Cell(label, face.path, size, x + bw / 2, baseline, "center", colour))
            x += bw + int(rng.integers(8, 17))
        return BlockPlan([cells], button_h, shapes) if cells else None
    if kind == "code":
        return code_block(rng, prng, mono, size, width, base, ink, dark)
    line_colour = shade(base, 45 if dark else -45)
    grid = str(rng.choice(["rules", "grid", "shade"]))
    return table(prng, rng, ui.path, bold.path, size, min(width, 900.0), 1, line_colour,
                 readable(shade(base, 14 if dark else -14), [ink]), grid)


def form(rng: np.random.Generator, prng: random.Random, ui: Face, size: int, width: float, base: np.ndarray,
         ink: np.ndarray, muted: np.ndarray, dark: bool) -> BlockPlan | None:
    """2-5 labelled input fields, the label beside (one row) or above (two rows) its field."""
    lh, ascent = line_height(ui.path, size), metrics(ui.path, size)[0]
    inline, colon = rng.random() < 0.6, rng.random() < 0.5
    names = list(FORM_FIELDS)
    fields = [names[i] for i in rng.permutation(len(names))[: int(rng.integers(2, 6))]]
    labels = [f"{f}:" if colon else f for f in fields]
    label_w = max(ink_width(t, ui.path, size) for t in labels) + 16 if inline else 0
    box_w = min(width - label_w, float(rng.integers(200, 441)))
    if box_w < 120:
        return None
    pad, pad_x, radius = int(rng.integers(5, 10)), int(rng.integers(6, 11)), int(rng.integers(0, 7))
    box_h = lh + 2 * pad
    fill = shade(base, 14) if dark else (WHITE if rng.random() < 0.7 else shade(base, 6))
    border = shade(base, 70 if dark else -70)
    rows, shapes, y = [], [], 0.0
    for field, label in zip(fields, labels, strict=True):
        row = [Cell(label, ui.path, size, 0, y + (pad + ascent if inline else ascent))]
        if not inline:
            rows.append(row)
            y += lh + 6
            row = []
        shapes += [Shape(label_w, y, label_w + box_w, y + box_h, fill, radius),
                   Shape(label_w, y, label_w + box_w, y + box_h, border, radius, outline=1)]
        roll = rng.random()
        value = FORM_FIELDS[field](prng) if roll < 0.8 else f"Enter {field.lower()}" if roll < 0.9 else ""
        value = wrap(value.split(), fitter(ui.path, size, box_w - 2 * pad_x))[0] if value else ""
        if value:
            colour = readable(muted if value.startswith("Enter ") else ink, [fill])
            row.append(Cell(value, ui.path, size, label_w + pad_x, y + pad + ascent, ink=colour))
        if row:
            rows.append(row)
        y += box_h + int(rng.integers(8, 17))
    return BlockPlan(rows, y - 8, shapes)


def code_block(rng: np.random.Generator, prng: random.Random, mono: Face, size: int, width: float,
               base: np.ndarray, ink: np.ndarray, dark: bool) -> BlockPlan | None:
    """3-12 lines of code in ``mono`` on a background of its own, maybe with line numbers."""
    csize = size if rng.random() < 0.6 else max(11, size - 1)
    lh, ascent = line_height(mono.path, csize), metrics(mono.path, csize)[0]
    if not dark and rng.random() < 0.3:
        fill = hsv(rng.random(), rng.uniform(0, 0.2), rng.uniform(0.1, 0.2))  # a dark editor on a light page
    else:
        fill = shade(base, rng.uniform(10, 20) if dark else -rng.uniform(10, 25))
    code_ink = readable(ink, [fill])
    pad, pitch = int(rng.integers(8, 17)), lh + int(rng.integers(1, 6))
    block_w = min(width, float(rng.integers(400, 1000)))
    numbers = rng.random() < 0.3
    start = prng.randint(1, 200)
    gutter = ink_width(str(start + 12), mono.path, csize) + 2 * advance("0", mono.path, csize) if numbers else 0
    indent_w = 4 * advance(" ", mono.path, csize)
    rows, level, y = [], 0, pad + ascent
    for i in range(int(rng.integers(3, 13))):
        level = max(0, min(3, level + prng.choice((-1, 0, 0, 1))))
        x = pad + gutter + level * indent_w
        text = _code_line(prng)
        if ink_width(text, mono.path, csize) > block_w - x - pad:
            continue
        colour = readable(hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.5, 1.0)) if rng.random() < 0.4
                          else code_ink, [fill])
        row = [Cell(text, mono.path, csize, x, y, ink=colour)]
        if numbers:
            row.insert(0, Cell(str(start + i), mono.path, csize, pad + gutter - advance("00", mono.path, csize), y,
                               "right", readable(mix(code_ink, fill, 0.4), [fill])))
        rows.append(row)
        y += pitch
    if not rows:
        return None
    height = y - pitch - ascent + lh + pad
    return BlockPlan(rows, height, [Shape(0, 0, block_w, height, fill, int(rng.integers(0, 8)))])


# ---------------------------------------------------------------------------------------------
# Receipt
# ---------------------------------------------------------------------------------------------


def receipt(rng: np.random.Generator, prng: random.Random, faces: list[Face], split: str, options: dict) -> Page:
    """Draw a receipt page (see the module docstring)."""
    w, target = int(rng.integers(350, 601)), int(rng.integers(700, 1601))
    paper = np.clip(rng.uniform(228, 255) + rng.uniform(-4, 4, size=3), 0, 255)
    face = pick(faces, rng, ("mono",) if rng.random() < 0.7 else ("sans",))
    bold = bold_of(face, faces)
    margin = int(rng.integers(14, 36))
    width = w - 2 * margin
    size = int(rng.integers(14, 23))
    while size > 11 and ink_width("0" * 26, face.path, size) > width:
        size -= 1
    size = size_for_height(face.path, size, 12)
    lh = line_height(face.path, size)
    leading = max(1, round(lh * rng.uniform(0.05, 0.35)))
    gap = (lh + leading) * rng.uniform(0.3, 1.0)
    path, bpath = face.path, bold.path

    def rows_plan(rows: list[list[tuple[str, str, int, str]]], shapes: list[Shape] | None = None,
                  dx: float = 0) -> BlockPlan:
        """Rows of (text, font path, size, align) cells: x 0, ``width`` or its centre."""
        cells_rows, y = [], 0.0
        for row in rows:
            top = max(metrics(p, s)[0] for _, p, s, _ in row)
            cells_rows.append([Cell(t, p, s, {"left": dx, "right": width, "center": width / 2}[a], y + top, a)
                               for t, p, s, a in row])
            y += top + max(metrics(p, s)[1] for _, p, s, _ in row) + leading
        return BlockPlan(cells_rows, y - leading, shapes or [])

    def fit(text: str, p: str = path, s: int = size, room: float = width) -> str:
        return wrap(text.split(), fitter(p, s, room))[0]

    def pair(label: str, value: str, p: str = path, s: int = size) -> list[tuple[str, str, int, str]]:
        label = fit(label, p, s, width - ink_width(value, p, s) - 2 * size)
        return [(label, p, s, "left"), (value, p, s, "right")]

    def separator() -> BlockPlan | None:
        roll = rng.random()
        if roll < 0.5:  # a row of characters: text
            char = prng.choice("-=*")
            n = min(int(width / advance(char, path, size)), MAX_CHARS)  # a narrow face could pass a box's limit
            while n > 1 and ink_width(char * n, path, size) > width:
                n -= 1
            return rows_plan([[(char * n, path, size, "center")]])
        if roll < 0.8:  # a drawn rule: not text. Solid, or dashes of 1.6-3.2 line heights, which no row
            # of hyphens looks like (short dashes did: the same marks were text on one receipt, not on another)
            dash, space, thick = int(rng.integers(4, 11)), int(rng.integers(3, 7)), int(rng.integers(1, 3))
            # The draws are version 1's, so the rest of the page stays as it was; 2 in 7 rules are solid.
            dash_px, space_px = (width, 1) if dash > 8 else (round(dash * 0.4 * lh), round(space * 0.1 * lh))
            return BlockPlan([], lh, [Shape(x, lh / 2, x + dash_px, lh / 2 + thick, ink)  # whole dashes only
                                      for x in range(0, width - dash_px + 1, dash_px + space_px)])
        return None

    ink = readable(np.full(3, rng.uniform(10, 90)), [paper])
    top_plans: list[BlockPlan | None] = []
    big = round(size * rng.uniform(1.2, 1.9))
    shop_path = bpath if rng.random() < 0.7 else path
    shop = gen(prng, (lambda p: f"{p.choice(texts.COMPANY_WORDS)} {p.choice(texts.COMPANY_TYPES)}",
                      lambda p: words_text(p, 1, 3).upper()), 40)
    while big > size and ink_width(shop.split()[0], shop_path, big) > width:
        big -= 1
    shop_rows = wrap(shop.split(), fitter(shop_path, big, width))[:2]
    top_plans.append(rows_plan([[(t, shop_path, big, "center")] for t in shop_rows]))
    address = [f"{prng.randint(1, 999)} {prng.choice(texts.STREETS)} {prng.choice(texts.STREET_TYPES)}",
               gen(prng, (lambda p: f"{p.choice(texts.CITIES)}, {p.choice(texts.STATES)} {p.randint(10000, 99999)}",
                          lambda p: f"{p.choice(texts.CITIES)}, {p.choice(texts.COUNTRIES)}"), 40)]
    if rng.random() < 0.7:
        address.append(gen(prng, (texts.t_phone,), 30))
    if rng.random() < 0.3:
        address.append(gen(prng, (texts.t_url, texts.t_email), 40))
    top_plans.append(rows_plan([[(fit(t), path, size, "center")] for t in address]))
    date, clock = gen(prng, (texts.t_date,), 20), gen(prng, (texts.t_time,), 12)
    meta = [pair(date, clock)] if ink_width(f"{date}{clock}", path, size) + 3 * size < width else [
        [(fit(f"{date} {clock}"), path, size, "center")]]
    if rng.random() < 0.6:
        note = prng.choice((f"Receipt #{prng.randint(100, 99999)}", f"Cashier: {prng.choice(texts.FIRST_NAMES)}",
                            f"Store {prng.randint(1, 999):04d} Reg {prng.randint(1, 12):02d}",
                            f"Table {prng.randint(1, 40)}"))
        meta.append([(fit(note), path, size, "left")])
    top_plans += [rows_plan(meta), separator()]

    # Items: name at the left, price at the right; sometimes a quantity row under the name.
    prices = []
    money = "$" if rng.random() < 0.3 else ""

    def item_rows() -> list[list[tuple[str, str, int, str]]]:
        qty, unit = (prng.randint(2, 6) if prng.random() < 0.25 else 1), prng.randint(50, 4999) / 100
        prices.append(qty * unit)
        name = words_text(prng, 1, 3)
        name = name.upper() if prng.random() < 0.6 else title_case(name)
        rows = [pair(name, f"{money}{qty * unit:.2f}")]
        if qty > 1:
            rows.append([(f"{qty} x {unit:.2f}", path, size, "left")])
        return rows

    tax_rate = prng.choice((0, 5, 7.5, 8.25, 10, 20))
    bottom_plans: list[BlockPlan | None] = [separator(), None]  # totals filled in once the items are known
    if rng.random() < 0.5:
        card = prng.choice(("VISA", "MASTERCARD", "AMEX", "DEBIT"))
        bottom_plans.append(rows_plan([[(f"{card} **** {prng.randint(0, 9999):04d}", path, size, "left")],
                                       [(f"AUTH CODE: {prng.randint(0, 999999):06d}", path, size, "left")]]))
    thanks = prng.choice(("THANK YOU!", "Thank you for shopping with us", "Please come again", "Have a nice day!"))
    footer = [[(fit(thanks), path, size, "center")]]
    if rng.random() < 0.4:
        footer.append([(fit(prng.choice(("Returns within 30 days", "Keep your receipt", "No refunds without receipt"))),
                        path, size, "center")])
    bottom_plans.append(rows_plan(footer))
    if rng.random() < 0.3:
        bottom_plans.append(barcode(rng, prng, path, size, width, ink))

    cash, tip = rng.random() < 0.5, int(rng.choice([0, 0, 5, 10, 20]))

    def totals() -> BlockPlan:
        sub = sum(prices)
        tax = round(sub * tax_rate / 100, 2)
        rows = [pair("SUBTOTAL", f"{money}{sub:.2f}")]
        if tax_rate:
            rows.append(pair(f"TAX {tax_rate}%", f"{money}{tax:.2f}"))
        rows.append(pair("TOTAL", f"{money}{sub + tax:.2f}", bpath))
        if cash:
            paid = math.ceil(sub + tax) + tip
            rows += [pair("CASH", f"{money}{paid:.2f}"), pair("CHANGE", f"{money}{paid - sub - tax:.2f}")]
        return rows_plan(rows)

    def height(plans: list[BlockPlan | None]) -> float:
        kept = [p for p in plans if p is not None]
        return sum(p.height for p in kept) + gap * (len(kept) - 1)

    items: list[list[tuple[str, str, int, str]]] = item_rows()
    while len(prices) < 40:
        more = item_rows()
        trial = [*top_plans, rows_plan(items + more), *bottom_plans[:1], totals(), *bottom_plans[2:]]
        if height(trial) + 2 * margin > target:
            prices.pop()
            break
        items += more
    plans = [*top_plans, rows_plan(items), *bottom_plans[:1], totals(), *bottom_plans[2:]]
    h = int(np.clip(round(height(plans) + 2 * margin), 700, 1600))
    canvas = Canvas(line_recipe.make_background(h, w, paper, rng, "texture" if rng.random() < 0.5 else "plain"))
    ink = readable(ink, extremes(canvas.image))
    blocks: list[Block] = []
    y = float(margin)
    for plan in plans:
        if plan is None:
            continue
        rows = draw_block(canvas, plan, margin, y, ink)
        if rows:
            blocks.append(rows)
        y += plan.height + gap
    image = np.clip(canvas.image + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.7))
    if rng.random() < 0.4:
        image = augment.gaussian_noise(image, rng, max_sigma=6.0)
    return Page("receipt", image, blocks, face.name, {"items": len(prices)})


def barcode(rng: np.random.Generator, prng: random.Random, path: str, size: int, width: float,
            ink: np.ndarray) -> BlockPlan:
    """Bars (shapes, not text), maybe with their digits under them (text)."""
    bar_h, unit = int(rng.integers(40, 81)), int(rng.integers(1, 3))
    span = width * rng.uniform(0.6, 0.9)
    x, end, shapes, on = (width - span) / 2, (width + span) / 2, [], True
    while x < end:
        step = unit * int(rng.integers(1, 4))
        if on:
            shapes.append(Shape(x, 0, min(x + step, end), bar_h, ink))
        x, on = x + step, not on
    rows = []
    if rng.random() < 0.6:
        digits = "".join(str(prng.randint(0, 9)) for _ in range(prng.randint(8, 13)))
        rows = [[Cell(digits, path, size, width / 2, bar_h + 4 + metrics(path, size)[0], "center")]]
    return BlockPlan(rows, bar_h + (4 + line_height(path, size) if rows else 0), shapes)


# ---------------------------------------------------------------------------------------------
# Sign
# ---------------------------------------------------------------------------------------------


def photo_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A blurred scene: a gradient, 3-12 translucent ellipses and rectangles, blur (at a quarter of
    the size, for speed) and sensor-like noise. (H, W, 3) float32."""
    canvas = Canvas(line_recipe.make_background(h, w, hsv(rng.random(), rng.uniform(0, 0.7), rng.uniform(0.15, 0.95)),
                                          rng, "gradient"))
    for _ in range(int(rng.integers(3, 13))):
        cw, ch = w * rng.uniform(0.1, 0.7), h * rng.uniform(0.1, 0.7)
        x, y = rng.uniform(-0.2 * w, w), rng.uniform(-0.2 * h, h)
        canvas.shape(x, y, x + cw, y + ch, hsv(rng.random(), rng.uniform(0, 0.8), rng.uniform(0.1, 1.0)),
                     ellipse=rng.random() < 0.5, opacity=rng.uniform(0.3, 0.9))
    small = cv2.resize(canvas.image, (max(2, w // 4), max(2, h // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), rng.uniform(1, 6))
    image = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    noise = rng.normal(0, rng.uniform(2, 6), size=(h, w, 1)).astype(np.float32)
    return np.clip(image + noise, 0, 255)


def _sign_text(prng: random.Random, first: bool) -> str:
    if first:
        text = words_text(prng, 1, 3)
        return text.upper() if prng.random() < 0.6 else title_case(text)
    return gen(prng, (texts.t_price, texts.t_phone, texts.t_url, texts.t_name_place, texts.t_date, texts.t_code,
                      lambda p: f"Open {gen(p, (texts.t_time,), 20)}", lambda p: title_case(words_text(p, 1, 4))), 30)


def sign(rng: np.random.Generator, prng: random.Random, faces: list[Face], split: str, options: dict) -> Page:
    """Draw a sign page (see the module docstring)."""
    w, h = int(rng.integers(640, 1281)), int(rng.integers(640, 1281))
    background = photo_background(h, w, rng)
    face = pick(faces, rng, ("sans", "display", "serif", "script") if rng.random() < 0.8 else None,
                plain=rng.random() < 0.5)
    if rng.random() < 0.5:
        face = bold_of(face, faces)
    if rng.random() < 0.6:
        fill, ink = (np.array(c, float) for c in SIGN_SCHEMES[int(rng.integers(len(SIGN_SCHEMES)))])
    else:
        fill = hsv(rng.random(), rng.uniform(0, 1), rng.uniform(0.1, 1))
        ink = readable(hsv(rng.random(), rng.uniform(0, 1), rng.uniform(0, 1)), [fill])
    first = int(rng.integers(30, 121))
    pad_x, pad_y = round(first * rng.uniform(0.4, 1.0)), round(first * rng.uniform(0.3, 0.8))
    room_w, room_h = 0.72 * w - 2 * pad_x, 0.72 * h - 2 * pad_y
    specs: list[tuple[str, int]] = []
    for i in range(int(rng.integers(1, 6))):
        size = first if i == 0 else max(30, round(first * rng.uniform(0.45, 1.0)))
        for _ in range(6):
            text = _sign_text(prng, i == 0)
            while ink_width(text, face.path, size) > room_w and size > 30:
                size = max(30, int(size * 0.9))
            if ink_width(text, face.path, size) <= room_w:
                specs.append((text, size))
                break
    leading = rng.uniform(0.05, 0.3)
    while len(specs) > 1 and sum(line_height(face.path, s) * (1 + leading) for _, s in specs) > room_h:
        specs.pop()
    if not specs:
        specs = [("OPEN", 30)]
    centred = rng.random() < 0.75
    text_w = max(ink_width(t, face.path, s) for t, s in specs)
    pw = int(text_w + 2 * pad_x)
    rows, y = [], float(pad_y)
    for text, size in specs:
        ascent = metrics(face.path, size)[0]
        x, align = (pw / 2, "center") if centred else (pad_x, "left")
        rows.append([Cell(text, face.path, size, x, y + ascent, align)])
        y += line_height(face.path, size) * (1 + leading)
    ph = int(y - line_height(face.path, specs[-1][1]) * leading + pad_y)

    panel = Canvas(line_recipe.make_background(ph, pw, fill, rng, "gradient" if rng.random() < 0.4 else "plain"))
    ink = readable(ink, extremes(panel.image))
    pad = min(pad_x, pad_y)
    if rng.random() < 0.4:  # an inner border line, clear of the text
        inset, thick = round(pad * 0.3), max(2, min(round(first / 12), round(pad * 0.25)))
        panel.shape(inset, inset, pw - inset, ph - inset, ink, radius=round(pad * 0.3), outline=thick)
    block = draw_block(panel, BlockPlan(rows, ph), 0, 0, ink)
    alpha = Canvas(np.zeros((ph, pw, 3), np.float32))
    alpha.shape(0, 0, pw, ph, WHITE / 255.0, radius=min(pad, round(min(pw, ph) * rng.uniform(0, 0.12))))
    alpha_mask = alpha.image[..., 0]

    # Perspective (corners moved by up to 8 % of the panel) and rotation, then scaled to fit and
    # placed anywhere in the frame; boxes move with the same matrix.
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64)
    quad = src - [pw / 2, ph / 2] + rng.uniform(-0.08, 0.08, size=(4, 2)) * [pw, ph]
    angle = math.radians(rng.uniform(-10, 10))
    quad = quad @ np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    low, high = quad.min(axis=0), quad.max(axis=0)
    scale = min(1.0, 0.94 * w / (high[0] - low[0]), 0.94 * h / (high[1] - low[1]))
    quad, low, high = quad * scale, low * scale, high * scale
    shift = [rng.uniform(0.03 * w - low[0], max(0.03 * w - low[0], 0.97 * w - high[0])),
             rng.uniform(0.03 * h - low[1], max(0.03 * h - low[1], 0.97 * h - high[1]))]
    quad = quad + shift
    edge = cv2.getPerspectiveTransform(src.astype(np.float32), quad.astype(np.float32)).astype(np.float64)
    matrix = centre_matrix(edge)
    warp = {"dsize": (w, h), "flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_CONSTANT, "borderValue": 0}
    a = cv2.warpPerspective(alpha_mask, matrix, **warp)[..., None]
    colour = cv2.warpPerspective(panel.image * alpha_mask[..., None], matrix, **warp)
    if rng.random() < 0.35:  # the panel's shadow on the scene
        dx, dy = rng.uniform(-0.03, 0.03) * w, rng.uniform(0, 0.04) * h
        moved = cv2.warpAffine(a[..., 0], np.float32([[1, 0, dx], [0, 1, dy]]), (w, h))
        background *= 1 - rng.uniform(0.25, 0.5) * cv2.GaussianBlur(moved, (0, 0), rng.uniform(3, 15))[..., None]
    image = background * (1 - a) + colour
    for row in block:
        for line in row:
            line.points = transform(line.points, edge)

    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.2))
    if rng.random() < 0.4:
        image = augment.illumination(image, rng, min_gain=0.6)
    if rng.random() < 0.6:
        image = augment.gaussian_noise(image, rng, max_sigma=10.0)
    return Page("sign", image, [block], face.name, {"angle": round(math.degrees(angle), 2)})
