"""Copy the first N utterances of a speech corpus's splits to Opus, small enough to travel to the
device machine (64 MiB with everything else) for benchmarks/gpu/gpu_speech_ablation.py.

    python benchmarks/gpu/gpu_speech_data.py --src data/synth_speech --out .gpudata/synth_speech \
        --split train:6500 --split dev:300 --split test:500

At compression level 0.95 an utterance of the synthetic corpus takes ~7 KB (~20 kb/s) instead of
~90 KB of 16-bit WAV, and costs the recipe's CTC model 25.1 -> 26.8 % dev WER (0.98: 4.8 KB, 31.5 %).
Manifests keep every field; paths point at SPLIT/NAME.ogg beside the new manifest.
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import soundfile


def encode(row: dict, src: Path, out: Path, split: str, level: float) -> dict:
    samples, rate = soundfile.read(src / row["audio_filepath"], dtype="float32")
    name = f"{split}/{Path(row['audio_filepath']).stem}.ogg"
    soundfile.write(out / name, samples, rate, format="OGG", subtype="OPUS", compression_level=level)
    return {**row, "audio_filepath": name}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", required=True, help="folder with SPLIT.jsonl manifests")
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", action="append", required=True, help="SPLIT:N (first N utterances)")
    parser.add_argument("--level", type=float, default=0.95, help="Opus compression level, 0-1")
    args = parser.parse_args()
    src, out = Path(args.src), Path(args.out)
    for spec in args.split:
        split, _, n = spec.partition(":")
        with (src / f"{split}.jsonl").open() as f:
            rows = [json.loads(line) for line in f if line.strip()][: int(n)]
        (out / split).mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            done = list(pool.map(partial(encode, src=src, out=out, split=split, level=args.level), rows,
                                 chunksize=64))
        (out / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in done))
        size = sum((out / r["audio_filepath"]).stat().st_size for r in done)
        print(f"{split}: {len(done)} utterances, {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
