"""Words and segments from tokens, and the subtitle formats (recog_edge.segments; recog transcribe
--format / --output-dir)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from recog_edge.segments import Word, render, segments_of, words_of

CHARS = list("hello world")
CHAR_STARTS = [0.1, 0.14, 0.18, 0.22, 0.26, 0.4, 0.5, 0.54, 0.58, 0.62, 0.66]


def test_words_from_character_tokens_end_where_the_space_is_emitted() -> None:
    words = words_of(CHARS, CHAR_STARTS, [0.9] * 10 + [0.5], step=0.04)
    assert [(w.text, w.start, w.end) for w in words] == [("hello", 0.1, 0.4), ("world", 0.5, 0.7)]
    assert words[1].confidence == pytest.approx((0.9 * 4 + 0.5) / 5)


def test_words_from_sentencepiece_tokens_end_where_the_next_word_starts() -> None:
    words = words_of(["\u2581hel", "lo", "\u2581world", "s"], [0.1, 0.2, 0.5, 0.6], [1.0] * 4, step=0.08)
    assert [(w.text, w.start, w.end) for w in words] == [("hello", 0.1, 0.5), ("worlds", 0.5, 0.68)]
    assert words_of([], [], [], step=0.04) == []


def test_segments_split_at_pauses_and_length() -> None:
    words = [Word("a", 0.0, 0.3, 1), Word("b", 0.35, 0.6, 1), Word("c", 2.0, 2.3, 1), Word("d", 2.4, 9.9, 1)]
    segments = segments_of(words, max_gap=0.8, max_seconds=5.0)
    assert [(s.text, s.start, s.end) for s in segments] == [("a b", 0.0, 0.6), ("c", 2.0, 2.3), ("d", 2.4, 9.9)]
    assert [len(s.words) for s in segments_of(words, max_chars=3)] == [2, 2]  # "c d" fits in 3 characters
    assert [len(s.words) for s in segments_of(words, max_chars=2)] == [1, 1, 1, 1]
    cut = segments_of(words, max_seconds=20.0, breaks={1: 0.32})  # a cut pause, the speech after it starts at 0.32
    assert [(s.text, s.start) for s in cut] == [("a", 0.0), ("b", 0.32), ("c d", 2.0)]
    assert segments_of(words, breaks={1: 0.4})[1].start == 0.35  # never after its first word


SRT = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)\n")


def parse_srt(text: str) -> list[tuple[int, float, float, str]]:
    cues = []
    for m in SRT.finditer(text):
        g = m.groups()
        to_s = lambda h, mi, s, ms: int(h) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000  # noqa: E731
        cues.append((int(g[0]), to_s(*g[1:5]), to_s(*g[5:9]), g[9]))
    return cues


def test_srt_vtt_tsv_parse_back_in_order() -> None:
    words = [Word(w, 3600 * i + 1.5 * i, 3600 * i + 1.5 * i + 1.0, 1) for i, w in enumerate(["one", "two", "three"])]
    segments = segments_of(words)
    srt = render("srt", segments, "")
    cues = parse_srt(srt)
    assert [c[0] for c in cues] == [1, 2, 3] and [c[3] for c in cues] == ["one", "two", "three"]
    assert all(c[1] < c[2] for c in cues) and all(a[2] <= b[1] for a, b in zip(cues, cues[1:], strict=False))
    assert cues[2][1] == pytest.approx(7203.0)  # hours roll over
    vtt = render("vtt", segments, "")
    assert vtt.startswith("WEBVTT\n\n") and "02:00:03.000 --> 02:00:04.000\nthree" in vtt
    assert render("tsv", segments, "").splitlines()[1] == "0\t1000\tone"
    assert render("txt", segments, "") == "one\ntwo\nthree\n"
    assert json.loads(render("json", segments, "x"))["segments"][0]["words"][0]["text"] == "one"
    with pytest.raises(ValueError, match="format"):
        render("doc", segments, "")


def test_cli_writes_each_input_in_each_format(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from recog.checkpoint import save_model
    from recog.cli import main
    from tests.helpers import tiny_recognizer

    model = save_model(tiny_recognizer([8, 3]), tmp_path / "m")
    examples = Path(__file__).resolve().parents[1] / "examples"
    out = tmp_path / "subs"
    assert main(["transcribe", str(examples / "hello.wav"), str(examples / "meeting.ogg"), "--model", str(model),
                 "--output-dir", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}.{fmt}" for stem in ("hello", "meeting") for fmt in ("txt", "srt", "vtt", "tsv", "json"))
    row = json.loads((out / "hello.json").read_text())
    assert row["audio_filepath"].endswith("hello.wav") and "segments" in row
    assert all(c[1] <= c[2] for c in parse_srt((out / "hello.srt").read_text()))
    capsys.readouterr()
    assert main(["transcribe", str(examples / "hello.wav"), "--model", str(model), "--format", "vtt"]) == 0
    assert capsys.readouterr().out.startswith("WEBVTT")


def test_ocr_writes_line_images_as_json_and_refuses_subtitle_formats(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    from recog.checkpoint import save_model
    from recog.cli import main
    from tests.helpers import tiny_line_recognizer

    model = save_model(tiny_line_recognizer({"ctc": {}}), tmp_path / "m")
    examples = Path(__file__).resolve().parents[1] / "examples"
    out = tmp_path / "lines"
    assert main(["ocr", str(examples / "price.png"), str(examples / "sentence.jpg"), "--model", str(model),
                 "--output-dir", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["price.json", "sentence.json"]
    row = json.loads((out / "price.json").read_text())
    assert row["image_filepath"].endswith("price.png") and "segments" not in row  # no subtitle times in pixels
    assert main(["ocr", str(examples / "price.png"), "--model", str(model), "--format", "txt", "--output-dir",
                 str(out), "--quiet"]) == 0
    assert (out / "price.txt").read_text() == row["text"] + "\n"  # the line's text, not a word per line
    with pytest.raises(SystemExit):
        main(["ocr", str(examples / "price.png"), "--model", str(model), "--format", "srt"])
    assert "invalid choice: 'srt'" in capsys.readouterr().err
