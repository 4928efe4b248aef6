"""Tests for the synthetic page recipe (recipes/synth_pages): a few pages of every kind rendered into
a temporary folder (boxes inside the image, on ink, in reading order), a two-column document's
reading order, turned pages' point order, the job plan, and prepare.py's determinism and reuse."""

from __future__ import annotations

import hashlib
import json
import string
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import recipe_modules

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "synth_pages"
LINE_RECIPE = ROOT / "recipes" / "synth_ocr"
PRINTABLE = set(string.printable[:95])  # U+0020..U+007E
KINDS = ("document", "screenshot", "receipt", "sign")
# Two or three pages of each kind; small documents (100 dpi) keep the test fast.
PAGES = {
    "document": [{"dpi": 100, "columns": 2, "scan": False, "header": False, "footer": False},
                 {"dpi": 100, "scan": False, "rotation": 180}, {"dpi": 100, "scan": True}],
    "screenshot": [{}, {"rotation": 90}],
    "receipt": [{}, {"rotation": 270}],
    "sign": [{"rotation": 0}, {"rotation": 180}],
}


@pytest.fixture(scope="module")
def recipe():
    """The recipe's modules; they import the line recipe's fonts, texts and prepare, removed after."""
    pytest.importorskip("fontTools")
    with recipe_modules(RECIPE, "canvas", "documents", "scenes", "prepare") as modules:
        yield modules
    for name in ("fonts", "texts", "synth_ocr_prepare"):
        sys.modules.pop(name, None)
    while str(LINE_RECIPE) in sys.path:
        sys.path.remove(str(LINE_RECIPE))


@pytest.fixture(scope="module")
def faces(recipe):
    """Skips when the Debian font packages are missing."""
    try:
        return recipe.prepare.split_faces(0)
    except RuntimeError as err:
        pytest.skip(f"no fonts: {err}")


def job(recipe, out: Path, kind: str, index: int, options: dict, seed: int = 1234):
    ext = "jpg" if kind in recipe.prepare.JPEG_KINDS else "png"
    return recipe.prepare.Job("dev", index, kind, f"images/dev/{kind}_{index}.{ext}", str(out), 0, seed,
                              options)


@pytest.fixture(scope="module")
def pages(recipe, faces, tmp_path_factory) -> tuple[Path, dict[str, list[dict]]]:
    out = tmp_path_factory.mktemp("synth_pages")
    rows: dict[str, list[dict]] = {}
    for kind, options in PAGES.items():
        results = [recipe.prepare.process(job(recipe, out, kind, i, o)) for i, o in enumerate(options)]
        assert all(r.status == "made" for r in results), [r.error for r in results]
        rows[kind] = [r.row for r in results]
    return out, rows


