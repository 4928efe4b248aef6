"""Tests for the synthetic OCR recipe (recipes/synth_ocr): the text generator, the font split,
and prepare.py end to end on a tiny corpus."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import check_prefix_stable, recipe_modules

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "synth_ocr"
PREPARE = RECIPE / "prepare.py"
PRINTABLE = set(string.printable[:95])  # U+0020..U+007E
COUNTS = {"train": 8, "dev": 2, "test": 2}


@pytest.fixture(scope="module")
def recipe():
    with recipe_modules(RECIPE, "texts", "fonts") as modules:
        yield modules


@pytest.fixture(scope="module")
def faces(recipe):
    """The usable faces; skips when fontTools or the Debian font packages are missing."""
    pytest.importorskip("fontTools")
    try:
        return recipe.fonts.fonts()
    except RuntimeError as err:
        pytest.skip(f"no fonts: {err}")


def valid_text(text: str) -> bool:
    return 1 <= len(text) <= 60 and set(text) <= PRINTABLE and text == text.strip() and "  " not in text


# ---------------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------------


def test_make_texts_deterministic_prefix_stable_and_valid(recipe):
    texts = check_prefix_stable(recipe.texts.make_texts, 3000, 500)
    bad = [t for t in texts if not valid_text(t)]
    assert not bad, bad[:5]
    with pytest.raises(ValueError):
        recipe.texts.make_texts(-1, seed=0)


def test_make_texts_mixes_categories(recipe):
    texts = recipe.texts.make_texts(20000, seed=0)
    n = len(texts)

    def share(pred) -> float:
        return sum(map(pred, texts)) / n

    assert 0.3 < share(lambda t: any(c.isdigit() for c in t)) < 0.8
    assert share(lambda t: any(c.isupper() for c in t)) > 0.4
    assert share(lambda t: t.isupper()) > 0.05  # UPPER CASE lines
    assert share(lambda t: t.islower() and not any(c.isdigit() for c in t)) > 0.05  # lowercase words
    assert share(lambda t: "@" in t) > 0.03  # e-mail addresses
    assert share(lambda t: len(t) == 1) > 0.003  # single characters
    assert share(lambda t: len(t) >= 40) > 0.03  # and long lines
    assert share(lambda t: "$" in t or " EUR" in t or "USD" in t) > 0.02  # prices
    assert any(c in t for t in texts for c in "/-") and share(lambda t: ":" in t) > 0.05
    assert any(len(t) == 10 and t[4] == "-" and t[7] == "-" and t[:4].isdigit() for t in texts)  # 2024-03-15
    assert any(t.startswith(("http://", "https://", "www.")) for t in texts)
    assert set("".join(texts)) == PRINTABLE  # every printable ASCII character occurs


# ---------------------------------------------------------------------------------------------
# Fonts
# ---------------------------------------------------------------------------------------------


def test_split_groups_stratified(recipe):
    groups = {f"sans{i}": "sans" for i in range(10)} | {f"serif{i}": "serif" for i in range(5)} | {"script": "script"}
    split = recipe.fonts.split_groups(groups, seed=0)
    assert split == recipe.fonts.split_groups(groups, seed=0)
    assert sorted(sum(split.values(), [])) == sorted(groups)  # each group exactly once
    assert len(split["test"]) == 3 and len(split["dev"]) == 2  # 2+1 test, 1+1 dev (10*0.1, 5*0.1 rounded)
    assert "script" in split["train"]  # a category's only group stays in train
    assert {g for g in split["test"] if g.startswith("serif")}  # every category with >= 2 groups is tested
    seeds = {tuple(recipe.fonts.split_groups(groups, seed=s)["test"]) for s in range(6)}
    assert len(seeds) > 1  # the seed changes the split


def test_symbol_fonts_are_recognised(recipe):
    letters = [*range(0x41, 0x5B), *range(0x61, 0x7B)]
    latin = {c: chr(c) for c in letters}
    assert recipe.fonts._looks_latin(latin)
    assert recipe.fonts._looks_latin({c: f"uni{c:04X}" for c in letters})  # generic glyph names pass
    greek = dict(zip(letters, ["Alpha", "Beta", "Chi", "Delta", "Epsilon", "Phi", "Gamma", "Eta"] * 7, strict=False))
    assert not recipe.fonts._looks_latin(greek)


def test_font_split_holds_out_whole_design_groups(recipe, faces):
    split = recipe.fonts.face_split(0)
    assert all(split[s] for s in ("train", "dev", "test"))
    groups = {s: {f.group for f in split[s]} for s in split}
    families = {s: {f.family for f in split[s]} for s in split}
    for a, b in (("train", "test"), ("train", "dev"), ("dev", "test")):
        assert not groups[a] & groups[b] and not families[a] & families[b], (a, b)
    all_groups = set().union(*groups.values())
    assert 0.1 <= len(groups["test"]) / len(all_groups) <= 0.3
    # Related families share a split.
    where = {f.family: s for s in split for f in split[s]}
    for related in (("FreeSans", "Nimbus Sans"), ("Noto Sans", "Open Sans"), ("FreeSerif", "Nimbus Roman")):
        if all(r in where for r in related):
            assert len({where[r] for r in related}) == 1, related
    paths = recipe.fonts.font_split(0)
    assert paths == recipe.fonts.font_split(0)
    assert sorted(p for s in paths for p in paths[s]) == sorted(f.path for f in faces)
    assert not set(paths["train"]) & set(paths["test"])


def test_fonts_are_latin_text_faces(recipe, faces):
    from fontTools.ttLib import TTFont

    names = {f.family for f in faces}
    assert not names & set(recipe.fonts.EXCLUDED_FAMILIES)
    assert len({f.name for f in faces}) == len(faces)  # Liberation 1.x/2.x duplicates removed
    for face in faces[:: max(1, len(faces) // 12)]:
        assert Path(face.path).suffix.lower() in (".ttf", ".otf")
        cmap = TTFont(face.path, lazy=True).getBestCmap()
        assert all(ord(c) in cmap for c in PRINTABLE), face.path
    noto = [f for f in faces if f.family.startswith("Noto")]
    assert all(f.family.startswith(("Noto Sans", "Noto Serif")) for f in noto)
    assert len(noto) <= 40  # the Latin faces only, not the hundreds of script files


# ---------------------------------------------------------------------------------------------
# prepare.py end to end
# ---------------------------------------------------------------------------------------------


def run_prepare(out: Path, *extra: str) -> subprocess.CompletedProcess:
    counts = [f"--num-{s}={n}" for s, n in COUNTS.items()]
    cmd = [sys.executable, str(PREPARE), "--out", str(out), *counts, "--seed", "3", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, faces) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("synth_ocr")
    proc = run_prepare(out, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def read_rows(out: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (out / f"{split}.jsonl").read_text().splitlines()]


def test_prepare_writes_manifests_and_images(corpus):
    out, proc = corpus
    assert "files/s" in proc.stdout
    texts, fonts = {}, {}
    for split, n in COUNTS.items():
        rows = read_rows(out, split)
        assert len(rows) == n
        for i, row in enumerate(rows):
            assert {"image_filepath", "text", "font"} <= set(row)
            assert row["image_filepath"] == f"images/{split}/{i:06d}.png"  # relative to the manifest
            assert valid_text(row["text"]), row
            path = out / row["image_filepath"]
            with Image.open(path) as img:
                img.load()
                assert img.format == "PNG" and img.mode in ("L", "RGB")
                # Natural line height: font size (20-48 px) plus padding, the text fills most of it.
                assert 16 <= img.height <= 48 * 1.6 + 24 + 30, (row, img.size)
                assert img.width >= 8
        texts[split] = {r["text"] for r in rows}
        fonts[split] = {r["font"].split("/")[0] for r in rows}
        assert all("/" in r["font"] for r in rows)
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["dev"] and not texts["dev"] & texts["test"]
    assert not fonts["test"] & fonts["train"] and not fonts["dev"] & fonts["train"]
    assert not list(out.rglob("*.part"))  # atomic writes leave no temporary files
    assert json.loads((out / "prepare_config.json").read_text())["seed"] == 3


def test_prepare_is_resumable_and_deterministic(corpus, tmp_path):
    out, _ = corpus
    before = {p: p.read_bytes() for p in sorted(out.rglob("*.png"))}
    proc = run_prepare(out, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "0 made, 12 reused, 0 failed" in proc.stdout
    # A fresh run with two workers renders the very same bytes.
    other = tmp_path / "again"
    proc = run_prepare(other, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    after = {p: p.read_bytes() for p in sorted(other.rglob("*.png"))}
    assert [p.relative_to(out) for p in before] == [p.relative_to(other) for p in after]
    assert list(before.values()) == list(after.values())
    for split in COUNTS:
        assert read_rows(out, split) == read_rows(other, split)


def test_prepare_refuses_changed_settings(corpus):
    out, _ = corpus
    proc = run_prepare(out, "--workers", "1", "--degrade-prob", "0.9")
    assert proc.returncode != 0 and "different settings" in proc.stderr
