"""Build a synthetic whole-page OCR corpus (text detection and reading order) with Pillow and OpenCV.

Every page is one of four kinds (shares of --kinds' default mix): *document* (45 %, an A4 page of
headings, paragraphs, lists and tables in one or two columns, some scanned with a skew), *screenshot*
(20 %, a flat UI with a title bar, labels, forms, buttons and code), *receipt* (15 %, a narrow till
receipt with item names at the left and prices at the right) and *sign* (20 %, a photo-like scene
with a panel of large text, warped in perspective and rotated by up to +-10 degrees). About 1/8 of
the signs and 1/20 of the other pages are then turned by 90, 180 or 270 degrees as a whole (test
documents only by 180, so that they stay 1240 x 1754). See documents.py and scenes.py for the
layouts and canvas.py for how boxes are measured.

Fonts, text generators and colours are the text-line recipe's (recipes/synth_ocr): a page of split
S uses only faces of split S (design groups are disjoint across splits; the reserved held-out fonts
are never used). Texts need not be disjoint across splits.

Outputs, in --out (DIR):

* DIR/images/<split>/<index>.png (signs: .jpg, they are photos), and beside each image a .json
  holding its manifest row, so that an interrupted run can simply be restarted (valid images with
  their rows are reused);
* DIR/{train,dev,test}.jsonl, one page a line::

    {"image_filepath": "images/test/000012.png", "kind": "document", "width": 1240, "height": 1754,
     "text": "<the page's text in reading order>", "font": "Family/Style", "rotation": 0,
     "lines": [{"text": "...", "points": [[x, y], [x, y], [x, y], [x, y]]}, ...]}

  ``lines`` in reading order, one per box (a line of a paragraph, a table cell, a UI label, a
  receipt item's name and, separately, its price); ``points`` the box's corners (pixels, 0.1 px)
  top left, top right, bottom right, bottom left in the text's own reading direction; the box runs
  from the first to the last ink of the text and from the font's ascender to its descender line.
  ``text``: boxes of a row joined by " ", rows by "\\n", blocks by "\\n\\n"; blocks top to bottom,
  in a multi-column region the whole left column before the right one; for a turned page the
  order of the upright page. ``rotation``: how far the page was turned counter-clockwise (degrees).

Everything is deterministic given --seed (whatever --workers is).

    python recipes/synth_pages/prepare.py --out data/synth_pages --num-train 2000 --num-dev 100 \\
        --num-test 200 --workers 1 --seed 0
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

# canvas, imported first, puts the repository root (recipes.common, recog) and the line recipe's
# folder (fonts, texts) on sys.path.
from canvas import Page, line_recipe, page_text, rotate_page, valid
from documents import document
from fonts import Face, MissingPackagesError, check_packages, face_split
from PIL import Image
from scenes import receipt, screenshot, sign

from recipes.common import (
    SPLIT_CODES,
    SPLITS,
    atomic_path,
    check_config,
    report,
    run_jobs,
    write_manifests,
    write_text_atomic,
)

# Bump when the rendering changes, so that old images are not silently reused (2: receipts' drawn rules
# solid or long-dashed, not short dashes that look like a row of hyphens).
CONFIG_VERSION = 2
KINDS: dict[str, float] = {"document": 0.45, "screenshot": 0.20, "receipt": 0.15, "sign": 0.20}
BUILDERS: dict[str, Callable[..., Page]] = {"document": document, "screenshot": screenshot, "receipt": receipt,
                                             "sign": sign}
P_TURN = {"sign": 1 / 8}  # share of pages turned by 90, 180 or 270 degrees as a whole
P_TURN_OTHER = 1 / 20
JPEG_KINDS = {"sign": 92}  # kinds saved as JPEG, with the quality
TOLERANCE = 1.0  # px: how far a box corner may lie outside the image


@dataclass(frozen=True)
class Job:
    """One page to make; drawn up front from (seed, split, index) so runs are reproducible."""

    split: str
    index: int
    kind: str
    rel_path: str
    out_dir: str
    seed: int  # the --seed (font split)
    render_seed: int
    options: dict = field(default_factory=dict, hash=False, compare=False)  # overrides, for tests


@dataclass
class Result:
    """Outcome of one Job: status is 'made', 'reused' or 'failed'."""

    split: str
    index: int
    rel_path: str
    kind: str
    status: str
    row: dict | None = None
    error: str = ""
    text: str = ""  # (report() prints it for failures)


@functools.lru_cache(maxsize=4)
def split_faces(seed: int) -> dict[str, list[Face]]:
    """The line recipe's font split for ``seed`` (faces per split), once a process."""
    return face_split(seed)


