"""Drawing, geometry and text helpers of the synthetic page recipe (recipes/synth_pages).

A page is drawn into a float32 (H, W, 3) RGB array held by a ``Canvas``. Every piece of text goes
through ``Canvas.text``, which renders the text's coverage mask with Pillow, blends the ink into
the page and returns the text's ``Line``: its text and the four corners of its box. The box runs
horizontally from the text's first to its last column of ink (coverage >= INK_LEVEL) and
vertically from the font's ascender line to its descender line (``FreeTypeFont.getmetrics``), so
every box of one face and size has the same height whatever its letters, with no margin.

Layouts describe text as ``BlockPlan``s (rows of ``Cell``s plus the shapes behind them, relative to
the block's top left) so that they can measure a block before they place it; ``draw_block`` draws
one. A page's text in reading order comes from its blocks: rows of a block joined by "\\n", the
cells of a row by " ", blocks by "\\n\\n" (``page_text``).

Points are in pixel-edge coordinates: the image spans [0, W] x [0, H] and pixel (row i, column j)
has its centre at (j + 0.5, i + 0.5). OpenCV's warps work on pixel centres, so ``warp_page`` moves
the points with the very matrix that moves the pixels, conjugated by that half-pixel shift.

The fonts, the text generators and the colour helpers are the text-line recipe's
(recipes/synth_ocr): its ``fonts`` and ``texts`` modules, and its ``prepare`` module as ``line_recipe``.
"""

from __future__ import annotations

import colorsys
import functools
import importlib.util
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[2]
LINE_RECIPE = ROOT / "recipes" / "synth_ocr"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # recipes.common; recog when not installed
# Appended, not prepended: the line recipe's folder has a prepare.py too, and "prepare" must stay
# this recipe's module (the line recipe's is loaded under another name below).
if str(LINE_RECIPE) not in sys.path:
    sys.path.append(str(LINE_RECIPE))

import texts  # noqa: E402
from fonts import Face  # noqa: E402


def _line_recipe() -> ModuleType:
    """recipes/synth_ocr/prepare.py as the module ``synth_ocr_prepare`` (loaded once)."""
    name = "synth_ocr_prepare"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LINE_RECIPE / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


line_recipe = _line_recipe()

MIN_CONTRAST: float = line_recipe.MIN_CONTRAST
FEATURES: list[str] = line_recipe.FEATURES  # ligatures off: every glyph is its own character's
MAX_CHARS = 100  # longest text of one box
INK_LEVEL = 0.125  # coverage that counts as ink for a box's horizontal extent
PRINTABLE = frozenset(map(chr, range(0x20, 0x7F)))
BLACK, WHITE = np.zeros(3), np.full(3, 255.0)


# ---------------------------------------------------------------------------------------------
# Lines, blocks and pages
# ---------------------------------------------------------------------------------------------


@dataclass
class Line:
    """One box of text: ``points`` (4, 2) are its top-left, top-right, bottom-right and bottom-left
    corners in the text's own reading direction, in image pixels."""

    text: str
    points: np.ndarray


Block = list[list[Line]]  # rows of a block, each row's boxes left to right


@dataclass
class Page:
    """A drawn page: the image, its text as blocks in reading order, and what the manifest reports."""

    kind: str
    image: np.ndarray  # (H, W, 3) float32 while drawing, uint8 when done
    blocks: list[Block]
    font: str  # the page's main face, "family/style"
    info: dict = field(default_factory=dict)

    def lines(self) -> list[Line]:
        """Every box, in reading order."""
        return [line for block in self.blocks for row in block for line in row]


def page_text(blocks: Sequence[Block]) -> str:
    """The reading-order text: boxes of a row joined by " ", rows by "\\n", blocks by "\\n\\n"."""
    return "\n\n".join("\n".join(" ".join(line.text for line in row) for row in block) for block in blocks)


@dataclass
class Cell:
    """Text to draw in a block: ``x`` is its left ink edge, right ink edge or centre (``align``) and
    ``baseline`` its baseline, both relative to the block's top left."""

    text: str
    path: str
    size: int
    x: float
    baseline: float
    align: str = "left"
    ink: np.ndarray | None = None  # None: the page's ink


