"""Crash-safe training: a run killed with SIGKILL resumes from the last.ckpt it writes between
validations (which still loads), in the middle of an epoch, and ends with the weights of a run
that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml

from recog.cli import main
from recog.data import BucketingBatchSampler, read_manifest

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS = 120


def config(root: Path, manifest: Path) -> dict:
    """A tiny deterministic run (no dropout, no augmentation, no validation): one utterance a batch,
    three batches an epoch; checkpoints only from ``--save_every_minutes`` and the run's end."""
    longest = max(e.duration for e in read_manifest(manifest))
    return {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu", "devices": 1, "max_steps": STEPS, "max_epochs": 1000, "check_val_every_n_epoch": 1000,
            "enable_progress_bar": False, "default_root_dir": str(root), "logger": False, "deterministic": True,
            "callbacks": [{"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                           "init_args": {"dirpath": str(root / "ckpt"), "save_last": True}}],
        },
        "model": {
            "lr": 3e-3, "warmup_steps": 5,
            "tokenizer": {"kind": "char", "manifest": str(manifest)},
            "model": {"encoder": {"name": "conformer", "d_model": 32, "n_layers": 1, "n_heads": 2,
                                  "subsampling_channels": 16, "dropout": 0.0, "dropout_att": 0.0, "conv_norm": "layer"},
                      "heads": {"ctc": {"weight": 1.0}}},
        },
        "data": {"train_manifest": str(manifest), "val_manifest": str(manifest),
                 "max_frames": int(105 * longest) + 1, "num_workers": 0},
    }


def step_of(checkpoint: Path) -> int:
    try:
        return int(torch.load(checkpoint, map_location="cpu", weights_only=True)["global_step"])
    except Exception:  # noqa: BLE001 - not there yet, or being replaced
        return -1


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]


def test_a_killed_run_resumes_and_ends_with_the_weights_of_an_uninterrupted_one(speech_dir: Path,
                                                                                  tmp_path: Path) -> None:
    manifest = speech_dir / "train.jsonl"
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for root in (whole, killed):
        root.mkdir()
        (root / "run.yaml").write_text(yaml.safe_dump(config(root, manifest)))
    assert main(["train", "--config", str(whole / "run.yaml")]) == 0

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-m", "recog.cli", "train", "--config", str(killed / "run.yaml"),
                              "--save_every_minutes", "1e-9"],  # every step
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = killed / "ckpt" / "last.ckpt"
    deadline = time.monotonic() + 300
    while step_of(last) < 10 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    interrupted_at = step_of(last)
    assert 0 < interrupted_at < STEPS, "the run was killed mid-way, and its last checkpoint loads"

    assert main(["train", "--config", str(killed / "run.yaml"), "--ckpt_path", str(last)]) == 0
    assert step_of(last) == STEPS == step_of(whole / "ckpt" / "last.ckpt")
    assert_same_weights(last, whole / "ckpt" / "last.ckpt")


def assert_same_weights(a: Path, b: Path) -> None:
    first, second = weights(a), weights(b)
    assert first.keys() == second.keys()
    for name in second:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=1e-6, msg=name)


@pytest.mark.parametrize(("limit", "stop", "stopped_at", "workers"), [
    (1.0, 7, (2, 1), 0), (1.0, 6, (1, 3), 0), (0.67, 7, (3, 1), 0), (0.67, 8, (3, 2), 0),
    (1.0, 7, (2, 1), 1), (0.67, 8, (3, 2), 1)])  # a DataLoader worker draws as Lightning sets up the data
def test_a_run_stopped_mid_epoch_resumes_with_the_batches_it_had_not_trained(speech_dir: Path, tmp_path: Path,
                                                                             limit: float, stop: int,
                                                                             stopped_at: tuple[int, int],
                                                                             workers: int) -> None:
    """Stopped after 7 steps (epoch 2, one batch of three done; with ``limit_train_batches`` 0.67,
    two batches an epoch: epoch 3, one done) or at an epoch's end (6; 8 of two an epoch), resumed to
    15: the weights of 15 steps never stopped. Replaying the epoch from its start would train other
    batches; at an epoch's end, Lightning restarted from ``max_steps``'s checkpoint draws one more
    batch of the finished epoch, which must not come (neither the third of a limited epoch)."""
    manifest = speech_dir / "train.jsonl"
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    for root in (whole, stopped):
        root.mkdir()
        run = config(root, manifest)
        run["trainer"]["limit_train_batches"] = limit
        run["data"]["num_workers"] = workers
        (root / "run.yaml").write_text(yaml.safe_dump(run))
    assert main(["train", "--config", str(whole / "run.yaml"), "--trainer.max_steps", "15"]) == 0
    assert main(["train", "--config", str(stopped / "run.yaml"), "--trainer.max_steps", str(stop)]) == 0
    last = stopped / "ckpt" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=True)
    epoch, done = stopped_at
    assert (state["global_step"], state["ManifestDataModule"]) == (stop, {"epoch": epoch, "batches_done": done,
                                                                          "world_size": 1})
    assert main(["train", "--config", str(stopped / "run.yaml"), "--trainer.max_steps", "15",
                 "--ckpt_path", str(last)]) == 0
    assert step_of(last) == 15
    assert_same_weights(last, whole / "ckpt" / "last.ckpt")


