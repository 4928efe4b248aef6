"""Tests for the synthetic OCR recipe (recipes/synth_ocr): the text generator, the font packages,
the reserved fonts and the font split, the renderer's looks and degradations, prepare.py end to
end on a tiny corpus, the held-out evaluation lines (heldout.py), and benchmarks/ocr_peers.py
without its peers."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import check_prefix_stable, recipe_modules

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "synth_ocr"
PREPARE = RECIPE / "prepare.py"
PRINTABLE = set(string.printable[:95])  # U+0020..U+007E
COUNTS = {"train": 8, "dev": 2, "test": 2}
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
JETBRAINS = "/usr/share/fonts/truetype/jetbrains-mono/JetBrainsMono-Regular.ttf"


@pytest.fixture(scope="module")
def recipe():
    with recipe_modules(RECIPE, "texts", "fonts", "google_fonts", "prepare", "heldout") as modules:
        yield modules


@pytest.fixture(scope="module")
def faces(recipe):
    """The usable faces; skips when fontTools or the Debian font packages are missing."""
    pytest.importorskip("fontTools")
    try:
        return recipe.fonts.fonts()
    except RuntimeError as err:
        pytest.skip(f"no fonts: {err}")


def font_file(path: str) -> str:
    if not Path(path).is_file():
        pytest.skip(f"{path} is not installed")
    return path


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


def test_lm_text_is_the_training_texts_and_never_a_dev_or_test_one(recipe, tmp_path):
    out = tmp_path / "lm.txt"
    assert recipe.texts.main(["--num-train", "300", "--num-dev", "20", "--num-test", "30", "--lm-text", str(out),
                              "--sample", "0"]) == 0
    written = out.read_text().splitlines()
    pool = recipe.texts.make_texts(350, seed=0)
    assert written == pool[50:]  # test first, then dev, then train, as prepare.py carves them
    assert not set(written) & set(pool[:50])


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
# Packages
# ---------------------------------------------------------------------------------------------


def test_one_package_list_for_the_makefile_run_sh_and_prepare(recipe):
    fonts = recipe.fonts
    packages = fonts.PACKAGES
    assert len(set(packages)) == len(packages)
    assert not set(packages) & set(fonts.RESERVED_PACKAGES) and not set(packages) & set(fonts.NOT_USED)
    assert not any(p in ("fonts-dejavu", "fonts-roboto", "fonts-noto") for p in packages)  # concrete, no metapackages
    out = subprocess.run([sys.executable, str(RECIPE / "fonts.py"), "--packages"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.split() == list(packages)
    debs = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("DEBS :="))
    assert "recipes/synth_ocr/fonts.py --packages" in debs
    assert "fonts.py --missing" in (RECIPE / "install_fonts.sh").read_text()
    for script in ("run.sh", "continue.sh"):  # both recipe scripts install the missing packages first
        assert "bash recipes/synth_ocr/install_fonts.sh" in (RECIPE / script).read_text(), script


def test_missing_package_stops_prepare_naming_it(recipe, tmp_path, monkeypatch):
    fonts = recipe.fonts
    assert fonts.missing_packages(("fonts-no-such-package",)) == ["fonts-no-such-package"]
    with pytest.raises(fonts.MissingPackagesError, match="fonts-no-such-package"):
        fonts.check_packages(("fonts-no-such-package-a", "fonts-no-such-package-b"))
    monkeypatch.setattr(fonts, "PACKAGES", (*fonts.PACKAGES, "fonts-no-such-package"))
    with pytest.raises(SystemExit) as stop:
        recipe.prepare.main(["--out", str(tmp_path / "corpus"), "--num-train=1", "--num-dev=1", "--num-test=1"])
    message = str(stop.value.code)
    assert "fonts-no-such-package" in message and "\n" not in message
    assert message.startswith("error: Debian font package") and "apt-get install" in message
    assert not (tmp_path / "corpus").exists()  # stopped before writing anything
    with pytest.raises(ValueError, match="reserved"):
        fonts.check_packages(("fonts-lmodern",))


# ---------------------------------------------------------------------------------------------
# Fonts and the split
# ---------------------------------------------------------------------------------------------


def test_split_groups_is_stable_and_seeded(recipe):
    fonts = recipe.fonts
    groups = {f"sans{i}": "sans" for i in range(300)} | {f"serif{i}": "serif" for i in range(300)}
    split = fonts.split_groups(groups, seed=5)
    assert split == fonts.split_groups(groups, seed=5)
    assert sorted(sum(split.values(), [])) == sorted(groups)  # each group exactly once
    assert 0.15 < len(split["test"]) / len(groups) < 0.25 and 0.06 < len(split["dev"]) / len(groups) < 0.14
    # Adding groups moves none of the others.
    more = groups | {f"new{i}": "mono" for i in range(50)}
    bigger = fonts.split_groups(more, seed=5)
    for name in ("train", "dev", "test"):
        assert set(split[name]) <= set(bigger[name])
    seeds = {tuple(fonts.split_groups(groups, seed=s)["test"]) for s in range(4)}
    assert len(seeds) == 4  # the seed changes the split
    # Seed 0 keeps the first version's split of its groups.
    legacy = fonts.split_groups(dict.fromkeys(fonts.LEGACY_SPLIT, "sans"), seed=0)
    assert {g: s for s in legacy for g in legacy[s]} == fonts.LEGACY_SPLIT
    assert {g for g, s in fonts.LEGACY_SPLIT.items() if s == "test"} == {"C059", "DejaVu Sans", "JetBrains Mono"}


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
    assert 0.05 <= len(groups["dev"]) / len(all_groups) <= 0.2
    for name in ("dev", "test"):  # every category is tested and can drive model selection
        assert {f.category for f in split[name]} == {"sans", "serif", "mono", "script", "display"}, name
    # Related families (a design and its clones) share a split.
    where = {f.family: s for s in split for f in split[s]}
    related = (
        ("FreeSans", "Nimbus Sans", "TeX Gyre Heros", "Arimo", "Liberation Sans"),
        ("FreeSerif", "Nimbus Roman", "Tinos", "STIX", "Doulos SIL"),
        ("DejaVu Sans", "Bitstream Vera Sans", "Hack", "Tahoma", "OpenDyslexic", "Verana Sans", "Aerial"),
        ("C059", "TeX Gyre Schola", "IndUni-N"),
        ("P052", "TeX Gyre Pagella", "IndUni-P"),
    )
    for names in related:
        present = [n for n in names if n in where]
        assert len({where[n] for n in present}) <= 1, present
    # The first version's groups keep their split for seed 0.
    for group, name in recipe.fonts.LEGACY_SPLIT.items():
        assert group not in all_groups or group in groups[name], group
    paths = recipe.fonts.font_split(0)
    assert paths == recipe.fonts.font_split(0)
    assert sorted(p for s in paths for p in paths[s]) == sorted(f.path for f in faces)
    assert not set(paths["train"]) & set(paths["test"])


def test_every_family_has_a_reviewed_design_group(recipe, faces):
    unlisted = sorted({f.family for f in faces if f.family not in recipe.fonts.FAMILY_TO_GROUP})
    assert not unlisted, f"add these families to DESIGN_GROUPS (with their clones): {unlisted}"
    assert len(faces) > 600 and len({f.group for f in faces}) > 100


def test_reserved_fonts_are_in_no_split(recipe, faces):
    fonts = recipe.fonts
    for family in ("Latin Modern Roman", "LM Roman 10", "CMU Serif", "Linux Libertine O", "Linux Biolinum G", "Lato",
                   "Carlito", "Open Sans", "Droid Sans", "Noto Sans", "Noto Sans Mono", "Roboto", "Roboto Slab",
                   "Roboto Condensed", "Raleway", "Pacifico", "Walkway Bold", "Inter", "Bebas Neue"):
        assert fonts.reserved_reason(family), family
    for family in ("DejaVu Sans", "Noto Serif", "Nimbus Sans", "Courier Prime"):
        assert fonts.reserved_reason(family) is None, family
    assert fonts.reserved_reason("Anything", "fonts-lmodern") and fonts.reserved_reason("Anything", "fonts-cmu")
    for seed in (0, 1, 2):
        for name, members in fonts.face_split(seed).items():
            for face in members:
                assert fonts.reserved_reason(face.family, face.package) is None, (name, face)
                low = face.path.lower()
                assert not any(k in low for k in ("/lmodern/", "/cmu/", "libertin", "/lato/", "open-sans", "roboto"))
    # Reserved packages that happen to be installed here contribute nothing either.
    used = {f.path for f in faces}
    for package in fonts.RESERVED_PACKAGES:
        assert not {path for _, path in fonts.package_font_files(package)} & used, package


def test_fonts_are_latin_text_faces_with_ink_for_every_character(recipe, faces):
    from fontTools.ttLib import TTFont
    from PIL import ImageFont

    names = {f.family for f in faces}
    assert not names & set(recipe.fonts.EXCLUDED_FAMILIES)
    assert len({f.name for f in faces}) == len(faces)  # Liberation 1.x/2.x duplicates removed
    for face in faces[:: max(1, len(faces) // 12)]:
        assert Path(face.path).suffix.lower() in (".ttf", ".otf")
        cmap = TTFont(face.path, lazy=True).getBestCmap()
        assert all(ord(c) in cmap for c in PRINTABLE), face.path
        assert not recipe.fonts.inked_characters(ImageFont.truetype(face.path, 24)), face.path
    noto = [f for f in faces if f.family.startswith("Noto")]
    assert noto and all(f.family.startswith("Noto Serif") for f in noto)  # Noto Sans is reserved


# ---------------------------------------------------------------------------------------------
# Rendering: looks and degradations
# ---------------------------------------------------------------------------------------------


def make_job(recipe, text: str, font: str, seed: int = 7, heavy: bool = False):
    return recipe.prepare.Job("test", 0, "x.png", "x.png", text, font, "x/y", False, heavy, seed, 20, 48)


def plain_plan(recipe, job, **changes):
    """A printed, undegraded plan for ``job``, with ``changes``."""
    base = dict(look="print", mode="grey", size=32, underline=False, stretch=1.0, ops=())
    return dataclasses.replace(recipe.prepare.plan_line(job), **(base | changes))


def test_ligatures_are_off(recipe):
    import cv2

    font = font_file(JETBRAINS)
    prepare = recipe.prepare

    def components(text: str, features: list[str] | None) -> int:
        from PIL import ImageDraw

        image = Image.new("L", (200, 80), 0)
        ImageDraw.Draw(image).text((10, 60), text, font=prepare.load_font(font, 40), fill=255, anchor="ls",
                                   features=features)
        return cv2.connectedComponents((np.asarray(image) > 128).astype(np.uint8))[0] - 1

    assert components("!=", None) < 4 and components("->", None) == 1  # the font's ligatures: a sign, an arrow
    assert components("!=", prepare.FEATURES) == 4 and components("->", prepare.FEATURES) == 2  # the characters


def test_screen_drawing_modes(recipe):
    font = font_file(DEJAVU)
    bg = np.full((24, 120, 3), 255.0, np.float32)
    ink = np.zeros(3)
    modes = ("grey", "mono", "rgb", "bgr")
    out = {m: recipe.prepare.draw_text(bg, "Hill 42", font, 13, (3, 17), ink, m) for m in modes}
    for mode in ("grey", "mono"):
        assert (out[mode] == out[mode][..., :1]).all()  # no colour
    assert set(np.unique(out["mono"])) == {0, 255}  # no anti-aliasing
    assert len(np.unique(out["grey"])) > 2
    rgb, bgr = out["rgb"].astype(int), out["bgr"].astype(int)
    assert (rgb[..., 0] != rgb[..., 2]).sum() > 20  # colour fringes of subpixel anti-aliasing
    assert (bgr == rgb[..., ::-1]).all()  # the other stripe order mirrors them
    # A dark stem's left edge lacks the right subpixels' light (yellowish), its right edge the left ones'.
    row = rgb[12]
    ink_cols = np.flatnonzero(row.mean(axis=1) < 128)
    left, right = ink_cols[0] - 1, ink_cols[-1] + 1
    assert row[left, 2] <= row[left, 0] and row[right, 0] <= row[right, 2]


def test_underline_is_a_band_under_the_text(recipe):
    font = font_file(DEJAVU)
    job = make_job(recipe, "Hello world", font)
    plain = recipe.prepare.render(job, plain_plan(recipe, job))
    lined = recipe.prepare.render(job, plain_plan(recipe, job, underline=True))
    assert plain.shape == lined.shape
    diff = np.abs(plain.astype(int) - lined.astype(int)).sum(axis=2) > 30
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    offset, thick = recipe.prepare.underline_metrics(font, 32)
    assert 1 <= len(rows) <= thick + 1 and rows.max() - rows.min() < thick + 1
    advance = recipe.prepare.load_font(font, 32).getlength("Hello world")
    assert cols.max() - cols.min() + 1 >= 0.9 * advance
    assert rows.min() >= 0.5 * plain.shape[0]  # in the lower half: under the text, not through it


def test_scan_look_is_bilevel_with_speckle(recipe):
    font = font_file(DEJAVU)
    job = make_job(recipe, "Scanned 1234 page", font)
    image = recipe.prepare.render(job, plain_plan(recipe, job))
    rng = np.random.default_rng(0)
    binary = recipe.prepare.binarise(image, rng)
    assert binary.shape == image.shape[:2] and set(np.unique(binary)) == {0, 255}  # two grey levels
    specked = recipe.prepare.speckle(binary, rng, 0.01)
    assert set(np.unique(specked)) <= {0, 255}
    changed = (specked != binary).sum()
    assert 0.2 * 0.01 * binary.size < changed < 3 * 0.01 * binary.size + 40
    scanned = recipe.prepare.scan(image, np.random.default_rng(1))
    assert scanned.shape == image.shape and set(np.unique(scanned)) <= {0, 255}
    assert (scanned == scanned[..., :1]).all()


def test_low_resolution_lines_are_12_to_24_px(recipe):
    font = font_file(DEJAVU)
    job = make_job(recipe, "Hgjp low", font)
    for size, target in ((40, 12), (48, 24), (30, 18)):
        full = recipe.prepare.render(job, plain_plan(recipe, job, size=size))
        small = recipe.prepare.render(job, plain_plan(recipe, job, size=size, ops=("lowres",), low_height=target))
        assert small.shape[0] == max(2, round(full.shape[0] * target / size))
        ink_rows = np.flatnonzero((np.abs(small.astype(int) - small[0, 0].astype(int)).sum(axis=2) > 90).any(axis=1))
        assert 0.6 * target <= len(ink_rows) <= target + 2  # the text's line height is about the target
    plans = [recipe.prepare.plan_line(make_job(recipe, "x", font, seed)) for seed in range(300)]
    assert {p.low_height for p in plans} <= set(range(12, 25))
    heavy = [recipe.prepare.plan_line(make_job(recipe, "x", font, seed, heavy=True)) for seed in range(300)]
    assert {p.low_height for p in heavy} <= set(range(12, 21))


def test_shadow_darkens_one_side(recipe):
    image = np.full((40, 300, 3), 200, np.uint8)
    out = recipe.prepare.shadow(image, np.random.default_rng(3))
    assert (out <= image).all()
    dark = (out[..., 0] < 200 * 0.9).mean()
    assert 0.1 < dark < 0.9  # part of the line, not all of it


def test_looks_and_ops_shares(recipe):
    prepare = recipe.prepare
    font = font_file(DEJAVU)
    jobs = [dataclasses.replace(make_job(recipe, "x", font, seed), degrade=seed % 2 == 0) for seed in range(3000)]
    plans = [prepare.plan_line(j) for j in jobs]
    screen = [p for p in plans if p.look == "screen"]
    assert 0.07 < len(screen) / len(plans) < 0.13
    assert {p.size for p in screen} <= set(range(11, 17)) and {p.mode for p in screen} == {"grey", "mono", "rgb", "bgr"}
    assert 0.05 < np.mean([p.underline for p in plans]) < 0.11
    printed = [p for p in plans if p.look == "print"]
    for op, share in (("scan", prepare.P_SCAN), ("lowres", prepare.P_LOWRES)):
        assert abs(np.mean([op in p.ops for p in printed]) - share) < 0.03, op
    assert not any({"scan", "shadow"} <= set(p.ops) for p in plans)
    assert all(not p.ops for p, j in zip(plans, jobs, strict=True) if p.look == "screen" and not j.degrade)
    heavy = [prepare.plan_line(dataclasses.replace(j, heavy=True)) for j in jobs[:1000]]
    assert {p.look for p in heavy} == {"print"}
    for p in heavy:
        assert 3 <= len(p.ops) <= 5 and list(p.ops) == [o for o in prepare.HEAVY_OPS if o in p.ops]
        assert not any(len(group & set(p.ops)) > 1 for group in prepare.EXCLUSIVE), p.ops


# ---------------------------------------------------------------------------------------------
# prepare.py end to end
# ---------------------------------------------------------------------------------------------


def run_prepare(out: Path, *extra: str) -> subprocess.CompletedProcess:
    counts = [f"--num-{s}={n}" for s, n in COUNTS.items()]
    cmd = [sys.executable, str(PREPARE), "--out", str(out), *counts, "--seed", "3", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, faces) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("synth_ocr")
    proc = run_prepare(out, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def read_rows(out: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (out / f"{split}.jsonl").read_text().splitlines()]


def read_image(out: Path, row: dict) -> np.ndarray:
    with Image.open(out / row["image_filepath"]) as img:
        return np.asarray(img.convert("RGB"))


def test_prepare_writes_manifests_and_images(corpus):
    out, proc = corpus
    assert "files/s" in proc.stdout
    texts, fonts = {}, {}
    for split, n in COUNTS.items():
        rows = read_rows(out, split)
        assert len(rows) == n
        for i, row in enumerate(rows):
            assert {"image_filepath", "text", "font", "degraded", "look", "render", "underline", "ops"} <= set(row)
            assert row["image_filepath"] == f"images/{split}/{i:06d}.png"  # relative to the manifest
            assert row["degraded"] == bool(row["ops"])
            assert valid_text(row["text"]), row
            path = out / row["image_filepath"]
            with Image.open(path) as img:
                img.load()
                assert img.format == "PNG" and img.mode in ("L", "RGB")
                # Natural line height: font size (11-48 px) plus padding, or a low-resolution line.
                assert 8 <= img.height <= 48 * 1.6 + 24 + 30, (row, img.size)
                assert img.width >= 2
        texts[split] = {r["text"] for r in rows}
        fonts[split] = {r["font"].split("/")[0] for r in rows}
        assert all("/" in r["font"] for r in rows)
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["dev"] and not texts["dev"] & texts["test"]
    assert not fonts["test"] & fonts["train"] and not fonts["dev"] & fonts["train"]
    assert not list(out.rglob(".*.tmp"))  # atomic writes leave no temporary files
    assert json.loads((out / "prepare_config.json").read_text())["seed"] == 3


@pytest.mark.parametrize("split", ["dev", "test"])
def test_degraded_split_is_its_split_heavily_degraded(corpus, recipe, split):
    out, _ = corpus
    plain, degraded = read_rows(out, split), read_rows(out, f"{split}_degraded")
    assert len(degraded) == len(plain) == COUNTS[split]
    for i, (a, b) in enumerate(zip(plain, degraded, strict=True)):
        assert b["image_filepath"] == f"images/{split}_degraded/{i:06d}.png"
        assert (a["text"], a["font"]) == (b["text"], b["font"])  # same texts, same fonts
        assert b["degraded"] and 3 <= len(b["ops"]) <= 5 and set(b["ops"]) <= set(recipe.prepare.HEAVY_OPS)
        x, y = read_image(out, a), read_image(out, b)
        assert x.shape != y.shape or (x != y).any()  # a different image for every line


def test_degraded_copies_draw_with_seed_codes_of_their_own(recipe):
    prep = recipe.prepare
    args = argparse.Namespace(seed=3, out="corpus", min_size=20, max_size=48)
    line = prep.Job("test", 7, "images/test/000007.png", "corpus/images/test/000007.png", "text", "f.ttf", "F/Regular",
                    False, False, 0, 20, 48)
    seeds = {s: prep.degraded_job(dataclasses.replace(line, split=s), args, 6).render_seed for s in ("dev", "test")}
    assert seeds["test"] == int(np.random.default_rng([3, 3, 7]).integers(2**63))  # test_degraded as it always was
    assert seeds["dev"] != seeds["test"]  # dev_degraded's line 7 is not test_degraded's line 7 drawn again
    codes = [*prep.SPLIT_CODES.values(), *(code for _, code in prep.DEGRADED.values()), recipe.heldout.HELDOUT_CODE]
    assert len(set(codes)) == len(codes)


def test_prepare_is_resumable_and_deterministic(corpus, tmp_path):
    out, _ = corpus
    before = {p: p.read_bytes() for p in sorted(out.rglob("*.png"))}
    proc = run_prepare(out, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "0 made, 16 reused, 0 failed" in proc.stdout  # 12 lines, 2 degraded dev and 2 degraded test lines
    # A fresh run with two workers renders the very same bytes.
    other = tmp_path / "again"
    proc = run_prepare(other, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    after = {p: p.read_bytes() for p in sorted(other.rglob("*.png"))}
    assert [p.relative_to(out) for p in before] == [p.relative_to(other) for p in after]
    assert list(before.values()) == list(after.values())
    for split in (*COUNTS, "dev_degraded", "test_degraded"):
        assert read_rows(out, split) == read_rows(other, split)


def test_train_from_renders_only_the_later_training_lines_as_a_full_run_does(corpus, tmp_path):
    out, _ = corpus
    later = tmp_path / "later"
    proc = run_prepare(later, "--workers", "1", "--train-from", "5")
    assert proc.returncode == 0, proc.stderr
    full = read_rows(out, "train")
    assert read_rows(later, "train") == full[5:]
    assert sorted(p.name for p in (later / "images" / "train").iterdir()) == [f"{i:06d}.png" for i in range(5, 8)]
    for row in full[5:]:
        assert (later / row["image_filepath"]).read_bytes() == (out / row["image_filepath"]).read_bytes()
    for split in ("dev", "test", "dev_degraded", "test_degraded"):
        assert read_rows(later, split) == read_rows(out, split)
    assert run_prepare(tmp_path / "bad", "--train-from", "9").returncode != 0  # past --num-train


def test_train_max_chars_renders_only_the_short_training_lines_as_a_full_run_does(corpus, tmp_path):
    out, _ = corpus
    full = read_rows(out, "train")
    limit = sorted(len(r["text"]) for r in full)[len(full) // 2]  # about half the lines are this short
    short = [r for r in full[2:] if len(r["text"]) <= limit]
    assert 0 < len(short) < len(full) - 2
    few = tmp_path / "short"
    proc = run_prepare(few, "--workers", "1", "--train-from", "2", "--train-max-chars", str(limit))
    assert proc.returncode == 0, proc.stderr
    assert read_rows(few, "train") == short
    assert sorted(p.name for p in (few / "images" / "train").iterdir()) == [
        Path(r["image_filepath"]).name for r in short]
    for row in short:
        assert (few / row["image_filepath"]).read_bytes() == (out / row["image_filepath"]).read_bytes()
    for split in ("dev", "test", "dev_degraded", "test_degraded"):
        assert read_rows(few, split) == read_rows(out, split)
    assert run_prepare(tmp_path / "bad", "--train-max-chars", "0").returncode != 0


def test_heavy_share_degrades_training_lines_as_test_degraded_and_leaves_other_draws(recipe, corpus, tmp_path):
    """--heavy-share draws a heavy flag for training lines after every earlier draw: font, degrade
    flag and render seed stay those of a corpus made without it, dev and test never get it, and
    the heavy lines carry test_degraded's 3-5 strong degradations."""
    prep = recipe.prepare
    faces = prep.face_split(3)

    def jobs(split: str, *argv: str) -> list:
        args = prep.parse_args(["--out", str(tmp_path / "x"), "--seed", "3", *argv])
        return [prep.make_job(split, i, "text", faces[split], args, 6) for i in range(200)]

    plain, heavy = jobs("train"), jobs("train", "--heavy-share", "0.3")
    assert [(j.font_name, j.degrade, j.render_seed) for j in plain] == [(j.font_name, j.degrade, j.render_seed)
                                                                        for j in heavy]
    assert not any(j.heavy for j in plain) and 0.2 < sum(j.heavy for j in heavy) / 200 < 0.4
    assert not any(j.heavy for j in jobs("test", "--heavy-share", "1") + jobs("dev", "--heavy-share", "1"))
    out, _ = corpus  # made without --heavy-share, with training images: refused, not mislabelled
    proc = run_prepare(out, "--workers", "1", "--heavy-share", "0.5")
    assert proc.returncode != 0 and "without --heavy-share" in proc.stderr
    later = tmp_path / "heavy"
    proc = run_prepare(later, "--workers", "1", "--heavy-share", "1", "--train-from", "6")
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(later, "train")
    assert len(rows) == 2 and all(3 <= len(r["ops"]) <= 5 and set(r["ops"]) <= set(prep.HEAVY_OPS) for r in rows)
    assert json.loads((later / "prepare_config.json").read_text())["heavy_share"] == 1.0


