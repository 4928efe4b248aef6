"""Training throughput of Lightning's DDP on the CPU: 2 processes (gloo, one thread each) against
1 process with one thread and with two, on the same model, corpus and per-process batch budget.

    python benchmarks/ddp_step_time.py --config configs/en_speech.yaml \
        --manifest data/synth_speech/train.jsonl --steps 30

Each run is ``recog train`` in a child process with the config's model and data, a fresh
trainer (no logger, checkpoint or validation) and ``StepTimes`` below as its only callback. Each
rank has its own batch of ``data.max_frames``, so two ranks take twice the audio a step. The
first ``--skip`` steps (start-up, allocator warm-up) are left out. Prints per run the median step
time and the audio seconds trained per second (summed over the ranks), and the ratios of the
DDP run to one process. Needs both cores free: a second job on the machine spoils every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the repo root, for benchmarks.common
from benchmarks.common import add_manifest, parse_args  # noqa: E402
from recog.audio import SAMPLE_RATE  # noqa: E402


class StepTimes(pl.Callback):
    """Writes, on rank 0, each training step's wall time and the audio seconds of the step's
    batches summed over all ranks to the JSON file ``out``."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.steps: list[dict[str, float]] = []
        self.start = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        samples = batch["input_lengths"].sum().double()
        samples = trainer.strategy.reduce(samples, reduce_op="sum")  # every rank's batch
        self.steps.append({"seconds": time.perf_counter() - self.start,
                           "audio": float(samples) / SAMPLE_RATE})

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            Path(self.out).write_text(json.dumps(self.steps))


def run_config(config: dict[str, Any], manifest: str, devices: int, steps: int, root: Path,
               out: Path) -> dict[str, Any]:
    """``config`` with its trainer replaced by a timed one on ``devices`` CPU processes."""
    run = {key: value for key, value in config.items() if key not in ("trainer", "run_dir")}
    run["trainer"] = {
        "accelerator": "cpu", "devices": devices, "strategy": "ddp" if devices > 1 else "auto",
        "precision": "32-true", "max_steps": steps, "max_epochs": 1000, "limit_val_batches": 0,
        "num_sanity_val_steps": 0, "enable_progress_bar": False, "logger": False,
        "enable_checkpointing": False, "default_root_dir": str(root),
        "callbacks": [{"class_path": "benchmarks.ddp_step_time.StepTimes", "init_args": {"out": str(out)}}],
    }
    run["run_dir"] = str(root)
    manifest = str(Path(manifest).resolve())  # the child runs in the checkout it times
    run["model"]["tokenizer"] = {**run["model"].get("tokenizer", {}), "manifest": manifest}
    run["data"] = {**run["data"], "train_manifest": manifest, "val_manifest": manifest, "num_workers": 0}
    return run


def timed_run(config: dict[str, Any], manifest: str, devices: int, threads: int, steps: int,
              checkout: Path = REPO) -> list[dict[str, float]]:
    """Each step's time and audio seconds of a ``recog train`` child process running ``config`` on
    ``devices`` processes of ``threads`` threads, with recog (and this module) from ``checkout``."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = root / "steps.json"
        (root / "run.yaml").write_text(yaml.safe_dump(run_config(config, manifest, devices, steps, root, out)))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads),
               "PYTHONPATH": os.pathsep.join([str(checkout), str(checkout / "export" / "python"),
                                              os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, "-m", "recog.cli", "train", "--config", str(root / "run.yaml")],
                              env=env, capture_output=True, text=True, cwd=checkout)
        if done.returncode != 0:
            sys.exit(f"error: the run on {devices} process(es) failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="a training config (its model and data sections)")
    add_manifest(parser, help="the training manifest to time")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run")
    parser.add_argument("--skip", type=int, default=5, help="first steps left out of the figures")
    args = parse_args(parser)
    config = yaml.safe_load(Path(args.config).read_text())
    print(f"{args.config}, {args.manifest}, data.max_frames {config['data'].get('max_frames')} per process, "
          f"{args.steps} steps ({args.skip} skipped), torch {torch.__version__}, {os.cpu_count()} cores")
    results = {}
    for name, devices, threads in (("1 process, 1 thread", 1, 1), ("1 process, 2 threads", 1, 2),
                                   ("2 processes (DDP), 1 thread each", 2, 1)):
        steps = timed_run(config, args.manifest, devices, threads, args.steps)[args.skip:]
        step = statistics.median(s["seconds"] for s in steps)
        rate = sum(s["audio"] for s in steps) / sum(s["seconds"] for s in steps)
        results[name] = (step, rate)
        print(f"{name:34s} median step {step:6.3f} s   {rate:7.1f} s of audio trained per s")
    base_step, base_rate = results["1 process, 1 thread"]
    for name, (step, rate) in results.items():
        print(f"{name:34s} step time {step / base_step:5.2f}x   throughput {rate / base_rate:5.2f}x  "
              f"(against 1 process, 1 thread)")


if __name__ == "__main__":
    main()
