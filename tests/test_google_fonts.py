"""Tests for the line recipe's Google Fonts training fonts (recipes/synth_ocr/google_fonts.py):
which families are held out or grouped, which files a family gives, the probe that drops
all-caps and novelty faces, and prepare.py --google-fonts keeping dev and test as they were. No
network: the fetched folder is faked with Debian fonts saved as WOFF."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import recipe_modules

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "synth_ocr"
GO = "/usr/share/fonts/fonts-go/Go-Regular.ttf"  # fonts-go: a training design group ("Go")
GO_SMALLCAPS = "/usr/share/fonts/fonts-go/Go-Smallcaps.ttf"
JETBRAINS = "/usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-Regular.ttf"  # a test design group


@pytest.fixture(scope="module")
def recipe():
    pytest.importorskip("fontTools")
    with recipe_modules(RECIPE, "fonts", "google_fonts") as modules:
        yield modules


def installed(*paths: str) -> None:
    for path in paths:
        if not Path(path).is_file():
            pytest.skip(f"{path} is not installed")


def held_faces(recipe, group: str, family: str):
    return [recipe.fonts.Face("/x.ttf", family, "Regular", group, "sans", "fonts-x")]


def test_families_of_held_designs_are_named_as_held(recipe):
    gf = recipe.google_fonts
    groups, names = gf._held_names(held_faces(recipe, "Lobster", "Lobster Two") + held_faces(recipe, "M+", "M+ 1p"))
    for family in ("Lobster", "Lobster Two", "M+ 1c", "M PLUS 1p", "Rounded Mplus 1c"):
        assert gf.held_reason(family, groups, names), family
    for family in ("Lobsterish", "Lora", "M PLUSH", "ABeeZee"):
        assert gf.held_reason(family, groups, names) is None, family


def test_google_copies_of_the_seed_0_dev_and_test_designs_and_of_reserved_fonts_are_dropped(recipe):
    gf, fonts = recipe.google_fonts, recipe.fonts
    split = fonts.face_split(0)
    groups, names = gf._held_names(split["dev"] + split["test"])
    for family in ("Vollkorn", "Vollkorn SC", "Comfortaa", "JetBrains Mono", "Andika", "Averia Serif Libre",
                   "Lobster Two", "Leckerli One", "Linden Hill", "Old Standard TT", "Yanone Kaffeesatz", "Arapey",
                   "Libre Baskerville", "Baskervville", "IM Fell English", "GFS Didot"):
        assert gf.held_reason(family, groups, names), family
    for family in ("Lora", "EB Garamond", "STIX Two Text", "Libre Caslon Text", "Fira Mono", "Average"):
        assert gf.held_reason(family, groups, names) is None, family
    for family in ("Heebo", "Inter Tight", "Roboto Serif", "Lato", "Open Sans", "Libertinus Serif"):
        assert fonts.reserved_reason(family), family
    # Copies of training designs join their group: drawn as one design with the Debian faces.
    assert [gf.lineage_group(f) for f in ("STIX Two Text", "M PLUS 1p", "Fira Mono", "Lora")] == [
        "Times-like", "M+", "Fira Code", None]


def test_superfamilies_are_one_group_and_shared_generic_words_are_not(recipe):
    groups = recipe.google_fonts.superfamily_of(
        ["Playwrite AR", "Playwrite BE VLG", "Playwrite CL", "Libre Franklin", "Libre Caslon Text", "Libre Bodoni",
         "Baloo 2", "Baloo Bhai 2", "Lora"])
    assert groups == {"Playwrite AR": "Playwrite", "Playwrite BE VLG": "Playwrite", "Playwrite CL": "Playwrite"}


def test_a_family_gives_its_regular_and_bold_upright_and_italic(recipe):
    pick = recipe.google_fonts.pick_files
    assert pick("x", {"weights": [300, 400, 700, 900], "styles": ["normal", "italic"]}) == [
        "package/files/x-latin-400-normal.woff", "package/files/x-latin-400-italic.woff",
        "package/files/x-latin-700-normal.woff", "package/files/x-latin-700-italic.woff"]
    assert pick("x", {"weights": [400], "styles": ["normal"]}) == ["package/files/x-latin-400-normal.woff"]
    assert pick("x", {"weights": [500, 800], "styles": ["normal"]}) == [
        "package/files/x-latin-500-normal.woff", "package/files/x-latin-800-normal.woff"]
    assert pick("x", {"weights": [100, 200], "styles": ["normal"]}) == []  # too thin for 20 px lines


def fake_fetch(folder: Path, fonts: dict[str, tuple[str, str]], renamed: tuple[str, ...] = ()) -> None:
    """A folder as fetch() leaves it: ``{id: (Google family, source TTF)}``, each saved as WOFF;
    the files of the ids in ``renamed`` get the Google family's name in their name table (a
    design Debian does not have)."""
    from fontTools.ttLib import TTFont

    folder.mkdir(parents=True, exist_ok=True)
    for family_id, (family, source) in fonts.items():
        (folder / family_id).mkdir()
        (folder / family_id / ".done").write_text("5.0.0")
        font = TTFont(source)
        if family_id in renamed:
            for record in font["name"].names:
                if record.nameID in (1, 4, 16):
                    record.string = family
        font.flavor = "woff"
        font.save(folder / family_id / f"{family_id}-latin-400-normal.woff")
    families = {i: {"family": family, "category": "sans", "version": "5.0.0"} for i, (family, _) in fonts.items()}
    (folder / "families.json").write_text(json.dumps(families))


def test_candidates_drop_held_and_reserved_families_and_training_needs_the_probe(recipe, tmp_path):
    installed(GO, JETBRAINS)
    gf = recipe.google_fonts
    folder = tmp_path / "google"
    fake_fetch(folder, {"testing-sans": ("Testing Sans", GO), "mystery-mono": ("Mystery Mono", JETBRAINS),
                        "lobster-two": ("Lobster Two", GO), "lato": ("Lato", GO),
                        "noto-sans-thai": ("Noto Sans Thai", GO), "petit-sc": ("Petit SC", GO),
                        "go-copy": ("Go Copy", GO)}, renamed=("testing-sans",))
    debian = recipe.fonts.face_split(0)
    faces, dropped = gf.candidate_faces(folder, debian)
    assert [(f.family, f.group) for f in faces] == [("Testing Sans", "Testing Sans")]
    assert faces[0].package == "@fontsource/testing-sans@5.0.0" and faces[0].path.endswith(".woff")
    reasons = dict(dropped)
    assert "JetBrains Mono" in reasons[str(folder / "mystery-mono" / "mystery-mono-latin-400-normal.woff")]
    assert "held design" in reasons["Lobster Two"]
    assert reasons["Lato"] == "in the trdg wheel" and reasons["Noto Sans Thai"].startswith("Noto")
    assert reasons["Petit SC"] == "small capitals"
    assert reasons[str(folder / "go-copy" / "go-copy-latin-400-normal.woff")] == "a Debian training family"
    with pytest.raises(FileNotFoundError, match="not probed"):
        gf.train_faces(folder, debian)
    key = "testing-sans/testing-sans-latin-400-normal.woff"  # relative to the folder
    assert gf.probe_key(faces[0].path, folder) == key
    (folder / gf.PROBE_FILE).write_text(json.dumps({"model": "latin-lines", "faces": {key: [0.9, 0.0]}}))
    kept, dropped = gf.train_faces(folder, debian)
    assert not kept and "novelty" in dict(dropped)[faces[0].path]
    (folder / gf.PROBE_FILE).write_text(json.dumps({"model": "latin-lines", "faces": {key: [0.02, 0.0]}}))
    assert gf.train_faces(folder, debian)[0] == faces
    moved = tmp_path / "moved"
    folder.rename(moved)  # the probe's keys hold wherever the folder is, however it is named
    assert [f.family for f in gf.train_faces(Path(os.path.relpath(moved)), debian)[0]] == ["Testing Sans"]
    (moved / "testing-sans" / ".done").write_text("4.9.0")  # files of another version than families.json
    assert "not fetched" in dict(gf.candidate_faces(moved, debian)[1])["Testing Sans"]


def test_probe_reads_small_capitals_as_capitals(recipe, tmp_path):
    installed(GO, GO_SMALLCAPS)
    gf = recipe.google_fonts
    faces = [recipe.fonts.Face(path, name, "Regular", name, "sans", "x") for path, name in
             ((GO, "Go"), (GO_SMALLCAPS, "Go Smallcaps"))]
    results = gf.probe(faces, tmp_path)
    (go_cer, go_upper), (sc_cer, sc_upper) = results[GO], results[GO_SMALLCAPS]
    assert go_cer < 0.1 and go_upper == 0.0 and gf.probe_reason(go_cer, go_upper) is None
    assert sc_upper > gf.MAX_UPPER_SHARE and "capitals" in gf.probe_reason(sc_cer, sc_upper)
    assert json.loads((tmp_path / gf.PROBE_FILE).read_text())["faces"][GO] == [go_cer, go_upper]


def test_prepare_trains_on_google_faces_and_keeps_dev_and_test(recipe, tmp_path):
    installed(GO)
    folder = tmp_path / "google"
    fake_fetch(folder, {"testing-sans": ("Testing Sans", GO)}, renamed=("testing-sans",))
    face = recipe.google_fonts.candidate_faces(folder, recipe.fonts.face_split(0))[0][0]
    key = recipe.google_fonts.probe_key(face.path, folder)
    (folder / "probe.json").write_text(json.dumps({"model": "latin-lines", "faces": {key: [0.0, 0.0]}}))

    def prepare(out: Path, *extra: str) -> dict[str, list[dict]]:
        cmd = [sys.executable, str(RECIPE / "prepare.py"), "--out", str(out), "--num-train", "60", "--num-dev", "3",
               "--num-test", "3", "--workers", "1", *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return {s: [json.loads(x) for x in (out / f"{s}.jsonl").read_text().splitlines()]
                for s in ("train", "dev", "test", "dev_degraded", "test_degraded")}

    plain = prepare(tmp_path / "plain")
    google = prepare(tmp_path / "google_corpus", "--google-fonts", str(folder), "--google-share", "0.5")
    for split in ("dev", "test", "dev_degraded", "test_degraded"):
        assert google[split] == plain[split], split
        for row in google[split]:
            same = (tmp_path / "plain" / row["image_filepath"]).read_bytes()
            assert (tmp_path / "google_corpus" / row["image_filepath"]).read_bytes() == same
    in_google = [r for r in google["train"] if r["font"] == face.name]
    assert 15 <= len(in_google) <= 45  # about half of 60
    assert [r["text"] for r in google["train"]] == [r["text"] for r in plain["train"]]
    # The Google-or-Debian coin has its own generator: a line in the same face either way is the
    # same image, so adding Google faces moves no other draw.
    same = [(a, b) for a, b in zip(plain["train"], google["train"], strict=True) if a["font"] == b["font"]]
    assert len(same) >= 10
    for a, b in same:
        assert a == b
        assert (tmp_path / "plain" / a["image_filepath"]).read_bytes() == (
            tmp_path / "google_corpus" / b["image_filepath"]).read_bytes()
    config = json.loads((tmp_path / "google_corpus" / "prepare_config.json").read_text())
    assert config["google_fonts"]["share"] == 0.5 and config["google_fonts"]["probe_model"] == "latin-lines"
    assert face.name in config["fonts"]["train"]
    proc = subprocess.run([sys.executable, str(RECIPE / "prepare.py"), "--out", str(tmp_path / "x"),
                           "--google-fonts", str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "nowhere" in proc.stderr and "families.json" in proc.stderr
    # A script share needs both kinds of Google face: this folder's one face is a sans.
    proc = subprocess.run([sys.executable, str(RECIPE / "prepare.py"), "--out", str(tmp_path / "y"),
                           "--google-fonts", str(folder), "--google-script-share", "0.4"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and str(folder) in proc.stderr and "0 of its 1 faces" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "y").exists()


def test_script_share_draws_handwriting_faces_for_google_lines_only():
    import numpy as np

    with recipe_modules(RECIPE, "texts", "fonts", "google_fonts", "prepare") as m:
        google = m.google_fonts.GOOGLE_PACKAGE
        faces = ([m.fonts.Face(f"/d{i}.ttf", f"D{i}", "Regular", f"D{i}", "sans", "fonts-d") for i in range(3)]
                 + [m.fonts.Face(f"/g{i}.ttf", f"G{i}", "Regular", f"G{i}", "sans", f"{google}g{i}") for i in range(8)]
                 + [m.fonts.Face("/s.ttf", "S", "Regular", "S", "script", f"{google}s")])

        def picks(script_share: float | None) -> list[str]:
            return [m.prepare.pick_face(faces, np.random.default_rng([0, i]), 0.5, np.random.default_rng([1, i]),
                                        script_share).name for i in range(2000)]

        plain, scripted = picks(None), picks(0.5)
    in_google = [name for name in scripted if not name.startswith("D")]
    assert 0.4 < in_google.count("S/Regular") / len(in_google) < 0.6  # one group of nine, drawn half the time
    assert 0.05 < plain.count("S/Regular") / sum(not n.startswith("D") for n in plain) < 0.17  # one in nine
    # the Debian lines are the same lines in the same faces: the share moves no other draw
    assert [a for a in plain if a.startswith("D")] == [b for b in scripted if b.startswith("D")]
    assert [i for i, a in enumerate(plain) if a.startswith("D")] == [i for i, b in enumerate(scripted)
                                                                     if b.startswith("D")]
