"""``python -m recog_edge MODEL_DIR FILE...``: print ``path<TAB>text`` for each audio file (a
streaming speech export) or image (a text-line export)."""

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
    parser.add_argument("--head", help="ctc or rnnt (speech), ctc or parallel (text lines); default: the model's")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    failed = 0
    if (Path(args.model_dir) / "lines.onnx").is_file():
        lines = EdgeLineModel(args.model_dir, head=args.head, threads=args.threads)
        for path in args.files:
            try:
                print(f"{path}\t{lines.read([path])[0].text}", flush=True)
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
