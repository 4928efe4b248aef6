"""End to end: `recog train` overfits a few utterances, then `recog transcribe` / `recog eval` /
`recog.load(...).transcribe` read them back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import recog
from recog.cli import main
from recog.lm import CharNgramLM
from tests.conftest import OVERFIT_TEXTS
from tests.helpers import train


def tiny_config(root: Path, manifest: Path, heads: dict | None = None, steps: int = 250) -> dict:
    return {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu", "devices": 1, "max_steps": steps, "max_epochs": 1000,
            "check_val_every_n_epoch": 50, "log_every_n_steps": 10, "enable_progress_bar": False,
            "default_root_dir": str(root),
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(root)}},
            "callbacks": [{"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                           "init_args": {"dirpath": str(root / "ckpt"), "save_last": True}}],
        },
        "model": {
            "lr": 3e-3, "warmup_steps": 30,
            "tokenizer": {"kind": "char", "manifest": str(manifest)},
            "model": {
                "encoder": {"name": "conformer", "d_model": 64, "n_layers": 2, "n_heads": 2,
                            "subsampling_channels": 32, "dropout": 0.0, "dropout_att": 0.0,
                            "conv_norm": "layer"},
                "heads": heads or {"ctc": {"weight": 1.0}},
            },
        },
        "data": {"train_manifest": str(manifest), "val_manifest": str(manifest), "max_frames": 100_000,
                 "num_workers": 0},
    }


@pytest.fixture(scope="module")
def trained_model(speech_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    return train(root, tiny_config(root, speech_dir / "train.jsonl"))


@pytest.fixture(scope="module")
def hybrid_model(speech_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hybrid")
    heads = {"rnnt": {"weight": 0.7, "pred_dim": 64, "joint_dim": 64}, "ctc": {"weight": 0.3}}
    return train(root, tiny_config(root, speech_dir / "train.jsonl", heads=heads, steps=300))


@pytest.mark.parametrize("head", ["rnnt", "ctc"])
@pytest.mark.parametrize("beam", [1, 4])
def test_hybrid_model_reads_back_exact_text_with_both_heads(hybrid_model: Path, speech_dir: Path,
                                                            head: str, beam: int) -> None:
    model = recog.load(hybrid_model)
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    results = model.transcribe(files, head=head, beam=beam)
    assert [r.text for r in results] == OVERFIT_TEXTS
    for r in results:
        assert r.positions == sorted(r.positions) and 0 <= r.positions[0] and r.positions[-1] < 5.0


def test_a_character_lm_is_fused_into_the_transducer_heads_beam_search(hybrid_model: Path, speech_dir: Path,
                                                                       tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    lm = tmp_path / "lm.npz"
    assert main(["lm", "--manifest", str(speech_dir / "train.jsonl"), "--order", "5", "--out", str(lm)]) == 0
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    fused = recog.load(hybrid_model, lm=lm).transcribe(files, head="rnnt", beam=4, lm_weight=0.5, lm_bonus=1.0)
    plain = recog.load(hybrid_model).transcribe(files, head="rnnt", beam=4)
    assert [r.text for r in fused] == OVERFIT_TEXTS
    # confidences stay acoustic (the LM changes which routes survive, so they differ a little)
    assert [r.confidence for r in fused] == pytest.approx([r.confidence for r in plain], rel=0.1)
    with pytest.raises(ValueError, match="beam"):
        recog.load(hybrid_model, lm=lm).transcribe(files, head="rnnt")  # greedy search cannot use the LM
    assert main(["transcribe", str(files[1]), "--model", str(hybrid_model), "--head", "rnnt", "--lm", str(lm)]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == OVERFIT_TEXTS[1]
    # An LM whose lexicon lacks "door" must keep it out, against the acoustics, through the API and the CLI.
    forcing = forbidding_lm(tmp_path, speech_dir, "door")
    forced = recog.load(hybrid_model, lm=forcing).transcribe(files[1:2], head="rnnt", beam=4, lm_weight=1.0)[0]
    assert "door" not in forced.text and forced.text.startswith("open the")
    assert main(["transcribe", str(files[1]), "--model", str(hybrid_model), "--head", "rnnt", "--lm", str(forcing),
                 "--lm-weight", "1.0"]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == forced.text


def forbidding_lm(root: Path, speech_dir: Path, word: str) -> Path:
    """A lexicon LM of the training texts' words but ``word``: decoding with it must leave that word out."""
    words = root / "words.txt"
    words.write_text("\n".join(sorted({w for t in OVERFIT_TEXTS for w in t.split()} - {word})) + "\n")
    lm = root / "forbidding.npz"
    assert main(["lm", "--manifest", str(speech_dir / "train.jsonl"), "--order", "5", "--lexicon-file", str(words),
                 "--out", str(lm)]) == 0
    return lm


