"""The ``recog-edge`` command: ``transcribe`` (audio files), ``stream`` (an audio file or the
microphone fed in pieces, partial and final text) and ``ocr`` (text-line images and whole pages), on exported models
with numpy and onnxruntime only. Without ``--model`` each command takes the edge model that ships
for its task (``recog_edge.models``). Its output is ``recog``'s: ``path<TAB>text`` lines (pages:
``==> path <==`` and the page text), or with ``--output -`` (or a file) JSON lines with the fields
of ``recog transcribe --output -`` / ``recog ocr --format json``, or subtitles and text files
(``transcribe --format`` / ``--output-dir``, ``recog_edge.segments``). A file that cannot be read is
reported in one line naming it; the others are still read, and the exit status is 1."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

from recog_edge.files import AUDIO_SUFFIXES, IMAGE_SUFFIXES, expand_inputs, write_text_atomic
from recog_edge.fusion import ILME_WEIGHT_HELP, ILME_WITHOUT_LM, LM_BEAM, LM_BONUS_HELP, LM_WEIGHT_HELP
from recog_edge.image_file import PDF_DPI
from recog_edge.models import default_model, resolve, resolve_lm
from recog_edge.pieces import PIECE, PIECES_HELP, piece_width
from recog_edge.segments import FORMATS, unique_stem, write_formats

LINE_GROUP = 64  # line images `ocr` reads together, so that --threads of them run side by side

# (path, JSON row, plain text or the file's error, or None where the result is written already)
Row = tuple[str, dict[str, Any] | None, str | Exception | None]


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Every audio file (or the files in a folder) through an offline or streaming speech export."""
    from recog_edge.runtime import EdgeModel

    paths, failures = expand_inputs(args.inputs, AUDIO_SUFFIXES)
    if not paths:
        return _no_inputs(failures, "audio files or folders")
    model = EdgeModel(resolve(args.model) if args.model else default_model("speech"), head=args.head,
                      threads=args.threads, beam=args.beam, **lm_options(args))

    fmt = args.format or ("all" if args.output_dir else None)
    formats = FORMATS if fmt == "all" else (fmt,) if fmt else ()
    names: set[str] = set()

    def rows() -> Iterator[Row]:
        for path in paths:
            try:
                result = model.transcribe_file(path)
            except ValueError as err:
                yield path, None, err
                continue
            row = result.to_json()
            if formats:  # printed or written here, as recog transcribe --format writes them
                name = unique_stem(path, None, names) if args.output_dir else ""
                write_formats(formats, result.segments(), result.text, row, name, args.output_dir)
            yield path, row, None if formats else f"{path}\t{result.text}"

    return _write(args, rows(), failures, formats)


def cmd_ocr(args: argparse.Namespace) -> int:
    """Images: line-shaped ones (or all, with --lines) read as one text line each, the others (or
    all, with --detect) and every PDF page detected in and read as pages, as ``recog ocr`` decides."""
    import numpy as np

    from recog_edge.image_file import ImageError, is_pdf, load_image, load_pdf_pages
    from recog_edge.lines import EdgeLineModel
    from recog_edge.pages import EdgePageReader, is_line_image

    paths, failures = expand_inputs(args.inputs, IMAGE_SUFFIXES | (set() if args.lines else {".pdf"}))
    if not paths:
        return _no_inputs(failures, "images, PDFs or folders")
    if args.lm is None and args.beam is not None:
        raise ValueError("--beam goes with --lm (without it lines are read greedily)")
    lines = EdgeLineModel(resolve(args.model) if args.model else default_model("text-line"), head=args.head,
                          threads=args.threads, beam=LM_BEAM if args.beam is None else args.beam, **lm_options(args))
    pages: list[EdgePageReader] = []  # opened at the first page: line images need no detector

    def page_reader() -> EdgePageReader:
        if not pages:
            detector = resolve(args.detector) if args.detector else default_model("text-detection")
            pages.append(EdgePageReader(detector, lines, threads=args.threads, piece=args.pieces))
        return pages[0]

    def read_lines(waiting: list[tuple[str, np.ndarray]]) -> Iterator[Row]:
        """The line images ``waiting`` read together (``--threads`` at a time), in input order; it is
        left empty."""
        group = waiting[:]
        waiting.clear()
        for (path, _), line in zip(group, lines.read([rgb for _, rgb in group]), strict=True):
            line.image_filepath = path
            yield path, line.to_json(), f"{path}\t{line.text}"

    def read_pdf(path: str) -> Iterator[Row]:
        """Each page of a PDF rendered at --dpi and read as a page (``path#N`` where one fails)."""
        for number, image in load_pdf_pages(path, args.dpi):
            if isinstance(image, ImageError):
                yield f"{path}#{number}", None, image
                continue
            page = page_reader().read(image, name=path)
            page.page = number
            yield f"{path}#{number}", page.to_json(), page.printed(plain=args.format == "txt")

    def rows() -> Iterator[Row]:
        waiting: list[tuple[str, np.ndarray]] = []  # line images not yet read
        for path in paths:
            try:
                if is_pdf(path) and not args.lines:  # every page read as a page, as recog ocr reads it
                    yield from read_lines(waiting)
                    yield from read_pdf(path)
                    continue
                rgb = load_image(path)
                if args.lines or (not args.detect and is_line_image(*rgb.shape[:2])):
                    waiting.append((path, rgb))
                    if len(waiting) == LINE_GROUP:
                        yield from read_lines(waiting)
                    continue
                yield from read_lines(waiting)  # the lines before this page come out before it
                page = page_reader().read(rgb, name=path)
                yield path, page.to_json(), page.printed(plain=args.format == "txt")
            except ValueError as err:
                yield from read_lines(waiting)
                yield path, None, err
        yield from read_lines(waiting)

    return _write(args, rows(), failures)