@dataclass
class Shape:
    """A filled (or, with ``outline`` > 0, outlined) rectangle, rounded by ``radius``, relative to
    the block's top left; ``ellipse`` draws the inscribed ellipse."""

    x0: float
    y0: float
    x1: float
    y1: float
    colour: np.ndarray
    radius: int = 0
    outline: int = 0
    ellipse: bool = False


@dataclass
class BlockPlan:
    """A measured block: rows of cells, the shapes behind them and its height."""

    rows: list[list[Cell]]
    height: float
    shapes: list[Shape] = field(default_factory=list)
    splittable: bool = False  # a paragraph: its first rows make a valid, shorter block
    keep_after: float = 0.0  # room it needs below it (a subheading is not left alone at a column's foot)

    def head(self, room: float) -> BlockPlan | None:
        """The first rows that end within ``room`` (a paragraph cut at a column's foot), or None."""
        ends = [max(row_bottom(c) for c in row) for row in self.rows]
        k = sum(1 for end in ends if end <= room)
        if k == 0:
            return None
        return BlockPlan(self.rows[:k], ends[k - 1], self.shapes, self.splittable)


def row_bottom(cell: Cell) -> float:
    """The bottom of a cell's box (its descender line), relative to the block."""
    return cell.baseline + metrics(cell.path, cell.size)[1]


def draw_block(canvas: Canvas, plan: BlockPlan, x: float, y: float, ink: np.ndarray, aliased: bool = False) -> Block:
    """Draw ``plan`` with its top left at (x, y); returns its rows of boxes."""
    for s in plan.shapes:
        canvas.shape(x + s.x0, y + s.y0, x + s.x1, y + s.y1, s.colour, s.radius, s.outline, s.ellipse)
    rows = []
    for row in plan.rows:
        cells = sorted(row, key=lambda c: c.x)
        rows.append([canvas.text(c.text, c.path, c.size, x + c.x, y + c.baseline, ink if c.ink is None else c.ink,
                                 c.align, aliased) for c in cells])
    return rows


# ---------------------------------------------------------------------------------------------
# Fonts
# ---------------------------------------------------------------------------------------------


def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The face at ``path`` in ``size`` px (cached by the line recipe)."""
    return line_recipe.load_font(path, size)


@functools.lru_cache(maxsize=2048)
def metrics(path: str, size: int) -> tuple[int, int]:
    """(ascent, descent) in px: the ascender and descender lines' distances from the baseline."""
    ascent, descent = load_font(path, size).getmetrics()
    return max(1, ascent), max(0, descent)


def line_height(path: str, size: int) -> int:
    """Height of every box of this face and size: ascent + descent."""
    return sum(metrics(path, size))


def size_for_height(path: str, size: int, min_height: int) -> int:
    """``size``, or the smallest larger size whose boxes are at least ``min_height`` px high."""
    while line_height(path, size) < min_height:
        size += 1
    return size


def ink_width(text: str, path: str, size: int) -> int:
    """Width of the text's ink as Pillow measures it (the drawn box is within a pixel of it)."""
    left, _, right, _ = load_font(path, size).getbbox(text, anchor="ls", features=FEATURES)
    return right - left


def advance(text: str, path: str, size: int) -> float:
    """Advance width of ``text`` (where the next text would start)."""
    return load_font(path, size).getlength(text, features=FEATURES)


def is_plain(face: Face) -> bool:
    """Regular weight, upright: the face for running text."""
    return face.style.strip().lower() in line_recipe.PLAIN_STYLES | {"normal", "regular"}


def pick(faces: Sequence[Face], rng: np.random.Generator, categories: Sequence[str] | None = None,
         plain: bool = True) -> Face:
    """A face of ``categories`` (any when None or when the split has none), plain when the split has
    plain ones and ``plain``; design groups equally likely (the line recipe's ``pick_face``)."""
    pool = [f for f in faces if categories is None or f.category in categories] or list(faces)
    if plain:
        pool = [f for f in pool if is_plain(f)] or pool
    return line_recipe.pick_face(pool, rng)