def shoelace(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_rows_boxes_and_text(pages):
    out, rows = pages
    for kind in KINDS:
        for row in rows[kind]:
            assert row["kind"] == kind
            assert {"image_filepath", "kind", "width", "height", "text", "lines"} <= set(row)
            with Image.open(out / row["image_filepath"]) as img:
                assert img.size == (row["width"], row["height"])
                grey = np.asarray(img.convert("L"), dtype=np.float32)
            assert row["lines"], row["image_filepath"]
            assert set(row["text"]) <= PRINTABLE | {"\n"} and "\n\n\n" not in row["text"]
            w, h = row["width"], row["height"]
            position = 0
            for line in row["lines"]:
                text, p = line["text"], np.array(line["points"], dtype=float)
                assert 1 <= len(text) <= 100 and set(text) <= PRINTABLE and text == " ".join(text.split()), text
                assert p.shape == (4, 2)
                assert p.min() >= -1 and (p[:, 0] <= w + 1).all() and (p[:, 1] <= h + 1).all(), (kind, line)
                # Positive area, corners in clockwise order on screen (image y points down).
                assert shoelace(p) > 0, (kind, line)
                x0, y0 = np.floor(p.min(axis=0)).astype(int).clip(0)
                x1, y1 = np.ceil(p.max(axis=0)).astype(int)
                assert grey[y0:y1, x0:x1].std() > 5, (kind, line)  # ink, not bare background
                # Every box's text is in the page text, in the order of the boxes.
                found = row["text"].find(text, position)
                assert found >= 0, (kind, text)
                position = found + len(text)


def test_kinds_look_as_specified(pages):
    _, rows = pages
    for row in rows["document"]:
        assert sorted((row["width"], row["height"])) == [827, 1169]  # A4 at 100 dpi
    for row in rows["receipt"]:
        w, h = sorted((row["width"], row["height"]))
        assert 350 <= w <= 600 and 700 <= h <= 1600
    for row in rows["screenshot"]:
        assert 800 <= max(row["width"], row["height"]) <= 1600
    for row in rows["sign"]:
        assert 640 <= min(row["width"], row["height"]) and max(row["width"], row["height"]) <= 1280
        assert 1 <= len(row["lines"]) <= 5
    # An upright receipt's item rows hold two boxes, the name at the left and the price at the right.
    receipt = rows["receipt"][0]
    boxes = [np.array(line["points"]) for line in receipt["lines"]]
    pairs = [(a, b) for a, b in zip(boxes, boxes[1:], strict=False) if a[0, 1] == b[0, 1]]
    assert pairs and all(a[1, 0] < b[0, 0] for a, b in pairs)
    assert any(b[1, 0] > 0.8 * receipt["width"] for _, b in pairs)


def test_receipts_drawn_rules_do_not_look_like_hyphens(recipe, faces, monkeypatch):
    """A receipt's drawn rule (not text) is solid or of dashes at least 1.6 line heights (>= 19 px)
    long, so that it cannot pass for a row of hyphens, which is text."""
    import random

    from canvas import Shape

    drawn: list[Shape] = []

    def recorded(*args: object, **kwargs: object) -> Shape:
        drawn.append(Shape(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(sys.modules["scenes"], "Shape", recorded)
    rules = []
    for seed in range(40):
        drawn.clear()
        recipe.scenes.receipt(np.random.default_rng(seed), random.Random(seed), faces["test"], "test", {})
        rules += [s for s in drawn if s.y1 - s.y0 <= 2 < s.x1 - s.x0]  # thin horizontal marks
    assert len(rules) > 10
    assert min(s.x1 - s.x0 for s in rules) >= 19


def test_two_column_reading_order(pages):
    _, rows = pages
    row = rows["document"][0]  # two columns, no running header or footer
    mid = row["width"] / 2
    side = []
    for line in row["lines"]:
        xs = np.array(line["points"])[:, 0]
        side.append("L" if xs.max() < mid else "R" if xs.min() > mid else "-")
    assert "R" in side and "L" in side
    assert side.index("R") > max(i for i, s in enumerate(side) if s == "L")  # the whole left column first
    text = row["text"]
    last_left = max(text.find(line["text"]) for line, s in zip(row["lines"], side, strict=True) if s == "L")
    first_right = min(text.rfind(line["text"]) for line, s in zip(row["lines"], side, strict=True) if s == "R")
    assert "\n\n" in text and last_left < first_right


def test_turned_pages_keep_the_texts_own_point_order(pages):
    _, rows = pages
    row = rows["document"][1]  # turned by 180 degrees, not skewed
    assert row["rotation"] == 180
    for line in row["lines"]:
        p = np.array(line["points"])
        assert p[0, 0] > p[2, 0] and p[0, 1] > p[2, 1], line  # first point below right of the third
    row = rows["sign"][1]  # turned by 180 degrees after a tilt of up to 10: the text runs leftwards
    assert row["rotation"] == 180
    for line in row["lines"]:
        p = np.array(line["points"])
        assert p[1, 0] < p[0, 0] and p[3, 1] < p[0, 1] and p[2, 0] < p[3, 0] and p[2, 1] < p[1, 1], line
    for row, rotation in ((rows["screenshot"][1], 90), (rows["receipt"][1], 270)):
        assert row["rotation"] == rotation
        sign = 1 if rotation == 90 else -1  # counter-clockwise: the text runs upwards
        for line in row["lines"]:
            p = np.array(line["points"])
            assert sign * (p[0, 1] - p[1, 1]) > 0 and abs(p[0, 0] - p[1, 0]) < abs(p[0, 1] - p[1, 1]), line


def test_turning_moves_points_with_the_pixels(pages):
    _, rows = pages
    upright, turned = rows["sign"]  # the same page (same seed), turned by 180 degrees
    w, h = upright["width"], upright["height"]
    assert (turned["width"], turned["height"]) == (w, h) and turned["text"] == upright["text"]
    for a, b in zip(upright["lines"], turned["lines"], strict=True):
        assert np.allclose(np.array(b["points"]), [w, h] - np.array(a["points"]), atol=0.11)


def test_jobs_mix_kinds_deterministically(recipe):
    args = recipe.prepare.parse_args(["--out", "x", "--num-train", "2000", "--num-dev", "0", "--num-test", "0"])
    jobs = recipe.prepare.make_jobs(args, recipe.prepare.KINDS)
    assert jobs == recipe.prepare.make_jobs(args, recipe.prepare.KINDS)
    shares = {k: sum(j.kind == k for j in jobs) / len(jobs) for k in KINDS}
    for kind, share in recipe.prepare.KINDS.items():
        assert abs(shares[kind] - share) < 0.04, shares
    assert all(j.rel_path.endswith(".jpg") == (j.kind == "sign") for j in jobs)
    args = recipe.prepare.parse_args(["--out", "x", "--num-train", "50", "--kinds", "receipt,sign"])
    assert {j.kind for j in recipe.prepare.make_jobs(args, {"receipt": 0.15, "sign": 0.2})} == {"receipt", "sign"}
    with pytest.raises(SystemExit):
        recipe.prepare.parse_args(["--kinds", "poster"])


def test_same_seed_same_manifests_and_reuse(recipe, faces, tmp_path):
    def run(out: Path) -> dict[str, bytes]:
        argv = ["--out", str(out), "--num-train", "4", "--num-dev", "1", "--num-test", "0", "--seed", "0"]
        assert recipe.prepare.main(argv) == 0
        files = sorted(p for p in out.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".png", ".jpg"))
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest().encode() for p in files}

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert first == second
    rows = [json.loads(line) for line in (tmp_path / "a" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and [r["image_filepath"][-10:-4] for r in rows] == ["000000", "000001", "000002", "000003"]
    # A second run in the same folder reuses every page and writes the same manifests.
    assert run(tmp_path / "a") == first


def test_line_crops_of_true_and_of_found_boxes(pages, tmp_path):
    """crops.py cuts every true box, or (``--detector``) the boxes latin-det finds, matched to true
    ones and labelled with their text; a found box on a page set upside down is cut upright."""
    import recog
    from recog.metrics import char_error_rate

    out, rows = pages
    manifest = [row for kind in KINDS for row in rows[kind]]
    (out / "dev.jsonl").write_text("".join(json.dumps(row) + "\n" for row in manifest))
    with recipe_modules(RECIPE, "crops") as modules:
        assert modules.crops.main(["--pages", str(out), "--split", "dev"]) == 0
        assert modules.crops.main(["--pages", str(out), "--split", "dev", "--detector", "latin-det"]) == 0
        assert modules.crops.main(["--pages", str(out), "--split", "dev", "--ends", "0.2", "--out-name", "narrow"]) == 0
        assert modules.crops.main(["--pages", str(out), "--split", "dev", "--detector", "latin-det", "--negatives",
                                   "--kinds", "screenshot, sign", "--out-name", "screens"]) == 0
        with pytest.raises(SystemExit):
            modules.crops.main(["--pages", str(out), "--split", "dev", "--kinds", "poster"])  # no such page
    true = [json.loads(x) for x in (out / "lines_dev.jsonl").read_text().splitlines()]
    found = [json.loads(x) for x in (out / "lines_dev_found.jsonl").read_text().splitlines()]
    assert [r["text"] for r in true] == [line["text"] for row in manifest for line in row["lines"]]
    narrow = [json.loads(x) for x in (out / "lines_narrow.jsonl").read_text().splitlines()]
    assert [r["text"] for r in narrow] == [r["text"] for r in true]
    for a, b in zip(true[:5], narrow[:5], strict=True):  # the same box, 0.15 of its height narrower at each end
        (wide_w, wide_h), (narrow_w, narrow_h) = Image.open(out / a["image_filepath"]).size, Image.open(
            out / b["image_filepath"]).size
        assert wide_h == narrow_h and wide_w - narrow_w == pytest.approx(0.3 * wide_h / 1.4, abs=2)
    assert all(r["image_filepath"].startswith("crops/dev_found/") for r in found)
    screens = [json.loads(x) for x in (out / "lines_screens.jsonl").read_text().splitlines()]
    assert {r["kind"] for r in screens} == {"screenshot", "sign"}
    assert sorted(r["text"] for r in screens if r["text"]) == sorted(r["text"] for r in found
                                                                     if r["kind"] in ("screenshot", "sign"))
    nothing = [r for r in screens if not r["text"]]  # the title bars' buttons latin-det boxes
    assert nothing and all("_none" in r["image_filepath"] for r in nothing), len(nothing)
    assert 0.8 * len(true) <= len(found) <= len(true)
    texts = {line["text"] for row in manifest for line in row["lines"]}
    assert {r["text"] for r in found} <= texts
    same = [(out / r["image_filepath"], out / r["image_filepath"].replace("crops/dev_found/", "crops/dev/"))
            for r in found]
    shapes = [(Image.open(a).size, Image.open(b).size) for a, b in same]
    assert sum(a != b for a, b in shapes) >= 0.5 * len(shapes)  # cut from the found boxes, not the true ones
    turned = [r for r in found if r["image_filepath"].startswith("crops/dev_found/document_1_")][:8]
    assert turned  # the document set at 180 degrees
    crops = [np.asarray(Image.open(out / r["image_filepath"]).convert("RGB")) for r in turned]
    model = recog.load("latin-lines")
    refs = [r["text"] for r in turned]
    upright = char_error_rate(refs, [r.text for r in model.transcribe(crops)])
    flipped = char_error_rate(refs, [r.text for r in model.transcribe([np.ascontiguousarray(c[::-1, ::-1])
                                                                           for c in crops])])
    assert upright < 0.2 < flipped, (upright, flipped)


def test_found_boxes_with_no_text_in_them_are_cut_as_negatives():
    """found_boxes matches found boxes to true ones and names as holding no text only those with
    (almost) none of their area inside a true box: not a box cut short, nor a word of a long line."""
    line = np.array([[100, 100], [700, 100], [700, 130], [100, 130]], np.float32)
    word = np.array([[110, 101], [170, 101], [170, 129], [110, 129]], np.float32)  # IoU 0.09 with the line
    whole = line + 1
    buttons = np.array([[20, 20], [80, 20], [80, 40], [20, 40]], np.float32)
    clipping = np.array([[650, 120], [760, 120], [760, 150], [650, 150]], np.float32)  # 15 % of it on the line
    with recipe_modules(RECIPE, "crops") as modules:
        matched, empty = modules.crops.found_boxes(
            lambda image: [(box, 0.9) for box in (whole, word, buttons, clipping)], None, [line])
    assert list(matched) == [0] and np.allclose(matched[0], whole)
    assert len(empty) == 1 and np.allclose(empty[0], buttons)
    with recipe_modules(RECIPE, "crops") as modules, pytest.raises(SystemExit):
        modules.crops.main(["--negatives"])  # only found boxes can hold no text
