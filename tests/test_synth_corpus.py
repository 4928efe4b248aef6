"""Tests for the synthetic speech recipe (recipes/synth_speech): the sentence generator, the
voice split, and prepare.py end to end on a tiny corpus."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from tests.helpers import check_prefix_stable, recipe_modules

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "synth_speech"
PREPARE = RECIPE / "prepare.py"
HAS_TOOLS = all(shutil.which(tool) for tool in ("espeak-ng", "sox"))
needs_tools = pytest.mark.skipif(not HAS_TOOLS, reason="espeak-ng and sox are required")
TEXT_RE = re.compile(r"[a-z']+( [a-z']+)*")
FIELDS = {"audio_filepath", "duration", "text", "voice"}


@pytest.fixture(scope="module")
def recipe():
    with recipe_modules(RECIPE, "sentences", "prepare") as modules:
        yield modules


def variant(voice: str) -> str | None:
    """The espeak-ng variant of a voice id ("espeak:en-us+Alex" -> "Alex"), else None."""
    return voice.split("+", 1)[1] if "+" in voice else None


def test_make_sentences_deterministic_and_clean(recipe):
    first = check_prefix_stable(recipe.sentences.make_sentences, 300, 100)
    for text in first:
        assert TEXT_RE.fullmatch(text), text
        assert 3 <= len(text.split()) <= 12, text


def test_split_variants_keeps_families_together(recipe):
    names = ["klatt", "klatt2", "klatt3", "m1", "m2", "whisper", "whisperf", *[f"v{c}" for c in "abcdefghij"]]
    split = recipe.prepare.split_variants(names)
    assert sorted(sum(split.values(), [])) == sorted(names)
    where = {name: s for s, group in split.items() for name in group}
    assert where["klatt"] == where["klatt2"] == where["klatt3"]
    assert where["whisper"] == where["whisperf"]
    assert split["test"] and split["dev"]


@needs_tools
def test_installed_voice_split_is_disjoint(recipe):
    voices = recipe.prepare.discover_voices()
    variants = {s: {variant(v) for v in voices[s] if variant(v)} for s in voices}
    assert voices["train"] and voices["dev"] and voices["test"]
    for held_out in ("dev", "test"):
        assert not set(voices[held_out]) & set(voices["train"])
        assert not variants[held_out] & variants["train"]
        assert all(variant(v) or v.startswith("flite:") for v in voices[held_out])  # no bare accents
    assert not variants["dev"] & variants["test"]


def run_prepare(out: Path) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        str(PREPARE),
        "--out",
        str(out),
        "--num-train",
        "6",
        "--num-dev",
        "2",
        "--num-test",
        "2",
        "--workers",
        "2",
        "--noise-prob",
        "0.5",
        "--reverb-prob",
        "0.5",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@needs_tools
def test_prepare_tiny_corpus(tmp_path):
    proc = run_prepare(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {}
    for split, count in (("train", 6), ("dev", 2), ("test", 2)):
        manifest = tmp_path / f"{split}.jsonl"
        assert manifest.is_file()
        rows[split] = [json.loads(line) for line in manifest.read_text().splitlines()]
        assert len(rows[split]) == count
        for row in rows[split]:
            assert set(row) == FIELDS
            assert not Path(row["audio_filepath"]).is_absolute()
            path = manifest.parent / row["audio_filepath"]
            assert path.is_file()
            info = soundfile.info(str(path))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert row["duration"] == pytest.approx(info.frames / info.samplerate, abs=1e-3)
            assert 0.3 < row["duration"] < 8.0
            assert TEXT_RE.fullmatch(row["text"])

    texts = {split: {r["text"] for r in split_rows} for split, split_rows in rows.items()}
    assert not texts["train"] & texts["dev"] and not texts["train"] & texts["test"]
    assert not texts["dev"] & texts["test"]
    train_voices = {r["voice"] for r in rows["train"]}
    train_variants = {variant(v) for v in train_voices}
    for r in rows["test"] + rows["dev"]:
        assert r["voice"] not in train_voices
        assert variant(r["voice"]) is None or variant(r["voice"]) not in train_variants

    # The run's full voice sets (recorded beside the manifests) are disjoint too, and each row's
    # voice belongs to its split's set.
    config = json.loads((tmp_path / "prepare_config.json").read_text())
    all_train_variants = {variant(v) for v in config["voices"]["train"]} - {None}
    for split, split_rows in rows.items():
        assert {r["voice"] for r in split_rows} <= set(config["voices"][split])
    for v in config["voices"]["test"]:
        assert v not in config["voices"]["train"] and variant(v) not in all_train_variants

    # A second run reuses every wav and writes the same manifests.
    before = {s: (tmp_path / f"{s}.jsonl").read_text() for s in rows}
    again = run_prepare(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 made, 10 reused, 0 failed" in again.stdout
    assert before == {s: (tmp_path / f"{s}.jsonl").read_text() for s in rows}