def test_prepare_refuses_changed_settings(corpus):
    out, _ = corpus
    proc = run_prepare(out, "--workers", "1", "--degrade-prob", "0.9")
    assert proc.returncode != 0 and "different settings" in proc.stderr


# ---------------------------------------------------------------------------------------------
# benchmarks/ocr_peers.py
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# heldout.py: the test lines again, in the reserved fonts
# ---------------------------------------------------------------------------------------------


def test_heldout_drops_faces_that_set_lower_case_as_capitals(recipe):
    draws_capitals = recipe.heldout.draws_capitals
    assert draws_capitals(font_file("/usr/share/fonts/fonts-go/Go-Smallcaps.ttf"))
    assert not draws_capitals(font_file("/usr/share/fonts/fonts-go/Go-Regular.ttf"))
    assert not draws_capitals(font_file(DEJAVU)) and not draws_capitals(font_file(JETBRAINS))


def test_heldout_design_groups(recipe):
    group_of = recipe.heldout.group_of
    assert group_of("LM Roman 10", "fonts-lmodern") == group_of("CMU Serif", "fonts-cmu") == "Computer Modern serif"
    assert group_of("CMU Typewriter Text", "fonts-cmu") == group_of("LM Mono 10", "fonts-lmodern")
    assert group_of("CMU Bright", "fonts-cmu") == "Computer Modern sans"
    assert group_of("Linux Libertine Display O", "fonts-linuxlibertine") == "Linux Libertine"
    assert group_of("Walkway Oblique Bold", "trdg") == "Walkway" and group_of("Roboto Condensed", "trdg") == "Roboto"


