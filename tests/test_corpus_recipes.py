"""Tests for the real-corpus recipes (recipes/librispeech, common_voice, text_lines): each
prepare.py on a tiny fake corpus with the real folder layout and file formats, and each config
building its model through the same CLI that `recog train` uses."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile
from PIL import Image

from recog.data import read_manifest
from tests.helpers import recipe_modules

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000


def load_prepare(name: str) -> Iterator[ModuleType]:
    with recipe_modules(ROOT / "recipes" / name, "prepare") as modules:
        yield modules.prepare


@pytest.fixture
def librispeech() -> Iterator[ModuleType]:
    yield from load_prepare("librispeech")


@pytest.fixture
def common_voice() -> Iterator[ModuleType]:
    yield from load_prepare("common_voice")


@pytest.fixture
def text_lines() -> Iterator[ModuleType]:
    yield from load_prepare("text_lines")


def tone(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------------------------------------
# LibriSpeech
# ---------------------------------------------------------------------------------------------

# subset -> speaker/chapter -> (utterance number, transcript, seconds; None: no flac, "bad": garbage)
LIBRI = {
    "train-clean-100": {"19/198": [(0, "HELLO WORLD", 0.2), (1, "IT'S A  LONG TEST", 0.35), (2, "NO AUDIO", None)]},
    "dev-clean": {"26/495": [(0, "GOOD MORNING", 0.2), (1, "A LONGER ONE", 0.35), (2, "BROKEN FILE", "bad")]},
}


def fake_librispeech(root: Path) -> Path:
    """ROOT/LibriSpeech/SUBSET/SPEAKER/CHAPTER/{SPEAKER-CHAPTER.trans.txt, ID.flac}."""
    for subset, chapters in LIBRI.items():
        for chapter, utterances in chapters.items():
            folder = root / "LibriSpeech" / subset / chapter
            folder.mkdir(parents=True)
            prefix = chapter.replace("/", "-")
            lines = []
            for number, text, seconds in utterances:
                utt = f"{prefix}-{number:04d}"
                lines.append(f"{utt} {text}\n")
                if seconds == "bad":
                    (folder / f"{utt}.flac").write_bytes(b"fLaC but not really")
                elif seconds is not None:
                    soundfile.write(folder / f"{utt}.flac", tone(seconds), RATE, format="FLAC")
            (folder / f"{prefix}.trans.txt").write_text("".join(lines))
    return root / "LibriSpeech"


def test_librispeech_manifests_point_at_the_flacs(librispeech, tmp_path, capsys):
    corpus, out = fake_librispeech(tmp_path / "corpus"), tmp_path / "out"
    argv = ["--root", str(corpus), "--out", str(out), "--subsets", "train-clean-100", "dev-clean", "--workers", "2"]
    assert librispeech.main(argv) == 0
    captured = capsys.readouterr()
    expected = {"train-clean-100": [("hello world", 0.2), ("it's a long test", 0.35)],
                "dev-clean": [("good morning", 0.2), ("a longer one", 0.35)]}
    for subset, texts in expected.items():
        got = rows(out / f"{subset}.jsonl")
        assert [r["text"] for r in got] == [t for t, _ in texts]
        assert [r["duration"] for r in got] == pytest.approx([s for _, s in texts], abs=0.01)
        assert all(Path(r["audio_filepath"]).is_absolute() and r["audio_filepath"].endswith(".flac") for r in got)
        assert len(read_manifest(out / f"{subset}.jsonl")) == 2  # the recog reader accepts it, files exist
    assert "train-clean-100: skipped 1 utterance(s): 1 missing audio" in captured.err
    assert "19-198-0002.flac" in captured.err and "19-198.trans.txt:3" in captured.err
    assert "dev-clean: skipped 1 utterance(s): 1 unreadable audio" in captured.err
    assert "26-495-0002.flac" in captured.err
    assert "2 utterances" in captured.out


def test_librispeech_max_duration_filters_train_only(librispeech, tmp_path):
    corpus, out = fake_librispeech(tmp_path / "corpus"), tmp_path / "out"
    argv = ["--root", str(corpus), "--out", str(out), "--subsets", "train-clean-100", "dev-clean",
            "--max-duration", "0.3"]
    assert librispeech.main(argv) == 0
    assert [r["text"] for r in rows(out / "train-clean-100.jsonl")] == ["hello world"]
    assert len(rows(out / "dev-clean.jsonl")) == 2


def test_librispeech_missing_subset_is_an_error_naming_it(librispeech, tmp_path):
    corpus = fake_librispeech(tmp_path / "corpus")
    with pytest.raises(SystemExit, match="test-other"):
        librispeech.main(["--root", str(corpus), "--out", str(tmp_path / "out"), "--subsets", "dev-clean",
                          "test-other"])
    assert not (tmp_path / "out").exists()  # checked before any work
    with pytest.raises(SystemExit, match="pass that as --root"):  # the folder above LibriSpeech/
        librispeech.main(["--root", str(corpus.parent), "--out", str(tmp_path / "out"), "--subsets", "dev-clean"])


# ---------------------------------------------------------------------------------------------
# Common Voice
# ---------------------------------------------------------------------------------------------

CV_HEADER = "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\tgender\taccents"


def test_common_voice_normalise(common_voice):
    norm = common_voice.normalise
    assert norm('He said "Hello,  World!"') == "he said hello world"
    assert norm("Don\u2019t  stop \u2014 it's 4:30.") == "don't stop it's 4 30"
    assert norm("\uff21\uff22\uff23 \ufb01ne caf\u00e9") == "abc fine café"  # NFKC: full-width, ligature
    assert norm("'Quoted' words' and ''") == "quoted words and"
    assert norm("snake_case e-mail") == "snake case e mail"
    assert norm('?! "" ...') == ""


def test_common_voice_manifests(common_voice, tmp_path, capsys):
    if "MP3" not in soundfile.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    root, out = tmp_path / "cv-corpus" / "en", tmp_path / "out"
    (root / "clips").mkdir(parents=True)
    clips = {"common_voice_en_1.mp3": 0.2, "common_voice_en_2.mp3": 0.3, "common_voice_en_3.mp3": 0.2}
    for name, seconds in clips.items():
        soundfile.write(root / "clips" / name, tone(seconds, 48000), 48000, format="MP3")
    (root / "clips" / "common_voice_en_9.mp3").write_bytes(b"ID3 not an mp3")
    train = [
        ("common_voice_en_1.mp3", 'She said "Don\u2019t go!"'),  # quotes are text, not csv quoting
        ("common_voice_en_2.mp3", "Is it 5 o'clock?"),
        ("common_voice_en_3.mp3", "?!"),  # nothing left after normalising
        ("common_voice_en_8.mp3", "Missing clip."),
        ("common_voice_en_9.mp3", "Broken clip."),
    ]
    dev = [("common_voice_en_3.mp3", "A dev line.")]
    for split, items in (("train", train), ("dev", dev)):
        lines = [CV_HEADER] + [f"abc{i}\t{path}\tsid{i}\t{text}\tgeneral\t2\t0\t\t\t" for i, (path, text) in
                               enumerate(items)]
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert common_voice.main(["--root", str(root), "--out", str(out), "--splits", "train", "dev"]) == 0
    got = rows(out / "train.jsonl")
    assert [r["text"] for r in got] == ["she said don't go", "is it 5 o'clock"]
    assert [r["duration"] for r in got] == pytest.approx([0.2, 0.3], abs=0.01)
    assert all(Path(r["audio_filepath"]).is_absolute() for r in got)
    assert len(read_manifest(out / "train.jsonl")) == 2
    assert [r["text"] for r in rows(out / "dev.jsonl")] == ["a dev line"]
    err = capsys.readouterr().err
    assert "train: skipped 3 clip(s)" in err
    assert "empty text after normalising" in err and "train.tsv:4" in err
    assert "missing audio" in err and "common_voice_en_8.mp3" in err
    assert "unreadable audio" in err and "common_voice_en_9.mp3" in err
    with pytest.raises(SystemExit, match="test.tsv"):
        common_voice.main(["--root", str(root), "--out", str(out), "--splits", "test"])


# ---------------------------------------------------------------------------------------------
# Text lines
# ---------------------------------------------------------------------------------------------


def line_image(text: str) -> Image.Image:
    image = Image.new("L", (12 * len(text) + 8, 32), 255)
    image.paste(0, (4, 12, 4 + 10 * len(text), 20))  # a dark bar where the text would be
    return image


def test_text_lines_paddle_label_files(text_lines, tmp_path, capsys):
    data, out = tmp_path / "rec", tmp_path / "out"
    (data / "imgs").mkdir(parents=True)
    line_image("Hello").save(data / "imgs" / "a.png")
    line_image("abc 123").convert("RGB").save(data / "imgs" / "b.jpg")
    (data / "imgs" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (data / "train.txt").write_text(
        "imgs/a.png\tHello World\nimgs/b.jpg\tabc 123\r\nimgs/bad.png\tbroken\nimgs/none.png\tmissing\n"
        "imgs/a.png\t \nno tab here\n", encoding="utf-8")
    (data / "val.txt").write_text("imgs/b.jpg\tabc 123\n", encoding="utf-8")
    argv = ["--out", str(out), "--data-dir", str(data), "--train", str(data / "train.txt"),
            "--dev", str(data / "val.txt"), "--workers", "2"]
    assert text_lines.main(argv) == 0
    got = rows(out / "train.jsonl")
    assert got == [{"image_filepath": str(data / "imgs" / "a.png"), "text": "Hello World"},
                   {"image_filepath": str(data / "imgs" / "b.jpg"), "text": "abc 123"}]
    assert [e.text for e in read_manifest(out / "dev.jsonl")] == ["abc 123"]
    err = capsys.readouterr().err
    assert "train/train: skipped 4 line(s)" in err
    assert f"unreadable image: {data / 'imgs' / 'bad.png'}" in err
    assert f"missing image: {data / 'imgs' / 'none.png'}" in err
    assert "empty label" in err and "no tab between path and label" in err


def test_text_lines_lmdb(text_lines, tmp_path, capsys):
    lmdb = pytest.importorskip("lmdb")
    evaluation = tmp_path / "evaluation"
    records = {1: (line_image("ok"), "OK"), 2: (b"not an image", "bad"), 3: (line_image("x"), ""),
               4: (line_image("Zürich").convert("RGB"), "Zürich")}
    for name in ("IIIT5k", "SVT"):
        (evaluation / name).mkdir(parents=True)
        env = lmdb.open(str(evaluation / name), map_size=1 << 24)
        with env.begin(write=True) as txn:
            for index, (image, label) in records.items():
                if isinstance(image, Image.Image):
                    path = tmp_path / f"tmp.{'jpg' if image.mode == 'RGB' else 'png'}"
                    image.save(path)
                    image = path.read_bytes()
                txn.put(b"image-%09d" % index, image)
                txn.put(b"label-%09d" % index, label.encode())
            txn.put(b"num-samples", str(len(records)).encode())
        env.close()
    out = tmp_path / "out"
    assert text_lines.main(["--out", str(out), "--test", str(evaluation), "--workers", "2"]) == 0
    expected = [("images/IIIT5k/0000/000000001.png", "OK"), ("images/IIIT5k/0000/000000004.jpg", "Zürich"),
                ("images/SVT/0000/000000001.png", "OK"), ("images/SVT/0000/000000004.jpg", "Zürich")]
    assert [(r["image_filepath"], r["text"]) for r in rows(out / "test.jsonl")] == expected
    assert len(read_manifest(out / "test.jsonl")) == 4  # the written images exist
    assert [r["text"] for r in rows(out / "test-SVT.jsonl")] == ["OK", "Zürich"]
    assert sorted(p.name for p in (out / "images" / "IIIT5k" / "0000").iterdir()) == ["000000001.png", "000000004.jpg"]
    err = capsys.readouterr().err
    assert f"unreadable image: {evaluation / 'IIIT5k'} image-000000002" in err
    assert f"empty label: {evaluation / 'SVT'} image-000000003" in err
    first = (out / "test.jsonl").read_text()
    assert text_lines.main(["--out", str(out), "--test", str(evaluation / "SVT")]) == 0  # rerun, one source
    assert (out / "test.jsonl").read_text() == "".join(line + "\n" for line in first.splitlines()[2:])
    assert not list(out.glob("test-*.jsonl"))  # per-source manifests of the earlier run are gone


def test_text_lines_bad_source_is_an_error(text_lines, tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="nowhere.txt"):
        text_lines.main(["--out", str(tmp_path / "out"), "--train", str(tmp_path / "nowhere.txt")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no data.mdb"):
        text_lines.main(["--out", str(tmp_path / "out"), "--test", str(tmp_path / "empty")])
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "data.mdb").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "lmdb", None)  # as if lmdb were not installed
    with pytest.raises(SystemExit, match="pip install lmdb"):
        text_lines.main(["--out", str(tmp_path / "out"), "--test", str(tmp_path / "db")])
    assert not (tmp_path / "out").exists()  # all sources are checked before any work


# ---------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------


def tiny_manifest(root: Path, kind: str) -> Path:
    """A one-folder train manifest for building a config's tokenizer and model."""
    texts = ["hello world", "good morning to you", "it's a test"]
    lines = []
    for i, text in enumerate(texts):
        if kind == "speech":
            soundfile.write(root / f"{i}.flac", tone(0.2), RATE)
            lines.append({"audio_filepath": f"{i}.flac", "duration": 0.2, "text": text})
        else:
            line_image(text).save(root / f"{i}.png")
            lines.append({"image_filepath": f"{i}.png", "text": text})
    path = root / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


