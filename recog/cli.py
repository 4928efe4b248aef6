"""The ``recog`` command: train, transcribe (speech), ocr (images and PDFs), eval, stream, export."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from recog_edge.files import expand_inputs, write_text_atomic
from recog_edge.fusion import (
    ILME_WEIGHT_HELP,
    ILME_WITHOUT_LM,
    LM_BEAM,  # with --lm and no --beam
    LM_BONUS_HELP,
    LM_WEIGHT_HELP,
)
from recog_edge.pieces import PIECE, PIECES_HELP, piece_width
from recog_edge.segments import FORMATS, unique_stem, write_formats


def progress(items: Iterable, total: int, quiet: bool = False) -> Iterable:
    """``items`` with a progress bar on standard error where that is a terminal (not with ``quiet``,
    nor when piped), as Whisper's and NeMo's scripts show one; a bar never mixes into the output."""
    if quiet or total < 2 or not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, unit="file", leave=False, file=sys.stderr)


class LongFileProgress:
    """A second progress bar, in seconds of audio, over each long recording read in pieces
    (``transcribe_each(progress=...)``); shown only where the file bar could be (a terminal, not
    ``--quiet``)."""

    def __init__(self, quiet: bool = False) -> None:
        self.shown = not quiet and sys.stderr.isatty()
        self.path: str | None = None
        self.bar = None

    def __call__(self, path: str, read: float, total: float) -> None:
        if not self.shown:
            return
        if path != self.path:
            from tqdm import tqdm

            self.close()
            self.path = path
            self.bar = tqdm(total=round(total, 1), unit="s", desc=Path(path).name, leave=False, file=sys.stderr)
        self.bar.n = round(min(read, total), 1)
        self.bar.refresh()
        if read >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.path, self.bar = None, None


def _report_failures(failures: list[tuple[str, str]]) -> int:
    if not failures:
        return 0
    print(f"{len(failures)} file(s) failed:", file=sys.stderr)
    for _, message in failures:
        print(f"  {message}", file=sys.stderr)
    return 1


def cmd_train(argv: list[str]) -> int:
    """LightningCLI's own parser reads every flag (``recog train --help`` lists the config keys). A
    missing or unreadable manifest, audio, image or model to start from is one ``error:`` line naming
    it and status 2, as for the other commands."""
    from recog.audio import AudioError
    from recog.checkpoint import ModelFormatError
    from recog.data import ManifestError
    from recog.image import ImageError
    from recog.train import run_training

    try:
        run_training(argv)
    except (FileNotFoundError, ManifestError, ModelFormatError, AudioError, ImageError) as err:
        # one raised in a DataLoader worker carries the worker's traceback: its last line is the message
        print(f"error: {str(err).strip().splitlines()[-1]}", file=sys.stderr)
        return 2
    return 0


def _load_for(args: argparse.Namespace, command: str):
    """The model of ``--model`` (with ``--context`` and ``--lm``), or without it the default model of
    what ``command`` reads; refused where it does not read what ``command`` reads."""
    from recog.inference import load
    from recog.inputs import kind_of_command
    from recog.models import default_model

    path = args.model or default_model(kind_of_command(command).name)
    model = load(path, device=args.device, att_context=getattr(args, "context", None), lm=args.lm)
    if model.input.command != command:
        raise ValueError(f"{path} is a {model.input.name} model; use `recog {model.input.command}`")
    return model


def search_options(args: argparse.Namespace) -> dict[str, object]:
    """The search flags given on the command line, as DecodingOptions fields (the rest default);
    raises ValueError on a combination that cannot be searched."""
    from recog.decoding.options import DecodingOptions

    flags = {"search": args.search, "beam": args.beam, "groups": args.groups, "diversity": args.diversity,
             "nbest": args.nbest, "ctc_weight": args.ctc_weight, "lm_weight": args.lm_weight,
             "lm_bonus": args.lm_bonus, "ilm_weight": args.ilm_weight, "ilm_bonus": args.ilm_bonus,
             "ilme_weight": args.ilme_weight}
    given = {name: value for name, value in flags.items() if value is not None}
    if args.ilm_bonus is not None and not args.ilm_weight:
        raise ValueError("--ilm-bonus goes with --ilm-weight (the internal LM is off without a weight)")
    if args.ilme_weight is not None and not args.lm:
        raise ValueError(ILME_WITHOUT_LM)
    if (args.lm or args.ilm_weight) and args.beam is None and args.search in (None, "beam", "rescore"):
        given["beam"] = LM_BEAM  # fusion works inside prefix beam search
    DecodingOptions(**given)
    return given


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Recognise files, folders and manifest entries; `transcribe` and `ocr` alike."""
    from recog.data import ManifestError, read_manifest
    from recog.inputs import kind_of_command

    options = search_options(args)
    try:
        paths, failures = expand_inputs(args.inputs, kind_of_command(args.command).suffixes)
        if args.manifest:
            paths += read_manifest(args.manifest, require_text=False, check_files=False,  # entries: segments too
                                   require_duration=False)
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not paths:
        for _, message in failures:
            print(f"error: {message}", file=sys.stderr)
        print("error: no input files (give files, folders or --manifest)", file=sys.stderr)
        return 2
    model = _load_for(args, args.command)
    rows: list[dict] = []
    fmt = args.format or (("all" if args.command == "transcribe" else "json") if args.output_dir else None)
    formats = FORMATS if fmt == "all" else (fmt,) if fmt else ()
    names: set[str] = set()
    long_files = LongFileProgress(args.quiet)
    results = model.transcribe_each(paths, head=args.head, progress=long_files, **options)
    for path, result in progress(results, len(paths), args.quiet):
        if isinstance(result, Exception):
            failures.append((path, str(result)))
            continue
        rows.append(result.to_json())
        if result.warning:
            print(f"warning: {path}: {result.warning}", file=sys.stderr)
        if formats and args.command == "transcribe":
            name = unique_stem(result.path, result.offset, names) if args.output_dir else ""
            write_formats(formats, result.segments(), result.text, rows[-1], name, args.output_dir)
        elif args.output_dir:  # recog ocr: a text line's file is its text or its JSON result, as a page's
            write_text_atomic(Path(args.output_dir) / f"{unique_stem(result.path, result.offset, names)}.{fmt}",
                              ocr_file_content(fmt, result.text, rows[-1]))
        elif args.output == "-" or fmt == "json":
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        elif not args.output or fmt == "txt":
            print(f"{path}\t{result.text}", flush=True)
    return _finish(args, rows, ", ".join(formats), failures)