def test_heldout_refuses_a_trdg_wheel_of_another_hash(recipe, tmp_path):
    (tmp_path / recipe.heldout.TRDG_WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(ValueError, match="sha256"):
        recipe.heldout.trdg_fonts(tmp_path)


def test_heldout_lines_are_the_test_lines_in_other_fonts(corpus, faces, tmp_path):
    """Line i is the recipe's test line i (text, look, degradations) in a held-out face; the
    degraded file is test_degraded's lines so drawn. The reserved fonts need apt and PyPI, so one
    training design stands in for them (in a process of its own: the renderer forks)."""
    out, _ = corpus
    names = {f.name for f in faces if f.group == faces[0].group}
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import fonts, heldout\n"
        "stand_ins = [f for f in fonts.fonts() if f.group == sys.argv[3]]\n"
        "heldout.ensure_packages = lambda: None\n"
        "heldout.heldout_faces = lambda folder: (stand_ins, [])\n"
        f"sys.exit(heldout.main(['--out', sys.argv[2], '--num-test', '{COUNTS['test']}', '--seed', '3']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(RECIPE), str(tmp_path), faces[0].group],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for split in ("test", "test_degraded"):
        ours, theirs = read_rows(tmp_path, split), read_rows(out, split)
        assert len(ours) == len(theirs) == COUNTS["test"]
        for a, b in zip(ours, theirs, strict=True):
            assert a["font"] in names
            assert {k: v for k, v in a.items() if k != "font"} == {k: v for k, v in b.items() if k != "font"}
            assert (tmp_path / a["image_filepath"]).is_file()


def test_ocr_peers_prints_recog_and_skips_missing_peers(corpus, monkeypatch, capsys):
    out, _ = corpus
    spec = importlib.util.spec_from_file_location("ocr_peers_under_test", ROOT / "benchmarks" / "ocr_peers.py")
    peers = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, peers)  # (its dataclasses look their module up)
    spec.loader.exec_module(peers)
    rows = read_rows(out, "test")

    def fake_recog(model, heads, paths, threads, lm=None):
        return [peers.Run("recog [ctc]", [r["text"] for r in rows], {"batched": 0.01})]

    monkeypatch.setattr(peers, "run_recog", fake_recog)
    monkeypatch.setattr(peers, "block_network", lambda: None)
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)  # no tesseract
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # importing it fails
    peers.main(["--manifest", str(out / "test.jsonl"), "--model", "fake.ckpt"])
    text = capsys.readouterr().out
    assert "== recog [ctc]" in text and "CER 0.00 %" in text
    skipped = [line for line in text.splitlines() if line.startswith("skipped:")]
    assert skipped == ["skipped: tesseract not installed (apt-get install tesseract-ocr)",
                       "skipped: rapidocr not installed (pip install rapidocr)"]
    assert text.index("== recog") < text.index("skipped:")
