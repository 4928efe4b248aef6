"""RecognizerSystem's learning-rate schedules: warm-up, inverse-sqrt, and cosine decay to zero over
the run's budget (steps or wall-clock time, whichever ends the run first)."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from lightning.pytorch.callbacks import Timer

from recog.train import RecognizerSystem, budget_used

ENCODER = {"name": "conformer", "d_model": 32, "n_layers": 1, "n_heads": 2, "subsampling_channels": 8}


def system(tmp_path: Path, schedule: str, warmup: int = 10) -> RecognizerSystem:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio_filepath": "a.wav", "duration": 1.0, "text": "abc"}) + "\n")
    return RecognizerSystem({"encoder": ENCODER, "heads": {"ctc": {"weight": 1.0}}},
                            {"kind": "char", "manifest": str(manifest)}, lr=1e-3, warmup_steps=warmup,
                            schedule=schedule)


def fake_trainer(total_steps: float, step: int, elapsed_s: float | None = None,
                 max_time_s: float | None = None) -> SimpleNamespace:
    callbacks = []
    if max_time_s is not None:
        timer = Timer(duration=timedelta(seconds=max_time_s))
        timer.load_state_dict({"time_elapsed": {"train": elapsed_s}})  # as when resuming a run
        callbacks.append(timer)
    return SimpleNamespace(estimated_stepping_batches=total_steps, global_step=step, callbacks=callbacks)


def lr_factor(model: RecognizerSystem, step: int) -> float:
    scheduler = model.configure_optimizers()["lr_scheduler"]["scheduler"]
    return scheduler.lr_lambdas[0](step)


def test_budget_is_the_larger_of_steps_and_time_used() -> None:
    assert budget_used(None) == 0.0  # not attached to a trainer yet
    assert budget_used(fake_trainer(total_steps=1000, step=250)) == pytest.approx(0.25)
    trainer = fake_trainer(total_steps=1000, step=250, elapsed_s=75.0, max_time_s=100.0)
    assert budget_used(trainer) == pytest.approx(0.75, abs=1e-3)
    trainer = fake_trainer(total_steps=math.inf, step=250, elapsed_s=30.0, max_time_s=100.0)
    assert budget_used(trainer) == pytest.approx(0.30, abs=1e-3)
    assert budget_used(fake_trainer(total_steps=100, step=150)) == 1.0


def test_cosine_warms_up_then_decays_to_zero_with_the_budget(tmp_path: Path) -> None:
    model = system(tmp_path, "cosine", warmup=10)
    model._trainer = fake_trainer(total_steps=1000, step=0)
    assert lr_factor(model, 4) == pytest.approx(0.5)  # warm-up: (step + 1) / warmup
    for used, expected in [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]:
        model._trainer = fake_trainer(total_steps=1000, step=0, elapsed_s=100.0 * used, max_time_s=100.0)
        assert lr_factor(model, 500) == pytest.approx(expected, abs=1e-3)


def test_inverse_sqrt_ignores_the_budget(tmp_path: Path) -> None:
    model = system(tmp_path, "inverse_sqrt", warmup=10)
    model._trainer = fake_trainer(total_steps=100, step=99)
    assert lr_factor(model, 39) == pytest.approx(0.5)  # sqrt(10 / 40)


def test_an_unknown_schedule_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="schedule"):
        system(tmp_path, "linear")


def test_training_precision_is_bf16_only_where_it_is_native(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from recog import train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    flags = {"text": ""}
    monkeypatch.setattr(train.Path, "read_text", lambda self, *a, **k: flags["text"])
    flags["text"] = "flags\t: fpu sse avx2 avx512f avx512bw"
    assert train.training_precision() == "32"
    flags["text"] = "flags\t: fpu sse avx2 avx512f avx512_bf16 amx_tile amx_bf16"
    assert train.training_precision() == "bf16-mixed"
