"""Padding of the bucketing sampler vs random batches of the same sizes, over one epoch.

    python benchmarks/bucketing.py --manifest data/synth_speech/train.jsonl --max-frames 12000

Prints the share of padded frames (padded frames / all frames in the padded batches).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_manifest, parse_args, read_entries  # noqa: E402
from recog.data import BucketingBatchSampler  # noqa: E402


def epoch_padding(batches: list[list[int]], lengths: list[float]) -> float:
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1.0 - sum(lengths[i] for b in batches for i in b) / padded


def main() -> None:
    parser = argparse.ArgumentParser()
    add_manifest(parser)
    parser.add_argument("--max-frames", type=float, default=12_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parse_args(parser)
    lengths = [e.duration * 100 for e in read_entries(args.manifest, check_files=False)]
    sampler = BucketingBatchSampler(lengths, max_frames=args.max_frames, shuffle=True)
    rng = random.Random(0)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        batches = sampler.batches()
        order = list(range(len(lengths)))
        rng.shuffle(order)
        random_batches, start = [], 0
        for b in batches:  # same batch sizes, random members
            random_batches.append(order[start:start + len(b)])
            start += len(b)
        sizes = [len(b) for b in batches]
        print(f"epoch {epoch}: {len(batches)} batches, mean size {sum(sizes) / len(sizes):.1f}, "
              f"padding bucketing {100 * epoch_padding(batches, lengths):.2f} % "
              f"vs random {100 * epoch_padding(random_batches, lengths):.2f} %")


if __name__ == "__main__":
    main()