def render(job: Job) -> Page:
    """Draw ``job``'s page and turn it as its plan says; ``job.options`` may fix "rotation" (degrees,
    a multiple of 90) and the layout's own options."""
    rng = np.random.default_rng(job.render_seed)
    turn, quarter = rng.random(), int(rng.integers(1, 4))
    layout_rng = np.random.default_rng(int(rng.integers(2**63)))
    prng = random.Random(int(rng.integers(2**63)))
    if job.kind == "document" and job.split == "test":
        quarter = 2  # test documents keep their 1240 x 1754
    quarters = quarter if turn < P_TURN.get(job.kind, P_TURN_OTHER) else 0
    if "rotation" in job.options:
        quarters = int(job.options["rotation"]) // 90 % 4
    page = BUILDERS[job.kind](layout_rng, prng, split_faces(job.seed)[job.split], job.split, job.options)
    if quarters:
        rotate_page(page, quarters)
    page.info["rotation"] = 90 * quarters
    return page


def manifest_row(page: Page, rel_path: str) -> dict:
    """The page's manifest row; raises ValueError when a box is invalid or off the image."""
    h, w = page.image.shape[:2]
    rows = []
    for line in page.lines():
        p = line.points
        area = 0.5 * abs(float(np.dot(p[:, 0], np.roll(p[:, 1], 1)) - np.dot(p[:, 1], np.roll(p[:, 0], 1))))
        if not valid(line.text) or area <= 0:
            raise ValueError(f"invalid box {line.text!r} {p.tolist()}")
        if p.min() < -TOLERANCE or (p[:, 0] > w + TOLERANCE).any() or (p[:, 1] > h + TOLERANCE).any():
            raise ValueError(f"box off the {w}x{h} image: {line.text!r} {p.round(1).tolist()}")
        rows.append({"text": line.text, "points": [[round(float(x), 1), round(float(y), 1)] for x, y in p]})
    if not rows:
        raise ValueError("a page without text")
    return {"image_filepath": rel_path, "kind": page.kind, "width": w, "height": h, "text": page_text(page.blocks),
            "font": page.font, "rotation": page.info.get("rotation", 0), "lines": rows}


def save_image(image: np.ndarray, path: Path, kind: str) -> None:
    """PNG (grayscale when the image has no colour) or, for JPEG_KINDS, JPEG; written atomically."""
    if kind in JPEG_KINDS:
        pil = Image.fromarray(image, "RGB")
        with atomic_path(path) as part:
            pil.save(part, format="JPEG", quality=JPEG_KINDS[kind])
    else:
        with atomic_path(path) as part:
            line_recipe.to_pil(image).save(part, format="PNG", compress_level=4)


def reusable(image_path: Path, row_path: Path, rel_path: str) -> dict | None:
    """The stored row of a valid, complete earlier image, else None."""
    try:
        with Image.open(image_path) as img:
            img.verify()
        row = json.loads(row_path.read_text(encoding="utf-8"))
        with Image.open(image_path) as img:
            ok = (img.width, img.height) == (row["width"], row["height"]) and row["image_filepath"] == rel_path
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return None
    return row if ok else None


def process(job: Job) -> Result:
    """Make (or reuse) one page and its row; never raises, failures come back as status 'failed'."""
    result = Result(job.split, job.index, job.rel_path, job.kind, "failed")
    image_path = Path(job.out_dir) / job.rel_path
    row_path = image_path.with_suffix(".json")
    try:
        row = reusable(image_path, row_path, job.rel_path)
        if row is not None:
            result.row, result.status = row, "reused"
            return result
        page = render(job)
        row = manifest_row(page, job.rel_path)
        save_image(page.image, image_path, job.kind)
        write_text_atomic(row_path, json.dumps(row) + "\n")
        result.row, result.status = row, "made"
    except (RuntimeError, OSError, ValueError, cv2.error) as err:
        result.error = f"{type(err).__name__}: {err}"
    return result


