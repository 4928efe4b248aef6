"""Long text lines read in pieces cut at word gaps (recog_edge.pieces): where the cuts fall, what a
read in pieces returns, and that the shipped line model reads a long line in pieces as it reads it whole."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from recog_edge.pieces import PIECE, background_columns, cut_columns, in_pieces

LONG = ("Several pages of the annual report were printed twice, so the clerk counted 1,250 sheets "
        "before noon and sorted them by date.")


def long_lines_page() -> np.ndarray:
    """A page of two lines over ``PIECE`` heights wide (uint8 RGB)."""
    from tests.helpers import render_page

    return render_page([((10, 10), LONG[:70]), ((10, 50), LONG[70:])], size=(900, 90), font_size=20)[0]


def line_crop(text: str, size: int = 24, ink: str = "black", paper: str = "white") -> np.ndarray:
    """A text line as the page reader crops it: uint8 RGB (h, w, 3), a few pixels round the text."""
    font = ImageFont.truetype("DejaVuSans.ttf", size)
    left, _, right, _ = font.getbbox(text)
    ascent, descent = font.getmetrics()
    image = Image.new("RGB", (right - left + 8, ascent + descent + 6), paper)
    ImageDraw.Draw(image).text((4 - left, 3), text, font=font, fill=ink)
    return np.array(image)


@pytest.mark.parametrize("ink, paper", [("black", "white"), ("white", "navy"), ("darkred", "khaki")])
def test_a_long_line_is_cut_in_its_word_spaces_into_pieces_that_fit(ink: str, paper: str) -> None:
    crop = line_crop(LONG, ink=ink, paper=paper)
    height, width = crop.shape[:2]
    assert width > 2 * PIECE * height
    cuts = cut_columns(crop)
    edges = [0, *cuts, width]
    assert cuts == sorted(cuts) and len(cuts) >= 3
    assert all(b - a <= PIECE * height for a, b in pairwise(edges))
    empty = background_columns(crop)
    for cut in cuts:  # in the middle of a word space: no ink an eighth of the height either way
        assert empty[cut - height // 8: cut + height // 8 + 1].all()


def test_lines_without_word_gaps_or_short_enough_stay_whole() -> None:
    assert cut_columns(line_crop("Short line of text")) == []
    assert cut_columns(line_crop(LONG), piece=0) == []
    assert cut_columns(line_crop(LONG), piece=200) == []  # narrower than 200 heights
    assert cut_columns(line_crop("Unbroken" * 30)) == []  # letters only: no gap a sixth of the height wide
    noise = np.random.default_rng(0).integers(0, 256, (30, 2000, 3), dtype=np.uint8)
    assert cut_columns(noise) == []


def test_reading_in_pieces_joins_their_texts_and_weights_their_confidences() -> None:
    crops = [line_crop(LONG), line_crop("Short line")]
    calls: list[list[int]] = []

    def read(parts: list[np.ndarray]) -> list[tuple[str, float]]:
        calls.append([p.shape[1] for p in parts])
        return [(f" w{p.shape[1]} " if i % 2 else "", 0.5 if i % 2 else 0.9) for i, p in enumerate(parts)]

    (text, confidence), short = in_pieces(read)(crops)
    widths = calls[0][:-1]
    assert len(widths) >= 3 and len(calls) == 1
    assert sum(widths) == crops[0].shape[1] and calls[0][-1] == crops[1].shape[1]
    assert text == " ".join(f"w{w}" for i, w in enumerate(widths) if i % 2)  # empty texts left out
    expected = np.exp(sum(w * np.log(0.5 if i % 2 else 0.9) for i, w in enumerate(widths)) / sum(widths))
    assert confidence == pytest.approx(expected, rel=1e-12)
    assert short == ((f" w{crops[1].shape[1]} " if len(widths) % 2 else ""), 0.5 if len(widths) % 2 else 0.9)
    assert in_pieces(read, piece=0) is read

    def read_zero(parts: list[np.ndarray]) -> list[tuple[str, float]]:
        return [("x", 0.0 if i == 1 else 0.9) for i, _ in enumerate(parts)]

    assert in_pieces(read_zero)(crops[:1])[0][1] == 0.0  # a piece read at no confidence: the line too
    assert cut_columns(line_crop(LONG)[:, :, 0]) == cut_columns(line_crop(LONG))  # grey crops too (black on white)
    assert cut_columns(np.zeros((0, 50, 3), np.uint8)) == []


def test_the_shipped_line_model_reads_a_long_line_in_pieces_to_its_text() -> None:
    from recog_edge import EdgeLineModel
    from recog_edge.models import resolve

    model = EdgeLineModel(resolve("latin-lines"))

    counts: list[int] = []

    def read(crops: list[np.ndarray]) -> list[tuple[str, float]]:
        counts.append(len(crops))
        return [(r.text, r.confidence) for r in model.read(crops)]

    crop = line_crop(LONG)
    (text, confidence), = in_pieces(read)([crop])
    assert counts == [len(cut_columns(crop)) + 1] and counts[0] >= 4
    (whole, _), = read([crop])
    print(f"in pieces: {text!r}\nwhole:     {whole!r}")
    assert text == whole == LONG
    assert 0.5 < confidence <= 1.0


def test_a_page_reads_its_long_lines_in_pieces() -> None:
    from recog_edge.boxes import crop_box
    from recog_edge.pages import read_page

    crop = line_crop(LONG)
    page = np.full((crop.shape[0] + 40, crop.shape[1] + 40, 3), 255, np.uint8)
    page[20: 20 + crop.shape[0], 20: 20 + crop.shape[1]] = crop
    box = np.array([[20, 20], [20 + crop.shape[1], 20], [20 + crop.shape[1], 20 + crop.shape[0]],
                    [20, 20 + crop.shape[0]]], np.float32)
    widths: list[list[int]] = []

    def read(parts: list[np.ndarray]) -> list[tuple[str, float]]:
        widths.append([p.shape[1] for p in parts])
        return [(f"p{len(widths[-1])}", 0.9) for _ in parts]

    pieces = read_page(page, "page", lambda image: [(box, 1.0)], read, turn=False)
    assert len(widths[0]) == len(cut_columns(crop_box(page, box))) + 1 >= 3
    assert pieces.text == " ".join([f"p{len(widths[0])}"] * len(widths[0]))
    whole = read_page(page, "page", lambda image: [(box, 1.0)], read, turn=False, piece=0)
    assert len(widths[1]) == 1 and whole.text == "p1"


@pytest.mark.parametrize("runtime", ["recog", "recog-edge"])
def test_both_clis_read_long_page_lines_in_pieces_unless_told_otherwise(runtime: str, tmp_path, capsys) -> None:
    """``--pieces 0`` reads the long lines whole: the same text, at the whole line's confidence
    rather than the pieces' width-weighted mean; a negative width is refused."""
    import json

    from recog.cli import main as recog_main
    from recog_edge.cli import main as edge_main

    main = recog_main if runtime == "recog" else edge_main
    path = tmp_path / "long_lines.png"
    Image.fromarray(long_lines_page()).save(path)
    pages = {}
    for flags in ([], ["--pieces", "0"]):
        assert main(["ocr", str(path), "--detect", "--output", "-", *flags]) == 0
        pages[len(flags)] = json.loads(capsys.readouterr().out)
    assert pages[0]["text"] == pages[2]["text"] and len(pages[0]["lines"]) == 2
    assert all(a["confidence"] != b["confidence"] for a, b in zip(pages[0]["lines"], pages[2]["lines"], strict=True))
    with pytest.raises(SystemExit) as refused:
        main(["ocr", str(path), "--pieces", "-1"])
    assert refused.value.code == 2 and "--pieces" in capsys.readouterr().err
