"""The model format (recog.checkpoint) and shipped models (recog.models): round trips, refusals of
bad files, lookup by name, and commands without --model."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import recog
from recog import models
from recog.checkpoint import (
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    ModelFormatError,
    load_recognizer,
    save_checkpoint,
    save_model,
)
from recog.cli import main
from tests.helpers import tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def model() -> recog.model.Recognizer:
    return tiny_recognizer([8, 3])


def outputs(model: recog.model.Recognizer) -> torch.Tensor:
    x = torch.randn(2, 16000, generator=torch.Generator().manual_seed(0)) * 0.1
    with torch.no_grad():
        return model.encode(x, torch.tensor([16000, 9000]))[0]


def test_a_model_folder_reads_back_the_same_model_in_float32_and_float16(model, tmp_path: Path) -> None:
    expected = outputs(model)
    full, _ = load_recognizer(save_model(model, tmp_path / "fp32"))
    torch.testing.assert_close(outputs(full), expected, rtol=0, atol=0)
    half_folder = save_model(model, tmp_path / "fp16", half=True, info={"name": "x"})
    half, info = load_recognizer(half_folder)
    assert info["name"] == "x" and all(p.dtype == torch.float32 for p in half.parameters())
    assert (half_folder / WEIGHTS_FILE).stat().st_size < 0.6 * (tmp_path / "fp32" / WEIGHTS_FILE).stat().st_size
    torch.testing.assert_close(outputs(half), expected, rtol=0, atol=0.05)
    checkpoint, _ = load_recognizer(save_checkpoint(model, tmp_path / "m.ckpt"))
    torch.testing.assert_close(outputs(checkpoint), expected, rtol=0, atol=0)


def test_bad_model_files_get_one_clear_error_naming_them(model, tmp_path: Path) -> None:
    folder = save_model(model, tmp_path / "m")
    weights = (folder / WEIGHTS_FILE).read_bytes()
    (folder / WEIGHTS_FILE).write_bytes(weights[: len(weights) // 2])  # truncated
    with pytest.raises(ModelFormatError, match=str(folder / WEIGHTS_FILE)):
        load_recognizer(folder)
    (folder / WEIGHTS_FILE).write_bytes(pickle.dumps({"a": np.zeros(3)}))  # a pickle where weights belong
    with pytest.raises(ModelFormatError, match="safetensors"):
        load_recognizer(folder)
    save_model(model, folder)
    config = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "format": FORMAT_VERSION + 1}))
    with pytest.raises(ModelFormatError, match="newer"):
        load_recognizer(folder)
    (folder / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelFormatError, match=CONFIG_FILE):
        load_recognizer(folder)


class Payload:
    """Unpickling this would run code: a checkpoint must never be unpickled."""

    def __reduce__(self) -> tuple:
        return (print, ("unpickled!",))


def test_a_pickled_checkpoint_is_refused_not_unpickled(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"recog": {}, "state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(ModelFormatError, match="evil.ckpt"):
        load_recognizer(path)
    assert "unpickled!" not in capsys.readouterr().out
    assert main(["transcribe", str(tmp_path / "x.wav"), "--model", str(path)]) == 2
    assert "evil.ckpt" in capsys.readouterr().err


@pytest.fixture
def shipped(model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package model root holding one speech model, the speech default, with a card."""
    monkeypatch.setattr(models, "ROOT", tmp_path / "models")
    folder = save_model(model, tmp_path / "models" / "en-speech", half=True,
                        info={"name": "en-speech", "task": "speech", "att_context": [8, 3]})
    (folder / "MODEL_CARD.md").write_text("# en-speech\n\nA tiny test model.\nOne line.\n\n## Data\n\nnone\n")
    return folder


def test_shipped_models_are_listed_found_by_name_and_used_without_model(shipped: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    assert capsys.readouterr().out.split("\t")[:2] == ["en-speech", "speech (default)"]
    by_name = recog.load("en-speech")
    assert by_name.model.encoder.att_context == (8, 3)
    wav = tmp_path / "a.wav"
    import soundfile

    soundfile.write(wav, np.zeros(8000, dtype=np.float32), 16000)
    assert main(["transcribe", str(wav)]) == 0  # no --model: the task's default
    assert capsys.readouterr().out.startswith(f"{wav}\t")
    assert main(["transcribe", str(wav), "--model", "en-speech"]) == 0
    assert main(["transcribe", str(wav), "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "no-such-model" in err and "en-speech" in err  # names what ships
    assert main(["ocr", str(wav)]) == 2  # no text-line model ships here
    assert "no default text-line model" in capsys.readouterr().err


def test_nothing_in_recog_unpickles_with_torch_load() -> None:
    """Every torch.load in the library passes weights_only=True (read from the source)."""
    import ast

    root = Path(__file__).resolve().parents[1]
    calls = []
    for path in [*(root / "recog").rglob("*.py"), *(root / "export" / "python" / "recog_edge").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("torch.load", "load") and any(
                    k.arg == "map_location" or k.arg == "weights_only" for k in node.keywords):
                safe = any(k.arg == "weights_only" and ast.unparse(k.value) == "True" for k in node.keywords)
                calls.append((f"{path.relative_to(root)}:{node.lineno}", safe))
    assert calls and all(safe for _, safe in calls), calls


def test_average_model_writes_the_weighted_mean_of_two_models_and_refuses_other_configs(
        model, tmp_path: Path) -> None:
    """tools/average_model.py: each float weight and buffer of the result is the shares' mean of the
    sources' (a folder and a checkpoint mixed), the first source's default attention context carries
    over, and models of another configuration are refused."""
    import sys

    from tools import average_model

    other = tiny_recognizer([8, 3])
    with torch.no_grad():
        for p in other.parameters():
            p.add_(torch.randn_like(p))
    save_checkpoint(model, tmp_path / "a.ckpt")
    save_model(other, tmp_path / "b", info={"att_context": [8, 0]})
    out = tmp_path / "avg"
    argv = ["average_model.py", str(tmp_path / "b"), str(tmp_path / "a.ckpt"), "--weights", "1,3", "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        average_model.main()
    averaged, info = load_recognizer(out)
    assert info["shares"] == [1.0, 3.0] and info["att_context"] == [8, 0]
    a, b = model.state_dict(), other.state_dict()
    for name, value in averaged.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, 0.75 * a[name] + 0.25 * b[name])
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the test means something: the sources differ

    save_model(tiny_recognizer([8, 0]), tmp_path / "c")  # the same weights, another attention context
    with pytest.raises(SystemExit, match="another configuration"):
        average_model.average([tmp_path / "a.ckpt", tmp_path / "c"])
    with pytest.raises(SystemExit, match="one share per model"):
        average_model.average([tmp_path / "a.ckpt", tmp_path / "b"], [1.0])
    (tmp_path / "pickle.ckpt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit, match="pickle.ckpt"):
        patch.setattr(sys, "argv", ["average_model.py", str(tmp_path / "a.ckpt"), str(tmp_path / "pickle.ckpt"),
                                    "--out", str(tmp_path / "bad")])
        average_model.main()