@pytest.mark.parametrize(("config", "kind", "millions"), [("librispeech_ctc", "speech", (20, 40)),
                                                          ("common_voice_ctc", "speech", (20, 40)),
                                                          ("text_lines_ctc", "image", (1, 40))])
def test_config_builds_through_the_training_cli(config, kind, millions, tmp_path, monkeypatch):
    """The whole YAML parses with `recog train`'s CLI (trainer, model, data) and builds the model."""
    from recog.train import ManifestDataModule, RecogCLI, RecognizerSystem

    monkeypatch.setattr(sys, "argv", ["recog"])  # pytest's own arguments are not for the CLI
    manifest = tiny_manifest(tmp_path, kind)
    cli = RecogCLI(RecognizerSystem, ManifestDataModule, run=False, args=[
        "--config", str(ROOT / "configs" / f"{config}.yaml"), "--run_dir", str(tmp_path / "run"),
        "--model.tokenizer.manifest", str(manifest), "--data.train_manifest", str(manifest),
        "--data.val_manifest", str(manifest)])
    model = cli.model.model
    params = sum(p.numel() for p in model.parameters())
    print(f"{config}: {params / 1e6:.2f} M parameters")
    assert millions[0] * 1e6 <= params <= millions[1] * 1e6, params
    assert list(model.heads) == ["ctc"]
    assert cli.datamodule.hparams.train_manifest == str(manifest)
    if kind == "speech":
        assert model.encoder.subsampling_factor == 8 and model.encoder.d_model == 256
        assert cli.model.hparams.tokenizer["kind"] == "bpe" and cli.model.hparams.schedule == "cosine"
        assert tuple(cli.datamodule.hparams.speed_perturb) == (0.9, 1.1)
    else:
        assert model.kind == "image"


