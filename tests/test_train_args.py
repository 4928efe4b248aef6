"""recog.train_args: the --config files of recog train's arguments, and dict-valued options merged
key by key across configs and flags."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from recog.train import RecognizerSystem
from recog.train_args import config_files, deep_merge, dict_options, fold_dict_options


def test_config_files_in_order_in_both_spellings() -> None:
    args = ["--config", "a.yaml", "--trainer.max_steps", "3", "--config=b.yaml", "--config"]
    assert config_files(args) == ["a.yaml", "b.yaml"]


def test_deep_merge_merges_dicts_at_every_depth_and_replaces_the_rest() -> None:
    base = {"encoder": {"name": "conformer", "n_layers": 6, "ctx": [[-1, -1]]}, "heads": {"ctc": {}}}
    update = {"encoder": {"n_layers": 8, "ctx": [[56, 13]]}, "vtlp": [0.9, 1.1]}
    assert deep_merge(base, update) == {"encoder": {"name": "conformer", "n_layers": 8, "ctx": [[56, 13]]},
                                        "heads": {"ctc": {}}, "vtlp": [0.9, 1.1]}
    assert base["encoder"]["n_layers"] == 6  # the inputs stay as they were


def test_the_dict_options_of_the_recogniser_system_are_its_model_and_tokenizer() -> None:
    assert dict_options(RecognizerSystem, "model") == {"model.model": None, "model.tokenizer": None}


def test_configs_and_flags_fold_into_one_last_flag_per_dict_option(tmp_path: Path) -> None:
    base, stage = tmp_path / "base.yaml", tmp_path / "stage.yaml"
    base.write_text(yaml.safe_dump({"model": {"model": {"encoder": {"name": "conformer", "n_layers": 6, "d_model": 144},
                                                        "heads": {"ctc": {"weight": 1.0}}},
                                              "lr": 0.1}}))
    stage.write_text(yaml.safe_dump({"model": {"model": {"encoder": {"d_model": 176}}}}))
    args = ["--config", str(base), "--model.model.encoder.n_layers", "8", "--config", str(stage),
            "--trainer.max_steps", "3", "--model.model.heads.ctc.weight=0.5", "--model.model.encoder.d_model", "200"]
    folded = fold_dict_options(args, {"model.model": None, "model.tokenizer": None})
    assert folded[:-2] == ["--config", str(base), "--config", str(stage), "--trainer.max_steps", "3"]
    assert folded[-2] == "--model.model"
    assert json.loads(folded[-1]) == {"encoder": {"name": "conformer", "n_layers": 8, "d_model": 200},
                                      "heads": {"ctc": {"weight": 0.5}}}


def test_args_that_set_no_dict_option_pass_through_unchanged() -> None:
    args = ["--config", "missing.yaml", "--trainer.max_steps", "3", "--model.lr", "0.1"]
    assert fold_dict_options(args, {"model.model": None}) == args
