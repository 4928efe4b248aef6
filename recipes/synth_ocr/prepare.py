"""Build a synthetic text-line OCR corpus with Pillow, system fonts and recog.augment.

Every line: a text from ``texts.py``, a font face from its split's fonts (``fonts.py``; design
groups are disjoint across splits), a size of 20-48 px, a background (plain, gradient or a light
paper-grain texture; light, or dark with light text) and an ink colour with enough contrast, tight
layout from the font's bounding box plus 2-12 px of random padding per side, sometimes a slight
horizontal stretch, and for --degrade-prob of the lines a few mild degradations from
``recog.augment`` (rotation, perspective, blur, noise, JPEG, ...). Images are PNG (grayscale when
the result has no colour) in DIR/images/<split>/<index>.png; the manifests DIR/{train,dev,test}.jsonl
hold one JSON object per line, ``image_filepath`` relative to DIR.

Texts are disjoint across splits. Everything is deterministic given --seed (the same bytes come
out whatever --workers is); existing valid PNGs are reused, so an interrupted run can simply be
restarted.

    python recipes/synth_ocr/prepare.py --out data/synth_ocr --num-train 20000 --workers 2
"""

from __future__ import annotations

import argparse
import colorsys
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from fonts import Face, face_split
from PIL import Image, ImageDraw, ImageFont
from texts import make_texts

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes.common; recog when not installed
from recipes.common import (  # noqa: E402
    SPLIT_CODES,
    SPLITS,
    atomic_write,
    check_config,
    report,
    run_jobs,
    split_texts,
    texts_fingerprint,
    write_manifests,
)
from recog.augment import TextLineAugment  # noqa: E402

CONFIG_VERSION = 1  # bump when the rendering recipe changes so old images are not silently reused
MIN_CONTRAST = 4.5  # WCAG contrast ratio between ink and every background colour
MIN_IMAGE_HEIGHT = 8
# Faces whose style is plain (not bold, italic or a special width/weight) are drawn twice as often.
PLAIN_STYLES = {"regular", "book", "roman", "medium"}


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
    degrade: bool
    render_seed: int
    min_size: int
    max_size: int


@dataclass
class Result:
    """Outcome of one Job: status is 'made', 'reused' or 'failed'."""

    split: str
    index: int
    rel_path: str
    text: str
    font: str
    degraded: bool
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


def ink_colour(rng: np.random.Generator, dark: bool) -> np.ndarray:
    """A text colour: black/grey or a coloured ink (blue, red, green ...); light for dark paper."""
    kind, hue = rng.random(), rng.random()
    if dark:
        return _hsv(hue, rng.uniform(0, 0.5) if kind < 0.3 else rng.uniform(0, 0.1), rng.uniform(0.75, 1.0))
    if kind < 0.65:
        grey = rng.uniform(0, 90)
        return np.clip(grey + rng.uniform(-10, 10, size=3), 0, 255)
    return _hsv(hue, rng.uniform(0.4, 1.0), rng.uniform(0.15, 0.6))