@pytest.mark.parametrize("workers", [0, 1])
def test_a_run_resumed_from_an_epoch_end_validation_checkpoint_goes_on_with_the_next_epoch(speech_dir: Path,
                                                                                         tmp_path: Path,
                                                                                         workers: int) -> None:
    """Validation after every epoch (two batches of three, ``limit_train_batches`` 0.67) keeps a
    checkpoint each time; resumed from the one after epoch 3 (step 8) to 15: the weights of the run
    never stopped. Lightning does not draw from the finished epoch there; the next must be epoch 4's."""
    run = config(tmp_path, speech_dir / "train.jsonl")
    run["data"]["num_workers"] = workers
    run["trainer"].update(limit_train_batches=0.67, check_val_every_n_epoch=1, callbacks=[
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
         "init_args": {"dirpath": str(tmp_path / "ckpt"), "save_top_k": -1, "save_last": True}}])
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(run))
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--trainer.max_steps", "15"]) == 0
    whole = tmp_path / "whole.ckpt"
    (tmp_path / "ckpt" / "last.ckpt").rename(whole)
    epoch_end = tmp_path / "ckpt" / "epoch=3-step=8.ckpt"
    state = torch.load(epoch_end, map_location="cpu", weights_only=True)["ManifestDataModule"]
    assert state == {"epoch": 3, "batches_done": 2, "world_size": 1}
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--trainer.max_steps", "15",
                 "--ckpt_path", str(epoch_end)]) == 0
    assert step_of(tmp_path / "ckpt" / "last.ckpt") == 15
    assert_same_weights(tmp_path / "ckpt" / "last.ckpt", whole)


class StopAtStep(L.Callback):
    """Ends fit after ``step`` optimizer steps the way ``trainer.max_time`` does (``should_stop``)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step >= self.step:
            trainer.should_stop = True


def test_a_run_stopped_by_time_resumes_with_the_next_whole_epoch(speech_dir: Path, tmp_path: Path) -> None:
    """Stopped by time after 7 steps (epoch 2, one batch of three done): Lightning has closed
    epoch 2, so the resumed run starts epoch 3 and trains all its three batches (validating at its
    end), not the two left of epoch 2 under epoch 3's name."""
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config(tmp_path, speech_dir / "train.jsonl")))
    stop = json.dumps([{"class_path": "tests.test_resume.StopAtStep", "init_args": {"step": 7}},
                       {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                        "init_args": {"dirpath": str(tmp_path / "ckpt"), "save_last": True}}])
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--trainer.max_steps", "-1",
                 "--trainer.callbacks", stop]) == 0
    last = tmp_path / "ckpt" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=True)
    assert (state["global_step"], state["ManifestDataModule"]) == (7, {"epoch": 3, "batches_done": 0, "world_size": 1})
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--trainer.max_steps", "-1",
                 "--trainer.max_epochs", "4", "--ckpt_path", str(last)]) == 0
    assert step_of(last) == 10  # epoch 3 whole: 7 + 3


def test_a_time_limited_run_resumed_goes_on_with_its_timer_and_cosine_schedule(speech_dir: Path,
                                                                             tmp_path: Path) -> None:
    """A run limited by ``trainer.max_time`` (2 h) and stopped after 4 steps, as a session ends, is
    resumed with the time it had trained (here an hour, written into its checkpoint): the timer
    goes on from there, and the cosine schedule, which follows the share of the time spent, is half
    way down (``recipes/*/continue.sh`` run over several sessions). A timer that started afresh would
    put the rate back near its peak."""
    run = config(tmp_path, speech_dir / "train.jsonl")
    run["trainer"].update(max_steps=-1, max_time="00:02:00:00")
    run["model"]["schedule"] = "cosine"
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(run))

    def callbacks(step: int) -> str:
        return json.dumps([{"class_path": "tests.test_resume.StopAtStep", "init_args": {"step": step}},
                           {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                            "init_args": {"dirpath": str(tmp_path / "ckpt"), "save_last": True}}])

    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--trainer.callbacks", callbacks(4)]) == 0
    last = tmp_path / "ckpt" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=True)
    timer_key = next(key for key in state["callbacks"] if key.startswith("Timer"))
    assert 0 < state["callbacks"][timer_key]["time_elapsed"]["train"] < 3600
    state["callbacks"][timer_key]["time_elapsed"]["train"] = 3600.0  # an hour trained before the stop
    torch.save(state, last)

    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--trainer.callbacks", callbacks(6),
                 "--ckpt_path", str(last)]) == 0
    state = torch.load(last, map_location="cpu", weights_only=True)
    assert state["global_step"] == 6
    assert state["callbacks"][timer_key]["time_elapsed"]["train"] > 3600
    peak = run["model"]["lr"]
    rate = state["optimizer_states"][0]["param_groups"][0]["lr"]
    assert 0.45 * peak < rate < 0.55 * peak  # cos(pi * ~0.5): half the peak


