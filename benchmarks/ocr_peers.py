"""CER, exact-line accuracy and ms per line of recog, Tesseract and RapidOCR on one text-line test manifest.

    python benchmarks/ocr_peers.py --manifest data/synth_ocr/test.jsonl \
        --model runs/synth_ocr/checkpoints/last.ckpt --heads ctc,parallel --threads 2

    python benchmarks/ocr_peers.py --manifest data/synth_ocr/test.jsonl --limit 100   # peers only

Recognisers:

- recog: ``recog.load(model).transcribe(paths, head=...)`` with its default batching, once per head
  (``--heads ctc,parallel``; default: the model's default head), ``torch.set_num_threads(--threads)``.
  One small untimed warm-up call per head; the timed call includes reading the images.
- recog-edge (with ``--edge``): the torch-free runtime (``recog_edge.EdgeLineModel(folder,
  threads=--threads).read(paths)``: lines read ``--threads`` at a time, one onnxruntime thread each),
  on the int8 edge export shipped beside ``--model`` where it names a shipped model, else on
  ``--model`` exported here (``recog export --int8``). One untimed warm-up call; image reading included.
- Tesseract (Debian ``tesseract-ocr`` 5.x, ``--psm 7 -l eng``, one line per image), with OMP_THREAD_LIMIT=1
  (set here; OpenMP threads only slow it down on single lines). Timed three ways: one process per line,
  one process reading a list file of all images (its pages are separated by form feeds; the split is
  checked against the line count), and, with ``--threads`` > 1, that many list-file processes in
  parallel on shards. The fastest is Tesseract's ms/line; all are printed, and the list modes' texts
  are compared with the per-line texts.
- RapidOCR (PyPI ``rapidocr`` 3.x, not a project dependency: ``pip install rapidocr``): recognition
  only, no detection nor classification, with the PP-OCR recognition ONNX model bundled in its wheel
  (passed as ``Rec.model_path``, so nothing is downloaded; a network guard makes any attempt fail
  loudly). onnxruntime intra-op threads = ``--threads``. Timed two ways: ``engine(path, use_det=False,
  use_cls=False, use_rec=True)`` per image, and batched: all images loaded and preprocessed as in that
  call, then one ``engine.recognize_txt(images)`` (batches of ``Rec.rec_batch_num`` = 6, sorted by
  width). The faster is RapidOCR's ms/line.

A peer that is not installed is skipped with one line saying so and how to install it (``skipped:
tesseract not installed (apt-get install tesseract-ocr)``); recog's figures, printed first, come out
either way, and the exit status is 0.

ms/line = wall seconds / lines * 1000, model loading excluded, image reading included.

Scoring: ``recog.metrics.char_error_rate`` (corpus CER) and ``exact_match_rate`` against the manifest's
``text``, with exact string comparison: nothing is normalised (case, spaces, punctuation and look-alike
characters all count), except that trailing whitespace and newlines are stripped from Tesseract's output.
CER is also given on the clean and degraded lines when the manifest rows have a ``degraded`` field.

Caveat: Tesseract and RapidOCR were not trained on this corpus' charset (all printable ASCII), fonts
or rendering/degradation, and their test fonts are not held out from them as the recipe's split holds
them out from recog; recog was. The numbers say how well each reads these lines as they are, not how
good each system is in general. RapidOCR's PP-OCR model has a large multilingual charset (full-width
and look-alike characters can come out) and Tesseract's ``eng`` model has its own quirks.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    add_limit,
    add_lm_fusion,
    add_manifest,
    add_model,
    add_threads,
    lm_setting,
    load_model,
    manifest_rows,
    read_entries,
    set_threads,
    timed,
)
from recog.metrics import char_error_rate, exact_match_rate  # noqa: E402

PEERS = ("tesseract", "rapidocr")
TESSERACT_ARGS = ["--psm", "7", "-l", "eng"]
INSTALL = {"tesseract": "apt-get install tesseract-ocr", "rapidocr": "pip install rapidocr"}


class PeerMissing(Exception):
    """A peer that cannot run here; the message says why and how to install it."""


@dataclass
class Run:
    """One recogniser's texts (in manifest order) and its timings, ``{mode: seconds}``."""

    name: str
    texts: list[str]
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def best_mode(self) -> str:
        return min(self.timings, key=lambda mode: self.timings[mode])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_manifest(parser, help="JSONL text-line manifest with image_filepath and text")
    add_model(parser, required=False, help="recog checkpoint of an image model (recog is skipped without it)")
    parser.add_argument("--heads", "--head", dest="heads",
                        help="comma-separated recog heads to decode with, e.g. ctc,parallel (default: model's)")
    add_lm_fusion(parser, help="character LM (recog lm): adds a run of the CTC head with it fused")
    add_limit(parser, "--limit", help="use only the first N lines")
    add_threads(parser, default=2, help="torch and onnxruntime threads; Tesseract shards")
    parser.add_argument("--edge", action="store_true", help="also read with recog-edge on the model's int8 export")
    parser.add_argument("--skip", default="", help=f"comma-separated peers to skip: {','.join(PEERS)}")
    args = parser.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skip - set(PEERS)
    if unknown:
        parser.error(f"--skip: unknown {sorted(unknown)}; choose from {PEERS}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def load_lines(manifest: str, limit: int | None) -> tuple[list[str], list[str], list[bool] | None]:
    """Image paths, reference texts and, if every row has it, the ``degraded`` flags."""
    entries = read_entries(manifest, limit)
    flags = [row.get("degraded") for row in manifest_rows(manifest, entries)]
    degraded = [bool(x) for x in flags] if all(isinstance(x, bool) for x in flags) else None
    return [e.path for e in entries], [e.text for e in entries], degraded


def block_network() -> None:
    """Make any network connection raise, so that a peer trying to download a model fails loudly."""

    def hook(event: str, hook_args: tuple[Any, ...]) -> None:
        if event in ("socket.connect", "socket.getaddrinfo"):
            raise RuntimeError(f"network access attempted ({event} {hook_args}); this benchmark runs offline")

    sys.addaudithook(hook)


# recog ----------------------------------------------------------------------------------------------------------


def run_recog(model_path: str, heads: list[str | None], paths: list[str], threads: int,
              lm: tuple[str, float | None, float | None] | None = None) -> list[Run]:
    """One run per head, and with ``lm`` = (file, weight, bonus) one more: the CTC head's prefix
    beam search (width 8) with the character LM fused."""
    set_threads(threads)
    model = load_model(model_path)
    if model.kind != "image":
        raise SystemExit(f"{model_path}: a {model.kind!r} model, not a text-line (image) model")
    runs = []
    for head in heads:
        name = f"recog [{head or model.model.default_head}]"
        model.transcribe(paths[:8], head=head)  # warm-up
        results, seconds = timed(lambda head=head: model.transcribe(paths, head=head))
        runs.append(Run(name, [r.text for r in results], {"batched": seconds},
                        [f"torch threads {threads}, default batching (1M pixels per batch)"]))
    if lm:
        path, weight, bonus = lm
        model = load_model(model_path, lm=path)
        search = {"head": "ctc", "beam": 8, "lm_weight": weight, "lm_bonus": bonus}
        model.transcribe(paths[:8], **search)  # warm-up
        results, seconds = timed(lambda: model.transcribe(paths, **search))
        runs.append(Run("recog [ctc + LM]", [r.text for r in results], {"batched": seconds},
                        [f"torch threads {threads}, prefix beam 8, LM {path} "
                         f"({lm_setting(model.lm, 'ctc', weight, bonus)})"]))
    return runs


def run_edge(model_path: str, paths: list[str], threads: int) -> Run:
    """The text-line model's int8 export read by recog-edge: the shipped one where ``model_path``
    names a shipped model, else one exported here."""
    from recog_edge import EdgeLineModel
    from recog_edge.models import resolve

    try:
        folder, where = resolve(model_path), "shipped int8 export"
    except FileNotFoundError:  # a name that ships no edge export
        folder = Path(model_path)
    if not (folder / "lines.onnx").is_file():  # a checkpoint or recog model folder: export it
        from recog.export import export_lines

        folder, where = Path(tempfile.mkdtemp()), "exported here, int8"
        export_lines(load_model(model_path).model, folder, int8=True)
    edge = EdgeLineModel(folder, threads=threads)
    edge.read(paths[:8])  # warm-up
    results, seconds = timed(lambda: edge.read(paths))
    return Run(f"recog-edge [{edge.head}]", [r.text for r in results], {f"{threads} at a time": seconds},
               [f"{folder} ({where}), {threads} line(s) at a time, one onnxruntime thread each"])


# Tesseract ------------------------------------------------------------------------------------------------------


def tesseract_env() -> dict[str, str]:
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def tesseract_one(path: str) -> str:
    out = subprocess.run(["tesseract", path, "stdout", *TESSERACT_ARGS], capture_output=True, check=True,
                         env=tesseract_env())
    return out.stdout.decode("utf-8").rstrip()


def tesseract_list_start(paths: list[str], folder: str, shard: int) -> subprocess.Popen[bytes]:
    """Start one tesseract process on a list file of ``paths`` (one page each)."""
    list_file = Path(folder) / f"list{shard}.txt"
    list_file.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
    return subprocess.Popen(["tesseract", str(list_file), "stdout", *TESSERACT_ARGS], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=tesseract_env())


def tesseract_list_finish(process: subprocess.Popen[bytes], count: int) -> list[str]:
    """Wait for a list-file process and split its output into pages (form-feed separated)."""
    stdout, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"tesseract exited with {process.returncode} on a list file")
    pages = stdout.decode("utf-8").split("\f")
    if len(pages) != count:
        raise RuntimeError(f"tesseract list output has {len(pages)} pages for {count} images")
    return [p.rstrip() for p in pages]


