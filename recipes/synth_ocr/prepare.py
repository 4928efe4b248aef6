"""Build a synthetic text-line OCR corpus with Pillow, system fonts and recog.augment.

Every line: a text from ``texts.py``, a font face from its split's fonts (``fonts.py``; design
groups are disjoint across splits), and a look. Most lines are *printed*: 20-48 px text on a plain,
gradient or paper-grain background (light, or dark with light text), an ink colour with enough
contrast, tight layout from the font's bounding box plus random padding, sometimes a slight
horizontal stretch or no anti-aliasing. Some are *screenshots*: 11-16 px text on a flat UI colour,
drawn with FreeType's hinting and grey, subpixel (RGB or BGR) or no anti-aliasing. Some lines are
underlined. Then the degradations of real inputs: for --degrade-prob of the lines a few mild ops
from ``recog.augment`` (rotation, perspective, light, blur, noise, JPEG, ...), and for some printed
lines a hard shadow, a scanned look (binarised, with speckle) or a low resolution (12-24 px line
height). Beside train/dev/test, ``test_degraded`` holds the test texts in the test fonts again,
every line heavily degraded (3-5 ops at stronger settings), and ``dev_degraded`` the dev lines so
degraded: with dev, it is what versions and LM settings are chosen on, never test.

Images are PNG (grayscale when the result has no colour) in DIR/images/<split>/<index>.png; the
manifests DIR/{train,dev,test,dev_degraded,test_degraded}.jsonl hold one JSON object per line,
``image_filepath`` relative to DIR. Texts are disjoint across train, dev and test. Everything is
deterministic given --seed (the same bytes come out whatever --workers is); existing valid PNGs
are reused, so an interrupted run can simply be restarted.

    python recipes/synth_ocr/prepare.py --out data/synth_ocr --num-train 20000 --workers 2
"""

from __future__ import annotations

import argparse
import colorsys
import functools
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from fonts import Face, MissingPackagesError, check_packages, face_split
from google_fonts import GOOGLE_PACKAGE, probe_model, read_lock, train_faces
from PIL import Image, ImageDraw, ImageFont
from texts import make_texts

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes.common; recog when not installed
from recipes.common import (  # noqa: E402
    SPLIT_CODES,
    SPLITS,
    atomic_path,
    check_config,
    recorded_config,
    report,
    run_jobs,
    split_texts,
    texts_fingerprint,
    write_manifests,
)
from recog import augment  # noqa: E402
from recog.augment import TextLineAugment  # noqa: E402

CONFIG_VERSION = 2  # bump when the rendering recipe changes so old images are not silently reused
MIN_CONTRAST = 4.5  # WCAG contrast ratio between ink and every background colour
MIN_IMAGE_HEIGHT = 8
# Faces whose style is plain (not bold, italic or a special width/weight) are drawn twice as often.
PLAIN_STYLES = {"regular", "book", "roman", "medium"}
GOOGLE_COIN = 71  # seeds the draw of Google or Debian faces apart from a line's other draws
# OpenType features turned off, so that every glyph is the glyph of its own character: ligatures
# draw two characters as one, and some fonts' defaults change the text (JetBrains Mono and Fira
# Code draw "!=" as a not-equal sign and "->" as an arrow, the ADF fonts draw "ae" as a-e ligature).
FEATURES = ["-liga", "-clig", "-calt", "-rlig", "-dlig", "-hlig"]

# The heavily degraded copies of dev and test: split -> (its copy, the copy's seed code). The same
# texts and fonts again, every line heavily degraded with a render seed of its own.
DEGRADED = {"dev": ("dev_degraded", 4), "test": ("test_degraded", 3)}