def test_the_sampler_resumes_inside_an_epoch() -> None:
    lengths = [float(n) for n in range(10, 50)]
    sampler = BucketingBatchSampler(lengths, max_frames=100, seed=3)
    sampler.set_epoch(4)
    epoch_four = list(sampler)
    sampler.resume_at(4, 3)
    assert len(sampler) == len(epoch_four) and list(sampler) == epoch_four[3:]
    assert sampler.epoch == 5 and len(list(sampler)) == len(epoch_four)  # the skip holds for one epoch only
    epoch_five = (sampler.set_epoch(5), list(sampler))[1]
    sampler.resume_at(4, 3, progress=lambda: (3, 5))  # the trainer goes on with epoch 4, takes 5 an epoch
    assert list(sampler) == epoch_four[3:5]
    sampler.resume_at(4, 5, progress=lambda: (5, 5))  # ... an epoch it had finished: nothing more of it
    assert list(sampler) == [] and list(sampler) == epoch_five
    sampler.resume_at(4, 5, progress=lambda: (0, 5))  # a fresh epoch after the finished one: the next
    assert list(sampler) == epoch_five
    sampler.resume_at(4, 3, saved_world_size=2)  # two ranks trained 3 batches each: 6 of the epoch's
    assert list(sampler) == epoch_four[6:]


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk (ENOSPC injected half way through the write) during a checkpoint save."""
    import errno

    from fsspec.implementations.local import LocalFileOpener
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    path = tmp_path / "last.ckpt"
    io = TorchCheckpointIO()
    io.save_checkpoint({"global_step": 1, "state_dict": {"w": torch.ones(1000)}}, path)
    before = path.read_bytes()
    real_write = LocalFileOpener.write

    def half_then_full(self, data):  # noqa: ANN001, ANN202
        real_write(self, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LocalFileOpener, "write", half_then_full)
    with pytest.raises(OSError, match="No space"):
        io.save_checkpoint({"global_step": 2, "state_dict": {"w": torch.zeros(1000)}}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and step_of(path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no half-written file left beside it


def test_under_ddp_the_periodic_save_asks_rank_0_once_every_sync_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake two-rank trainer: every step is due by the clock, yet rank 0 is asked (a collective
    call) only every ``SYNC_STEPS`` steps that could save, and each answer saves; one process asks
    no one and saves at the first due step."""
    from types import SimpleNamespace

    from recog import train

    saves = []
    monkeypatch.setattr(train, "save_last", lambda trainer: saves.append(trainer.global_step))

    def run(world_size: int, steps: int) -> list[int]:
        asked = []
        progress = SimpleNamespace(current=SimpleNamespace(processed=0))
        trainer = SimpleNamespace(global_step=0, world_size=world_size, num_training_batches=10_000,
                                  val_check_batch=10_000,
                                  fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace(batch_progress=progress)),
                                  strategy=SimpleNamespace(broadcast=lambda due, src: asked.append(due) or due))
        callback = train.PeriodicCheckpoint(minutes=1e-9)
        callback.on_train_start(trainer, None)
        for _ in range(steps):
            trainer.global_step += 1
            progress.current.processed += 1
            callback.on_train_batch_end(trainer, None, None, None, 0)
        return asked

    sync = train.PeriodicCheckpoint.SYNC_STEPS
    asked = run(2, 3 * sync + 1)
    assert asked == [True] * 3 and saves == [sync, 2 * sync, 3 * sync]
    saves.clear()
    assert run(1, 3) == [] and saves == [1, 2, 3]


@pytest.mark.parametrize(("saved", "now", "done", "counted"),
                         [(2, 1, 3, 6), (1, 2, 5, 2), (2, 2, 3, 3), (None, 2, 3, 3)])
def test_resumed_on_another_number_of_processes_lightnings_count_moves_with_the_skip(
        saved: int | None, now: int, done: int, counted: int) -> None:
    """Two processes trained 3 batches each: one process goes on after 6 of the epoch, and Lightning
    counts 6 done, so the epoch ends (and validates) where it should; a checkpoint from before the
    world size was recorded (None) is taken as written on the processes resuming it."""
    from types import SimpleNamespace

    from recog.train import ManifestDataModule

    module = ManifestDataModule("train.jsonl", "dev.jsonl")
    # as Lightning restores a checkpoint written in on_train_batch_end: completed trails by one
    current = SimpleNamespace(ready=done, started=done, processed=done, completed=done - 1)
    module.trainer = SimpleNamespace(world_size=now, fit_loop=SimpleNamespace(
        epoch_loop=SimpleNamespace(batch_progress=SimpleNamespace(current=current))))
    module._rescale_progress(done, saved)
    assert (current.ready, current.started, current.processed, current.completed) == (counted,) * 3 + (counted - 1,)
    sampler = BucketingBatchSampler([float(n) for n in range(10, 90)], max_frames=100, seed=3, world_size=now)
    whole = sampler.batches(4)
    sampler.resume_at(4, done, saved_world_size=saved)
    assert list(sampler) == whole[counted:]  # the sampler skips what Lightning now counts