def make_background(h: int, w: int, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float background: plain, a linear gradient to a second nearby colour, or base
    colour plus blurred noise (paper grain). All random values are drawn whatever the kind."""
    kind = rng.choice(["plain", "gradient", "texture"], p=[0.5, 0.25, 0.25])
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
# Rendering (runs in the workers)
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=1)
def augmenter() -> TextLineAugment:
    # At least one op for a degraded line, at most three so the text stays readable.
    return TextLineAugment(prob=0.35, max_ops=3, min_ops=1)


def render(job: Job) -> np.ndarray:
    """Draw ``job``'s text; returns a uint8 (H, W, 3) RGB image."""
    rng = np.random.default_rng(job.render_seed)
    size = int(rng.integers(job.min_size, job.max_size + 1))
    pad_left, pad_top, pad_right, pad_bottom = (int(p) for p in rng.integers(2, 13, size=4))
    dark = rng.random() < 0.15
    base = paper_colour(rng, dark)
    aliased = rng.random() < 0.05  # no anti-aliasing, like some screen captures
    stretch = rng.uniform(0.8, 1.2) if rng.random() < 0.3 else 1.0
    augment_seed = int(rng.integers(2**31))

    font = load_font(job.font_path, size)
    left, top, right, bottom = font.getbbox(job.text)
    # Vertical extent covers at least capitals and descenders ("Hg"), so that lines of only
    # small marks ("-", "...") keep a natural height instead of a few-pixel strip.
    _, ref_top, _, ref_bottom = font.getbbox("Hg")
    top, bottom = min(top, ref_top), max(bottom, ref_bottom)
    width = max(1, right - left) + pad_left + pad_right
    height = max(1, bottom - top) + pad_top + pad_bottom

    bg = make_background(height, width, base, rng)
    ink = pick_ink(bg, dark, rng)
    canvas = Image.fromarray(bg.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(canvas)
    if aliased:
        draw.fontmode = "1"
    draw.text((pad_left - left, pad_top - top), job.text, font=font, fill=tuple(int(round(v)) for v in ink))
    image = np.asarray(canvas)  # (H, W, 3)
    if stretch != 1.0:
        image = cv2.resize(image, (max(2, round(width * stretch)), height), interpolation=cv2.INTER_AREA)
    if job.degrade:
        image = augmenter()(image, np.random.default_rng(augment_seed))
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
    result = Result(job.split, job.index, job.rel_path, job.text, job.font_name, job.degrade, "failed")
    out = Path(job.out_path)
    try:
        if is_valid_png(out):
            result.status = "reused"
            return result
        image = render(job)
        if image.shape[0] < MIN_IMAGE_HEIGHT:
            raise RuntimeError(f"image too small {image.shape}")
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(out) as part:
            to_pil(image).save(part, format="PNG")
        result.status = "made"
    except (RuntimeError, OSError, ValueError, cv2.error) as err:
        result.status, result.error = "failed", str(err) or type(err).__name__
    return result


def _init_worker() -> None:
    cv2.setNumThreads(1)  # the Pool provides the parallelism


# ---------------------------------------------------------------------------------------------
# Planning and driver
# ---------------------------------------------------------------------------------------------


def pick_face(faces: list[Face], rng: np.random.Generator) -> Face:
    """A design group uniformly (so big families do not dominate), then a face in it, plain
    styles twice as likely."""
    groups = sorted({f.group for f in faces})
    group = groups[int(rng.integers(len(groups)))]
    members = [f for f in faces if f.group == group]
    weights = np.array([2.0 if f.style.lower() in PLAIN_STYLES else 1.0 for f in members])
    return members[int(rng.choice(len(members), p=weights / weights.sum()))]


def make_job(split: str, index: int, text: str, faces: list[Face], args: argparse.Namespace, width: int) -> Job:
    """Draw the font, the degrade flag and a render seed from a generator seeded by
    (seed, split, index)."""
    rng = np.random.default_rng([args.seed, SPLIT_CODES[split], index])
    face = pick_face(faces, rng)
    degrade = bool(rng.random() < args.degrade_prob)
    render_seed = int(rng.integers(2**63))
    rel_path = f"images/{split}/{index:0{width}d}.png"
    return Job(
        split=split,
        index=index,
        rel_path=rel_path,
        out_path=str(Path(args.out) / rel_path),
        text=text,
        font_path=face.path,
        font_name=face.name,
        degrade=degrade,
        render_seed=render_seed,
        min_size=args.min_size,
        max_size=args.max_size,
    )


def manifest_row(r: Result) -> dict:
    """One manifest line."""
    return {"image_filepath": r.rel_path, "text": r.text, "font": r.font, "degraded": r.degraded}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (images/ and the three manifests)")
    p.add_argument("--num-train", type=int, default=20000)
    p.add_argument("--num-dev", type=int, default=500)
    p.add_argument("--num-test", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="texts, font split and rendering")
    p.add_argument("--workers", type=int, default=2, help="rendering processes")
    p.add_argument("--degrade-prob", type=float, default=0.5, help="share of lines degraded with recog.augment")
    p.add_argument("--min-size", type=int, default=20, help="smallest font size (px)")
    p.add_argument("--max-size", type=int, default=48, help="largest font size (px)")
    args = p.parse_args(argv)
    counts = (args.num_train, args.num_dev, args.num_test)
    if min(counts) < 0 or args.workers < 1 or not 0 <= args.degrade_prob <= 1:
        p.error("counts must be >= 0, --workers >= 1 and --degrade-prob in [0, 1]")
    if not 8 <= args.min_size <= args.max_size:
        p.error("need 8 <= --min-size <= --max-size")
    return args


def main(argv: list[str] | None = None) -> int:
    """Plan all lines, render them in parallel, and write the manifests."""
    args = parse_args(argv)
    out = Path(args.out)
    faces = face_split(args.seed)
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
    }
    check_config(out, config)
    for split in SPLITS:
        groups = sorted({f.group for f in faces[split]})
        print(f"{split} fonts: {len(faces[split])} faces in {len(groups)} design groups ({', '.join(groups)})")

    texts = split_texts(make_texts, args)
    width = max(6, len(str(max(args.num_train, args.num_dev, args.num_test))))
    jobs = [make_job(s, i, t, faces[s], args, width) for s in SPLITS for i, t in enumerate(texts[s])]
    print(f"rendering {len(jobs)} lines with {args.workers} workers")
    start = time.monotonic()
    results = run_jobs(jobs, process, args.workers, min_step=50, chunksize=16, initializer=_init_worker)
    report(results, time.monotonic() - start, lambda r: r.font)
    write_manifests(out, results, manifest_row)
    return 0 if not jobs or any(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