# Looks, as shares of the lines of train, dev and test.
P_SCREEN = 0.10  # screenshot look (else printed)
SCREEN_SIZES = (11, 16)  # font sizes of the screenshot look, px
SCREEN_MODES = {"grey": 0.35, "rgb": 0.35, "bgr": 0.10, "mono": 0.20}  # how a screenshot's glyphs are drawn
P_ALIASED = 0.05  # printed lines drawn without anti-aliasing
P_STRETCH = 0.30  # printed lines stretched horizontally by 0.8-1.2
P_UNDERLINE = 0.08
# Extra degradations of printed lines (beside --degrade-prob's recog.augment ops).
P_SHADOW, P_SCAN, P_LOWRES = 0.08, 0.10, 0.12
LOW_HEIGHTS = (12, 24)  # line height (font size) of the low-resolution lines, px
# The degraded splits: 3-5 of these ops per line, in this order, picked by weight (one blur at most).
HEAVY_OPS = {
    "rotate": 1.0,
    "perspective": 1.0,
    "illumination": 1.0,
    "shadow": 1.0,
    "low_contrast": 0.8,
    "gaussian_blur": 1.0,
    "motion_blur": 0.6,
    "gaussian_noise": 1.0,
    "scan": 0.8,
    "lowres": 1.0,
    "jpeg": 1.2,
}
HEAVY_COUNT = (3, 5)
HEAVY_LOW_HEIGHTS = (12, 20)
# Ops never drawn together for one line, as together they leave the text unreadable: two losses of
# sharpness (blur, camera shake, low resolution); two kinds of light; noise on faded ink; a bilevel
# scan with blur, noise, shadows or uneven light (a global threshold turns a shadow black and fuses
# blurred strokes, and flatbed scans have neither). JPEG after "lowres" keeps quality 25-50.
_LIGHT = {"illumination", "shadow", "low_contrast"}
_SOFT = {"gaussian_blur", "motion_blur", "lowres"}
EXCLUSIVE = (
    _SOFT,
    _LIGHT,
    {"low_contrast", "gaussian_noise"},
    *({"scan", other} for other in sorted(_LIGHT | (_SOFT - {"lowres"}) | {"gaussian_noise"})),
)
LCD_FILTER = np.array([8, 77, 86, 77, 8], dtype=np.float32) / 256  # FreeType's default LCD filter


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to make one image; drawn up front so runs are reproducible."""

    split: str
    index: int
    rel_path: str
    out_path: str
    text: str
    font_path: str
    font_name: str
    degrade: bool  # mild recog.augment ops
    heavy: bool  # heavy ops: the degraded splits, and --heavy-share of the training lines
    render_seed: int
    min_size: int
    max_size: int


@dataclass(frozen=True)
class Plan:
    """The random choices of one line that its manifest row reports, drawn from its render seed
    without rendering (so a reused image gets the same row)."""

    look: str  # "print" or "screen"
    mode: str  # glyph drawing: "grey" (anti-aliased), "mono" (none), "rgb" / "bgr" (subpixel)
    size: int  # font size, px
    underline: bool
    stretch: float  # horizontal scale
    ops: tuple[str, ...]  # degradations after drawing, in the order applied
    low_height: int  # line height (font size) after "lowres", px
    paint_seed: int  # padding, colours, background
    ops_seed: int  # the ops' parameters


@dataclass
class Result:
    """Outcome of one Job: status is 'made', 'reused' or 'failed'."""

    split: str
    index: int
    rel_path: str
    text: str
    font: str
    plan: Plan | None
    status: str
    error: str = ""


# ---------------------------------------------------------------------------------------------
# Colours and backgrounds
# ---------------------------------------------------------------------------------------------


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB colours, (..., 3) in 0..255 -> (...)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def contrast_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """WCAG contrast ratio (1..21) between colours ``a`` and ``b`` (broadcast, (..., 3))."""
    la, lb = luminance(a), luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h, s, v)) * 255.0


def paper_colour(rng: np.random.Generator, dark: bool) -> np.ndarray:
    """A background colour: near-white, grey or pastel paper; or near-black/dark-tinted."""
    kind, hue = rng.random(), rng.random()
    if dark:
        return _hsv(hue, rng.uniform(0, 0.6) if kind < 0.4 else rng.uniform(0, 0.15), rng.uniform(0.0, 0.35))
    if kind < 0.6:  # white to grey, slightly warm or cool
        grey = rng.uniform(185, 255)
        return np.clip(grey + rng.uniform(-12, 12, size=3), 0, 255)
    return _hsv(hue, rng.uniform(0.05, 0.35), rng.uniform(0.78, 1.0))


def screen_colour(rng: np.random.Generator, dark: bool) -> np.ndarray:
    """A flat UI background: white, light grey or a light tint; or a dark theme's grey or tint."""
    kind, hue = rng.random(), rng.random()
    if dark:
        return _hsv(hue, rng.uniform(0, 0.3) if kind < 0.3 else 0.0, rng.uniform(0.08, 0.25))
    if kind < 0.4:
        return np.full(3, 255.0)
    if kind < 0.8:
        return np.full(3, rng.uniform(228, 250))
    return _hsv(hue, rng.uniform(0.03, 0.12), rng.uniform(0.94, 1.0))


def ink_colour(rng: np.random.Generator, dark: bool) -> np.ndarray:
    """A text colour: black/grey or a coloured ink (blue, red, green ...); light for dark paper."""
    kind, hue = rng.random(), rng.random()
    if dark:
        return _hsv(hue, rng.uniform(0, 0.5) if kind < 0.3 else rng.uniform(0, 0.1), rng.uniform(0.75, 1.0))
    if kind < 0.65:
        grey = rng.uniform(0, 90)
        return np.clip(grey + rng.uniform(-10, 10, size=3), 0, 255)
    return _hsv(hue, rng.uniform(0.4, 1.0), rng.uniform(0.15, 0.6))