def bold_of(face: Face, faces: Sequence[Face]) -> Face:
    """The upright bold face of ``face``'s family in ``faces`` ("Bold" first, then "SemiBold" and the
    like), or ``face`` itself when the family has none."""
    def upright_bold(style: str) -> bool:
        lower = style.lower()
        slanted = any(k in lower for k in ("ital", "obli", "cond")) or "it" in lower.replace("-", " ").split()
        return "bold" in lower and not slanted

    upright = [f for f in faces if f.family == face.family and upright_bold(f.style)]
    upright.sort(key=lambda f: (f.style.strip().lower() != "bold", f.style))
    return upright[0] if upright else face


# ---------------------------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------------------------


def contrast(a: np.ndarray, b: np.ndarray) -> float:
    """WCAG contrast ratio of two colours."""
    return float(line_recipe.contrast_ratio(np.asarray(a, float)[None], np.asarray(b, float)[None])[0])


def readable(ink: np.ndarray, backgrounds: Sequence[np.ndarray]) -> np.ndarray:
    """``ink`` when its contrast with every background colour is at least MIN_CONTRAST, else black
    or white, whichever is the more readable on them."""
    def worst(colour: np.ndarray) -> float:
        return min(contrast(colour, bg) for bg in backgrounds)

    if worst(ink) >= MIN_CONTRAST:
        return np.asarray(ink, float)
    return BLACK if worst(BLACK) >= worst(WHITE) else WHITE


def extremes(region: np.ndarray) -> list[np.ndarray]:
    """The darkest and the lightest colour of a (subsampled) background region."""
    step = max(1, int(np.sqrt(region.shape[0] * region.shape[1] / 40000)))
    pixels = region[::step, ::step].reshape(-1, 3)
    lum = line_recipe.luminance(pixels)
    return [pixels[int(np.argmin(lum))], pixels[int(np.argmax(lum))]]


def dark_ink(rng: np.random.Generator, backgrounds: Sequence[np.ndarray]) -> np.ndarray:
    """Black, dark grey or a very dark blue-black: the ink of printed running text."""
    grey = rng.uniform(0, 70)
    tint = rng.uniform(-8, 8, size=3) if rng.random() < 0.7 else np.array([0.0, 0.0, rng.uniform(10, 60)])
    return readable(np.clip(grey + tint, 0, 255), backgrounds)


def hsv(hue: float, saturation: float, value: float) -> np.ndarray:
    """An RGB colour (0..255) from hue, saturation and value in 0..1."""
    return np.array(colorsys.hsv_to_rgb(hue % 1.0, saturation, value)) * 255.0


def mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """``a`` moved ``t`` (0..1) of the way to ``b``."""
    return np.asarray(a, float) * (1 - t) + np.asarray(b, float) * t


def shade(colour: np.ndarray, amount: float) -> np.ndarray:
    """``colour`` lighter (amount > 0) or darker (< 0) by ``amount`` levels."""
    return np.clip(np.asarray(colour, float) + amount, 0, 255)


# ---------------------------------------------------------------------------------------------
# Canvas
# ---------------------------------------------------------------------------------------------