def test_the_rnnt_predictor_is_fused_into_the_ctc_heads_beam_search(hybrid_model: Path, speech_dir: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    fused = recog.load(hybrid_model).transcribe(files, head="ctc", beam=4, ilm_weight=0.5, ilm_bonus=1.0)
    assert [r.text for r in fused] == OVERFIT_TEXTS
    assert main(["transcribe", str(files[2]), "--model", str(hybrid_model), "--head", "ctc",
                 "--ilm-weight", "0.5"]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == OVERFIT_TEXTS[2]
    # A large bonus per internal-LM token must lengthen the output: the CLI and the API pass it on.
    plain = recog.load(hybrid_model).transcribe(files[2:], head="ctc", beam=4)[0].text
    eager = recog.load(hybrid_model).transcribe(files[2:], head="ctc", beam=4, ilm_weight=0.5, ilm_bonus=40.0)[0]
    assert len(eager.text) > len(plain)
    assert main(["transcribe", str(files[2]), "--model", str(hybrid_model), "--head", "ctc", "--beam", "4",
                 "--ilm-weight", "0.5", "--ilm-bonus", "40"]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == eager.text
    assert main(["transcribe", str(files[2]), "--model", str(hybrid_model), "--head", "rnnt",
                 "--ilm-weight", "0.5"]) == 2  # the internal LM is for the ctc head
    assert "head 'ctc'" in capsys.readouterr().err


def test_cli_transcribe_picks_the_head(hybrid_model: Path, speech_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["transcribe", str(speech_dir / "utt1.wav"), "--model", str(hybrid_model), "--head", "rnnt"]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == OVERFIT_TEXTS[1]
    assert main(["transcribe", str(speech_dir / "utt1.wav"), "--model", str(hybrid_model), "--head", "attention"]) == 2


def test_python_api_reads_back_the_training_texts(trained_model: Path, speech_dir: Path) -> None:
    model = recog.load(trained_model)
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    results = model.transcribe(files)
    assert [r.text for r in results] == OVERFIT_TEXTS
    for r, path in zip(results, files, strict=True):
        assert r.path == str(path)
        assert len(r.tokens) == len(r.positions) == len(r.text)
        assert r.positions == sorted(r.positions)
        assert 0 <= r.positions[0] and r.positions[-1] < 5.0
        assert 0 < r.confidence <= 1


def test_beam_search_agrees_with_greedy_on_a_confident_model(trained_model: Path, speech_dir: Path) -> None:
    model = recog.load(trained_model)
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    assert [r.text for r in model.transcribe(files, beam=4)] == OVERFIT_TEXTS


def test_cli_transcribe_skips_bad_files_and_writes_good_ones(trained_model: Path, speech_dir: Path,
                                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    out = tmp_path / "out.jsonl"
    code = main(["transcribe", str(speech_dir / "utt0.wav"), str(bad), str(speech_dir / "utt2.wav"),
                 "--model", str(trained_model), "--output", str(out)])
    assert code == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == [OVERFIT_TEXTS[0], OVERFIT_TEXTS[2]]
    assert set(rows[0]) >= {"audio_filepath", "text", "tokens", "timestamps", "confidence"}
    assert "broken.wav" in capsys.readouterr().err


def test_cli_transcribe_prints_path_tab_text_for_a_manifest(trained_model: Path, speech_dir: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    assert main(["transcribe", "--manifest", str(speech_dir / "train.jsonl"), "--model", str(trained_model)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[1] for line in lines] == OVERFIT_TEXTS
    assert lines[0].split("\t")[0] == str(speech_dir / "utt0.wav")


def test_cli_eval_prints_zero_error_rates(trained_model: Path, speech_dir: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--manifest", str(speech_dir / "train.jsonl"), "--model", str(trained_model)]) == 0
    out = capsys.readouterr().out
    assert "WER: 0.00 %" in out and "CER: 0.00 %" in out


def test_a_run_stopped_by_max_time_validates_and_saves_its_final_weights(speech_dir: Path, tmp_path: Path) -> None:
    import torch

    config = tiny_config(tmp_path, speech_dir / "train.jsonl", steps=100_000)
    config["trainer"]["max_time"] = "00:00:00:06"
    config["trainer"]["check_val_every_n_epoch"] = 10_000  # no validation inside the run
    config["trainer"]["callbacks"][0]["init_args"].update(
        {"monitor": "val/wer", "mode": "min", "filename": "best-{epoch}-{step}"})
    config["model"]["schedule"] = "cosine"
    last = train(tmp_path, config)
    saved = torch.load(last, map_location="cpu", weights_only=False)
    step, epoch = saved["global_step"], saved["epoch"]
    assert step > 0
    assert [p.name for p in (tmp_path / "ckpt").glob("best-*.ckpt")] == [f"best-epoch={epoch}-step={step}.ckpt"]


def test_a_run_with_validation_switched_off_still_saves_its_final_weights(speech_dir: Path, tmp_path: Path) -> None:
    import torch

    config = tiny_config(tmp_path, speech_dir / "train.jsonl", steps=3)
    config["trainer"]["limit_val_batches"] = 0  # e.g. a throughput check: no validation at all
    last = train(tmp_path, config)
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == 3


def test_a_character_lm_built_by_the_cli_is_fused_into_ctc_beam_search(trained_model: Path, speech_dir: Path,
                                                                      tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    lm = tmp_path / "lm.npz"
    assert main(["lm", "--manifest", str(speech_dir / "train.jsonl"), "--order", "5", "--out", str(lm)]) == 0
    assert f"order-5 character LM from {len(OVERFIT_TEXTS)} texts" in capsys.readouterr().out
    assert main(["eval", "--manifest", str(speech_dir / "train.jsonl"), "--model", str(trained_model),
                 "--lm", str(lm), "--lm-weight", "0.5"]) == 0  # --lm alone turns prefix beam search on
    assert "WER: 0.00 %" in capsys.readouterr().out
    model = recog.load(trained_model, lm=lm)
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    results = model.transcribe(files, beam=4, lm_weight=0.5, lm_bonus=1.0)
    assert [r.text for r in results] == OVERFIT_TEXTS
    plain = recog.load(trained_model).transcribe(files, beam=4)
    assert [r.confidence for r in results] == pytest.approx([r.confidence for r in plain], rel=0.2)
    with pytest.raises(ValueError, match="beam"):
        model.transcribe(files)  # greedy search cannot use the LM
    forcing = forbidding_lm(tmp_path, speech_dir, "door")  # must change the text, against the acoustics
    forced = recog.load(trained_model, lm=forcing).transcribe(files[1:2], beam=4, lm_weight=1.0)[0]
    assert "door" not in forced.text and forced.text.startswith("open the")
    capsys.readouterr()
    assert main(["transcribe", str(files[1]), "--model", str(trained_model), "--lm", str(forcing),
                 "--lm-weight", "1.0"]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == forced.text
    assert main(["transcribe", str(files[0]), "--model", str(trained_model), "--lm", str(tmp_path / "none.gz")]) == 2
    assert "none.gz" in capsys.readouterr().err


def test_a_lexicon_lm_built_by_the_cli_keeps_decoding_to_known_words(trained_model: Path, speech_dir: Path,
                                                                    tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    words = tmp_path / "words.txt"
    words.write_text("zebra Z IY B R AH\n\nyak Y AE K\n")  # a pronunciation lexicon: the first column counts
    lm = tmp_path / "lexicon.npz"
    assert main(["lm", "--manifest", str(speech_dir / "train.jsonl"), "--order", "5", "--lexicon",
                 "--lexicon-file", str(words), "--out", str(lm)]) == 0
    vocabulary = {w for t in OVERFIT_TEXTS for w in t.split()} | {"zebra", "yak"}
    assert f"lexicon of {len(vocabulary)} words" in capsys.readouterr().out
    assert CharNgramLM.load(lm).lexicon == vocabulary
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    results = recog.load(trained_model, lm=lm).transcribe(files, beam=4, lm_weight=0.5, lm_bonus=1.0)
    assert [r.text for r in results] == OVERFIT_TEXTS
    assert main(["lm", "--manifest", str(speech_dir / "train.jsonl"), "--lexicon-file", str(tmp_path / "no.txt"),
                 "--out", str(lm)]) == 2
    assert "no.txt" in capsys.readouterr().err


def test_init_from_fine_tunes_a_trained_model_and_keeps_its_tokenizer(trained_model: Path, speech_dir: Path,
                                                                       tmp_path: Path) -> None:
    import torch

    from recog.train import RecognizerSystem

    other = tmp_path / "other.jsonl"  # a manifest whose characters differ: its tokenizer would too
    other.write_text(json.dumps({"audio_filepath": "x.wav", "duration": 1.0, "text": "qqq zzz"}) + "\n")
    config = tiny_config(tmp_path, speech_dir / "train.jsonl")["model"]
    heads = {"ctc": {"weight": 1.0}, "attention": {"weight": 0.5, "layers": 1, "heads": 2}}
    system = RecognizerSystem({**config["model"], "heads": heads}, {"kind": "char", "manifest": str(other)},
                              init_from=str(trained_model))
    checkpoint = torch.load(trained_model, map_location="cpu", weights_only=True)
    assert system.tokenizer.state() == checkpoint["recog"]["tokenizer"]
    for name, tensor in system.model.state_dict().items():
        if name.startswith(("encoder.", "heads.ctc.")):
            torch.testing.assert_close(tensor, checkpoint["state_dict"][f"model.{name}"])
    assert any(name.startswith("heads.attention.") for name in system.model.state_dict())  # new, fresh

    # init_include: the encoder only; the CTC head starts fresh (as configs/line_decoders.yaml's heads do)
    encoder_only = RecognizerSystem({**config["model"], "heads": heads}, {"kind": "char", "manifest": str(other)},
                                    init_from=str(trained_model), init_include=["encoder."])
    for name, tensor in encoder_only.model.state_dict().items():
        source = checkpoint["state_dict"][f"model.{name}"] if f"model.{name}" in checkpoint["state_dict"] else None
        if name.startswith("encoder."):
            torch.testing.assert_close(tensor, source)
        elif name.startswith("heads.ctc.") and tensor.is_floating_point() and tensor.numel() > 1:
            assert not torch.equal(tensor, source), name

    # From the CLI: a few more steps at a low rate on a frozen encoder; the encoder's weights (and
    # normalisation statistics) stay as they were, the head's move, and the model still reads the texts.
    root = tmp_path / "finetune"
    root.mkdir()
    config = tiny_config(root, speech_dir / "train.jsonl", steps=20)
    config["model"].update({"lr": 1e-4, "warmup_steps": 1, "init_from": str(trained_model), "freeze": ["encoder."]})
    tuned = train(root, config)
    tuned_state = torch.load(tuned, map_location="cpu", weights_only=True)["state_dict"]
    moved = {name for name, tensor in tuned_state.items() if not torch.equal(tensor, checkpoint["state_dict"][name])}
    assert moved and all(name.startswith("model.heads.") for name in moved), sorted(moved)
    results = recog.load(tuned).transcribe(sorted(speech_dir.glob("utt*.wav")))
    assert sorted(r.text for r in results) == sorted(OVERFIT_TEXTS)


def test_stacked_configs_fine_tune_a_model_on_joined_utterances(trained_model: Path, speech_dir: Path,
                                                               tmp_path: Path) -> None:
    """`recog train --config BASE --config STAGE`: the later file overrides the earlier one's keys
    (as configs/synth_speech_streaming_longform.yaml does on the streaming config)."""
    import torch

    config = tiny_config(tmp_path, speech_dir / "train.jsonl", steps=1000)
    config["trainer"]["callbacks"][0]["init_args"].update({"monitor": "val/wer", "mode": "min"})  # as the recipes
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(config))
    stage = tmp_path / "stage.yaml"
    stage.write_text(yaml.safe_dump({"trainer": {"max_steps": 4, "limit_val_batches": 0},
                                     "model": {"lr": 1e-4, "warmup_steps": 1, "init_from": str(trained_model)},
                                     "data": {"join_prob": 1.0, "join_gap": [0.1, 0.2]}}))
    assert main(["train", "--config", str(base), "--config", str(stage)]) == 0
    checkpoint = torch.load(tmp_path / "ckpt" / "last.ckpt", map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 4  # and last.ckpt is written although val/wer never was
    data = checkpoint["datamodule_hyper_parameters"]
    assert data["join_prob"] == 1.0 and list(data["join_gap"]) == [0.1, 0.2] and data["max_frames"] == 100_000


def test_a_key_deep_inside_a_dict_option_changes_that_key_alone(speech_dir: Path, tmp_path: Path) -> None:
    """`--model.model.encoder.n_layers 3` changes that key and keeps the encoder's others
    (jsonargparse alone replaces the encoder with the one key, and the model cannot be built); a
    later config still replaces the keys it names. A grown model (tools/grow_model.py) trains this way."""
    import torch

    config = tiny_config(tmp_path, speech_dir / "train.jsonl")
    config["trainer"].update({"max_steps": 2, "limit_val_batches": 0})
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(config))
    stage = tmp_path / "stage.yaml"
    stage.write_text(yaml.safe_dump({"model": {"model": {"heads": {"ctc": {"weight": 0.7}}}}}))
    assert main(["train", "--config", str(base), "--model.model.encoder.n_layers", "3", "--config", str(stage),
                 "--model.model.encoder.d_model=32"]) == 0
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", map_location="cpu", weights_only=False)["recog"]
    encoder = {**config["model"]["model"]["encoder"], "d_model": 32, "n_layers": 3}
    assert {k: saved["model"]["encoder"][k] for k in encoder} == encoder
    assert saved["model"]["heads"] == {"ctc": {"weight": 0.7}}


def test_manifest_segments_by_offset_are_transcribed_evaluated_and_trained_on_alone(
        trained_model: Path, speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    import numpy as np
    import soundfile

    from recog.audio import load_audio
    from recog.data import AudioDataset, read_manifest

    pieces = [load_audio(speech_dir / f"utt{i}.wav") for i in range(len(OVERFIT_TEXTS))]  # at 16 kHz
    gap = np.zeros(8000, dtype=np.float32)
    joined, rows, start = [], [], 0.0
    for piece, text in zip(pieces, OVERFIT_TEXTS, strict=True):
        rows.append({"audio_filepath": "long.wav", "offset": start, "duration": len(piece) / 16000, "text": text})
        joined += [piece, gap]
        start += (len(piece) + len(gap)) / 16000
    soundfile.write(tmp_path / "long.wav", np.concatenate(joined), 16000, subtype="FLOAT")
    manifest = tmp_path / "segments.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))

    assert main(["transcribe", "--manifest", str(manifest), "--model", str(trained_model), "--output", "-"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in out] == OVERFIT_TEXTS  # each segment alone, not the whole file three times
    assert [r["offset"] for r in out] == [r["offset"] for r in rows]
    assert all(rows[i]["offset"] - 0.001 <= r["timestamps"][0] < rows[i]["offset"] + rows[i]["duration"]
               for i, r in enumerate(out))  # times in the file (rounded to ms)
    assert main(["eval", "--manifest", str(manifest), "--model", str(trained_model)]) == 0
    assert "WER: 0.00 %" in capsys.readouterr().out
    entries = read_manifest(manifest)
    dataset = AudioDataset(entries, recog.load(trained_model).model.tokenizer)
    assert [len(dataset[i]["input"]) for i in range(len(entries))] == [len(p) for p in pieces]
    manifest.write_text(json.dumps({**rows[0], "offset": 60.0}) + "\n")
    assert main(["transcribe", "--manifest", str(manifest), "--model", str(trained_model)]) == 1
    assert "past the end" in capsys.readouterr().err


def test_eval_normalise_scores_case_and_punctuation_away_and_raw_stays_the_default(
        trained_model: Path, speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    from recog.metrics import normalise

    assert normalise("Hello, World!") == "hello world" and normalise("It\u2019s well-known.") == "its well known"
    rows = [json.loads(line) for line in (speech_dir / "train.jsonl").read_text().splitlines()]
    shouted = tmp_path / "shouted.jsonl"
    shouted.write_text("".join(json.dumps({**r, "audio_filepath": str(speech_dir / r["audio_filepath"]),
                                           "text": r["text"].capitalize() + "!"}) + "\n" for r in rows))
    assert main(["eval", "--manifest", str(shouted), "--model", str(trained_model)]) == 0
    assert "WER: 0.00 %" not in capsys.readouterr().out  # raw strings: the capitals and "!" count
    assert main(["eval", "--manifest", str(shouted), "--model", str(trained_model), "--normalise"]) == 0
    out = capsys.readouterr().out
    assert "WER: 0.00 %" in out and "normalised" in out


def test_the_cassnat_head_trains_from_yaml_and_reads_every_token_in_one_pass(speech_dir: Path, tmp_path: Path,
                                                                                capsys: pytest.CaptureFixture
                                                                                ) -> None:
    heads = {"cassnat": {"weight": 1.0, "layers": 1, "mixed_layers": 1, "heads": 2, "dropout": 0.0}}
    checkpoint = train(tmp_path, tiny_config(tmp_path, speech_dir / "train.jsonl", heads=heads, steps=300))
    files = [speech_dir / f"utt{i}.wav" for i in range(len(OVERFIT_TEXTS))]
    results = recog.load(checkpoint).transcribe(files)
    assert [r.text for r in results] == OVERFIT_TEXTS
    for r in results:
        assert len(r.positions) == len(r.tokens) and r.positions == sorted(r.positions)
    assert main(["transcribe", str(files[1]), "--model", str(checkpoint), "--head", "cassnat"]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] == OVERFIT_TEXTS[1]
    sampled = recog.load(checkpoint).transcribe(files, beam=4, nbest=4)  # 4 candidate alignments in one batch
    assert [r.text for r in sampled] == OVERFIT_TEXTS
    assert all(1 <= len(r.nbest) <= 4 and r.nbest[0]["text"] == r.text for r in sampled)  # distinct outputs
    assert all(r.nbest[0]["score"] >= r.nbest[-1]["score"] for r in sampled)
    import torch

    from recog.heads.cassnat import candidate_paths

    lp = torch.log_softmax(torch.randn(12, 5, generator=torch.Generator().manual_seed(0)), dim=-1)
    paths = candidate_paths(lp, 4)
    assert len(paths) == 4 and paths[0] == lp.argmax(-1).tolist()
    assert all(sum(a != b for a, b in zip(p, paths[0], strict=True)) == 1 for p in paths[1:])  # one frame each
    with pytest.raises(ValueError, match="cassnat"):
        recog.load(checkpoint).transcribe(files, search="diverse", beam=4)


def test_frozen_normalisation_statistics_stay_fixed_whatever_mode_lightning_restores(tmp_path: Path) -> None:
    """A frozen encoder's BatchNorms are in eval mode from construction on, and again before every
    training step, even after every module's own flag was set back to training (as Lightning's
    mode restore after validation does): their running statistics never move."""
    import torch

    from recog.train import RecognizerSystem

    (tmp_path / "t.jsonl").write_text('{"image_filepath": "x.png", "text": "abc"}\n')
    model = {"frontend": "image", "features": {"height": 32, "max_width": 256},
             "encoder": {"name": "vision", "dims": [16, 24, 32], "depths": [1, 1, 1], "local_blocks": [1, 1, 0],
                         "n_heads": [2, 2, 2]}, "heads": {"ctc": {}}}
    system = RecognizerSystem(model, {"kind": "char", "manifest": str(tmp_path / "t.jsonl")}, freeze=["encoder."])
    norms = [m for m in system.model.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    for module in system.modules():  # what Lightning's restore of captured flags can leave
        module.training = True
    system.on_train_batch_start(None, 0)
    before = [m.running_mean.clone() for m in norms]
    images, widths = torch.randint(0, 256, (2, 32, 96, 3), dtype=torch.uint8), torch.tensor([96, 64])
    system.model.encode(images, widths)
    assert not any(m.training for m in norms) and system.model.heads["ctc"].training
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, norms, strict=True))
