"""Whole-image OCR: detection H-mean, page CER and s/page of recog, RapidOCR and Tesseract on one page manifest.

    python benchmarks/ocr_pages.py --manifest data/synth_pages/test.jsonl --threads 2
    python benchmarks/ocr_pages.py --detector runs/synth_pages/checkpoints/last.ckpt --limit 50 \\
        --kinds document,sign --systems recog,tesseract --json pages.json
    python benchmarks/ocr_pages.py --install-peers ...   # installs the missing peers first

One run reads the same pages with every system (``--systems``, default all three), one after the
other in this process, each with ``--threads`` threads, and prints per system:

- detection precision, recall and H-mean at IoU >= ``--iou`` (0.5), boxes matched one to one
  (``recog.detection.metrics.DetectionCounts``) against the manifest's line boxes. A system's
  boxes are those of the lines it returns (all three drop boxes whose reading came out empty;
  RapidOCR also those it reads with a score below 0.5);
- page CER: each page's reading-order text against the manifest's ``text``, both with every run of
  whitespace (newlines and blank lines included) collapsed to one space and stripped; nothing else
  is normalised (case, punctuation and look-alike characters count). Micro-averaged: total edits /
  total reference characters (``recog.metrics.char_error_rate``), overall and per page kind;
- seconds per page: wall clock of reading each page from its file, model loading excluded (one
  untimed warm-up page first), over all pages, per kind, and over the A4 documents (1240 x 1754,
  150 dpi: the test split's documents) separately;

then a table of all systems and a line of ratios: recog's page CER and seconds per page divided by
each peer's (below 1: recog has fewer errors / is faster).

Several text-line models (``--lines A,B``), or several piece widths (``--pieces 0,16``: lines wider
than that many heights read in pieces cut at word gaps, ``recog_edge.pieces``; 0 reads them whole),
compare side by side: recog and recog-edge each read every page with each variant in turn (the
order alternating from page to page, so that none always reads a warm cache), and a last line gives
each later variant's page CER, seconds per page and A4 seconds per page divided by the first's, per
system.

Systems:

- recog: ``recog.load(--detector, lines=--lines).read(path)`` (``recog.pages.PageReader``: DB
  detection, line reading with upside-down retries, reading order), ``torch.set_num_threads``.
  ``--detector`` defaults to the shipped ``latin-det`` and ``--lines`` to ``latin-lines``.
- recog-edge: the torch-free runtime, ``recog_edge.pages.EdgePageReader(det, lines,
  threads=--threads).read(path)``, on the int8 edge exports shipped for ``--detector`` and
  ``--lines`` (or export folders of them): the detector on ``--threads`` onnxruntime threads,
  the lines read ``--threads`` at a time, one thread each. Not run by default.
- RapidOCR (PyPI ``rapidocr`` 3.x): ``engine(path)`` with detection, direction classification and
  recognition, each on the ONNX model bundled in its wheel (passed as ``model_path``, so nothing is
  downloaded; a network guard makes any attempt fail loudly), onnxruntime intra-op threads =
  ``--threads``. Text: its lines in its own order (top to bottom, then left to right within about
  10 pixels: the columns of a two-column page interleave, which costs it page CER).
- Tesseract (Debian ``tesseract-ocr`` 5.x): ``tesseract LIST stdout --psm 3 -l eng tsv`` on list
  files of pages. Words are grouped into lines by (block, paragraph, line); a line's box is its
  words' axis-aligned bounding box; text is the words of a line joined by spaces, lines by
  newlines, in Tesseract's order. The CLI loads its model in every process, so the pages of each
  kind (A4 documents apart) are read together: by ``--threads`` processes in parallel on shards of
  them, each with OMP_THREAD_LIMIT=1, as ``benchmarks/ocr_peers.py`` runs it (pages side by side
  rather than threads within a page), or, with ``--tesseract-omp``, by one process with
  OMP_THREAD_LIMIT = ``--threads``. OpenMP threads slow Tesseract down badly where a core is busy
  (in one trial, 2.3 s for an A4 page with one thread and 7.8 s with two on a 2-core machine
  running something else; a warning is printed when the load average says a core is busy). A
  group's wall time, less the median time of the same command on a blank 64 x 64 image (process
  start and model load, measured three times), is shared equally among its pages; the raw figure
  is printed too. Its per-page seconds (``--json``) are therefore group averages.

The peers are never dependencies of recog: a peer that is not installed is skipped with one line
saying how to install it, unless ``--install-peers`` installs it first (``pip install rapidocr``
into this interpreter's environment; ``apt-get install -y tesseract-ocr``, as root or through
``sudo -n``). cv2's threads are set to ``--threads`` for all systems.

Caveats: the manifest's boxes (``recipes/synth_pages``) run from the font's ascender to its
descender line and split table rows and receipt items into cells; Tesseract's boxes are tight
around the ink and the peers may join a row's cells into one line, which costs them detection
matches but not page CER. RapidOCR's PP-OCR models and Tesseract's ``eng`` model were not trained
on these pages, fonts or charset; recog's models may have been trained on the recipe's other
splits. The figures say how well each reads these pages, not how good each is in general.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    add_limit,
    add_lm_fusion,
    add_manifest,
    add_threads,
    lm_setting,
    set_threads,
    timed,
)
from benchmarks.ocr_peers import PeerMissing, block_network, rapidocr_bundled  # noqa: E402
from recog.detection.metrics import DetectionCounts  # noqa: E402
from recog.detection.training import read_pages  # noqa: E402
from recog.metrics import char_error_rate  # noqa: E402
from recog_edge.pieces import PIECE  # noqa: E402

SYSTEMS = ("recog", "recog-edge", "rapidocr", "tesseract")
DEFAULT_SYSTEMS = ("recog", "rapidocr", "tesseract")
PEERS = ("rapidocr", "tesseract")
NAMES = {"recog": "recog", "recog-edge": "recog-edge", "rapidocr": "RapidOCR", "tesseract": "Tesseract"}
INSTALL = {"rapidocr": "pip install rapidocr", "tesseract": "apt-get install tesseract-ocr"}
TESSERACT_ARGS = ["--psm", "3", "-l", "eng", "tsv"]
A4 = {1240, 1754}  # an A4 page at 150 dpi, either way up
NORMALISATION = "every run of whitespace collapsed to one space, ends stripped; nothing else normalised"


@dataclass
class PageRef:
    """One manifest page: image file, kind, size, reference text and line boxes ((4, 2) arrays)."""

    path: str
    kind: str
    width: int
    height: int
    text: str
    boxes: list[np.ndarray]

    @property
    def is_a4(self) -> bool:
        return self.kind == "document" and {self.width, self.height} == A4


@dataclass
class PageOut:
    """One system's result on one page: reading-order text, line boxes ((4, 2) arrays) and seconds."""

    text: str
    boxes: list[np.ndarray]
    seconds: float
    texts: list[str] | None = None  # each box's text, where the system gives lines (recog)
    confidences: list[float] | None = None  # and its reading's confidence (with texts)