@pytest.mark.parametrize(("flags", "prob"), [([], None), (["--data.letterform_prob", "0.4"], 0.4)])
def test_letterform_augmentation_reaches_the_training_lines_only_when_asked(flags, prob, tmp_path, monkeypatch):
    """``--data.letterform_prob`` puts ``LetterformAugment`` before the training lines' degradations;
    validation lines are never augmented."""
    from types import SimpleNamespace

    from recog.train import ManifestDataModule, RecogCLI, RecognizerSystem

    monkeypatch.setattr(sys, "argv", ["recog"])
    manifest = tiny_manifest(tmp_path, "image")
    cli = RecogCLI(RecognizerSystem, ManifestDataModule, run=False, args=[
        "--config", str(ROOT / "configs" / "text_lines_ctc.yaml"), "--run_dir", str(tmp_path / "run"),
        "--model.tokenizer.manifest", str(manifest), "--data.train_manifest", str(manifest),
        "--data.val_manifest", str(manifest), *flags])
    cli.datamodule.trainer = SimpleNamespace(lightning_module=cli.model)
    train = cli.datamodule._dataset(str(manifest), train=True)
    letterforms = train.augment.letterforms
    assert (letterforms.prob if letterforms is not None else None) == prob
    assert cli.datamodule._dataset(str(manifest), train=False).augment is None
