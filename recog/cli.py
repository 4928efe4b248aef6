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
LM_BEAM = 8  # prefix beam width when --lm is given without --beam
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

    run_training([*(flag for config in args.config for flag in ("--config", config)), *rest])
    return 0


def _load_for(args: argparse.Namespace, kind: str):
    from recog.inference import load

    model = load(args.model, att_context=getattr(args, "context", None), lm=args.lm)
    if model.kind != kind:
        what, command = ("speech", "transcribe") if model.kind == "logmel" else ("text-line (OCR)", "ocr")
        raise ValueError(f"{args.model} is a {what} model; use `recog {command}`")
    return model


def search_options(args: argparse.Namespace) -> dict[str, object]:
    """The search flags given on the command line, as DecodingOptions fields (the rest default);
    raises ValueError on a combination that cannot be searched."""
    from recog.heads.search import DecodingOptions

    flags = {"search": args.search, "beam": args.beam, "groups": args.groups, "diversity": args.diversity,
             "nbest": args.nbest, "ctc_weight": args.ctc_weight, "lm_weight": args.lm_weight,
             "lm_bonus": args.lm_bonus, "ilm_weight": args.ilm_weight, "ilm_bonus": args.ilm_bonus}
    given = {name: value for name, value in flags.items() if value is not None}
    if args.ilm_bonus is not None and not args.ilm_weight:
        raise ValueError("--ilm-bonus goes with --ilm-weight (the internal LM is off without a weight)")
    if (args.lm or args.ilm_weight) and args.beam is None and args.search in (None, "beam", "rescore"):
        given["beam"] = LM_BEAM  # fusion works inside prefix beam search
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
    model = load(args.model, att_context=args.context, lm=args.lm)
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