def make_background(
    h: int, w: int, base: np.ndarray, rng: np.random.Generator, kind: str | None = None
) -> np.ndarray:
    """(H, W, 3) float background: plain, a linear gradient to a second nearby colour, or base
    colour plus blurred noise (paper grain); ``kind`` None draws one. All random values are drawn
    whatever the kind."""
    drawn = str(rng.choice(["plain", "gradient", "texture"], p=[0.5, 0.25, 0.25]))
    kind = kind or drawn
    other = np.clip(base + rng.uniform(-45, 45, size=3), 0, 255)
    theta = rng.uniform(0, 2 * np.pi)
    grain_sigma, grain_blur = rng.uniform(3, 10), rng.uniform(0.6, 2.5)
    noise_seed = int(rng.integers(2**31))
    bg = np.broadcast_to(base, (h, w, 3)).astype(np.float32)
    if kind == "gradient":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * np.cos(theta) + yy * np.sin(theta) * (w / max(h, 1))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        bg = base[None, None, :] * (1 - t[..., None]) + other[None, None, :] * t[..., None]
    elif kind == "texture":
        noise = np.random.default_rng(noise_seed).normal(0, 1, size=(h, w)).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), grain_blur)
        noise *= grain_sigma / max(float(noise.std()), 1e-6)
        bg = bg + noise[..., None]
    return np.clip(bg, 0, 255).astype(np.float32)


def pick_ink(bg: np.ndarray, dark: bool, rng: np.random.Generator) -> np.ndarray:
    """An ink colour with contrast >= MIN_CONTRAST against the lightest and darkest background
    pixels (tries a few random inks, then falls back to black or white)."""
    pixels = bg.reshape(-1, 3)
    lum = luminance(pixels)
    extremes = pixels[[int(np.argmin(lum)), int(np.argmax(lum))]]  # (2, 3)
    candidates = [ink_colour(rng, dark) for _ in range(6)]  # always drawn, for a fixed stream
    for ink in candidates:
        if contrast_ratio(ink[None, :], extremes).min() >= MIN_CONTRAST:
            return ink
    black, white = np.zeros(3), np.full(3, 255.0)
    return (
        black
        if contrast_ratio(black[None, :], extremes).min() >= contrast_ratio(white[None, :], extremes).min()
        else white
    )


# ---------------------------------------------------------------------------------------------
# Drawing text (runs in the workers)
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=1)
def augmenter() -> TextLineAugment:
    # At least one op for a degraded line, at most three so the text stays readable.
    return TextLineAugment(prob=0.35, max_ops=3, min_ops=1)


