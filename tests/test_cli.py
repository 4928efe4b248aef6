"""CLI conventions users of Whisper and NeMo expect: --version, a subcommand's own usage on a bad
flag, recog train --help listing every config key, --threads, help text on every flag."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from recog import __version__
from recog.cli import build_parser, main


def test_version(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"recog {__version__}"


@pytest.mark.parametrize("command", ["transcribe", "ocr", "eval", "stream", "export", "lm", "models"])
def test_an_unknown_flag_prints_the_subcommands_usage(command: str, capsys: pytest.CaptureFixture) -> None:
    args = {"eval": ["--manifest", "m.jsonl"], "export": ["--model", "m", "--out", "o"],
            "lm": ["--manifest", "m.jsonl", "--out", "o"]}.get(command, [])
    with pytest.raises(SystemExit) as done:
        main([command, *args, "--no-such-flag"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and f"usage: recog {command}" in err and "--no-such-flag" in err


def test_recog_train_help_lists_every_config_key_without_warnings(capsys: pytest.CaptureFixture) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LightningCLI's warning about args would fail here
        with pytest.raises(SystemExit) as done:
            main(["train", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and out.startswith("usage: recog train")
    for key in ("--trainer.max_time", "--model.init_from", "--data.max_frames", "--run_dir", "--ckpt_path",
                "--save_every_minutes", "--print_config"):
        assert key in out


@pytest.mark.parametrize(("flag", "value", "named"), [
    ("--data.train_manifest", "missing/train.jsonl", "missing/train.jsonl: no such manifest"),
    ("--model.init_from", "no-such-model", "no-such-model: no such model file or folder"),
])
def test_recog_train_names_a_missing_input_in_one_line(flag: str, value: str, named: str, speech_dir: Path,
                                                       tmp_path: Path) -> None:
    manifest = str(speech_dir / "train.jsonl")
    done = subprocess.run([sys.executable, "-m", "recog.cli", "train", "--config", "configs/synth_speech_ctc.yaml",
                           "--model.tokenizer.manifest", manifest, "--data.train_manifest", manifest,
                           "--data.val_manifest", manifest, "--run_dir", str(tmp_path / "run"), flag, value],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2
    assert f"error: {named}" in done.stderr and "Traceback" not in done.stderr


def test_every_flag_has_help_text() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"recog {name} {action.option_strings[0]} has no help text"


def test_threads_sets_pytorch_threads(tmp_path, capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert main(["transcribe", str(tmp_path), "--threads", "1"]) == 2  # an empty folder: no inputs
        assert torch.get_num_threads() == 1
        assert "no input files" in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)
