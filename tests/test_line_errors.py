"""benchmarks/line_errors.py: a recog eval --output run's errors grouped by the manifest's fields."""

from __future__ import annotations

import json

import pytest

from benchmarks.line_errors import breakdown, join, main

ROWS = [{"image_filepath": "images/0.png", "text": "hello world", "font": "Lobster Two/Bold", "ops": ["jpeg", "scan"]},
        {"image_filepath": "images/1.png", "text": "good day", "font": "Lobster Two/Regular", "ops": []},
        {"image_filepath": "images/2.png", "text": "exact", "font": "Go/Regular", "ops": ["jpeg"]}]
READ = ["hallo world", "good dy", "exact"]  # one substitution, one deletion, none


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    outputs = [{"image_filepath": f"set/{r['image_filepath']}", "text": t, "reference": r["text"]}
               for r, t in zip(ROWS, READ, strict=True)]
    (tmp_path / "out.jsonl").write_text("".join(json.dumps(o) + "\n" for o in outputs[::-1]))  # any order
    return tmp_path


def test_rows_are_grouped_by_family_and_by_each_item_of_a_list(run):
    pairs = join([json.loads(x) for x in (run / "out.jsonl").read_text().splitlines()], run / "set" / "test.jsonl")
    assert [(row["text"], read.text) for row, read in pairs] == list(zip(
        [r["text"] for r in ROWS[::-1]], READ[::-1], strict=True))
    fonts = breakdown(pairs, "font", "/")
    assert [(g["value"], g["rows"], g["edits"], g["share"]) for g in fonts] == [
        ("Lobster Two", 2, 2, 1.0), ("Go", 1, 0, 0.0)]
    assert fonts[0]["cer"] == pytest.approx(2 / 19)
    assert fonts[0]["wer"] == pytest.approx(2 / 4)
    styles = breakdown(pairs, "font", "")
    assert {g["value"] for g in styles} == {"Lobster Two/Bold", "Lobster Two/Regular", "Go/Regular"}
    ops = {g["value"]: (g["rows"], g["edits"]) for g in breakdown(pairs, "ops", "/")}
    assert ops == {"jpeg": (2, 1), "scan": (1, 1), "none": (1, 1)}


def test_the_report_prints_each_field_and_refuses_an_output_of_another_manifest(run, capsys):
    assert main(["out.jsonl", "--manifest", "set/test.jsonl"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 rows: CER 8.33 %")  # 2 edits of 24 characters
    assert "\nfont " in out and "\nops " in out and "\ntext " not in out
    assert "Lobster Two                          2   10.53%   50.00%      2 100.0%" in out
    (run / "other.jsonl").write_text(json.dumps({"image_filepath": "set/images/9.png", "text": "x",
                                                 "reference": "x"}) + "\n")
    assert main(["other.jsonl", "--manifest", "set/test.jsonl"]) == 2
    assert "9.png" in capsys.readouterr().err
