"""recog.train_args: the --config files of recog train's arguments, and flags deep inside a
dict-valued option folded into its whole value."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from recog.train import RecognizerSystem
from recog.train_args import config_files, dict_options, fold_dict_options


def test_config_files_in_order_in_both_spellings() -> None:
    args = ["--config", "a.yaml", "--trainer.max_steps", "3", "--config=b.yaml", "--config"]
    assert config_files(args) == ["a.yaml", "b.yaml"]


def test_the_dict_options_of_the_recogniser_system_are_its_model_and_tokenizer() -> None:
    assert dict_options(RecognizerSystem, "model") == {"model.model": None, "model.tokenizer": None}


def test_a_deep_flag_sets_its_key_in_place_and_configs_replace_the_keys_they_name(tmp_path: Path) -> None:
    """Command-line order: the base config, a deep flag (keeps the encoder's other keys), a stage
    config naming ``heads`` (replaces them, as jsonargparse does: the rnnt head is dropped), a deep
    flag into the new heads; the other arguments keep their places."""
    base, stage = tmp_path / "base.yaml", tmp_path / "stage.yaml"
    base.write_text(yaml.safe_dump({"model": {"model": {"encoder": {"name": "conformer", "n_layers": 6, "d_model": 144},
                                                        "heads": {"rnnt": {"weight": 0.5}, "ctc": {"weight": 0.5}}},
                                              "lr": 0.1}}))
    stage.write_text(yaml.safe_dump({"model": {"model": {"heads": {"ctc": {"weight": 1.0}}}}}))
    args = ["--config", str(base), "--model.model.encoder.n_layers", "8", "--config", str(stage),
            "--trainer.max_steps", "3", "--model.model.heads.ctc.weight=0.5", "--model.tokenizer.kind", "char"]
    folded = fold_dict_options(args, {"model.model": None, "model.tokenizer": None})
    assert folded[:-2] == ["--config", str(base), "--config", str(stage), "--trainer.max_steps", "3",
                           "--model.tokenizer.kind", "char"]
    assert folded[-2] == "--model.model"
    assert json.loads(folded[-1]) == {"encoder": {"name": "conformer", "n_layers": 8, "d_model": 144},
                                      "heads": {"ctc": {"weight": 0.5}}}


def test_args_without_a_deep_flag_pass_through_unchanged() -> None:
    args = ["--config", "missing.yaml", "--trainer.max_steps", "3", "--model.lr", "0.1",
            "--model.model.heads", '{"ctc": {}}', "--model.tokenizer.kind=char"]
    assert fold_dict_options(args, {"model.model": None, "model.tokenizer": None}) == args