def tesseract_lists(paths: list[str], shards: int) -> list[str]:
    """Read ``paths`` with ``shards`` list-file processes running in parallel, in input order."""
    size = -(-len(paths) // shards)
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    with tempfile.TemporaryDirectory() as folder:
        processes = [tesseract_list_start(chunk, folder, k) for k, chunk in enumerate(chunks)]
        return [text for p, chunk in zip(processes, chunks, strict=True)
                for text in tesseract_list_finish(p, len(chunk))]


def run_tesseract(paths: list[str], threads: int) -> Run:
    if shutil.which("tesseract") is None:
        raise PeerMissing(f"tesseract not installed ({INSTALL['tesseract']})")
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    texts, seconds = timed(lambda: [tesseract_one(p) for p in paths])
    run = Run(f"Tesseract ({version})", texts, {"per-line process": seconds},
              [f"args {' '.join(TESSERACT_ARGS)}, OMP_THREAD_LIMIT=1, trailing whitespace stripped"])
    modes = {"list file, 1 process": 1}
    if threads > 1 and len(paths) > 1:
        modes[f"list files, {threads} processes in parallel"] = threads
    for mode, shards in modes.items():
        list_texts, run.timings[mode] = timed(lambda shards=shards: tesseract_lists(paths, shards))
        differ = sum(a != b for a, b in zip(texts, list_texts, strict=True))
        run.notes.append(f"{mode}: {differ} line(s) differ from the per-line texts")
    return run


# RapidOCR -------------------------------------------------------------------------------------------------------


def rapidocr_bundled(cfg: Any, section: str) -> Path:
    """The ONNX model of ``cfg``'s ``section`` (Det, Cls, Rec) bundled in the rapidocr wheel."""
    import rapidocr
    from rapidocr.inference_engine.base import FileInfo, InferSession

    part = cfg[section]
    url = InferSession.get_model_url(FileInfo(part.engine_type, part.ocr_version, part.task_type, part.lang_type,
                                              part.model_type))["model_dir"]
    models = Path(rapidocr.__file__).parent / "models"
    path = models / Path(url).name  # where rapidocr itself looks before downloading
    if not path.is_file():
        found = sorted(p.name for p in models.glob("*.onnx"))
        raise PeerMissing(f"rapidocr {version('rapidocr')} has no bundled {path.name} (has {found}); "
                          "it would download one, which this offline benchmark does not do")
    return path


def rapidocr_engine(threads: int) -> tuple[Any, str]:
    """A recognition-only RapidOCR engine on the rec model bundled in the wheel, and a description."""
    try:
        from rapidocr import RapidOCR
    except ImportError:
        raise PeerMissing(f"rapidocr not installed ({INSTALL['rapidocr']})") from None
    cfg = RapidOCR(params={"Global.log_level": "warning"}).cfg  # default config; models load lazily
    rec_model = rapidocr_bundled(cfg, "Rec")
    engine = RapidOCR(params={
        "Global.log_level": "warning", "Global.use_det": False, "Global.use_cls": False, "Global.use_rec": True,
        "Rec.model_path": str(rec_model), "EngineConfig.onnxruntime.intra_op_num_threads": threads})
    engine._load_rec_model()  # load now, so that model loading is not timed
    return engine, f"rapidocr {version('rapidocr')}, {rec_model.name}, onnxruntime threads {threads}"


def rapidocr_one(engine: Any, path: str) -> str:
    result = engine(path, use_det=False, use_cls=False, use_rec=True)
    return result.txts[0] if result.txts else ""


def rapidocr_batched(engine: Any, paths: list[str]) -> list[str]:
    images = [engine.preprocess_img(engine.load_img(p))[0] for p in paths]
    return list(engine.recognize_txt(images).txts)


def run_rapidocr(paths: list[str], threads: int) -> Run:
    engine, description = rapidocr_engine(threads)
    rapidocr_one(engine, paths[0])  # warm-up
    texts, seconds = timed(lambda: [rapidocr_one(engine, p) for p in paths])
    run = Run("RapidOCR (rec only)", texts, {"per image": seconds},
              [description, "engine(path, use_det=False, use_cls=False, use_rec=True) per image; "
                            f"batched: engine.recognize_txt(images), {engine.cfg.Rec.rec_batch_num} per batch"])
    batch_texts, run.timings["batched"] = timed(lambda: rapidocr_batched(engine, paths))
    differ = sum(a != b for a, b in zip(texts, batch_texts, strict=True))
    run.notes.append(f"batched: {differ} line(s) differ from the per-image texts")
    return run


# report ---------------------------------------------------------------------------------------------------------


def subset(values: list[str], mask: list[bool], keep: bool) -> list[str]:
    return [v for v, m in zip(values, mask, strict=True) if m == keep]


def report(run: Run, refs: list[str], degraded: list[bool] | None) -> None:
    """Print ``run``'s notes, timings, CER and exact lines (overall and clean/degraded), and a few errors."""
    lines = len(refs)
    print(f"\n== {run.name}")
    for note in run.notes:
        print(f"   {note}")
    for mode, seconds in run.timings.items():
        print(f"   time, {mode}: {seconds:.2f} s = {1000 * seconds / lines:.1f} ms/line")
    best = run.best_mode
    summary = (f"CER {100 * char_error_rate(refs, run.texts):.2f} %, "
               f"exact lines {100 * exact_match_rate(refs, run.texts):.1f} %, "
               f"{1000 * run.timings[best] / lines:.1f} ms/line ({best})")
    if degraded is not None:
        for label, keep in (("clean", False), ("degraded", True)):
            sub_refs = subset(refs, degraded, keep)
            if sub_refs:
                cer = char_error_rate(sub_refs, subset(run.texts, degraded, keep))
                summary += f", CER {label} {100 * cer:.2f} % ({len(sub_refs)})"
    print(f"   {summary}")
    wrong = [(r, h) for r, h in zip(refs, run.texts, strict=True) if r != h][:3]
    for r, h in wrong:
        print(f"   e.g. ref {r!r} -> {h!r}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    block_network()
    paths, refs, degraded = load_lines(args.manifest, args.limit)
    split = "" if degraded is None else f" ({sum(degraded)} degraded, {len(degraded) - sum(degraded)} clean)"
    print(f"manifest: {args.manifest}, {len(paths)} lines{split}, threads {args.threads}")
    if args.model:
        heads: list[str | None] = [h.strip() for h in args.heads.split(",") if h.strip()] if args.heads else [None]
        lm = (args.lm, args.lm_weight, args.lm_bonus) if args.lm else None
        for run in run_recog(args.model, heads, paths, args.threads, lm):
            report(run, refs, degraded)
        if args.edge:
            report(run_edge(args.model, paths, args.threads), refs, degraded)
    # Each peer is reported as soon as it has run, so that a later one cannot hide the figures.
    for name, run_peer in (("tesseract", run_tesseract), ("rapidocr", run_rapidocr)):
        if name in args.skip:
            continue
        try:
            run = run_peer(paths, args.threads)
        except PeerMissing as err:
            print(f"\nskipped: {err}", flush=True)
            continue
        report(run, refs, degraded)


if __name__ == "__main__":
    main()
