"""A training step in float32 against bfloat16 autocast (``trainer.precision: bf16-mixed``), side by
side on this machine: the same model, the same batches, the steps interleaved.

    python benchmarks/train_precision.py --model en-speech --manifest data/en_speech/dev.jsonl
    python benchmarks/train_precision.py --model latin-lines --manifest data/synth_ocr_v2/dev.jsonl \
        --max-frames 300000

Batches are cut from the manifest as training cuts them (``BucketingBatchSampler`` under
``--max-frames``, without shuffling); each step is forward, backward and an optimizer step at
learning rate 0 (the weights stay as loaded, so every step sees the same model). Prints the median
step time of each precision and their ratio, then each head's loss on the first batches in both
(eval mode): bfloat16 is only worth its speed where the losses agree. Whether a CPU has native
bfloat16 (AVX512-BF16 or AMX) decides the ratio: ``recog.train.training_precision()`` says which
precision recog's recipes pick here. Run it on a quiet machine: a second job spoils the times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_manifest, add_model, add_threads, load_model, parse_args, read_entries  # noqa: E402
from recog.data import IMAGE_KEY, AudioDataset, BucketingBatchSampler, ImageDataset, collate  # noqa: E402
from recog.image import ImageConfig  # noqa: E402
from recog.train import training_precision  # noqa: E402


def batches(model: torch.nn.Module, manifest: str, max_frames: int, count: int) -> list[dict]:
    """The first ``count`` batches of ``manifest`` as training would cut them (no shuffling)."""
    entries = read_entries(manifest)
    dataset = (ImageDataset(entries, model.tokenizer, ImageConfig(**model.config["features"]))
               if entries[0].key == IMAGE_KEY else AudioDataset(entries, model.tokenizer))
    lengths, groups = dataset.batch_lengths()
    sampler = BucketingBatchSampler(lengths, max_frames=max_frames, shuffle=False, groups=groups)
    return [collate([dataset[i] for i in batch]) for batch in sampler.batches(0)[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model(parser, help="a shipped model's name, a model folder or a checkpoint")
    add_manifest(parser, help="a manifest to cut training batches from")
    parser.add_argument("--max-frames", type=int, default=20_000,
                        help="the batch budget (data.max_frames: 10 ms frames, or pixels for lines)")
    parser.add_argument("--batches", type=int, default=8, help="batches, each stepped once a round")
    parser.add_argument("--rounds", type=int, default=2)
    add_threads(parser, default=1)
    args = parse_args(parser)
    model = load_model(args.model).model
    data = batches(model, args.manifest, args.max_frames, args.batches)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0)

    def step(batch: dict, bf16: bool) -> float:
        model.train()
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(batch["inputs"], batch["input_lengths"], batch["targets"], batch["target_lengths"])["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return time.perf_counter() - start

    for batch in data[:2]:  # warm-up: allocator, oneDNN kernels
        step(batch, False), step(batch, True)
    seconds: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        for batch in data:
            for bf16 in (False, True):
                seconds[bf16].append(step(batch, bf16))
    fp32, bf16 = statistics.median(seconds[False]), statistics.median(seconds[True])
    print(f"{args.model} on {args.manifest}: {len(data)} batches (max_frames {args.max_frames}) x {args.rounds} "
          f"rounds, {args.threads} thread(s), torch {torch.__version__}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}; recog picks {training_precision()} here")
    print(f"median training step: float32 {fp32:.3f} s, bf16-mixed {bf16:.3f} s: bf16 takes {bf16 / fp32:.2f}x")
    model.eval()
    with torch.no_grad():
        for i, batch in enumerate(data[:3]):
            losses = {}
            for on in (False, True):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=on):
                    out = model(batch["inputs"], batch["input_lengths"], batch["targets"], batch["target_lengths"])
                losses[on] = {k: float(v) for k, v in out.items()}
            print(f"batch {i} losses, float32 / bf16: " + ", ".join(
                f"{k} {losses[False][k]:.3f} / {losses[True][k]:.3f}" for k in losses[False]))


if __name__ == "__main__":
    main()
