"""Files written whole: recog_edge.files.atomic_path, which every writer of recog and the recipes uses."""

from __future__ import annotations

import stat

import pytest

from recog_edge.files import atomic_path, write_text_atomic


def test_atomic_path_renames_into_place_readable_by_all(tmp_path):
    target = tmp_path / "sub" / "out.jsonl"
    with atomic_path(target) as part:
        assert part.parent == target.parent and part != target and part.name.startswith(".out.jsonl.")
        part.write_text("a\n")
        assert not target.exists()  # nothing at the path until the block ends
    assert target.read_text() == "a\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.jsonl"]


def test_atomic_path_leaves_the_old_file_and_no_temporary_when_the_block_raises(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as part:
        part.write_text("half")
        raise RuntimeError("stopped")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_two_writers_of_one_file_at_once_each_finish(tmp_path):
    """Two recipe runs side by side write the same manifest: each has its own temporary, so
    neither rename fails (one fixed ``.NAME.part`` made the second rename find nothing)."""
    target = tmp_path / "train.jsonl"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second
        first.write_text("first")
        second.write_text("second")
    assert target.read_text() == "first"  # the outer block ends last: the last rename wins
    assert [p.name for p in tmp_path.iterdir()] == ["train.jsonl"]
