"""benchmarks/page_errors.py: a page's OCR errors split into misread lines, missed and extra boxes,
and the page CER without rule lines."""

from __future__ import annotations

import json

from benchmarks.page_errors import main, tally, without_rules

BOX = {"hello": [[10, 10], [110, 10], [110, 30], [10, 30]], "rule": [[10, 40], [210, 40], [210, 50], [10, 50]],
       "total": [[10, 60], [80, 60], [80, 80], [10, 80]], "dots": [[300, 10], [330, 10], [330, 20], [300, 20]]}
REFERENCE = {"image_filepath": "images/test/000000.png", "kind": "receipt", "text": "Hello world\n----------\nTotal 5",
             "lines": [{"text": "Hello world", "points": BOX["hello"]}, {"text": "----------", "points": BOX["rule"]},
                       {"text": "Total 5", "points": BOX["total"]}]}
# the rule line missed, one letter misread, window buttons read as text
OUTPUT = {"image_filepath": "data/pages/images/test/000000.png", "kind": "receipt", "text": "0 0 0 Hello wrld\nTotal 5",
          "lines": [{"text": "0 0 0", "box": BOX["dots"]}, {"text": "Hello wrld", "box": BOX["hello"]},
                    {"text": "Total 5", "box": BOX["total"]}]}


def test_errors_are_split_by_where_they_come_from() -> None:
    import numpy as np

    ref = {**REFERENCE, "polygons": [np.asarray(line["points"], np.float32) for line in REFERENCE["lines"]]}
    counts = tally(ref, OUTPUT, 0.5)
    assert counts["misread"] == 1 and counts["missed"] == 10 and counts["extra"] == 5
    assert counts["chars"] == len("Hello world ---------- Total 5") and counts["edits"] == 6 + 1 + 11
    assert counts["plain_chars"] == len("Hello world Total 5") and counts["plain_edits"] == 6 + 1
    page_only = tally(ref, {"text": OUTPUT["text"]}, 0.5)  # a system without line boxes: page figures only
    assert page_only.keys() == {"chars", "edits", "plain_chars", "plain_edits"}
    assert without_rules("a\n=== ===\n- a -\n...") == "a\n- a -"


def test_the_report_reads_an_ocr_pages_json(tmp_path, capsys) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "test.jsonl").write_text(json.dumps(REFERENCE) + "\n")
    image = str(pages / REFERENCE["image_filepath"])
    run = {"manifest": str(pages / "test.jsonl"),
           "systems": [{"name": "recog", "per_page": [{**OUTPUT, "image_filepath": image}]},
                       {"name": "Tesseract", "per_page": [{"image_filepath": image, "text": REFERENCE["text"]}]}]}
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert main([str(tmp_path / "run.json")]) == 0
    out = capsys.readouterr().out
    assert "== recog" in out and "== Tesseract" in out
    recog_part, tesseract_part = out.split("== Tesseract")
    assert "60.00%" in recog_part  # 18 edits of 30 characters
    assert "receipt         0.00%     0.00%        -        -        -" in tesseract_part
    (tmp_path / "bad.json").write_text("{")
    assert main([str(tmp_path / "bad.json")]) == 2
    assert "bad.json" in capsys.readouterr().err
