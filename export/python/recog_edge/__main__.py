"""``python -m recog_edge MODEL_DIR FILE...``: print ``path<TAB>text`` for each audio file (a
speech export, offline or streaming) or image (a text-line export); with a detector export and
``--lines LINES_DIR``, each image's page text under a ``==> path <==`` header."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import soundfile

from recog_edge.lines import EdgeLineModel
from recog_edge.runtime import EdgeModel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recog_edge", description=__doc__)
    parser.add_argument("model_dir")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--head", help="speech: ctc, rnnt, attention or cassnat (offline exports), ctc or "
                        "rnnt (streaming); text lines: ctc or parallel; default: the model's")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lines", help="a text-line export to read a detector export's lines with")
    args = parser.parse_args(argv)
    failed = 0
    folder = Path(args.model_dir)
    if (folder / "det.onnx").is_file() or (folder / "lines.onnx").is_file():
        if (folder / "det.onnx").is_file():
            from recog_edge.pages import EdgePageReader

            if not args.lines:
                parser.error("a detector export reads its lines with a text-line export: give --lines LINES_DIR")
            reader = EdgePageReader(folder, args.lines, threads=args.threads)
            show = lambda path: f"==> {path} <==\n{reader.read(path).text}\n"  # noqa: E731
        else:
            lines = EdgeLineModel(folder, head=args.head, threads=args.threads)
            show = lambda path: f"{path}\t{lines.read([path])[0].text}"  # noqa: E731
        for path in args.files:
            try:
                print(show(path), flush=True)
            except ValueError as err:
                print(f"error: {err}", file=sys.stderr)
                failed += 1
        return 1 if failed else 0
    model = EdgeModel(args.model_dir, head=args.head, threads=args.threads)
    for path in args.files:
        try:
            samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
            print(f"{path}\t{model.transcribe(samples.mean(axis=1), rate)}", flush=True)
        except (OSError, RuntimeError, ValueError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
