"""``python -m recog_edge MODEL_DIR FILE...``: print ``path<TAB>text`` for each 16 kHz file."""

from __future__ import annotations

import argparse
import sys

import soundfile

from recog_edge.runtime import EdgeModel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recog_edge", description=__doc__)
    parser.add_argument("model_dir")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--head", choices=["ctc", "rnnt"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    model = EdgeModel(args.model_dir, head=args.head, threads=args.threads)
    failed = 0
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