def cmd_stream(args: argparse.Namespace) -> int:
    """An audio file (or the microphone) fed to a streaming export ``--chunk-ms`` at a time: each
    new partial text and each finished utterance as it comes, then the whole text (``recog
    stream``'s lines)."""
    from recog_edge.audio_file import read_audio
    from recog_edge.endpoint import EndpointConfig
    from recog_edge.runtime import EdgeModel
    from recog_edge.stream_feed import check_source, file_blocks, microphone_blocks, stream_blocks, update_printer

    check_source(args.file, args.mic)
    model = EdgeModel(resolve(args.model) if args.model else default_model("speech"), head=args.head,
                      threads=args.threads, endpoint=EndpointConfig(enabled=not args.no_endpoint), beam=args.beam,
                      **lm_options(args))
    if args.mic:
        rate = model.sample_rate
        blocks = microphone_blocks(rate, args.chunk_ms / 1000)
        print("listening; Ctrl-C to stop", file=sys.stderr)
    else:
        samples, rate = read_audio(args.file)
        if len(samples) == 0:
            raise ValueError(f"{args.file}: empty audio (0 samples)")
        blocks = file_blocks(samples, rate, args.chunk_ms / 1000, realtime=args.realtime)
    stream = stream_blocks(model, blocks, rate, update_printer())
    print(f"text: {stream.final_text()}", flush=True)
    return 0