class Canvas:
    """A float32 (H, W, 3) RGB page to draw text and shapes on."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = np.ascontiguousarray(image, dtype=np.float32)

    @property
    def height(self) -> int:
        """Rows of the page."""
        return self.image.shape[0]

    @property
    def width(self) -> int:
        """Columns of the page."""
        return self.image.shape[1]

    def blend(self, alpha: np.ndarray, x: int, y: int, colour: np.ndarray) -> None:
        """Blend ``colour`` into the page through ``alpha`` ((h, w), 0..1) with its top left at
        (x, y); parts off the page are dropped."""
        h, w = alpha.shape
        x0, y0, x1, y1 = max(0, x), max(0, y), min(self.width, x + w), min(self.height, y + h)
        if x0 >= x1 or y0 >= y1:
            return
        a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
        region = self.image[y0:y1, x0:x1]
        region *= 1.0 - a
        region += a * np.asarray(colour, np.float32)

    def text(self, text: str, path: str, size: int, x: float, baseline: float, ink: np.ndarray,
             align: str = "left", aliased: bool = False) -> Line:
        """Draw ``text`` with its baseline at ``baseline`` and its left ink edge, right ink edge or
        ink centre (``align``) at ``x``; ``aliased`` draws without anti-aliasing. Returns its box."""
        if not valid(text):
            raise ValueError(f"invalid text for a box: {text!r}")
        font = load_font(path, size)
        left, top, right, bottom = font.getbbox(text, anchor="ls", features=FEATURES)
        pad = 2
        mask = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
        draw = ImageDraw.Draw(mask)
        draw.fontmode = "1" if aliased else "L"
        ox, oy = pad - left, pad - top  # the baseline's start in the mask
        draw.text((ox, oy), text, font=font, fill=255, anchor="ls", features=FEATURES)
        alpha = np.asarray(mask, dtype=np.float32) / 255.0
        columns = np.flatnonzero(alpha.max(axis=0) >= INK_LEVEL)
        if columns.size == 0:
            raise ValueError(f"no ink drawn for {text!r} in {path}")
        c0, c1 = int(columns[0]), int(columns[-1]) + 1
        anchor = {"left": c0, "right": c1, "center": (c0 + c1) // 2}[align]
        px, base = round(x) - anchor, round(baseline)
        self.blend(alpha, px, base - oy, ink)
        ascent, descent = metrics(path, size)
        return Line(text, box_points(px + c0, base - ascent, px + c1, base + descent))

    def shape(self, x0: float, y0: float, x1: float, y1: float, colour: np.ndarray, radius: int = 0,
              outline: int = 0, ellipse: bool = False, opacity: float = 1.0) -> None:
        """Fill (or outline, ``outline`` px wide) the rectangle [x0, x1) x [y0, y1), rounded by
        ``radius``, or the ellipse inscribed in it; ``opacity`` < 1 lets the page show through."""
        x0, y0, x1, y1 = round(x0), round(y0), round(x1), round(y1)
        w, h = x1 - x0, y1 - y0
        if w <= 0 or h <= 0:
            return
        mask = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(mask)
        style = {"fill": None, "outline": 255, "width": outline} if outline else {"fill": 255}
        if ellipse:
            draw.ellipse((0, 0, w - 1, h - 1), **style)
        elif radius:
            draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=min(radius, (min(w, h) - 1) // 2), **style)
        else:
            draw.rectangle((0, 0, w - 1, h - 1), **style)
        self.blend(np.asarray(mask, dtype=np.float32) * (opacity / 255.0), x0, y0, colour)


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def box_points(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """(4, 2) corners of an upright box: top left, top right, bottom right, bottom left."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


_HALF = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_MINUS_HALF = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])


def edge_matrix(matrix: np.ndarray) -> np.ndarray:
    """OpenCV's 2x3 or 3x3 matrix (on pixel centres) as a 3x3 matrix on pixel-edge coordinates."""
    m = np.eye(3)
    m[: matrix.shape[0]] = matrix
    return _HALF @ m @ _MINUS_HALF


def centre_matrix(edge: np.ndarray) -> np.ndarray:
    """The inverse of ``edge_matrix``: a 3x3 on pixel-edge coordinates as OpenCV's on centres."""
    return _MINUS_HALF @ edge @ _HALF


def transform(points: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """(N, 2) points moved by the 3x3 projective ``edge`` matrix."""
    p = np.c_[points, np.ones(len(points))] @ edge.T
    return p[:, :2] / p[:, 2:]


def warp_page(page: Page, matrix: np.ndarray, size: tuple[int, int], border: np.ndarray) -> None:
    """Warp the page's image with OpenCV's 3x3 ``matrix`` to ``size`` (W, H), filling uncovered
    parts with ``border``, and move every box's corners with the same matrix."""
    page.image = cv2.warpPerspective(page.image, matrix, size, flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(v) for v in border))
    edge = edge_matrix(matrix)
    for line in page.lines():
        line.points = transform(line.points, edge)