def make_jobs(args: argparse.Namespace, kinds: dict[str, float]) -> list[Job]:
    """One Job per page: its kind and render seed drawn from (seed, split, index)."""
    names = list(kinds)
    weights = np.array([kinds[k] for k in names])
    counts = {"train": args.num_train, "dev": args.num_dev, "test": args.num_test}
    width = max(6, len(str(max(counts.values()))))
    jobs = []
    for split in SPLITS:
        for index in range(counts[split]):
            rng = np.random.default_rng([args.seed, SPLIT_CODES[split], index])
            kind = names[int(rng.choice(len(names), p=weights / weights.sum()))]
            ext = "jpg" if kind in JPEG_KINDS else "png"
            jobs.append(Job(split, index, kind, f"images/{split}/{index:0{width}d}.{ext}", str(args.out), args.seed,
                            int(rng.integers(2**63))))
    return jobs


def run(jobs: list[Job], workers: int) -> list[Result]:
    """``process`` every job: in this process for one worker, else on a Pool."""
    if workers > 1:
        return run_jobs(jobs, process, workers, min_step=20, chunksize=4, initializer=line_recipe._init_worker)
    line_recipe._init_worker()
    results, start = [], time.monotonic()
    step = max(20, len(jobs) // 20)
    for job in jobs:
        results.append(process(job))
        if len(results) % step == 0 or len(results) == len(jobs):
            rate = len(results) / max(time.monotonic() - start, 1e-9)
            failed = sum(r.status == "failed" for r in results)
            print(f"  {len(results)}/{len(jobs)} pages, {rate:.2f} pages/s, {failed} failed", flush=True)
    return results


def summary(results: list[Result], elapsed: float) -> None:
    """Pages and boxes per split and kind, and the time per 100 pages."""
    done = [r for r in results if r.status != "failed" and r.row]
    for split in SPLITS:
        rows = [r.row for r in done if r.split == split]
        if not rows:
            continue
        kinds = Counter(row["kind"] for row in rows)
        n_lines = sum(len(row["lines"]) for row in rows)
        turned = sum(row["rotation"] != 0 for row in rows)
        print(f"{split}: {len(rows)} pages ({', '.join(f'{k} {kinds[k]}' for k in KINDS if kinds[k])}), "
              f"{n_lines} boxes ({n_lines / len(rows):.0f} a page), {turned} turned")
    print(f"{len(results)} pages in {elapsed:.1f} s ({100 * elapsed / max(len(results), 1):.1f} s per 100 pages)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="data/synth_pages", help="output folder (images/ and the manifests)")
    p.add_argument("--num-train", type=int, default=2000)
    p.add_argument("--num-dev", type=int, default=100)
    p.add_argument("--num-test", type=int, default=200)
    p.add_argument("--seed", type=int, default=0, help="font split and rendering")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated page kinds, of {', '.join(KINDS)}")
    args = p.parse_args(argv)
    if min(args.num_train, args.num_dev, args.num_test) < 0 or args.workers < 1:
        p.error("counts must be >= 0 and --workers >= 1")
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(args.kinds) - set(KINDS))
    if unknown or not args.kinds:
        p.error(f"unknown --kinds {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Plan all pages, render them, and write the manifests."""
    args = parse_args(argv)
    try:
        check_packages()
    except MissingPackagesError as err:
        sys.exit(f"error: {err}")
    out = Path(args.out)
    faces = split_faces(args.seed)
    kinds = {k: v for k, v in KINDS.items() if k in args.kinds}
    check_config(out, {"version": CONFIG_VERSION, "seed": args.seed, "kinds": kinds,
                       "fonts": {split: sorted(f.name for f in faces[split]) for split in SPLITS}})
    jobs = make_jobs(args, kinds)
    print(f"rendering {len(jobs)} pages ({', '.join(kinds)}) with {args.workers} worker(s)")
    start = time.monotonic()
    results = run(jobs, args.workers)
    elapsed = time.monotonic() - start
    report(results, elapsed, lambda r: r.kind)
    write_manifests(out, results, lambda r: r.row)
    summary(results, elapsed)
    return 0 if not jobs or any(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