def _finish(args: argparse.Namespace, rows: list[dict], formats: str, failures: list[tuple[str, str]]) -> int:
    """Write the JSON lines of --output (a file), say what was written, report failures; the exit code."""
    from recog.data import write_jsonl_atomic

    if args.output and args.output != "-":
        write_jsonl_atomic(args.output, rows)
        print(f"wrote {len(rows)} result(s) to {args.output}", file=sys.stderr)
    if args.output_dir:
        print(f"wrote {len(rows)} result(s) as {formats} to {args.output_dir}", file=sys.stderr)
    return _report_failures(failures)


def ocr_file_content(fmt: str, text: str, row: dict) -> str:
    """A text line's or page's ``--format`` file for ``recog ocr``: its text, or its JSON result."""
    return text + "\n" if fmt == "txt" else json.dumps(row, ensure_ascii=False, indent=1) + "\n"


def cmd_eval(args: argparse.Namespace) -> int:
    from recog.data import ManifestError, read_manifest, write_jsonl_atomic
    from recog.metrics import char_error_rate, exact_match_rate, inverse_real_time_factor, normalise, word_error_rate

    try:
        entries = read_manifest(args.manifest, check_files=False, require_duration=False)
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    options = search_options(args)
    from recog.inputs import kind_of_path_key

    model = _load_for(args, kind_of_path_key(entries[0].key).command)
    if entries[0].key != model.input.path_key:
        raise ValueError(f"{args.manifest} has {entries[0].key} rows but {args.model} is a {model.input.name} "
                         f"model (it reads {model.input.path_key} rows)")
    refs, hyps, rows, failures = [], [], [], []
    start = time.perf_counter()
    results = progress(model.transcribe_each(entries, head=args.head, **options), len(entries), args.quiet)
    for entry, (path, result) in zip(entries, results, strict=True):
        if isinstance(result, Exception):
            failures.append((path, f"line {entry.line}: {result}"))
            continue
        refs.append(normalise(entry.text) if args.normalise else entry.text)
        hyps.append(normalise(result.text) if args.normalise else result.text)
        rows.append({**result.to_json(), "reference": entry.text})
    elapsed = time.perf_counter() - start
    if args.output:
        write_jsonl_atomic(args.output, rows)
    if refs:
        units = model.input.units
        print(f"{units}: {len(refs)}" + (" (texts normalised: recog.metrics.normalise)" if args.normalise else ""))
        print(f"WER: {100 * word_error_rate(refs, hyps):.2f} %")
        print(f"CER: {100 * char_error_rate(refs, hyps):.2f} %")
        print(f"exact {units}: {100 * exact_match_rate(refs, hyps):.2f} %")
        print(f"{units}/s: {len(refs) / elapsed:.1f} (including file loading)")
        if all(e.duration for e in entries):  # audio manifests give durations
            seconds = sum(e.duration for e in entries)
            print(f"RTFx: {inverse_real_time_factor(seconds, elapsed):.1f} (including audio loading)")
    return _report_failures(failures)


