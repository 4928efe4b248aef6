"""Memory of one ``transcribe`` call over many short files: resident memory after the first and
after the last thousand results, which a reader that streams its inputs through the batcher keeps
flat (issue 24: within 10 %).

    python benchmarks/many_files.py --model en-speech --manifest data/en_speech/test.jsonl --files 10000

The files are the first ``--seconds`` of the manifest's utterances, cycled, written as 16-bit WAV
to a temporary folder, and given to one ``transcribe_each`` call as a list of paths.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    add_manifest,
    add_model,
    add_threads,
    load_model,
    parse_args,
    read_entries,
    resident_bytes,
    set_threads,
)
from recog.audio import SAMPLE_RATE, load_audio  # noqa: E402

EVERY = 1000  # results between memory readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model(parser)
    add_manifest(parser, help="speech manifest whose utterances are cut into the short files")
    add_threads(parser, default=1)
    parser.add_argument("--files", type=int, default=10_000, help="number of files in the one call")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each file")
    args = parse_args(parser)
    set_threads(args.threads)
    entries = read_entries(args.manifest)
    model = load_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for i, entry in enumerate(entries[: min(len(entries), args.files)]):
            clips.append(Path(tmp) / f"{i:05d}.wav")
            clip = load_audio(entry.path)[: int(args.seconds * SAMPLE_RATE)]
            sf.write(clips[-1], clip, SAMPLE_RATE, subtype="PCM_16")
        paths = [clips[i % len(clips)] for i in range(args.files)]
        readings, start, done = [], time.perf_counter(), 0
        for _, result in model.transcribe_each(paths):
            if isinstance(result, Exception):
                sys.exit(f"error: {result}")
            done += 1
            if done % EVERY == 0 or done == len(paths):
                readings.append((done, resident_bytes()))
        seconds = time.perf_counter() - start
    first, last = readings[0][1], readings[-1][1]
    print(f"model: {args.model}, threads {args.threads}; {args.files} files of {args.seconds} s in one call, "
          f"{seconds:.0f} s ({args.files / seconds:.0f} files/s)")
    print("resident memory after each thousand results (MB): "
          + " ".join(f"{mb / 1e6:.0f}" for _, mb in readings))
    print(f"last against first thousand: {last / first:.3f}x ({last / 1e6:.0f} against {first / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