def rotate_page(page: Page, quarter_turns: int) -> None:
    """Turn the whole page counter-clockwise by ``quarter_turns`` x 90 degrees (np.rot90, no
    resampling) and its boxes with it; a box's first point stays its text's top left."""
    k = quarter_turns % 4
    h, w = page.image.shape[:2]
    page.image = np.ascontiguousarray(np.rot90(page.image, k))
    for line in page.lines():
        x, y = line.points[:, 0].copy(), line.points[:, 1].copy()
        if k == 1:
            x, y = y, w - x
        elif k == 2:
            x, y = w - x, h - y
        elif k == 3:
            x, y = h - y, x
        line.points = np.stack([x, y], axis=1)


# ---------------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Printable ASCII only, single spaces, none at either end."""
    return " ".join("".join(c for c in text if c in PRINTABLE).split())


def valid(text: str, max_chars: int = MAX_CHARS) -> bool:
    """A box's text: 1..max_chars printable ASCII characters, no space at either end, no double space."""
    return 1 <= len(text) <= max_chars and set(text) <= PRINTABLE and text == " ".join(text.split())


def gen(prng: random.Random, makers: Sequence[Callable[[random.Random], str]], max_chars: int = 40) -> str:
    """A valid text of at most ``max_chars`` from one of ``makers`` (texts.py's generators)."""
    for _ in range(100):
        text = clean(prng.choice(makers)(prng))
        if valid(text, max_chars):
            return text
    return prng.choice([w for w in texts.COMMON if len(w) <= max_chars] or ["a"])


def words_text(prng: random.Random, low: int, high: int) -> str:
    """``low``-``high`` common words (plain running words, for labels and headings)."""
    return " ".join(prng.choice(texts.COMMON) for _ in range(prng.randint(low, high)))


def title_case(text: str) -> str:
    """Every word capitalised."""
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


# Generators mixed into running text beside plain words: numbers, names, dates and the like.
RUNNING_EXTRAS: tuple[Callable[[random.Random], str], ...] = (
    texts.t_name_place, texts.t_number, texts.t_price, texts.t_date, texts.t_time, texts.t_email, texts.t_url,
    texts.t_code, texts.t_phone,
)
_BULLET_STARTS = ("- ", "* ", "> ", "# ", "1. ", "a) ", "2) ")


def sentence(prng: random.Random) -> str:
    """One sentence of running text: word runs of texts.t_words (without list bullets), now and then
    a number, name, date, price, address or code, capitalised and ended with a full stop."""
    parts = []
    for _ in range(prng.randint(1, 3)):
        if prng.random() < 0.15:
            parts.append(gen(prng, RUNNING_EXTRAS, 30))
        else:
            part = gen(prng, (texts.t_words,), 60)
            for bullet in _BULLET_STARTS:
                part = part.removeprefix(bullet)
            parts.append(part)
    text = " ".join(parts)
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def running_words(prng: random.Random, n: int) -> list[str]:
    """Whole sentences until there are at least ``n`` words; returns the words."""
    words: list[str] = []
    while len(words) < n:
        words += sentence(prng).split()
    return words


def wrap(words: Sequence[str], fits: Callable[[str, int], bool]) -> list[str]:
    """Greedy word wrap: each line takes words while ``fits(line, line_index)``; a word too long for a
    line on its own is broken between characters."""
    out: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}" if current else word
        if fits(trial, len(out)):
            current = trial
            continue
        if current:
            out.append(current)
            current = ""
        while not fits(word, len(out)) and len(word) > 1:
            k = len(word) - 1
            while k > 1 and not fits(word[:k], len(out)):
                k -= 1
            out.append(word[:k])
            word = word[k:]
        current = word
    if current:
        out.append(current)
    return out


def fitter(path: str, size: int, width: float | Sequence[float], prefix: str = "") -> Callable[[str, int], bool]:
    """``fits`` for ``wrap``: the line (with ``prefix`` before the first line, e.g. a bullet) is at
    most ``width`` px of ink (per line index when a sequence, the last for the rest) and at most
    MAX_CHARS characters."""
    widths = [width] if isinstance(width, int | float) else list(width)

    def fits(line: str, index: int) -> bool:
        text = f"{prefix}{line}" if index == 0 else line
        return len(text) <= MAX_CHARS and ink_width(text, path, size) <= widths[min(index, len(widths) - 1)]

    return fits