def cmd_lm(args: argparse.Namespace) -> int:
    """Train a character n-gram language model on the texts of manifests."""
    from recog.data import ManifestError, read_manifest
    from recog.lm import CharNgramLM

    texts: list[str] = []
    try:
        for manifest in args.manifest:
            texts += [e.text for e in read_manifest(manifest, check_files=False)]
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    lexicon: set[str] | None = None
    if args.lexicon:
        lexicon = {w for t in texts for w in t.split()}
    if args.lexicon_file:
        try:
            lines = Path(args.lexicon_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            print(f"error: {args.lexicon_file}: cannot read the lexicon ({type(err).__name__})", file=sys.stderr)
            return 2
        lexicon = (lexicon or set()) | {line.split()[0] for line in lines if line.strip()}
    try:
        lm = CharNgramLM.train(texts, order=args.order, lexicon=lexicon)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    lm.save(args.out)
    contexts = sum(len(t) for t in lm.tables)
    words = f", lexicon of {len(lm.lexicon)} words" if lm.lexicon else ""
    print(f"order-{lm.order} character LM from {len(texts)} texts ({len(lm.vocab)} characters, "
          f"{contexts} contexts{words}) -> {args.out}")
    return 0


def parse_context(value: str) -> tuple[int, int]:
    """"64,3" -> (64, 3): attention context [left, right] in encoder frames."""
    try:
        left, right = (int(v) for v in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LEFT,RIGHT (e.g. 64,3), got {value!r}") from None
    return left, right


def cmd_stream(args: argparse.Namespace) -> int:
    """Stream a file (or the microphone) through a cache-aware model, printing partial results."""
    import numpy as np

    from recog.audio import load_audio
    from recog.inference import load
    from recog.streaming import EndpointConfig, StreamingRecognizer

    model = load(args.model, att_context=args.context, lm=args.lm)
    weights = {k: v for k, v in (("lm_weight", args.lm_weight), ("lm_bonus", args.lm_bonus)) if v is not None}
    recognizer = StreamingRecognizer(model, head=args.head, beam=args.beam or (LM_BEAM if args.lm else 1),
                                     endpoint=EndpointConfig(enabled=not args.no_endpoint), **weights)
    print(f"chunk {recognizer.chunk_seconds * 1000:.0f} ms of audio per encoder step "
          f"(context {list(recognizer.model.encoder.att_context)})", file=sys.stderr)
    stream = recognizer.create_stream()
    shown = ["", 0]

    def show() -> None:
        result = stream.result
        if (result.text, len(result.segments)) != tuple(shown):
            for segment in result.segments[shown[1]:]:
                print(f"final: {segment}", flush=True)
            if result.text:
                print(f"partial: {result.text}", flush=True)
            shown[:] = [result.text, len(result.segments)]

    if args.mic:
        try:
            import sounddevice
        except ImportError:
            print("error: --mic needs the optional package sounddevice (pip install sounddevice)", file=sys.stderr)
            return 2
        block = int(16000 * args.chunk_ms / 1000)
        print("listening; Ctrl-C to stop", file=sys.stderr)
        try:
            with sounddevice.InputStream(samplerate=16000, channels=1, dtype="float32", blocksize=block) as mic:
                while True:
                    samples, _ = mic.read(block)
                    stream.accept_waveform(16000, samples[:, 0])
                    recognizer.decode(stream)
                    show()
        except KeyboardInterrupt:
            pass
    else:
        if not args.file:
            print("error: give an audio FILE or --mic", file=sys.stderr)
            return 2
        samples = load_audio(args.file)
        block = max(1, int(16000 * args.chunk_ms / 1000))
        start_time = time.perf_counter()
        for start in range(0, len(samples), block):
            if args.realtime:
                time.sleep(max(0.0, start / 16000 - (time.perf_counter() - start_time)))
            stream.accept_waveform(16000, np.asarray(samples[start: start + block]))
            recognizer.decode(stream)
            show()
    stream.input_finished()
    recognizer.decode(stream)
    show()
    print(f"text: {stream.final_text()}", flush=True)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from recog.export import export_streaming
    from recog.inference import load

    if not args.streaming:
        print("error: only the streaming export exists so far; pass --streaming", file=sys.stderr)
        return 2
    model = load(args.model, att_context=args.context)
    for path in export_streaming(model.model, args.out):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recog", description="Speech and text-line recognition.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train from a YAML config (LightningCLI fit; extra flags pass through)")
    train.add_argument("--config", required=True, action="append",
                       help="YAML config; give several to stack them (later ones override earlier keys)")

    for command, what, key, heads in (("transcribe", "audio files", "audio_filepath", "ctc, rnnt or attention"),
                                      ("ocr", "text-line images", "image_filepath", "ctc, parallel or attention")):
        recognise = sub.add_parser(command, help=f"recognise {what}")
        recognise.add_argument("inputs", nargs="*", help=f"{what} or folders of them")
        recognise.add_argument("--model", required=True, help="checkpoint from recog train")
        recognise.add_argument("--manifest", help=f"JSONL manifest whose {key} entries to read")
        recognise.add_argument("--head", help=f"head to decode with: {heads} (default: the model's first)")
        add_search_flags(recognise)
        recognise.add_argument("--output", help="write JSON lines here instead of printing path<TAB>text")
        if command == "transcribe":
            recognise.add_argument("--context", type=parse_context,
                                   help="attention context LEFT,RIGHT (limited-context models)")

    evaluate = sub.add_parser("eval", help="WER and CER (and exact-line accuracy for OCR) on a manifest")
    evaluate.add_argument("--manifest", required=True)
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--head")
    add_search_flags(evaluate)
    evaluate.add_argument("--output", help="per-utterance results as JSON lines")
    evaluate.add_argument("--context", type=parse_context, help="attention context LEFT,RIGHT (limited-context models)")

    stream = sub.add_parser("stream", help="streaming recognition of a file or the microphone (cache-aware models)")
    stream.add_argument("file", nargs="?", help="audio file (any rate; read whole, fed in --chunk-ms pieces)")
    stream.add_argument("--model", required=True)
    stream.add_argument("--chunk-ms", type=float, default=100.0, help="audio fed per call, in ms (default 100)")
    stream.add_argument("--context", type=parse_context, help="attention context LEFT,RIGHT (default: the model's "
                        "first); the encoder step is RIGHT+1 frames")
    stream.add_argument("--head", choices=["ctc", "rnnt"])
    stream.add_argument("--beam", type=int, help="transducer beam width (default 1: greedy)")
    stream.add_argument("--realtime", action="store_true", help="feed the file at its real speed")
    stream.add_argument("--no-endpoint", action="store_true", help="one utterance: no endpoint detection")
    stream.add_argument("--mic", action="store_true", help="read the microphone (needs sounddevice)")
    stream.add_argument("--lm", help=f"character n-gram LM fused into transducer beam search (default beam {LM_BEAM})")
    stream.add_argument("--lm-weight", type=float, help="LM weight (default 0.5)")
    stream.add_argument("--lm-bonus", type=float, help="LM insertion bonus per token (default 1.0)")

    lm = sub.add_parser("lm", help="train a character n-gram language model (for --lm) on manifest texts")
    lm.add_argument("--manifest", required=True, nargs="+", help="JSONL manifests whose text fields to learn")
    lm.add_argument("--order", type=int, default=6, help="n-gram order in characters (default 6)")
    lm.add_argument("--out", required=True, help="output file, e.g. lm.json.gz")
    lm.add_argument("--lexicon", action="store_true",
                    help="restrict decoding to the words of the manifests' texts (a closed vocabulary)")
    lm.add_argument("--lexicon-file", help="restrict decoding to these words (first column of each line, "
                    "e.g. a pronunciation lexicon), with --lexicon also the texts' words")

    export = sub.add_parser("export", help="export to ONNX for recog_edge (numpy + onnxruntime)")
    export.add_argument("--model", required=True)
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--streaming", action="store_true", help="the streaming encoder step with caches")
    export.add_argument("--context", type=parse_context, help="attention context LEFT,RIGHT to export")
    return parser


def add_search_flags(parser: argparse.ArgumentParser) -> None:
    """--search, --beam, --groups, --diversity, --nbest, --ctc-weight (recog.heads.search.DecodingOptions)."""
    parser.add_argument("--search", choices=["greedy", "beam", "diverse", "rescore", "joint"],  # search.SEARCHES
                        help="greedy; beam; diverse (diverse beam search, attention head); rescore (CTC prefix "
                             "beam search n-best reranked by the attention head); joint (the CTC and attention "
                             "n-best pooled, ranked by both heads). Default: beam if --beam > 1")
    parser.add_argument("--beam", type=int, help="beam width, all groups together (default 1 for greedy, else 4)")
    parser.add_argument("--groups", type=int, help="diverse beam search groups (default 2)")
    parser.add_argument("--diversity", type=float, help="diverse beam search penalty between groups (default 0.5)")
    parser.add_argument("--nbest", type=int, help="hypotheses per input in the JSON nbest list (default 1: none)")
    parser.add_argument("--ctc-weight", type=float, help="rescore/joint: weight of the CTC score (default 0.3)")
    parser.add_argument("--lm", help="character n-gram LM (from `recog lm`) fused into beam search "
                        f"(ctc or rnnt head, or --search rescore; default beam {LM_BEAM})")
    parser.add_argument("--lm-weight", type=float, help="LM weight (default 0.5)")
    parser.add_argument("--lm-bonus", type=float, help="LM insertion bonus per token (default 1.0)")
    parser.add_argument("--ilm-weight", type=float,
                        help="hybrid CTC/RNN-T models, --head ctc: weight of the rnnt head's prediction network "
                             f"fused into CTC prefix beam search as an internal LM (default beam {LM_BEAM})")
    parser.add_argument("--ilm-bonus", type=float, help="internal LM insertion bonus per token (default 1.0)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "train":
        return cmd_train(args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        commands = {"transcribe": cmd_transcribe, "ocr": cmd_ocr, "eval": cmd_eval, "stream": cmd_stream,
                    "export": cmd_export, "lm": cmd_lm}
        return commands[args.command](args)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