@dataclass
class SystemRun:
    """One system's results in manifest order, a description of how it ran and notes."""

    key: str
    description: str
    pages: list[PageOut]
    notes: list[str] = field(default_factory=list)
    raw_seconds: list[float] | None = None  # Tesseract: per page before subtracting its start-up
    variant: str | None = None  # recog and recog-edge: line model and pieces, named where several are compared

    @property
    def name(self) -> str:
        return NAMES[self.key] if self.variant is None else f"{NAMES[self.key]} [{self.variant}]"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_manifest(parser, required=False, help="JSONL page manifest (recipes/synth_pages)")
    parser.set_defaults(manifest="data/synth_pages/test.jsonl")
    parser.add_argument("--detector", default="latin-det",
                        help="recog text detector: shipped name, model folder or checkpoint (default latin-det)")
    parser.add_argument("--lines", default="latin-lines",
                        help="recog text-line model (default latin-lines); several, comma-separated, are compared "
                             "page by page (recog and recog-edge)")
    parser.add_argument("--pieces", default=str(PIECE),
                        help=f"recog and recog-edge: read lines wider than this many heights in pieces cut at word "
                             f"gaps (0: whole; default {PIECE}); several, comma-separated, are compared page by page")
    add_lm_fusion(parser, help="recog: a character LM (file, or a shipped model's: --lm latin-lines) fused into the "
                  "line model's CTC beam search of 8, as recog ocr --lm")
    add_limit(parser, "--limit", help="use only the first N pages (after --kinds)")
    add_threads(parser, default=2, help="torch, onnxruntime and Tesseract (OpenMP) threads; cv2's too")
    parser.add_argument("--kinds", default="", help="comma-separated page kinds to keep, e.g. document,sign")
    parser.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS),
                        help=f"comma-separated, of {','.join(SYSTEMS)} (default {','.join(DEFAULT_SYSTEMS)})")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU a detected box needs to match (default 0.5)")
    parser.add_argument("--tesseract-omp", action="store_true",
                        help="Tesseract: one process with --threads OpenMP threads per group of pages, instead of "
                             "--threads single-threaded processes on shards of them in parallel")
    parser.add_argument("--install-peers", action="store_true",
                        help="install the peers of --systems that are missing (pip, apt-get) before running")
    parser.add_argument("--json", help="also write the figures (and per-page texts; recog's lines, for "
                        "benchmarks/reading_order.py --found) to this JSON file")
    args = parser.parse_args(argv)
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    args.lines = [s.strip() for s in args.lines.split(",") if s.strip()]
    if not args.lines or len(set(args.lines)) < len(args.lines):
        parser.error(f"--lines: give one or more different models, not {args.lines}")
    try:
        args.pieces = [int(s) for s in args.pieces.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--pieces: whole numbers of heights, not {args.pieces!r}")
    if not args.pieces or len(set(args.pieces)) < len(args.pieces) or min(args.pieces) < 0:
        parser.error(f"--pieces: give one or more different widths of at least 0, not {args.pieces}")
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown or not args.systems:
        parser.error(f"--systems: unknown {unknown}; choose from {','.join(SYSTEMS)}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def load_page_refs(manifest: str, kinds: list[str], limit: int | None) -> list[PageRef]:
    """The manifest's pages of ``kinds`` (all when empty), the first ``limit`` only when given."""
    rows = read_pages(manifest)
    pages = [PageRef(row["image_filepath"], str(row.get("kind", "?")), int(row["width"]), int(row["height"]),
                     row["text"], row["polygons"]) for row in rows]
    if kinds:
        present = sorted({p.kind for p in pages})
        pages = [p for p in pages if p.kind in kinds]
        if not pages:
            raise SystemExit(f"{manifest}: no pages of kinds {kinds} (it has {present})")
    if not pages[:limit]:
        raise SystemExit(f"{manifest}: no pages to read (--limit {limit})")
    return pages[:limit]


def axis_box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


# peers: presence and installation --------------------------------------------------------------------------


def peer_installed(name: str) -> bool:
    if name == "tesseract":
        return shutil.which("tesseract") is not None
    importlib.invalidate_caches()
    return importlib.util.find_spec("rapidocr") is not None


def install_peer(name: str) -> str | None:
    """Install a missing peer; None on success, else why it failed. apt-get updates its lists and tries
    again when the first install fails."""
    if name == "rapidocr":
        attempts = [[[sys.executable, "-m", "pip", "install", "rapidocr"]]]
    else:
        prefix = [] if os.geteuid() == 0 else ["sudo", "-n"] if shutil.which("sudo") else None
        if prefix is None:
            return "not root and no sudo"
        install = [*prefix, "apt-get", "install", "-y", "-q", "tesseract-ocr"]
        attempts = [[install], [[*prefix, "apt-get", "update", "-q"], install]]
    failure = "nothing run"
    for attempt in attempts:
        for command in attempt:
            print(f"installing {name}: {' '.join(command)}", flush=True)
            done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode:
                failure = f"{' '.join(command)} exited with {done.returncode}: {done.stderr.strip()[-300:]}"
                break
        else:
            if peer_installed(name):
                return None
            failure = "installed, but still not found"
    return failure


# recog -----------------------------------------------------------------------------------------------------


def read_pages_timed(readers: list[Any], pages: list[PageRef]) -> list[list[PageOut]]:
    """Each page read by each of ``readers`` (recog's or recog-edge's page readers) and timed, after an
    untimed warm-up page each; per page the readers take turns, in an order that alternates from page
    to page. One list of results per reader."""
    for reader in readers:
        reader.read(pages[0].path)

    def read(reader: Any, path: str) -> PageOut:
        page, seconds = timed(lambda: reader.read(path))
        return PageOut(page.text, [np.asarray(line.box, np.float32) for line in page.lines], seconds,
                       [line.text for line in page.lines], [line.confidence for line in page.lines])

    outs: list[list[PageOut | None]] = [[None] * len(pages) for _ in readers]
    for i, page in enumerate(pages):
        order = range(len(readers)) if i % 2 == 0 else reversed(range(len(readers)))
        for k in order:
            outs[k][i] = read(readers[k], page.path)
    return outs  # type: ignore[return-value]


def variants(lines: list[str], pieces: list[int]) -> list[tuple[str, int, str | None]]:
    """Every (line model, piece width) to compare, with its label: what varies among them (None
    where there is one variant)."""
    return [(name, piece, ", ".join([name] * (len(lines) > 1) + [f"pieces {piece}"] * (len(pieces) > 1)) or None)
            for name in lines for piece in pieces]


def compared(key: str, labels: list[str | None], descriptions: list[str], readers: list[Any],
             pages: list[PageRef]) -> list[SystemRun]:
    """One run of ``key`` per variant (its label, description and reader), read page by page side by
    side."""
    outs = read_pages_timed(readers, pages)
    return [SystemRun(key, description, out, variant=label)
            for label, description, out in zip(labels, descriptions, outs, strict=True)]


def run_recog(pages: list[PageRef], detector: str, lines: list[str], pieces: list[int], threads: int,
              lm: str | None = None, lm_weight: float | None = None, lm_bonus: float | None = None
              ) -> list[SystemRun]:
    import recog
    from recog.cli import LM_BEAM
    from recog.pages import PageReader

    set_threads(threads)
    loaded = {}  # line model -> its reader, loaded once for all piece widths
    for name in lines:
        try:
            loaded[name] = recog.load(detector, lines=name, lm=lm)
        except FileNotFoundError as err:
            raise PeerMissing(f"recog: {err} (give --detector PATH: a detector checkpoint or model folder)") from None
        if not isinstance(loaded[name], PageReader):
            raise SystemExit(f"--detector {detector}: a text-line or speech model, not a text detector")
        if lm:
            loaded[name].search_options = {"beam": LM_BEAM, "lm_weight": lm_weight, "lm_bonus": lm_bonus}
    todo = variants(lines, pieces)
    readers = [copy.copy(loaded[name]) for name, _, _ in todo]  # the same models, each its own piece
    for reader, (_, piece, _) in zip(readers, todo, strict=True):
        reader.piece = piece
    fused = f", LM {lm} ({lm_setting(loaded[lines[0]].recognizer.lm, 'ctc', lm_weight, lm_bonus)})" if lm else ""
    descriptions = [f"recog, detector {detector}, lines {name}{fused}, pieces {piece}, "
                    f"torch threads {threads}" for name, piece, _ in todo]
    return compared("recog", [label for *_, label in todo], descriptions, readers, pages)


def run_edge(pages: list[PageRef], detector: str, lines: list[str], pieces: list[int], threads: int
             ) -> list[SystemRun]:
    from recog_edge.lines import EdgeLineModel
    from recog_edge.models import resolve
    from recog_edge.pages import EdgePageReader

    try:
        folders = [resolve(detector), *(resolve(name) for name in lines)]
    except FileNotFoundError as err:
        raise PeerMissing(f"recog-edge: {err} (give shipped names or `recog export` folders)") from None
    for folder, graph in zip(folders, ("det.onnx", *["lines.onnx"] * len(lines)), strict=True):
        if not (folder / graph).is_file():
            raise PeerMissing(f"recog-edge: {folder} has no {graph} (write it with `recog export`)")
    folder_of = dict(zip(lines, folders[1:], strict=True))
    models = {name: EdgeLineModel(folder, threads=threads) for name, folder in folder_of.items()}  # once per model
    todo = variants(lines, pieces)
    readers = [EdgePageReader(folders[0], models[name], threads=threads, piece=piece) for name, piece, _ in todo]
    descriptions = [f"recog-edge, detector {folders[0]}, lines {folder_of[name]}, pieces {piece}, onnxruntime "
                    f"threads {threads} (lines {threads} at a time)" for name, piece, _ in todo]
    return compared("recog-edge", [label for *_, label in todo], descriptions, readers, pages)


# RapidOCR --------------------------------------------------------------------------------------------------


def rapidocr_engine(threads: int) -> tuple[Any, str]:
    """A detection + classification + recognition RapidOCR engine on its bundled models, loaded, and a
    description."""
    try:
        from rapidocr import RapidOCR
    except ImportError:
        raise PeerMissing(f"rapidocr not installed ({INSTALL['rapidocr']}, or --install-peers)") from None
    cfg = RapidOCR(params={"Global.log_level": "warning"}).cfg  # default config; models load lazily
    models = {section: rapidocr_bundled(cfg, section) for section in ("Det", "Cls", "Rec")}
    engine = RapidOCR(params={
        "Global.log_level": "warning", **{f"{s}.model_path": str(p) for s, p in models.items()},
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1})
    engine._load_det_model(), engine._load_cls_model(), engine._load_rec_model()  # not timed
    names = ", ".join(p.name for p in models.values())
    return engine, f"rapidocr {version('rapidocr')} ({names}), onnxruntime threads {threads}"


def rapidocr_page(engine: Any, path: str) -> tuple[str, list[np.ndarray]]:
    result = engine(path)
    if getattr(result, "boxes", None) is None or getattr(result, "txts", None) is None:
        return "", []
    return "\n".join(result.txts), [np.asarray(b, np.float32).reshape(4, 2) for b in result.boxes]


def run_rapidocr(pages: list[PageRef], threads: int) -> SystemRun:
    engine, description = rapidocr_engine(threads)
    rapidocr_page(engine, pages[0].path)  # warm-up
    outs = []
    for page in pages:
        (text, boxes), seconds = timed(lambda page=page: rapidocr_page(engine, page.path))
        outs.append(PageOut(text, boxes, seconds))
    return SystemRun("rapidocr", description, outs, ["engine(path): det + cls + rec, default settings"])


# Tesseract -------------------------------------------------------------------------------------------------


def tesseract_pages(paths: list[str], threads: int, processes: int = 1) -> list[tuple[str, list[np.ndarray]]]:
    """Tesseract's text and line boxes of every page, in order: one process reading a list file with
    OMP_THREAD_LIMIT=``threads``, or ``processes`` > 1 processes in parallel on shards, each with one thread."""
    size = -(-len(paths) // max(1, processes))
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    env = {**os.environ, "OMP_THREAD_LIMIT": str(threads if processes == 1 else 1)}
    with tempfile.TemporaryDirectory() as folder:
        running = []
        for k, chunk in enumerate(chunks):
            listing = Path(folder) / f"pages{k}.txt"
            listing.write_text("".join(f"{p}\n" for p in chunk), encoding="utf-8")
            running.append(subprocess.Popen(["tesseract", str(listing), "stdout", *TESSERACT_ARGS], env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        outputs = [process.communicate() for process in running]
    pages = []
    for process, chunk, (stdout, stderr) in zip(running, chunks, outputs, strict=True):
        if process.returncode:
            raise RuntimeError(f"tesseract exited with {process.returncode}: {stderr.decode(errors='replace')[-300:]}")
        pages += tsv_pages(stdout.decode("utf-8"), len(chunk))
    return pages


def tsv_pages(tsv: str, count: int) -> list[tuple[str, list[np.ndarray]]]:
    """Tesseract TSV of ``count`` pages -> per page (text: a line's words joined by spaces, lines by
    newlines, in Tesseract's order; axis-aligned line boxes). Words are grouped by (block, par, line)."""
    lines: list[dict[tuple[str, ...], list[tuple[str, int, int, int, int]]]] = [{} for _ in range(count)]
    rows = tsv.splitlines()
    header = rows[0].split("\t") if rows else []
    seen = 0
    for raw in rows[1:]:
        row = dict(zip(header, raw.split("\t"), strict=False))
        seen += row.get("level") == "1"
        if row.get("level") != "5" or not row.get("text", "").strip():
            continue
        key = (row["block_num"], row["par_num"], row["line_num"])
        left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
        lines[int(row["page_num"]) - 1].setdefault(key, []).append(
            (row["text"].strip(), left, top, left + width, top + height))
    if seen != count:
        raise RuntimeError(f"tesseract TSV has {seen} pages for {count} images")
    pages = []
    for page in lines:  # dicts keep Tesseract's order
        texts = [" ".join(w[0] for w in words) for words in page.values()]
        boxes = [axis_box(min(w[1] for w in words), min(w[2] for w in words),
                          max(w[3] for w in words), max(w[4] for w in words)) for words in page.values()]
        pages.append(("\n".join(texts), boxes))
    return pages


def tesseract_startup(threads: int, repeats: int = 3) -> float:
    """Median seconds of a Tesseract run on a blank 64 x 64 image: process start and model load."""
    with tempfile.TemporaryDirectory() as folder:
        blank = str(Path(folder) / "blank.png")
        cv2.imwrite(blank, np.full((64, 64, 3), 255, np.uint8))
        tesseract_pages([blank], threads)  # warm the file cache
        return statistics.median(timed(lambda: tesseract_pages([blank], threads))[1] for _ in range(repeats))


def run_tesseract(pages: list[PageRef], threads: int, shards: bool = True) -> SystemRun:
    """Each group of pages of one kind (A4 documents a group of their own) read by ``threads``
    single-threaded list-file processes on shards in parallel (``shards``), or else by one process with
    ``threads`` OpenMP threads; the group's time, less one start-up, divides among its pages."""
    if shutil.which("tesseract") is None:
        raise PeerMissing(f"tesseract not installed ({INSTALL['tesseract']}, or --install-peers)")
    name = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    startup = tesseract_startup(1 if shards else threads)
    groups: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for i, page in enumerate(pages):
        groups[(page.kind, page.is_a4)].append(i)
    outs: list[PageOut | None] = [None] * len(pages)
    raw = [0.0] * len(pages)
    for indices in groups.values():
        found, seconds = timed(lambda indices=indices: tesseract_pages([pages[i].path for i in indices], threads,
                                                                       threads if shards else 1))
        for i, (text, boxes) in zip(indices, found, strict=True):
            outs[i] = PageOut(text, boxes, max(0.0, seconds - startup) / len(indices))
            raw[i] = seconds / len(indices)
    how = (f"{threads} list-file processes in parallel per kind, OMP_THREAD_LIMIT=1" if shards and threads > 1
           else f"one list-file process per kind, OMP_THREAD_LIMIT={1 if shards else threads}")  # A4 docs apart
    notes = [f"{' '.join(TESSERACT_ARGS)}; lines by (block, par, line), axis-aligned boxes",
             f"{how} ({len(groups)} groups); a page's seconds are its group's average, less {startup:.3f} s "
             "of process start and model load per group (blank-image run)"]
    return SystemRun("tesseract", name, outs, notes, raw)  # type: ignore[arg-type]


# scoring and report ----------------------------------------------------------------------------------------


def collapse(text: str) -> str:
    """``text`` with every run of whitespace made one space, ends stripped."""
    return " ".join(text.split())


def page_cer(refs: list[PageRef], outs: list[PageOut]) -> float | None:
    """Micro-averaged CER of the pages (empty references left out); None with no reference text."""
    pairs = [(collapse(r.text), collapse(o.text)) for r, o in zip(refs, outs, strict=True) if collapse(r.text)]
    if not pairs:
        return None
    return char_error_rate([r for r, _ in pairs], [h for _, h in pairs])


def seconds_per_page(outs: list[PageOut]) -> float | None:
    return sum(o.seconds for o in outs) / len(outs) if outs else None


def score(run: SystemRun, refs: list[PageRef], iou: float) -> dict[str, Any]:
    """The figures of ``run``: detection, page CER and seconds per page, overall, per kind and A4."""
    counts = DetectionCounts()
    for ref, out in zip(refs, run.pages, strict=True):
        counts.add(out.boxes, ref.boxes, iou)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, ref in enumerate(refs):
        by_kind[ref.kind].append(i)
    a4 = [i for i, ref in enumerate(refs) if ref.is_a4]

    def pick(indices: list[int]) -> tuple[list[PageRef], list[PageOut]]:
        return [refs[i] for i in indices], [run.pages[i] for i in indices]

    figures: dict[str, Any] = {
        "name": run.name, "system": run.key, "variant": run.variant, "description": run.description,
        "notes": run.notes, "pages": len(refs),
        "detection": {"hmean": counts.hmean, "precision": counts.precision, "recall": counts.recall,
                      "matched": counts.matched, "detected": counts.detected, "reference": counts.reference},
        "cer": page_cer(refs, run.pages), "seconds_per_page": seconds_per_page(run.pages),
        "a4_documents": {"pages": len(a4), "seconds_per_page": seconds_per_page(pick(a4)[1]),
                         "cer": page_cer(*pick(a4))},
        "by_kind": {kind: {"pages": len(ix), "cer": page_cer(*pick(ix)), "seconds_per_page": seconds_per_page(
            pick(ix)[1])} for kind, ix in sorted(by_kind.items())},
        "per_page": [{"image_filepath": ref.path, "kind": ref.kind, "seconds": out.seconds,
                      "cer": page_cer([ref], [out]), "text": out.text,
                      **({"lines": [{"text": t, "box": b.tolist(), "confidence": c} for t, b, c in
                                    zip(out.texts, out.boxes, out.confidences, strict=True)]}
                         if out.texts is not None else {})}
                     for ref, out in zip(refs, run.pages, strict=True)],
    }
    if run.raw_seconds is not None:
        figures["raw_seconds_per_page"] = sum(run.raw_seconds) / len(run.raw_seconds)
    return figures


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def report(f: dict[str, Any]) -> None:
    """Print one system's figures."""
    d = f["detection"]
    print(f"\n== {f['name']}: {f['description']}")
    for note in f["notes"]:
        print(f"   {note}")
    print(f"   detection: H-mean {pct(d['hmean'])}, precision {pct(d['precision'])}, recall {pct(d['recall'])} "
          f"({d['matched']} matched, {d['detected']} detected, {d['reference']} reference boxes)")
    raw = f" (raw {sec(f['raw_seconds_per_page'])})" if "raw_seconds_per_page" in f else ""
    a4 = f["a4_documents"]
    a4_text = (f", A4 documents {sec(a4['seconds_per_page'])}/page ({plural(a4['pages'], 'page')})" if a4["pages"]
               else ", no A4 documents")
    print(f"   page CER {pct(f['cer'])}; {sec(f['seconds_per_page'])}/page{raw}{a4_text}")
    for kind, k in f["by_kind"].items():
        pages = plural(k["pages"], "page")
        print(f"   {kind:<11} {pages:>10}: CER {pct(k['cer']):>9}, {sec(k['seconds_per_page'])}/page")
    worst = max(f["per_page"], key=lambda p: p["cer"] or 0.0)
    if worst["cer"]:
        print(f"   worst page: {Path(worst['image_filepath']).name} ({worst['kind']}), CER {pct(worst['cer'])}: "
              f"{collapse(worst['text'])[:100]!r}")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "-"
    return f"{a / b:.2f}x" if b > 0 else ("1.00x" if a == 0 else "inf")


def summary(results: list[dict[str, Any]]) -> None:
    """A table of every system's figures, recog's CER and time ratios to each peer, and each later
    variant's (line model, pieces) to the first's."""
    width = max([10, *(len(f["name"]) for f in results)])
    print(f"\n{'system':<{width}} {'H-mean':>8} {'prec.':>8} {'recall':>8} {'page CER':>9} {'s/page':>8} "
          f"{'A4 s/page':>10}")
    for f in results:
        d = f["detection"]
        a4 = f["a4_documents"]["seconds_per_page"]
        print(f"{f['name']:<{width}} {pct(d['hmean']):>8} {pct(d['precision']):>8} {pct(d['recall']):>8} "
              f"{pct(f['cer']):>9} {sec(f['seconds_per_page']):>8} {sec(a4):>10}")
    mine = next((f for f in results if f["system"] == "recog"), None)
    peers = [f for f in results if f["system"] in PEERS]
    if mine and peers:
        parts = [f"vs {p['name']}: page CER {ratio(mine['cer'], p['cer'])}, s/page "
                 f"{ratio(mine['seconds_per_page'], p['seconds_per_page'])}" for p in peers]
        print(f"recog / peer (below 1: recog better): {'; '.join(parts)}")
    for system in ("recog", "recog-edge"):
        runs = [f for f in results if f["system"] == system and f["variant"] is not None]
        if len(runs) < 2:
            continue
        first = runs[0]
        for f in runs[1:]:
            a4 = ratio(f["a4_documents"]["seconds_per_page"], first["a4_documents"]["seconds_per_page"])
            print(f"{f['name']} / {first['name']} (below 1: {f['variant']} better): page CER "
                  f"{ratio(f['cer'], first['cer'])}, s/page {ratio(f['seconds_per_page'], first['seconds_per_page'])}"
                  f", A4 s/page {a4}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    pages = load_page_refs(args.manifest, args.kinds, args.limit)
    skipped: dict[str, str] = {}
    if args.install_peers:
        for name in (s for s in args.systems if s in PEERS and not peer_installed(s)):
            failure = install_peer(name)
            if failure:
                skipped[name] = f"{name}: installation failed ({failure})"
    block_network()
    set_threads(args.threads)
    cv2.setNumThreads(args.threads)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(Counter(p.kind for p in pages).items()))
    print(f"manifest: {args.manifest}, {len(pages)} pages ({kinds}), {sum(p.is_a4 for p in pages)} A4 documents, "
          f"threads {args.threads}, IoU {args.iou}")
    empty = sum(not collapse(p.text) for p in pages)
    print(f"page CER: {NORMALISATION}; micro-averaged (total edits / total reference characters)"
          + (f"; {plural(empty, 'page')} without reference text left out" if empty else ""))
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load + args.threads > cores + 0.5:
        print(f"warning: load average {load:.1f} on {cores} cores: other work competes for the {args.threads} "
              "threads; timings come out inflated, those of OpenMP threads (torch's; Tesseract's with "
              "--tesseract-omp) by several times")
    runners: dict[str, Callable[[], list[SystemRun]]] = {
        "recog": lambda: run_recog(pages, args.detector, args.lines, args.pieces, args.threads, args.lm,
                                   args.lm_weight, args.lm_bonus),
        "recog-edge": lambda: run_edge(pages, args.detector, args.lines, args.pieces, args.threads),
        "rapidocr": lambda: [run_rapidocr(pages, args.threads)],
        "tesseract": lambda: [run_tesseract(pages, args.threads, shards=not args.tesseract_omp)],
    }
    results = []
    for name in args.systems:  # each reported as soon as it has run, so that a later one cannot hide it
        if name in skipped:
            print(f"\nskipped: {skipped[name]}", flush=True)
            continue
        try:
            runs = runners[name]()
        except PeerMissing as err:
            skipped[name] = str(err)
            print(f"\nskipped: {err}", flush=True)
            continue
        for run in runs:
            results.append(score(run, pages, args.iou))
            report(results[-1])
    summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "manifest": args.manifest, "pages": len(pages), "threads": args.threads, "iou": args.iou,
            "cer_normalisation": NORMALISATION, "systems": results, "skipped": skipped}, indent=1) + "\n",
            encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
