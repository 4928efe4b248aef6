"""The ``recog`` command: train, transcribe (speech), ocr (text-line images), eval."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"}


def expand_inputs(items: Iterable[str], suffixes: set[str]) -> list[str]:
    """Files as given; folders searched recursively for files with one of ``suffixes``."""
    paths: list[str] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            paths.extend(str(f) for f in sorted(p.rglob("*")) if f.suffix.lower() in suffixes and f.is_file())
        else:
            paths.append(item)
    return paths


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict]) -> None:
    """Write JSON lines to a temporary file beside ``path`` and rename it into place, so a crash
    never leaves a half-written output."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _report_failures(failures: list[tuple[str, str]]) -> int:
    if not failures:
        return 0
    print(f"{len(failures)} file(s) failed:", file=sys.stderr)
    for _, message in failures:
        print(f"  {message}", file=sys.stderr)
    return 1


def cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    from recog.train import run_training

    run_training(["--config", args.config, *rest])
    return 0


def _load_for(args: argparse.Namespace, kind: str):
    from recog.inference import load

    model = load(args.model)
    if model.kind != kind:
        what, command = ("speech", "transcribe") if model.kind == "logmel" else ("text-line (OCR)", "ocr")
        raise ValueError(f"{args.model} is a {what} model; use `recog {command}`")
    return model


def search_options(args: argparse.Namespace) -> dict[str, object]:
    """The search flags given on the command line, as DecodingOptions fields (the rest default);
    raises ValueError on a combination that cannot be searched."""
    from recog.heads.search import DecodingOptions

    flags = {"search": args.search, "beam": args.beam, "groups": args.groups, "diversity": args.diversity,
             "nbest": args.nbest, "ctc_weight": args.ctc_weight}
    given = {name: value for name, value in flags.items() if value is not None}
    DecodingOptions(**given)
    return given


def cmd_transcribe(args: argparse.Namespace, kind: str = "logmel") -> int:
    """Recognise files, folders and manifest entries; shared by `transcribe` and `ocr`."""
    from recog.data import ManifestError, read_manifest

    try:
        paths = expand_inputs(args.inputs, AUDIO_SUFFIXES if kind == "logmel" else IMAGE_SUFFIXES)
        if args.manifest:
            paths += [e.path for e in read_manifest(args.manifest, require_text=False, check_files=False)]
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not paths:
        print("error: no input files (give files, folders or --manifest)", file=sys.stderr)
        return 2
    options = search_options(args)
    model = _load_for(args, kind)
    rows, failures = [], []
    for path, result in model.transcribe_each(paths, head=args.head, **options):
        if isinstance(result, Exception):
            failures.append((path, str(result)))
            continue
        rows.append(result.to_json())
        if not args.output:
            print(f"{path}\t{result.text}", flush=True)
    if args.output:
        write_jsonl_atomic(args.output, rows)
        print(f"wrote {len(rows)} result(s) to {args.output}", file=sys.stderr)
    return _report_failures(failures)


def cmd_ocr(args: argparse.Namespace) -> int:
    return cmd_transcribe(args, kind="image")


def cmd_eval(args: argparse.Namespace) -> int:
    from recog.data import AUDIO_KEY, ManifestError, read_manifest
    from recog.inference import load
    from recog.metrics import char_error_rate, exact_match_rate, inverse_real_time_factor, word_error_rate

    try:
        entries = read_manifest(args.manifest, check_files=False)
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    options = search_options(args)
    model = load(args.model)
    if (entries[0].key == AUDIO_KEY) != (model.kind == "logmel"):
        raise ValueError(f"{args.manifest} has {entries[0].key} rows but {args.model} is a "
                         f"{'speech' if model.kind == 'logmel' else 'text-line'} model")
    refs, hyps, rows, failures = [], [], [], []
    start = time.perf_counter()
    results = model.transcribe_each([e.path for e in entries], head=args.head, **options)
    for entry, (path, result) in zip(entries, results, strict=True):
        if isinstance(result, Exception):
            failures.append((path, f"line {entry.line}: {result}"))
            continue
        refs.append(entry.text)
        hyps.append(result.text)
        rows.append({**result.to_json(), "reference": entry.text})
    elapsed = time.perf_counter() - start
    if args.output:
        write_jsonl_atomic(args.output, rows)
    if refs:
        print(f"{'utterances' if model.kind == 'logmel' else 'lines'}: {len(refs)}")
        print(f"WER: {100 * word_error_rate(refs, hyps):.2f} %")
        print(f"CER: {100 * char_error_rate(refs, hyps):.2f} %")
        if model.kind == "logmel":
            seconds = sum(e.duration for e in entries)
            print(f"RTFx: {inverse_real_time_factor(seconds, elapsed):.1f} (including audio loading)")
        else:
            print(f"exact lines: {100 * exact_match_rate(refs, hyps):.2f} %")
            print(f"lines/s: {len(refs) / elapsed:.1f} (including image loading)")
    return _report_failures(failures)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recog", description="Speech and text-line recognition.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train from a YAML config (LightningCLI fit; extra flags pass through)")
    train.add_argument("--config", required=True)

    for command, what, key, heads in (("transcribe", "audio files", "audio_filepath", "ctc, rnnt or attention"),
                                      ("ocr", "text-line images", "image_filepath", "ctc, parallel or attention")):
        recognise = sub.add_parser(command, help=f"recognise {what}")
        recognise.add_argument("inputs", nargs="*", help=f"{what} or folders of them")
        recognise.add_argument("--model", required=True, help="checkpoint from recog train")
        recognise.add_argument("--manifest", help=f"JSONL manifest whose {key} entries to read")
        recognise.add_argument("--head", help=f"head to decode with: {heads} (default: the model's first)")
        add_search_flags(recognise)
        recognise.add_argument("--output", help="write JSON lines here instead of printing path<TAB>text")

    evaluate = sub.add_parser("eval", help="WER and CER (and exact-line accuracy for OCR) on a manifest")
    evaluate.add_argument("--manifest", required=True)
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--head")
    add_search_flags(evaluate)
    evaluate.add_argument("--output", help="per-utterance results as JSON lines")
    return parser


def add_search_flags(parser: argparse.ArgumentParser) -> None:
    """--search, --beam, --groups, --diversity, --nbest, --ctc-weight (recog.heads.search.DecodingOptions)."""
    parser.add_argument("--search", choices=["greedy", "beam", "diverse", "rescore"],
                        help="greedy; beam; diverse (diverse beam search, attention head); rescore (CTC prefix "
                             "beam search n-best reranked by the attention head). Default: beam if --beam > 1")
    parser.add_argument("--beam", type=int, help="beam width, all groups together (default 1 for greedy, else 4)")
    parser.add_argument("--groups", type=int, help="diverse beam search groups (default 2)")
    parser.add_argument("--diversity", type=float, help="diverse beam search penalty between groups (default 0.5)")
    parser.add_argument("--nbest", type=int, help="hypotheses per input in the JSON nbest list (default 1: none)")
    parser.add_argument("--ctc-weight", type=float, help="rescoring: weight of the CTC score (default 0.3)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "train":
        return cmd_train(args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return {"transcribe": cmd_transcribe, "ocr": cmd_ocr, "eval": cmd_eval}[args.command](args)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