def lm_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--lm``, ``--lm-weight`` and ``--lm-bonus`` as the runtimes' ``lm``, ``lm_weight`` and
    ``lm_bonus`` (None where not given: the LM's tuned setting, else recog's defaults); the weights
    without an LM are refused."""
    ilme = getattr(args, "ilme_weight", None)  # speech commands only
    if args.lm is None and (args.lm_weight, args.lm_bonus) != (None, None):
        raise ValueError("--lm-weight and --lm-bonus go with --lm")
    if args.lm is None and ilme is not None:
        raise ValueError(ILME_WITHOUT_LM)
    return {"lm": resolve_lm(args.lm) if args.lm else None, "lm_weight": args.lm_weight, "lm_bonus": args.lm_bonus,
            **({"ilme": ilme} if hasattr(args, "ilme_weight") else {})}


def add_lm_options(command: argparse.ArgumentParser, search: str, model: str) -> None:
    """``--lm``, ``--lm-weight`` and ``--lm-bonus`` of a command whose beam search is ``search``."""
    command.add_argument("--lm", help=f"a character LM fused into {search}: an LM file (`recog lm`), or a shipped edge "
                         f"model's own (--lm {model}), as recog's --lm reads with it")
    command.add_argument("--lm-weight", type=float, help=LM_WEIGHT_HELP)
    command.add_argument("--lm-bonus", type=float, help=LM_BONUS_HELP)


def _no_inputs(failures: list[tuple[str, str]], what: str) -> int:
    for _, message in failures:
        print(f"error: {message}", file=sys.stderr)
    print(f"error: no input files (give {what})", file=sys.stderr)
    return 2


def _write(args: argparse.Namespace, rows: Iterator[Row], failures: list[tuple[str, str]],
           formats: tuple[str, ...] = ()) -> int:
    """Print each result (text, or JSON with ``--output -`` / ``--format json``), and write them all
    to the JSON-lines file ``--output`` once every input is read (printing then only with
    ``--format``, as recog does); say where ``--output-dir`` got the ``formats``; the failures last."""
    to_file = args.output not in (None, "-")
    as_json = args.output == "-" or getattr(args, "format", None) == "json"
    written: list[dict[str, Any]] = []  # the rows for --output FILE (only then kept)
    done = 0
    for path, row, shown in rows:
        if row is None:
            failures.append((path, str(shown)))
            continue
        done += 1
        if to_file:
            written.append(row)
        if shown is not None and (not to_file or getattr(args, "format", None)):  # --format prints, as recog's
            print(json.dumps(row, ensure_ascii=False) if as_json else shown, flush=True)
    if to_file:
        write_text_atomic(args.output, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in written))
        print(f"wrote {done} result(s) to {args.output}", file=sys.stderr)
    if getattr(args, "output_dir", None):
        print(f"wrote {done} result(s) as {', '.join(formats)} to {args.output_dir}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} file(s) failed:", file=sys.stderr)
        for _, message in failures:
            print(f"  {message}", file=sys.stderr)
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recog-edge", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    model_help = "a folder `recog export` wrote, or a shipped edge model's name (default: the shipped {})"

    transcribe = sub.add_parser("transcribe", help="audio files to text (offline or streaming speech export)")
    transcribe.add_argument("inputs", nargs="*", help="audio files or folders of them")
    transcribe.add_argument("--model", help=model_help.format("en-speech"))
    transcribe.add_argument("--head", help="ctc, rnnt, attention or cassnat (default: the model's)")
    transcribe.add_argument("--format", choices=[*FORMATS, "all"], help="also write each file as txt, srt, vtt, tsv "
                            "(segments with start and end) or json (with segments and word times), or all: files in "
                            "--output-dir, else printed (recog transcribe's files)")
    transcribe.add_argument("--output-dir", help="folder for the --format files, one per input and format, named "
                            "after the input (default format with it: all)")

    stream = sub.add_parser("stream", help="an audio file or the microphone streamed through a streaming export "
                            "(encoder.onnx)")
    stream.add_argument("file", nargs="?", help="audio file (any rate; fed in --chunk-ms pieces)")
    stream.add_argument("--mic", action="store_true", help="read the microphone instead (needs sounddevice)")
    stream.add_argument("--realtime", action="store_true", help="feed the file no faster than it plays")
    stream.add_argument("--model", help=model_help.format("en-speech"))
    stream.add_argument("--head", help="ctc or rnnt (default: the model's)")
    stream.add_argument("--chunk-ms", type=float, default=100.0, help="audio fed per call, in ms (default 100)")
    stream.add_argument("--no-endpoint", action="store_true", help="one utterance: no endpoint detection")

    ocr = sub.add_parser("ocr", help="text-line images and whole images (pages, screenshots, photos) to text")
    ocr.add_argument("inputs", nargs="*", help="images, PDFs or folders of them")
    ocr.add_argument("--model", help="the text-line model: " + model_help.format("latin-lines"))
    ocr.add_argument("--detector", help="the text detector for whole images: " + model_help.format("latin-det"))
    ocr.add_argument("--head", help="text-line head: ctc or parallel (default: the model's)")
    mode = ocr.add_mutually_exclusive_group()
    mode.add_argument("--lines", action="store_true", help="read every image as one text line (no detection)")
    mode.add_argument("--detect", action="store_true", help="detect text in every image, even line-shaped ones "
                      "(default: images at most 100 px tall, or 240 px and 5x as wide, are lines)")
    add_lm_options(ocr, "CTC prefix beam search", "latin-lines")
    ocr.add_argument("--beam", type=int, help=f"with --lm: the beam width (default {LM_BEAM})")
    ocr.add_argument("--format", choices=["txt", "json"], help="print pages as their text only (a PDF page's "
                     "ended by a form feed, as pdftotext ends it), or every result as a JSON line")
    ocr.add_argument("--pieces", type=piece_width, default=PIECE, help=PIECES_HELP)
    ocr.add_argument("--dpi", type=float, default=PDF_DPI, help=f"resolution PDF pages are rendered at (default "
                     f"{PDF_DPI:g}; needs pypdfium2: pip install 'recog-edge[pdf]')")

    for command in (transcribe, ocr):
        command.add_argument("--output", help="write JSON lines here (- for standard output) instead of printing "
                             "path<TAB>text")
    for command in (transcribe, stream):
        command.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1)")
        command.add_argument("--beam", type=int, help=f"beam search of this width: the transducer's modified beam "
                             f"search (rnnt head), CTC prefix beam search (ctc head; not streaming) (default 1: "
                             f"greedy; {LM_BEAM} with --lm)")
        add_lm_options(command, "that beam search", "en-speech")
        command.add_argument("--ilme-weight", type=float, help=ILME_WEIGHT_HELP)
    ocr.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the detector, and text lines "
                     "read side by side, one thread each (default 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command({"transcribe": cmd_transcribe, "stream": cmd_stream, "ocr": cmd_ocr}[args.command], args)


def run_command(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """A command's exit status; a missing model or file, or a refused setting, is one ``error:``
    line and status 2 (``recog``'s commands and ``recog-edge``'s alike)."""
    try:
        return command(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
