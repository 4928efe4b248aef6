"""End to end for text lines: `recog train` overfits a few rendered lines with CTC, CPPD and SGM
heads; `recog ocr`, `recog eval` and `recog.load(...).transcribe` read them back exactly; a crop
labelled with the empty text trains the model to read nothing there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

import recog
from recog.cli import main
from tests.helpers import train

LINES = ["Hello 42", "$9.99 off", "AB-12 x"]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def render(text: str, path: Path, size: int = 28) -> Path:
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 12, bottom - top + 10), 255)
    ImageDraw.Draw(image).text((6 - left, 5 - top), text, font=font, fill=0)
    image.save(path)
    return path


@pytest.fixture(scope="module")
def line_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lines")
    rows = [{"image_filepath": render(t, root / f"line{i}.png").name, "text": t} for i, t in enumerate(LINES)]
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.fixture(scope="module")
def ocr_model(line_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ocr_run")
    manifest = str(line_dir / "train.jsonl")
    config = {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu", "devices": 1, "max_steps": 300, "max_epochs": 1000, "check_val_every_n_epoch": 100,
            "log_every_n_steps": 10, "enable_progress_bar": False, "default_root_dir": str(root),
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(root)}},
            "callbacks": [{"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                           "init_args": {"dirpath": str(root / "ckpt"), "save_last": True}}],
        },
        "model": {
            "lr": 2e-3, "warmup_steps": 30, "weight_decay": 0.0,
            "tokenizer": {"kind": "char", "manifest": manifest},
            "model": {
                "frontend": "image",
                "encoder": {"name": "vision", "dims": [16, 32, 48], "depths": [1, 1, 1], "local_blocks": [1, 0, 0],
                            "n_heads": [1, 2, 2]},
                "heads": {"ctc": {"weight": 1.0},
                          "parallel": {"weight": 1.0, "max_len": 12, "layers": 1, "heads": 2, "dropout": 0.0},
                          "sgm": {"weight": 0.2, "window": 3, "heads": 2, "dropout": 0.0}},
            },
        },
        "data": {"train_manifest": manifest, "val_manifest": manifest, "max_frames": 10_000_000,
                 "num_workers": 0, "augment": False},
    }
    return train(root, config)


@pytest.mark.parametrize("head", ["ctc", "parallel"])
def test_python_api_reads_back_the_lines(ocr_model: Path, line_dir: Path, head: str) -> None:
    model = recog.load(ocr_model)
    files = [line_dir / f"line{i}.png" for i in range(len(LINES))]
    results = model.transcribe(files, head=head)
    assert [r.text for r in results] == LINES
    for r, path in zip(results, files, strict=True):
        width = Image.open(path).width
        assert r.path == str(path)
        assert len(r.positions) == len(r.text)
        assert all(0 <= x <= width for x in r.positions)
        assert 0 < r.confidence <= 1
    ctc_positions = model.transcribe(files[:1], head="ctc")[0].positions
    assert ctc_positions == sorted(ctc_positions)  # CTC emits left to right


def test_a_crop_labelled_with_the_empty_text_teaches_reading_nothing(line_dir: Path, tmp_path: Path) -> None:
    """A manifest row with the empty text (what ``recipes/synth_pages/crops.py --negatives`` writes
    for a found box with no text, e.g. a window's three round buttons) comes out of the dataset as
    an empty target; every head's loss on a batch holding it is finite, and steps on it teach the
    shipped line model to read nothing where it read text, while the line beside it still reads."""
    import torch

    from recog.data import ImageDataset, collate, read_manifest
    from recog.image import ImageConfig

    # A crop the shipped model reads as text stands for a button it has not learnt (since version 11
    # it reads a rendered "ooo", like a window's three round buttons, as nothing already)
    crops = [render("xxx", tmp_path / "marks.png"), line_dir / "line0.png"]
    manifest = tmp_path / "negatives.jsonl"
    manifest.write_text("".join(json.dumps({"image_filepath": p.name if p.parent == tmp_path else str(p),
                                            "text": t}) + "\n" for p, t in zip(crops, ["", LINES[0]], strict=True)))
    reader = recog.load("latin-lines")
    assert reader.transcribe(crops[:1])[0].text != ""
    net = reader.model
    dataset = ImageDataset(read_manifest(manifest), net.tokenizer, ImageConfig(**net.config["features"]))
    batches = [collate([dataset[0]]), collate([dataset[1]])]  # two size groups: a batch each
    assert [b["target_lengths"].tolist() for b in batches] == [[0], [len(LINES[0])]]
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-4)
    net.train()
    torch.manual_seed(0)
    for _ in range(10):
        optimiser.zero_grad()
        for batch in batches:
            losses = net(batch["inputs"], batch["input_lengths"], batch["targets"], batch["target_lengths"])
            assert all(torch.isfinite(v) for v in losses.values()), losses
            losses["loss"].backward()
        optimiser.step()
    net.eval()
    for head in ("ctc", "parallel"):
        assert [r.text for r in reader.transcribe(crops, head=head)] == ["", LINES[0]], head


def test_a_line_alone_and_in_a_batch_read_the_same(ocr_model: Path, line_dir: Path) -> None:
    model = recog.load(ocr_model)
    files = [line_dir / f"line{i}.png" for i in range(len(LINES))]
    batched = model.transcribe(files)
    alone = [model.transcribe([f])[0] for f in files]
    assert [(r.text, r.positions, r.confidence) for r in batched] == [(r.text, r.positions, r.confidence)
                                                                        for r in alone]


def test_cli_ocr_writes_json_lines_and_reports_bad_images(ocr_model: Path, line_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    out = tmp_path / "out.jsonl"
    code = main(["ocr", str(line_dir / "line0.png"), str(corrupt), str(empty), str(line_dir / "line2.png"),
                 "--model", str(ocr_model), "--head", "parallel", "--output", str(out)])
    assert code == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == [LINES[0], LINES[2]]
    assert set(rows[0]) >= {"image_filepath", "text", "confidence", "x_positions"}
    err = capsys.readouterr().err
    assert "corrupt.png" in err and "empty.jpg" in err


def test_cli_eval_on_an_ocr_manifest_prints_exact_line_accuracy(ocr_model: Path, line_dir: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "--manifest", str(line_dir / "train.jsonl"), "--model", str(ocr_model)]) == 0
    out = capsys.readouterr().out
    assert "CER: 0.00 %" in out and "exact lines: 100.00 %" in out


def test_speech_commands_refuse_an_ocr_model(ocr_model: Path, line_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["transcribe", str(line_dir / "line0.png"), "--model", str(ocr_model)]) == 2
    assert "recog ocr" in capsys.readouterr().err


def test_the_sgm_head_cannot_be_chosen_for_decoding(ocr_model: Path, line_dir: Path) -> None:
    model = recog.load(ocr_model)
    with pytest.raises(ValueError, match="sgm"):
        model.transcribe([line_dir / "line0.png"], head="sgm")


def test_cli_ocr_with_a_character_lm_reads_the_lines(ocr_model: Path, line_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    lm = tmp_path / "lm.npz"
    assert main(["lm", "--manifest", str(line_dir / "train.jsonl"), "--order", "4", "--out", str(lm)]) == 0
    assert main(["ocr", "--manifest", str(line_dir / "train.jsonl"), "--model", str(ocr_model),
                 "--lm", str(lm)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[1] for line in lines[-len(LINES):]] == LINES
    # A lexicon without "off" must keep it out of the reading of "$9.99 off", against the image.
    words = tmp_path / "words.txt"
    words.write_text("Hello\n42\n$9.99\nAB-12\nx\n")
    forcing = tmp_path / "forcing.npz"
    assert main(["lm", "--manifest", str(line_dir / "train.jsonl"), "--order", "4", "--lexicon-file", str(words),
                 "--out", str(forcing)]) == 0
    capsys.readouterr()
    assert main(["ocr", str(line_dir / "line1.png"), "--model", str(ocr_model), "--lm", str(forcing),
                 "--lm-weight", "1.0"]) == 0
    forced = capsys.readouterr().out.strip().split("\t")[1]
    assert "off" not in forced and forced.startswith("$9.99")
    api = recog.load(ocr_model, lm=forcing).transcribe([line_dir / "line1.png"], beam=8, lm_weight=1.0)[0]
    assert api.text == forced
    assert main(["ocr", str(line_dir / "line0.png"), "--model", str(ocr_model), "--head", "parallel",
                 "--lm", str(lm)]) == 2  # the LM is for CTC search
    assert "'ctc' head" in capsys.readouterr().err