@functools.lru_cache(maxsize=512)
def underline_metrics(path: str, size: int) -> tuple[int, int]:
    """(offset of the underline's top below the baseline, thickness), px, from the font's post
    table (its position is taken as the line's centre); 10 % and 5 % of the size when unset."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        upem = font["head"].unitsPerEm
        post = font["post"] if "post" in font else None
        position = post.underlinePosition if post else 0
        thickness = post.underlineThickness if post else 0
    if thickness <= 0 or position >= 0:
        position, thickness = -0.1 * upem, 0.05 * upem
    scale = size / upem
    thick = max(1, round(thickness * scale))
    return max(1, round(-position * scale - thick / 2)), thick


def draw_text(bg: np.ndarray, text: str, font_path: str, size: int, origin: tuple[int, int], ink: np.ndarray,
              mode: str) -> np.ndarray:
    """Draw ``text`` with its baseline starting at ``origin`` (x, y) onto the float (H, W, 3)
    background ``bg``; returns uint8 (H, W, 3). Modes: "grey" anti-aliased, "mono" without
    anti-aliasing (both as FreeType hints and renders them in Pillow), "rgb" / "bgr" subpixel
    anti-aliasing as on an LCD with those stripes: the line is drawn at three times the size, its
    rows averaged in threes, FreeType's default LCD filter run along each row, and each pixel's
    three subpixel columns taken as its R, G, B (or B, G, R) coverage."""
    h, w = bg.shape[:2]
    fill = tuple(int(round(v)) for v in ink)
    if mode in ("grey", "mono"):
        canvas = Image.fromarray(bg.astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(canvas)
        draw.fontmode = "1" if mode == "mono" else "L"
        draw.text(origin, text, font=load_font(font_path, size), fill=fill, anchor="ls", features=FEATURES)
        return np.asarray(canvas).copy()
    if mode not in ("rgb", "bgr"):
        raise ValueError(f"unknown drawing mode {mode!r}")
    mask = Image.new("L", (3 * w, 3 * h), 0)
    ImageDraw.Draw(mask).text((3 * origin[0], 3 * origin[1]), text, font=load_font(font_path, 3 * size), fill=255,
                              anchor="ls", features=FEATURES)
    sub = np.asarray(mask, dtype=np.float32).reshape(h, 3, 3 * w).mean(axis=1) / 255.0  # (H, 3W)
    sub = cv2.filter2D(sub, -1, LCD_FILTER[None, :], borderType=cv2.BORDER_CONSTANT)
    coverage = np.clip(sub.reshape(h, w, 3), 0.0, 1.0)  # (H, W, 3): left, middle, right subpixel
    if mode == "bgr":
        coverage = coverage[..., ::-1]
    out = bg * (1.0 - coverage) + np.asarray(ink, dtype=np.float32)[None, None, :] * coverage
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Degradations of the recipe (recog.augment has the mild, general ones)
# ---------------------------------------------------------------------------------------------


def shadow(image: np.ndarray, rng: np.random.Generator, min_gain: float = 0.55, max_gain: float = 0.85) -> np.ndarray:
    """A cast shadow: the part of the line on one side of a straight edge (at up to 60 degrees
    from vertical, anywhere in the middle 60 % of the width) is darkened to a gain of
    ``min_gain``-``max_gain``, with a soft edge (the penumbra). (H, W, C) -> (H, W, C)."""
    h, w = image.shape[:2]
    gain, angle = rng.uniform(min_gain, max_gain), rng.uniform(-math.pi / 3, math.pi / 3)
    x0, soft = rng.uniform(0.2 * w, 0.8 * w), rng.uniform(0.5, 0.25 * h + 0.5)
    side = 1.0 if rng.random() < 0.5 else -1.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = side * ((xx - x0) * math.cos(angle) + (yy - h / 2) * math.sin(angle))
    mask = 1.0 / (1.0 + np.exp(-np.clip(d / soft, -30, 30)))  # 1 in the shadow
    g = 1.0 - (1.0 - gain) * mask
    if image.ndim == 3:
        g = g[..., None]
    return np.clip(image.astype(np.float32) * g + 0.5, 0, 255).astype(np.uint8)


def low_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Faded print or a washed-out photo: contrast x0.4-0.6 about the mean, brightness -20..+20."""
    x = image.astype(np.float32)
    mean = float(x.mean())
    x = (x - mean) * rng.uniform(0.4, 0.6) + mean + rng.uniform(-20, 20)
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def binarise(image: np.ndarray, rng: np.random.Generator, bold: float = 0.3) -> np.ndarray:
    """A bilevel scan: grey, a little optical blur and sensor noise, then a threshold (Otsu's,
    moved by up to +-20 levels, or a local Gaussian-weighted one for a quarter of the lines), and
    with probability ``bold`` strokes thickened or thinned by a 2x2 morphology (lines at least 24 px
    high). (H, W[, 3]) -> (H, W) uint8 holding only 0 and 255."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    h = grey.shape[0]
    blur, noise_sigma, shift = rng.uniform(0.3, 0.9), rng.uniform(0, 6), rng.uniform(-20, 20)
    adaptive, morph, thicken = rng.random() < 0.25, rng.random() < bold, rng.random() < 0.5
    x = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), blur)
    x = np.clip(x + rng.normal(0, noise_sigma, size=x.shape).astype(np.float32), 0, 255).astype(np.uint8)
    if adaptive:
        block = max(3, (h // 2) | 1)
        out = cv2.adaptiveThreshold(x, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 8)
    else:
        t, _ = cv2.threshold(x, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        out = np.where(x > np.clip(t + shift, 1, 254), 255, 0).astype(np.uint8)
    if morph and h >= 24:
        paper_white = (out == 255).mean() >= 0.5  # ink is the minority level
        kernel = np.ones((2, 2), np.uint8)
        grow_ink = thicken
        # Ink grows by eroding white when the paper is white, by dilating white when it is black.
        out = cv2.erode(out, kernel) if grow_ink == paper_white else cv2.dilate(out, kernel)
    return out


def speckle(binary: np.ndarray, rng: np.random.Generator, density: float) -> np.ndarray:
    """Scanner dirt on a bilevel (H, W) image: about ``density`` * H * W single pixels flipped (80 %
    to the ink level, dust; 20 % to the paper level, holes in strokes) and 0-3 small blots of
    ink. Keeps the two levels 0 and 255."""
    out = binary.copy()
    h, w = out.shape
    paper = 255 if (out == 255).mean() >= 0.5 else 0
    n = int(rng.binomial(h * w, density))
    ys, xs = rng.integers(0, h, size=n), rng.integers(0, w, size=n)
    to_ink = rng.random(n) < 0.8
    out[ys, xs] = np.where(to_ink, 255 - paper, paper).astype(np.uint8)
    for _ in range(int(rng.integers(0, 4))):
        y, x, r = int(rng.integers(0, h)), int(rng.integers(0, w)), int(rng.integers(1, 3))
        out[max(0, y - r + 1) : y + r, max(0, x - r + 1) : x + r] = 255 - paper
    return out


def scan(image: np.ndarray, rng: np.random.Generator, min_density: float = 0.0005,
         max_density: float = 0.004) -> np.ndarray:
    """Scanned look: binarise, then speckle at a density of ``min_density``-``max_density``.
    (H, W[, 3]) -> (H, W, 3) grey holding only 0 and 255."""
    out = speckle(binarise(image, rng), rng, rng.uniform(min_density, max_density))
    return np.repeat(out[..., None], 3, axis=2)


def lowres(image: np.ndarray, size: int, height: int) -> np.ndarray:
    """Low resolution: the whole line scaled (area averaging) by ``height / size``, so that its
    text, drawn at font size ``size``, has a line height (font size) of ``height`` px; a line
    already that small is kept."""
    h, w = image.shape[:2]
    if size <= height:
        return image
    scale = height / size
    return cv2.resize(image, (max(2, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA)


def strong_blur(image: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Out-of-focus blur scaled to the text: Gaussian sigma max(0.8, 2.5-4.5 % of the font size)."""
    sigma = max(0.8, size * rng.uniform(0.025, 0.045))
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def strong_motion_blur(image: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Camera shake: average along a line of 12-22 % of the font size (3 px at least) at any angle."""
    length = max(3, round(size * rng.uniform(0.12, 0.22)))
    angle = rng.uniform(0, math.pi)
    k = length | 1
    kernel = np.zeros((k, k), np.float32)
    c, r = (k - 1) / 2, (length - 1) / 2
    p0 = (round(c - r * math.cos(angle)), round(c - r * math.sin(angle)))
    p1 = (round(c + r * math.cos(angle)), round(c + r * math.sin(angle)))
    cv2.line(kernel, p0, p1, 1.0, thickness=1)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE)


def strong_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise of a dark photo: Gaussian, sigma 10-22."""
    noise = rng.normal(0.0, rng.uniform(10, 22), size=image.shape[:2] + (1,) * (image.ndim - 2)).astype(np.float32)
    return np.clip(image.astype(np.float32) + noise + 0.5, 0, 255).astype(np.uint8)


def apply_op(name: str, image: np.ndarray, rng: np.random.Generator, plan: Plan, heavy: bool) -> np.ndarray:
    """One degradation of ``plan.ops``; ``heavy`` for the degraded splits' stronger settings."""
    if not heavy:
        if name == "shadow":
            return shadow(image, rng)
        if name == "scan":
            return scan(image, rng)
        if name == "lowres":
            return lowres(image, plan.size, plan.low_height)
        return augment.OPS[name](image, rng)  # recog.augment's mild op
    strong = {
        "rotate": lambda: augment.rotate(image, rng, max_degrees=5.0, max_growth=0.4),
        "perspective": lambda: augment.perspective(image, rng, max_dx=0.08, max_dy=0.25),
        "illumination": lambda: augment.illumination(image, rng, min_gain=0.35),
        "shadow": lambda: shadow(image, rng, 0.35, 0.6),
        "low_contrast": lambda: low_contrast(image, rng),
        "gaussian_blur": lambda: strong_blur(image, rng, plan.size),
        "motion_blur": lambda: strong_motion_blur(image, rng, plan.size),
        "gaussian_noise": lambda: strong_noise(image, rng),
        "scan": lambda: scan(image, rng, 0.002, 0.008),
        "lowres": lambda: lowres(image, plan.size, plan.low_height),
        "jpeg": lambda: augment.jpeg(image, rng, *((25, 50) if "lowres" in plan.ops else (8, 30))),
    }
    return strong[name]()


# ---------------------------------------------------------------------------------------------
# Planning and rendering one line (runs in the workers)
# ---------------------------------------------------------------------------------------------


def heavy_ops(rng: np.random.Generator) -> tuple[str, ...]:
    """HEAVY_COUNT ops of HEAVY_OPS, drawn by weight without repeats (one blur at most), in
    HEAVY_OPS order."""
    count = int(rng.integers(HEAVY_COUNT[0], HEAVY_COUNT[1] + 1))
    free = list(HEAVY_OPS)
    picked: list[str] = []
    while len(picked) < count and free:
        weights = np.array([HEAVY_OPS[n] for n in free])
        name = free[int(rng.choice(len(free), p=weights / weights.sum()))]
        picked.append(name)
        blocked = {m for group in EXCLUSIVE if name in group for m in group} | {name}
        free = [n for n in free if n not in blocked]
    return tuple(n for n in HEAVY_OPS if n in picked)


def plan_line(job: Job) -> Plan:
    """The look and the degradations of ``job``'s line, from its render seed."""
    rng = np.random.default_rng(job.render_seed)
    u_look, u_mode, u_under, u_stretch, u_shadow, u_scan, u_low = rng.random(7)
    screen = u_look < P_SCREEN and not job.heavy  # (11-16 px screenshots do not survive heavy ops)
    if screen:
        size = int(rng.integers(SCREEN_SIZES[0], SCREEN_SIZES[1] + 1))
        modes, shares = zip(*SCREEN_MODES.items(), strict=True)
        mode = modes[int(np.searchsorted(np.cumsum(shares), u_mode * sum(shares), side="right"))]
    else:
        size = int(rng.integers(job.min_size, job.max_size + 1))
        mode = "mono" if u_mode < P_ALIASED else "grey"
    stretch_factor = rng.uniform(0.8, 1.2)
    stretch = stretch_factor if not screen and u_stretch < P_STRETCH else 1.0
    paint_seed, ops_seed = (int(s) for s in rng.integers(2**63, size=2))
    heights = HEAVY_LOW_HEIGHTS if job.heavy else LOW_HEIGHTS
    low_height = int(rng.integers(heights[0], heights[1] + 1))
    choose = np.random.default_rng([ops_seed, 0])
    ops: list[str] = []
    if job.heavy:
        ops += heavy_ops(choose)
    else:
        if job.degrade:
            ops += ["jpeg"] if screen else augmenter().choose(choose)
        if not screen:
            scanned = u_scan < P_SCAN  # a flatbed scan has no cast shadow
            ops += [name for name, yes in (("shadow", u_shadow < P_SHADOW and not scanned), ("scan", scanned),
                                           ("lowres", u_low < P_LOWRES)) if yes]
    return Plan("screen" if screen else "print", mode, size, bool(u_under < P_UNDERLINE), float(stretch),
                tuple(ops), low_height, paint_seed, ops_seed)


def render(job: Job, plan: Plan) -> np.ndarray:
    """Draw ``job``'s text as ``plan`` says; returns a uint8 (H, W, 3) RGB image."""
    rng = np.random.default_rng(plan.paint_seed)
    screen = plan.look == "screen"
    pad_left, pad_top, pad_right, pad_bottom = (int(p) for p in rng.integers(2, 9 if screen else 13, size=4))
    dark = rng.random() < (0.25 if screen else 0.15)
    base = screen_colour(rng, dark) if screen else paper_colour(rng, dark)

    font = load_font(job.font_path, plan.size)
    # Boxes relative to the baseline start ("ls"). The vertical extent covers at least capitals and
    # descenders ("Hg"), so that lines of only small marks ("-", "...") keep a natural height.
    left, top, right, bottom = font.getbbox(job.text, anchor="ls", features=FEATURES)
    _, ref_top, _, ref_bottom = font.getbbox("Hg", anchor="ls")
    top, bottom = min(top, ref_top), max(bottom, ref_bottom)
    advance = math.ceil(font.getlength(job.text, features=FEATURES))
    if plan.underline:
        ul_offset, ul_thick = underline_metrics(job.font_path, plan.size)
        bottom = max(bottom, ul_offset + ul_thick)  # (across the advance width, clipped to the canvas)
    width = max(1, right - left) + pad_left + pad_right
    height = max(1, bottom - top) + pad_top + pad_bottom

    bg = make_background(height, width, base, rng, "plain" if screen else None)
    ink = pick_ink(bg, dark, rng)
    origin = (pad_left - left, pad_top - top)  # the baseline's start
    image = draw_text(bg, job.text, job.font_path, plan.size, origin, ink, plan.mode)
    if plan.underline:
        y0 = origin[1] + ul_offset
        image[y0 : y0 + ul_thick, max(0, origin[0]) : min(width, origin[0] + advance)] = np.round(ink).astype(np.uint8)
    if plan.stretch != 1.0:
        image = cv2.resize(image, (max(2, round(width * plan.stretch)), height), interpolation=cv2.INTER_AREA)
    ops_rng = np.random.default_rng([plan.ops_seed, 1])
    for name in plan.ops:
        image = apply_op(name, image, ops_rng, plan, job.heavy)
    return np.ascontiguousarray(image)


def is_valid_png(path: str | Path) -> bool:
    """True for a readable PNG at least MIN_IMAGE_HEIGHT pixels high."""
    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            return img.format == "PNG" and img.height >= MIN_IMAGE_HEIGHT and img.width >= 2
    except (OSError, SyntaxError, ValueError):
        return False


def to_pil(image: np.ndarray) -> Image.Image:
    """Grayscale "L" when all three channels are equal, else "RGB"."""
    if (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all():
        return Image.fromarray(image[..., 0], "L")
    return Image.fromarray(image, "RGB")


def process(job: Job) -> Result:
    """Make (or reuse) one PNG; never raises, failures come back as status 'failed'."""
    result = Result(job.split, job.index, job.rel_path, job.text, job.font_name, None, "failed")
    out = Path(job.out_path)
    try:
        result.plan = plan_line(job)
        if is_valid_png(out):
            result.status = "reused"
            return result
        image = render(job, result.plan)
        if image.shape[0] < MIN_IMAGE_HEIGHT:
            raise RuntimeError(f"image too small {image.shape}")
        with atomic_path(out) as part:
            to_pil(image).save(part, format="PNG")
        result.status = "made"
    except (RuntimeError, OSError, ValueError, cv2.error) as err:
        result.status, result.error = "failed", str(err) or type(err).__name__
    return result


def _init_worker() -> None:
    cv2.setNumThreads(1)  # the Pool provides the parallelism
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # warnings about odd but usable font tables


# ---------------------------------------------------------------------------------------------
# Planning and driver
# ---------------------------------------------------------------------------------------------


def pick_face(faces: list[Face], rng: np.random.Generator, google_share: float | None = None,
              coin: np.random.Generator | None = None, script_share: float | None = None) -> Face:
    """A design group uniformly (so big families do not dominate), then a face in it, plain
    styles twice as likely. With ``google_share`` (training lines of a corpus made with
    --google-fonts), first the Google Fonts faces with that probability, else the Debian ones,
    drawn from ``coin``, so that ``rng`` makes the same draws as without them. With
    ``script_share`` too, a Google line is in a handwriting (script) face with that probability,
    a second draw from ``coin``, else in one of the other categories."""
    if google_share is not None:
        assert coin is not None, "google_share needs its coin"
        google = bool(coin.random() < google_share)
        faces = [f for f in faces if f.package.startswith(GOOGLE_PACKAGE) == google]
        if google and script_share is not None:
            script = bool(coin.random() < script_share)
            faces = [f for f in faces if (f.category == "script") == script]
    groups = sorted({f.group for f in faces})
    group = groups[int(rng.integers(len(groups)))]
    members = [f for f in faces if f.group == group]
    weights = np.array([2.0 if f.style.lower() in PLAIN_STYLES else 1.0 for f in members])
    return members[int(rng.choice(len(members), p=weights / weights.sum()))]


def make_job(split: str, index: int, text: str, faces: list[Face], args: argparse.Namespace, width: int) -> Job:
    """Draw the font, the degrade flag, a render seed and (training lines) the heavy flag from a
    generator seeded by (seed, split, index). The heavy flag is drawn last, so the draws before it
    are those of corpora made before it existed."""
    rng = np.random.default_rng([args.seed, SPLIT_CODES[split], index])
    google = split == "train" and args.google_fonts
    coin = np.random.default_rng([args.seed, SPLIT_CODES[split], index, GOOGLE_COIN]) if google else None
    face = pick_face(faces, rng, args.google_share if google else None, coin,
                     args.google_script_share if google else None)
    degrade = bool(rng.random() < args.degrade_prob)
    render_seed = int(rng.integers(2**63))
    heavy = split == "train" and bool(rng.random() < args.heavy_share)
    rel_path = f"images/{split}/{index:0{width}d}.png"
    return Job(split, index, rel_path, str(Path(args.out) / rel_path), text, face.path, face.name, degrade, heavy,
               render_seed, args.min_size, args.max_size)


def degraded_job(job: Job, args: argparse.Namespace, width: int) -> Job:
    """The degraded copy of dev or test line ``job``: the same text and face, its own render seed."""
    split, code = DEGRADED[job.split]
    rng = np.random.default_rng([args.seed, code, job.index])
    rel_path = f"images/{split}/{job.index:0{width}d}.png"
    return Job(split, job.index, rel_path, str(Path(args.out) / rel_path), job.text, job.font_path, job.font_name,
               True, True, int(rng.integers(2**63)), args.min_size, args.max_size)


def manifest_row(r: Result) -> dict:
    """One manifest line: the image, its text and face, and how it was drawn and degraded."""
    plan = r.plan
    assert plan is not None
    return {"image_filepath": r.rel_path, "text": r.text, "font": r.font, "degraded": bool(plan.ops),
            "look": plan.look, "render": plan.mode, "underline": plan.underline, "ops": list(plan.ops)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (images/ and the manifests)")
    p.add_argument("--num-train", type=int, default=20000)
    p.add_argument("--train-from", type=int, default=0,
                   help="render and list only training lines from this index on (the same lines a full run "
                        "makes there): fresh lines for the next run without the ones before")
    p.add_argument("--train-max-chars", type=int, default=None, metavar="N",
                   help="render and list only the training lines of at most N characters (the same lines a full "
                        "run makes): the short lines of a range without rendering the rest")
    p.add_argument("--num-dev", type=int, default=500, help="lines of dev, and of dev_degraded")
    p.add_argument("--num-test", type=int, default=1000, help="lines of test, and of test_degraded")
    p.add_argument("--seed", type=int, default=0, help="texts, font split and rendering")
    p.add_argument("--workers", type=int, default=2, help="rendering processes")
    p.add_argument("--degrade-prob", type=float, default=0.5, help="share of lines degraded with recog.augment")
    p.add_argument("--heavy-share", type=float, default=0.0,
                   help="share of training lines degraded as test_degraded is (3-5 strong degradations stacked)")
    p.add_argument("--google-fonts", metavar="DIR",
                   help="also train on the Google Fonts faces in DIR (made by google_fonts.py); dev and test keep "
                        "the Debian fonts")
    p.add_argument("--google-share", type=float, default=0.5,
                   help="with --google-fonts: the share of training lines in those faces")
    p.add_argument("--google-script-share", type=float, default=None,
                   help="with --google-fonts: the share of those lines in handwriting (script) faces; by default "
                        "each design group is as likely as another (178 of 1,018 groups are script)")
    p.add_argument("--min-size", type=int, default=20, help="smallest font size of printed lines (px)")
    p.add_argument("--max-size", type=int, default=48, help="largest font size of printed lines (px)")
    args = p.parse_args(argv)
    counts = (args.num_train, args.num_dev, args.num_test)
    if min(counts) < 0 or args.workers < 1 or not 0 <= args.degrade_prob <= 1 or not 0 <= args.heavy_share <= 1:
        p.error("counts must be >= 0, --workers >= 1 and --degrade-prob and --heavy-share in [0, 1]")
    if not 0 < args.google_share < 1:
        p.error(f"--google-share must be in (0, 1), got {args.google_share}")
    if args.google_script_share is not None and not 0 < args.google_script_share < 1:
        p.error(f"--google-script-share must be in (0, 1), got {args.google_script_share}")
    if not 0 <= args.train_from <= args.num_train:
        p.error(f"--train-from must be in [0, --num-train], got {args.train_from}")
    if args.train_max_chars is not None and args.train_max_chars < 1:
        p.error(f"--train-max-chars must be >= 1, got {args.train_max_chars}")
    if not 8 <= args.min_size <= args.max_size:
        p.error("need 8 <= --min-size <= --max-size")
    return args


def check_heavy_share(out: Path, train_from: int) -> None:
    """Stop where ``out`` was made without --heavy-share and holds training images from
    ``train_from`` on: they would be reused and listed with heavy degradations they do not have."""
    old = recorded_config(out)
    folder = out / "images" / "train"
    if old is None or "heavy_share" in old or not folder.is_dir():
        return
    made = [p for p in folder.glob("*.png") if p.stem.isdigit() and int(p.stem) >= train_from]
    if made:
        sys.exit(f"error: {out} holds {len(made)} training images from index {train_from} on, made without "
                 "--heavy-share; delete them, or render only later lines with --train-from")


def main(argv: list[str] | None = None) -> int:
    """Plan all lines, render them in parallel, and write the manifests."""
    args = parse_args(argv)
    try:
        check_packages()
    except MissingPackagesError as err:
        sys.exit(f"error: {err}")
    out = Path(args.out)
    faces = face_split(args.seed)
    extra: dict[str, object] = {}
    if args.google_fonts:
        try:
            google, _ = train_faces(args.google_fonts, faces)
        except FileNotFoundError as err:
            sys.exit(f"error: {err}")
        if not google:
            sys.exit(f"error: {args.google_fonts}: no usable Google Fonts faces")
        faces["train"] = faces["train"] + google
        extra = {"google_fonts": {"metadata": read_lock()["metadata"], "share": args.google_share,
                                  "probe_model": probe_model(args.google_fonts)}}
        if args.google_script_share is not None:  # recorded only when set: folders made before it still match
            scripts = sum(f.category == "script" for f in google)
            if scripts in (0, len(google)):  # both kinds are drawn from
                sys.exit(f"error: {args.google_fonts}: --google-script-share needs handwriting and other faces, but "
                         f"{scripts} of its {len(google)} faces are handwriting")
            extra["google_fonts"]["script_share"] = args.google_script_share
    config = {
        "version": CONFIG_VERSION,
        "seed": args.seed,
        "num_dev": args.num_dev,
        "num_test": args.num_test,
        "degrade_prob": args.degrade_prob,
        "min_size": args.min_size,
        "max_size": args.max_size,
        # Catches a changed text generator, whose new texts would not match reused images.
        "texts_sha256": texts_fingerprint(make_texts, args.seed),
        "fonts": {split: sorted(f.name for f in faces[split]) for split in SPLITS},
        **extra,
    }
    if args.heavy_share:  # recorded only when set: folders made before it still match
        config["heavy_share"] = args.heavy_share
        check_heavy_share(out, args.train_from)
    check_config(out, config, later_keys=("heavy_share",))
    for split in SPLITS:
        groups = sorted({f.group for f in faces[split]})
        print(f"{split} fonts: {len(faces[split])} faces in {len(groups)} design groups ({', '.join(groups)})")

    texts = split_texts(make_texts, args)
    width = max(6, len(str(max(args.num_train, args.num_dev, args.num_test))))
    longest = args.train_max_chars or max(map(len, texts["train"]), default=0)
    jobs = [make_job(s, i, t, faces[s], args, width) for s in SPLITS for i, t in enumerate(texts[s])
            if s != "train" or (i >= args.train_from and len(t) <= longest)]
    jobs += [degraded_job(j, args, width) for j in jobs if j.split in DEGRADED]
    print(f"rendering {len(jobs)} lines with {args.workers} workers")
    start = time.monotonic()
    results = run_jobs(jobs, process, args.workers, min_step=50, chunksize=16, initializer=_init_worker)
    report(results, time.monotonic() - start, lambda r: r.font)
    write_manifests(out, results, manifest_row)
    write_manifests(out, results, manifest_row, splits=[split for split, _ in DEGRADED.values()])
    return 0 if not jobs or any(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