def cmd_models(args: argparse.Namespace) -> int:
    """List the models that ship with recog."""
    from recog.models import DEFAULTS, shipped

    models = shipped()
    if not models:
        print("no models ship with this recog")
        return 0
    defaults = set(DEFAULTS.values())
    for m in models:
        default = " (default)" if m.name in defaults else ""
        print(f"{m.name}\t{m.task}{default}\t{m.size_bytes / 1e6:.1f} MB\t{m.summary}")
    return 0


def cmd_lm(args: argparse.Namespace) -> int:
    """Train a character n-gram language model on the texts of manifests."""
    from recog.data import ManifestError, read_manifest
    from recog.lm import CharNgramLM, read_lexicon, read_texts

    if not args.manifest and not args.text:
        print("error: recog lm needs texts: --manifest FILE(S) and/or --text FILE(S)", file=sys.stderr)
        return 2
    texts: list[str] = []
    try:
        for manifest in args.manifest or []:
            texts += [e.text for e in read_manifest(manifest, check_files=False)]
        for path in args.text or []:
            texts += read_texts(path)
    except (ManifestError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not texts:
        print("error: no texts to learn from in " + " ".join((args.manifest or []) + (args.text or [])),
              file=sys.stderr)
        return 2
    lexicon: set[str] | None = None
    if args.lexicon:
        lexicon = {w for t in texts for w in t.split()}
    try:
        if args.lexicon_file:
            lexicon = (lexicon or set()) | read_lexicon(args.lexicon_file)
        lm = CharNgramLM.train(texts, order=args.order, lexicon=lexicon)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    stale = lm.save(args.out)  # removes a fusion pair tuned for the LM that was there
    words = f", lexicon of {len(lm.lexicon)} words" if lm.lexicon else ""
    print(f"order-{lm.order} character LM from {len(texts)} texts ({len(lm.vocab)} characters, "
          f"{lm.num_contexts} contexts{words}) -> {args.out}")
    if stale:
        print(f"removed {stale}: its fusion pair was tuned for the LM written there before "
              f"(tune this one: tools/lm_tune.py --write)")
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
    from recog.audio import SAMPLE_RATE, load_audio
    from recog.streaming import EndpointConfig, StreamingRecognizer
    from recog_edge.stream_feed import check_source, file_blocks, microphone_blocks, stream_blocks, update_printer

    check_source(args.file, args.mic)
    model = _load_for(args, "transcribe")
    recognizer = StreamingRecognizer(model, head=args.head, beam=args.beam or (LM_BEAM if args.lm else 1),
                                     endpoint=EndpointConfig(enabled=not args.no_endpoint),
                                     lm_weight=args.lm_weight, lm_bonus=args.lm_bonus, ilme_weight=args.ilme_weight)
    print(f"chunk {recognizer.chunk_seconds * 1000:.0f} ms of audio per encoder step "
          f"(context {list(recognizer.model.encoder.att_context)})", file=sys.stderr)
    if args.mic:
        blocks = microphone_blocks(SAMPLE_RATE, args.chunk_ms / 1000)  # without sounddevice: its error first
        print("listening; Ctrl-C to stop", file=sys.stderr)
    else:
        blocks = file_blocks(load_audio(args.file), SAMPLE_RATE, args.chunk_ms / 1000, realtime=args.realtime)
    stream = stream_blocks(recognizer, blocks, SAMPLE_RATE, update_printer())
    print(f"text: {stream.final_text()}", flush=True)
    return 0


def cmd_ocr(args: argparse.Namespace) -> int:
    """Images and PDFs: line-shaped images (or all, with --lines) are read as one text line each, the
    rest (or all, with --detect) detected in and read as pages (``recog.pages``)."""
    from recog.inputs import IMAGE_SUFFIXES
    from recog.pages import is_line_file

    mode = "lines" if args.lines else "detect" if args.detect else "auto"
    if args.manifest or mode == "lines":
        return cmd_transcribe(args)  # manifests list text lines
    options = search_options(args)
    paths, failures = expand_inputs(args.inputs, IMAGE_SUFFIXES | {".pdf"})
    if not paths:
        for _, message in failures:
            print(f"error: {message}", file=sys.stderr)
        print("error: no input files (give images, PDFs or folders)", file=sys.stderr)
        return 2
    if mode == "auto" and all(is_line_file(p) for p in paths) and not args.draw:
        return cmd_transcribe(args)
    reader = _page_reader(args, options)
    return _write_pages(args, reader.read_inputs(paths, mode, dpi=args.dpi), len(paths), failures)


def _page_reader(args: argparse.Namespace, options: dict[str, object]):  # noqa: ANN202 - a recog.pages.PageReader
    """A PageReader from --detector (default: the shipped detector) reading lines with --model."""
    from recog.inference import load
    from recog.models import default_model
    from recog.pages import PageReader

    detector = args.detector or default_model("text-detection")
    reader = load(detector, device=args.device, lm=args.lm, lines=args.model)
    if not isinstance(reader, PageReader):
        raise ValueError(f"{detector}: not a text detector (a text-line model goes to --model)")
    reader.search_options = options
    reader.piece = args.pieces
    return reader


def _write_pages(args: argparse.Namespace, results: Iterable, total: int, failures: list[tuple[str, str]]) -> int:
    """Print or write each page or line result as ``recog ocr``'s flags ask."""
    from recog.image import load_image, load_pdf_pages
    from recog.pages import Page, draw_page

    rows: list[dict] = []
    fmt = args.format or ("json" if args.output_dir else None)  # the parser admits txt and json only
    for name, result in progress(results, total, args.quiet):
        if isinstance(result, Exception):
            failures.append((name, str(result)))
            continue
        row = result.to_json()
        rows.append(row)
        stem = Path(result.path).stem + (f"_p{result.page}" if isinstance(result, Page) and result.page else "")
        if args.draw and isinstance(result, Page):
            image = (load_image(result.path) if result.page is None else
                     next(load_pdf_pages(result.path, args.dpi, [result.page]))[1])  # only that page
            from PIL import Image

            Path(args.draw).mkdir(parents=True, exist_ok=True)
            Image.fromarray(draw_page(image, result)).save(Path(args.draw) / f"{stem}.png")
        if args.output_dir:
            write_text_atomic(Path(args.output_dir) / f"{stem}.{fmt}", ocr_file_content(fmt, result.text, row))
        elif fmt == "txt" or (fmt is None and not args.output and isinstance(result, Page)):
            print(result.printed(plain=fmt == "txt") if isinstance(result, Page) else f"{result.path}\t{result.text}",
                  flush=True)
        elif fmt == "json" or args.output == "-":
            print(json.dumps(row, ensure_ascii=False), flush=True)
        elif not args.output:
            print(f"{result.path}\t{result.text}", flush=True)
    return _finish(args, rows, fmt or "", failures)


def cmd_export(args: argparse.Namespace) -> int:
    from recog.inference import load

    for path in export_model(load(args.model, att_context=args.context), args.out, args.streaming, args.int8):
        print(f"wrote {path}" + (" (int8)" if args.int8 else ""), file=sys.stderr)
    return 0


def export_model(model, out: str | Path, streaming: bool = False, int8: bool = False) -> list[Path]:  # noqa: ANN001
    """ONNX files of a loaded model (a RecognitionModel or PageReader) in ``out``: a text detector's
    det.onnx, a text-line model's lines.onnx, a speech model's offline.onnx (or, ``streaming``, its
    encoder.onnx step), with their head graphs; ``int8``: weights quantized. The written paths."""
    from recog.export import export_detector, export_lines, export_offline, export_streaming
    from recog.pages import PageReader

    if isinstance(model, PageReader):
        return export_detector(model.detector.model, out, model.detector.options, int8=int8)
    if streaming:
        return export_streaming(model.model, out, int8=int8)
    if model.input.name == "text-line":
        return export_lines(model.model, out, int8=int8)
    return export_offline(model.model, out, int8=int8)


def cmd_serve_web(args: argparse.Namespace) -> int:
    from recog.web import make_server, served_models

    models = served_models(args.speech, args.lines, args.det)
    server = make_server(models, args.host, args.port)
    for slot, folder in models.items():
        print(f"{slot}: {folder}", file=sys.stderr)
    print(f"recog in the browser: http://{args.host}:{server.server_address[1]}/  (Ctrl-C stops)", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    from recog import __version__

    parser = argparse.ArgumentParser(prog="recog", description="Speech and text-line recognition.")
    parser.add_argument("--version", action="version", version=f"recog {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("train", add_help=False, help="train from YAML configs: recog train --config X.yaml [--config "
                   "Y.yaml] [--key value ...] (recog train --help lists every key; --print_config shows the merge)")

    for command, what, key, heads in (("transcribe", "audio files", "audio_filepath", "ctc, rnnt or attention"),
                                      ("ocr", "images (text lines, pages, photos) and PDFs", "image_filepath",
                                       "ctc, parallel or attention")):
        recognise = sub.add_parser(command, help=f"recognise {what}")
        recognise.add_argument("inputs", nargs="*", help=f"{what} or folders of them")
        recognise.add_argument("--model", help="shipped model name (recog models), model folder or checkpoint "
                               "from recog train (default: the shipped default model)")
        recognise.add_argument("--manifest", help=f"JSONL manifest whose {key} entries to read")
        recognise.add_argument("--head", help=f"head to decode with: {heads} (default: the model's first)")
        add_search_flags(recognise)
        recognise.add_argument("--output", help="write JSON lines here (- for standard output) instead of "
                               "printing path<TAB>text")
        if command == "transcribe":
            recognise.add_argument("--format", choices=[*FORMATS, "all"],
                                   help="also write each input as txt, srt, vtt, tsv (segments with start and end) "
                                        "or json (with segments and word times), or all: files in --output-dir, "
                                        "else printed")
        else:
            recognise.add_argument("--format", choices=["txt", "json"],
                                   help="also write each image or PDF page as its text or its JSON result (lines, "
                                        "boxes, confidences): files in --output-dir, else printed")
        recognise.add_argument("--output-dir", help="folder for the --format files, one per input and format, named "
                               "after the input (default format with it: "
                               + ("all)" if command == "transcribe" else "json)"))
        if command == "transcribe":
            recognise.add_argument("--context", type=parse_context,
                                   help="attention context LEFT,RIGHT (limited-context models)")
        else:
            recognise.add_argument("--detector", help="text detector for whole images and PDFs (default: the "
                                   "shipped latin-det); --model is then the text-line model that reads its lines")
            mode = recognise.add_mutually_exclusive_group()
            mode.add_argument("--lines", action="store_true", help="read every image as one text line (no detection)")
            mode.add_argument("--detect", action="store_true", help="detect text in every image, even line-shaped "
                              "ones (default: images at most 100 px tall, or 240 px and 5x as wide, are lines)")
            recognise.add_argument("--dpi", type=float, default=150, help="resolution PDF pages are rendered at "
                                   "(default 150)")
            recognise.add_argument("--draw", help="folder to write each page image into with its boxes and texts "
                                   "drawn")
            recognise.add_argument("--pieces", type=piece_width, default=PIECE, help=PIECES_HELP)
        add_runtime_flags(recognise)

    evaluate = sub.add_parser("eval", help="WER and CER (and exact-line accuracy for OCR) on a manifest")
    evaluate.add_argument("--manifest", required=True, help="JSONL manifest with reference texts (speech or lines)")
    evaluate.add_argument("--model", help="shipped model name, model folder or checkpoint (default: the shipped "
                          "default model of the manifest's kind)")
    evaluate.add_argument("--head", help="head to decode with (default: the model's first)")
    add_search_flags(evaluate)
    evaluate.add_argument("--output", help="per-utterance results as JSON lines")
    evaluate.add_argument("--normalise", "--normalize", action="store_true",
                          help="score lower-cased texts without punctuation (recog.metrics.normalise), as published "
                               "WERs are; default: the raw strings")
    evaluate.add_argument("--context", type=parse_context, help="attention context LEFT,RIGHT (limited-context models)")
    add_runtime_flags(evaluate)

    stream = sub.add_parser("stream", help="streaming recognition of a file or the microphone (cache-aware models)")
    stream.add_argument("file", nargs="?", help="audio file (any rate; read whole, fed in --chunk-ms pieces)")
    stream.add_argument("--model", help="shipped model name, model folder or checkpoint (default: the shipped "
                        "speech model)")
    stream.add_argument("--chunk-ms", type=float, default=100.0, help="audio fed per call, in ms (default 100)")
    stream.add_argument("--context", type=parse_context, help="attention context LEFT,RIGHT (default: the model's "
                        "first); the encoder step is RIGHT+1 frames")
    stream.add_argument("--head", help="head to stream with: ctc (greedy) or rnnt (greedy or beam) "
                        "(default: the model's first)")
    stream.add_argument("--beam", type=int, help="transducer beam width (default 1: greedy)")
    stream.add_argument("--realtime", action="store_true", help="feed the file at its real speed")
    stream.add_argument("--no-endpoint", action="store_true", help="one utterance: no endpoint detection")
    stream.add_argument("--mic", action="store_true", help="read the microphone (needs sounddevice)")
    stream.add_argument("--lm", help="character n-gram LM fused into transducer beam search: a file from `recog lm`, "
                        f"or a shipped model's own (--lm en-speech) (default beam {LM_BEAM})")
    stream.add_argument("--lm-weight", type=float, help=LM_WEIGHT_HELP)
    stream.add_argument("--lm-bonus", type=float, help=LM_BONUS_HELP)
    stream.add_argument("--ilme-weight", type=float, help=ILME_WEIGHT_HELP)
    add_runtime_flags(stream)

    sub.add_parser("models", help="list the models that ship with recog (name, task, size, summary)")

    lm = sub.add_parser("lm", help="train a character n-gram language model (for --lm) on manifest or plain texts")
    lm.add_argument("--manifest", nargs="+", help="JSONL manifests whose text fields to learn")
    lm.add_argument("--text", nargs="+", help="plain UTF-8 text files to learn, one text (sentence) per line")
    lm.add_argument("--order", type=int, default=6, help="n-gram order in characters (default 6)")
    lm.add_argument("--out", required=True, help="output file, e.g. lm.npz")
    lm.add_argument("--lexicon", action="store_true",
                    help="restrict decoding to the words of the texts learnt (a closed vocabulary)")
    lm.add_argument("--lexicon-file", help="restrict decoding to these words (first column of each line, "
                    "e.g. a pronunciation lexicon), with --lexicon also the texts' words")

    export = sub.add_parser("export", help="export to ONNX for recog_edge (numpy + onnxruntime)")
    export.add_argument("--model", required=True, help="shipped model name, model folder or checkpoint")
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--streaming", action="store_true", help="speech: the streaming encoder step with caches "
                        "(encoder.onnx); without it a speech model exports offline.onnx (whole signals), text-line "
                        "models lines.onnx, text detectors det.onnx")
    export.add_argument("--context", type=parse_context, help="attention context LEFT,RIGHT to export")
    export.add_argument("--int8", action="store_true", help="quantize the written graphs' weights to int8 "
                        "(onnxruntime dynamic quantization: ~2.4x smaller files, for recog_edge)")
    add_runtime_flags(export, device=False)

    web = sub.add_parser("serve-web", help="serve the browser page (export/web/) and exported model folders")
    web.add_argument("--speech", help="a `recog export --streaming` folder or shipped edge model name (the page's "
                     "microphone model; default: the shipped en-speech)")
    web.add_argument("--lines", help="a text-line export folder (lines.onnx) or shipped edge model name "
                     "(default: the shipped latin-lines)")
    web.add_argument("--det", help="a text detector export folder (det.onnx) or shipped edge model name, for "
                     "whole images (default: the shipped latin-det)")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    web.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    return parser


def add_runtime_flags(parser: argparse.ArgumentParser, device: bool = True) -> None:
    """--threads (CPU threads for PyTorch), --device, --quiet."""
    parser.add_argument("--threads", type=int, help="CPU threads PyTorch may use (default: its own choice)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is "
                        "not a terminal either)")
    if device:
        parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")


def add_search_flags(parser: argparse.ArgumentParser) -> None:
    """--search, --beam, --groups, --diversity, --nbest, --ctc-weight, the LM flags (DecodingOptions)."""
    from recog.decoding.options import SEARCHES

    parser.add_argument("--search", choices=SEARCHES,
                        help="greedy; beam; diverse (diverse beam search, attention head); rescore (CTC prefix "
                             "beam search n-best reranked by the attention head); joint (the CTC and attention "
                             "n-best pooled, ranked by both heads). Default: beam if --beam > 1")
    parser.add_argument("--beam", type=int, help="beam width, all groups together (default 1 for greedy, else 4)")
    parser.add_argument("--groups", type=int, help="diverse beam search groups (default 2)")
    parser.add_argument("--diversity", type=float, help="diverse beam search penalty between groups (default 0.5)")
    parser.add_argument("--nbest", type=int, help="hypotheses per input in the JSON nbest list (default 1: none)")
    parser.add_argument("--ctc-weight", type=float, help="rescore/joint: weight of the CTC score (default 0.3)")
    parser.add_argument("--lm", help="character n-gram LM fused into beam search: a file from `recog lm`, or a "
                        "shipped model's own (--lm en-speech) (ctc or rnnt head, or --search rescore; default "
                        f"beam {LM_BEAM})")
    parser.add_argument("--lm-weight", type=float, help=LM_WEIGHT_HELP)
    parser.add_argument("--lm-bonus", type=float, help=LM_BONUS_HELP)
    parser.add_argument("--ilme-weight", type=float, help=ILME_WEIGHT_HELP)
    parser.add_argument("--ilm-weight", type=float,
                        help="hybrid CTC/RNN-T models, --head ctc: weight of the rnnt head's prediction network "
                             f"fused into CTC prefix beam search as an internal LM (default beam {LM_BEAM})")
    parser.add_argument("--ilm-bonus", type=float, help="internal LM insertion bonus per token (default 1.0)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:
        return cmd_train(argv[1:])
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest:  # the subcommand's own usage, not the top-level one
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subparsers.choices[args.command].error(f"unrecognized arguments: {' '.join(rest)}")
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    from recog_edge.cli import run_command

    commands = {"transcribe": cmd_transcribe, "ocr": cmd_ocr, "eval": cmd_eval, "stream": cmd_stream,
                "export": cmd_export, "lm": cmd_lm, "models": cmd_models, "serve-web": cmd_serve_web}
    return run_command(commands[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
