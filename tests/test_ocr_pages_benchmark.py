"""benchmarks/ocr_pages.py with several line models or piece widths: every page read by each variant
in turn, the order alternating, and each later variant's figures divided by the first's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from benchmarks.ocr_pages import PageRef, compared, parse_args, score, summary, variants

BOX = np.array([[0, 0], [40, 0], [40, 10], [0, 10]], np.float32)


class FakeReader:
    """A page reader that returns ``text`` as one line and logs which reader read which page."""

    def __init__(self, name: str, text: str, log: list[tuple[str, str]]) -> None:
        self.name, self.text, self.log = name, text, log

    def read(self, path: str) -> SimpleNamespace:
        self.log.append((self.name, path))
        line = SimpleNamespace(text=self.text, box=BOX.tolist(), confidence=0.9)
        return SimpleNamespace(text=self.text, lines=[line])


def test_line_models_read_each_page_in_alternating_turns_and_compare(capsys) -> None:
    pages = [PageRef(f"p{i}.png", "document", 1240, 1754, "abcd", [BOX]) for i in range(4)]
    log: list[tuple[str, str]] = []
    readers = [FakeReader("a", "abcd", log), FakeReader("b", "abxd", log)]
    runs = compared("recog-edge", ["a", "b"], ["lines a", "lines b"], readers, pages)
    assert log[:2] == [("a", "p0.png"), ("b", "p0.png")]  # untimed warm-ups
    assert log[2:] == [("a", "p0.png"), ("b", "p0.png"), ("b", "p1.png"), ("a", "p1.png"),
                       ("a", "p2.png"), ("b", "p2.png"), ("b", "p3.png"), ("a", "p3.png")]
    assert [run.name for run in runs] == ["recog-edge [a]", "recog-edge [b]"]
    assert [out.text for out in runs[1].pages] == ["abxd"] * 4
    results = [score(run, pages, 0.5) for run in runs]
    assert results[0]["cer"] == 0.0 and results[1]["cer"] == 0.25
    assert results[1]["system"] == "recog-edge" and results[1]["variant"] == "b"
    summary(results)
    out = capsys.readouterr().out
    assert "recog-edge [b] / recog-edge [a] (below 1: b better): page CER inf" in out
    single = compared("recog", [None], ["a"], readers[:1], pages)
    assert single[0].name == "recog"  # one line model: named as before (benchmarks/reading_order.py looks for it)


def test_line_models_must_differ() -> None:
    assert parse_args(["--lines", "a, b"]).lines == ["a", "b"]
    assert all(refused("--lines", bad) for bad in ("a,a", ","))


def test_variants_are_named_by_what_varies() -> None:
    assert variants(["m"], [16]) == [("m", 16, None)]
    assert variants(["a", "b"], [16]) == [("a", 16, "a"), ("b", 16, "b")]
    assert variants(["m"], [0, 16]) == [("m", 0, "pieces 0"), ("m", 16, "pieces 16")]
    assert [label for *_, label in variants(["a", "b"], [0, 8])] == ["a, pieces 0", "a, pieces 8", "b, pieces 0",
                                                                     "b, pieces 8"]
    assert parse_args([]).pieces == [16] and parse_args(["--pieces", "0, 16"]).pieces == [0, 16]
    assert all(refused("--pieces", bad) for bad in ("0,0", "-1", "x", ","))


def refused(*argv: str) -> bool:
    """Whether the command line is refused as argparse refuses (exit status 2)."""
    try:
        parse_args(list(argv))
    except SystemExit as err:
        return err.code == 2
    return False
