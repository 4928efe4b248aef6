"""Training on several processes through Lightning's DDP (gloo on the CPU): the bucketing sampler
gives the ranks disjoint batches, validation covers every item once and its WER is reduced over
the ranks."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from recog.data import BucketingBatchSampler

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("shuffle", [True, False])
def test_ranks_get_disjoint_batches_training_in_step_and_validation_everything(shuffle: bool) -> None:
    lengths = [float(n) for n in range(100, 2100, 40)]  # 50 items of different lengths
    ranks = [BucketingBatchSampler(lengths, max_frames=3000, shuffle=shuffle, seed=1, rank=r, world_size=3)
             for r in range(3)]
    single = BucketingBatchSampler(lengths, max_frames=3000, shuffle=shuffle, seed=1)
    per_rank = [[tuple(b) for b in s.batches()] for s in ranks]
    everything = [tuple(b) for b in single.batches()]
    flat = [b for batches in per_rank for b in batches]
    assert len(flat) == len(set(flat)) and set(flat) <= set(everything)  # disjoint, and the single run's batches
    if shuffle:
        assert len({len(b) for b in per_rank}) == 1 and len(everything) - len(flat) < 3  # in step; < 3 left out
    else:
        assert sorted(flat) == sorted(everything)  # validation: every batch, once


def test_two_processes_train_and_reduce_validation_over_both(speech_dir: Path, tmp_path: Path) -> None:
    from tests.helpers import tiny_recognizer  # noqa: F401 - the suite's helpers import cleanly in the children too

    manifest = speech_dir / "train.jsonl"
    config = {
        "seed_everything": 0,
        "trainer": {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "max_steps": 6, "max_epochs": 1000,
                    "check_val_every_n_epoch": 1000, "enable_progress_bar": False, "default_root_dir": str(tmp_path),
                    "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger",
                               "init_args": {"save_dir": str(tmp_path)}},
                    "callbacks": [{"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                                   "init_args": {"dirpath": str(tmp_path / "ckpt"), "save_last": True}}]},
        "model": {"lr": 3e-3, "warmup_steps": 2, "tokenizer": {"kind": "char", "manifest": str(manifest)},
                  "model": {"encoder": {"name": "conformer", "d_model": 32, "n_layers": 1, "n_heads": 2,
                                        "subsampling_channels": 16, "conv_norm": "layer"},
                            "heads": {"ctc": {"weight": 1.0}}}},
        "data": {"train_manifest": str(manifest), "val_manifest": str(manifest), "max_frames": 400,
                 "max_batch_size": 1, "num_workers": 0},
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "recog.cli", "train", "--config", str(tmp_path / "run.yaml")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in done.stderr + done.stdout
    rows = [r for f in tmp_path.glob("lightning_logs/*/metrics.csv") for r in csv.DictReader(f.open())]
    logged = [float(r["val/wer"]) for r in rows if r.get("val/wer")]
    assert logged  # the final validation of the run
    assert [float(r["val/items"]) for r in rows if r.get("val/items")][-1] == 3  # both ranks' items, reduced

    import recog
    from recog.metrics import word_error_rate

    model = recog.load(tmp_path / "ckpt" / "last.ckpt")
    entries = [e for e in __import__("recog.data", fromlist=["read_manifest"]).read_manifest(manifest)]
    hyps = [r.text for r in model.transcribe([e.path for e in entries])]
    assert logged[-1] == pytest.approx(word_error_rate([e.text for e in entries], hyps), abs=1e-6)  # all items


def test_two_processes_take_the_steps_one_process_takes_on_the_same_pairs(speech_dir: Path, tmp_path: Path) -> None:
    """Each rank one utterance a step (DDP averages the two gradients) against one process with both
    in its batch (its loss is the mean over the batch): the same updates up to padding and float
    sums. Stated tolerance: after 5 steps the two runs' updates (weights minus the initial ones,
    from a run with learning rate 0) differ by at most 10 % of their size (L2 over all weights);
    ranks that did not average their gradients would differ by about as much as the updates."""
    import json

    import torch

    rows = [json.loads(line) for line in (speech_dir / "train.jsonl").read_text().splitlines()][:2]
    manifest = tmp_path / "pair.jsonl"
    manifest.write_text("".join(json.dumps({**r, "audio_filepath": str(speech_dir / r["audio_filepath"])}) + "\n"
                                for r in rows))
    runs = {}
    for name, devices, batch, lr in (("two", 2, 1, 1e-3), ("one", 1, 2, 1e-3), ("still", 1, 2, 0.0)):
        root = tmp_path / name
        config = {
            "seed_everything": 0,
            "trainer": {"accelerator": "cpu", "devices": devices, "strategy": "ddp" if devices > 1 else "auto",
                        "max_steps": 5, "max_epochs": 1000, "limit_val_batches": 0, "enable_progress_bar": False,
                        "logger": False, "default_root_dir": str(root),
                        "callbacks": [{"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                                       "init_args": {"dirpath": str(root / "ckpt"), "save_last": True}}]},
            "model": {"lr": lr, "warmup_steps": 1, "tokenizer": {"kind": "char", "manifest": str(manifest)},
                      "model": {"encoder": {"name": "conformer", "d_model": 32, "n_layers": 1, "n_heads": 2,
                                            "subsampling_channels": 16, "dropout": 0.0, "dropout_att": 0.0,
                                            "conv_norm": "layer"},
                                "heads": {"ctc": {"weight": 1.0}}}},
            "data": {"train_manifest": str(manifest), "val_manifest": str(manifest), "max_frames": 100_000,
                     "max_batch_size": batch, "num_workers": 0},
        }
        root.mkdir()
        (root / "run.yaml").write_text(yaml.safe_dump(config))
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, "-m", "recog.cli", "train", "--config", str(root / "run.yaml")],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        runs[name] = torch.load(root / "ckpt" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    keys = [k for k in runs["one"] if runs["one"][k].is_floating_point()]

    def norm(a: str, b: str) -> float:
        return float(torch.sqrt(sum(((runs[a][k] - runs[b][k]).double() ** 2).sum() for k in keys)))

    assert norm("one", "still") > 0  # the steps moved the weights
    print(f"DDP against one process: updates differ by {norm('two', 'one') / norm('one', 'still'):.4f} of their size")
    assert norm("two", "one") <= 0.1 * norm("one", "still"), (norm("two", "one"), norm("one", "still"))
