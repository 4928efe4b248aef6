"""Whole-image OCR end to end: a tiny detector trained on rendered pages with the shipped text-line
model, through the Python API (images, arrays, PDFs) and `recog ocr` (pages, lines, --draw,
formats, bad files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recog.cli import main
from recog.detection.metrics import quad_iou
from tests.helpers import train_tiny_detector

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    from recog.checkpoint import save_model

    model, rendered = train_tiny_detector()
    folder = save_model(model, tmp_path_factory.mktemp("det") / "tiny-det", info={"task": "text-detection"})
    return folder, rendered


@pytest.fixture(scope="module")
def reader(detector_dir):  # noqa: ANN001, ANN201 - a PageReader
    import recog
    from recog_edge.boxes import DetectOptions

    reader = recog.load(detector_dir[0])
    reader.detector.options = DetectOptions(max_side=320, min_side=32)
    return reader


def _pdf(path: Path, images: list[np.ndarray]) -> Path:
    first, *rest = (Image.fromarray(img) for img in images)
    first.save(path, save_all=True, append_images=rest, resolution=72.0)  # 1 pixel = 1 point
    return path


def test_a_page_is_detected_read_and_ordered(detector_dir, reader):
    _, rendered = detector_dir
    image, boxes = rendered[0]
    page = reader.read(image)
    assert (page.width, page.height) == (320, 256)
    assert len(page.lines) == 3
    for line, box in zip(page.lines, boxes, strict=True):  # reading order: top to bottom
        assert quad_iou(np.array(line.box), box) > 0.5
        assert line.text.strip() and 0 < line.confidence <= 1
    assert page.text == "\n\n".join(line.text for line in page.lines)  # far apart: a block each
    row = page.to_json()
    assert set(row) == {"image_filepath", "width", "height", "text", "lines"}
    assert np.array(row["lines"][0]["box"]).shape == (4, 2)


def test_lines_upside_down_are_read_turned_and_their_boxes_start_at_the_texts_top_left(detector_dir, reader):
    from recog_edge.boxes import order_corners

    _, rendered = detector_dir
    image, boxes = rendered[0]
    turned = np.ascontiguousarray(image[::-1, ::-1])
    in_image = [order_corners(np.array([320, 256], np.float32) - box) for box in boxes]  # as a detector gives them
    lines = reader.read_boxes(turned, in_image, [1.0] * len(in_image))
    long_lines = [line for line, box in zip(lines, in_image, strict=True) if box[1, 0] - box[0, 0] > 100]
    assert len(long_lines) == 2
    for line in long_lines:  # "Hello world", "Second line 42": read upright, so their boxes turned
        box = np.array(line.box)
        assert box[0, 0] > box[2, 0] and box[0, 1] > box[2, 1]


@pytest.mark.parametrize(("upright", "turned", "turns"), [(0.872, 0.876, False), (0.85, 0.95, True)])
def test_a_lone_line_turns_only_if_it_reads_clearly_surer_turned(upright, turned, turns):
    """A line in a face the model reads poorly either way (a script sign: 0.872 upright, 0.876
    turned) stays upright; one that reads clearly surer turned (by TURN_MARGIN or more) turns."""
    from recog_edge.pages import read_boxes

    image = np.full((100, 300, 3), 255, np.uint8)
    image[40:60, 20:150] = 0  # ink on the left half of the line: its crop turned has it on the right
    box = np.array([[10, 35], [290, 35], [290, 65], [10, 65]], np.float32)

    def read(crops):  # noqa: ANN001, ANN202 - stand-in line model: which way up the crop is, and a confidence
        return [("upright", upright) if crop[:, : crop.shape[1] // 2].mean() < crop[:, crop.shape[1] // 2:].mean()
                else ("turned", turned) for crop in crops]

    (line,) = read_boxes(image, [box], [1.0], read)
    assert line.text == ("turned" if turns else "upright")
    assert (np.array(line.box)[0, 0] > 200) == turns  # a turned line's box starts at its text's top-left


def test_the_turn_vote_reads_the_rest_of_its_sample_only_where_the_longer_half_could_turn() -> None:
    """turn_gains reads the longer half of its sample first; where none of it reads surer turned the
    group cannot turn, and the shorter half is not read: the same vote as on every gain, with half
    the windows read on an upright page."""
    from recog_edge.pages import TURN_SAMPLE, turn_gains, turns

    rng = np.random.default_rng(0)
    upright_pages = 0
    for _ in range(300):
        count = int(rng.integers(1, 12))
        gains = [float(g) for g in rng.choice([-0.1, -0.02, 0.0, 0.03, 0.08], count)]
        if rng.random() < 0.4:
            gains = [-abs(g) for g in gains]
        crops = [np.concatenate([np.full((32, 200, 3), 10 * i + 1, np.uint8),  # line i, its left half darker
                                 np.full((32, 200, 3), 10 * i + 5, np.uint8)], axis=1) for i in range(count)]
        boxes = [np.array([[0, 0], [400 - i, 0], [400 - i, 32], [0, 32]], np.float32) for i in range(count)]
        windows = []

        def read(images, gains=gains, windows=windows):  # noqa: ANN001, ANN202 - line i's gain where turned
            windows.extend(images)
            return [("", 0.5 + (gains[int(x.min()) // 10] if x[0, 0, 0] > x[0, -1, 0] else 0.0))
                    for x in images]

        got = turn_gains(crops, boxes, list(range(count)), read)
        sample = gains[:TURN_SAMPLE]  # the longest lines: boxes shorten with the index
        assert turns(got) == turns(sample)
        first = (len(sample) + 1) // 2
        stops = max(sample[:first]) <= 0
        assert len(windows) == 2 * (first if stops else len(sample))
        upright_pages += stops and len(sample) > 1
    assert upright_pages > 50


def test_reading_order_of_a_turned_or_tilted_page_is_the_upright_one():
    from recog_edge.layout import reading_order, text_frame
    from tests.helpers import rect

    upright = np.array([rect(20, 20, 200, 40), rect(20, 50, 220, 70), rect(20, 120, 150, 140)])
    for angle in (np.pi, np.pi / 2, np.radians(8), -np.radians(95)):
        cos, sin = np.cos(angle), np.sin(angle)
        turned = upright @ np.array([[cos, sin], [-sin, cos]])  # rotated corners keep the text's own order
        shuffled = turned[[2, 0, 1]]
        frame = text_frame(shuffled)
        bounds = np.concatenate([frame.min(axis=1), frame.max(axis=1)], axis=1)
        assert reading_order(bounds) == [[[1], [2]], [[0]]], angle


def test_blank_images_give_empty_pages_and_pdfs_give_numbered_pages(detector_dir, reader, tmp_path):
    _, rendered = detector_dir
    blank = reader.read(np.full((300, 300, 3), 255, np.uint8))
    assert (blank.text, blank.lines) == ("", [])
    pdf = _pdf(tmp_path / "doc.pdf", [img for img, _ in rendered])
    pages = reader.read_pages(pdf)
    assert [p.page for p in pages] == [1, 2]
    assert all(len(p.lines) == 3 for p in pages)
    assert pages[1].to_json()["page"] == 2
    with pytest.raises(ValueError, match="read_pages"):
        reader.read(pdf)


def test_recog_ocr_reads_pages_pdfs_and_lines_and_reports_bad_files(detector_dir, tmp_path, capsys):
    folder, rendered = detector_dir
    page = tmp_path / "page.png"
    Image.fromarray(rendered[0][0]).save(page)
    pdf = _pdf(tmp_path / "doc.pdf", [img for img, _ in rendered])
    Image.new("RGB", (320, 256), "white").save(tmp_path / "blank.png")
    Image.fromarray(rendered[0][0][15:55, 10:200]).save(tmp_path / "line.png")  # a line-shaped crop: "Hello world"
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG nope")
    draw = tmp_path / "drawn"
    inputs = [str(p) for p in (page, pdf, tmp_path / "broken.pdf", tmp_path / "blank.png", tmp_path / "line.png",
                               tmp_path / "broken.png")]
    code = main(["ocr", *inputs, "--detector", str(folder), "--output", "-", "--draw", str(draw), "--dpi", "72"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert "broken.pdf: not a readable PDF" in err and "broken.png: not readable as an image" in err
    by_name = {(Path(r["image_filepath"]).name, r.get("page")): r for r in rows}
    assert set(by_name) == {("page.png", None), ("doc.pdf", 1), ("doc.pdf", 2), ("blank.png", None),
                            ("line.png", None)}
    assert len(by_name[("page.png", None)]["lines"]) == 3
    assert by_name[("blank.png", None)]["lines"] == [] and by_name[("blank.png", None)]["text"] == ""
    assert "x_positions" in by_name[("line.png", None)]  # read as one line, not detected in
    assert sorted(p.name for p in draw.iterdir()) == ["blank.png", "doc_p1.png", "doc_p2.png", "page.png"]
    drawn = np.asarray(Image.open(draw / "page.png"))
    assert drawn.shape == rendered[0][0].shape and (drawn != rendered[0][0]).any()


def test_recog_ocr_modes_and_text_output(detector_dir, tmp_path, capsys):
    folder, rendered = detector_dir
    page = tmp_path / "page.png"
    Image.fromarray(rendered[1][0]).save(page)
    line = tmp_path / "line.png"
    Image.fromarray(rendered[0][0][15:55, 10:200]).save(line)
    assert main(["ocr", str(line), "--detect", "--detector", str(folder), "--output", "-"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert "lines" in row  # --detect: even a line-shaped image is a page
    assert main(["ocr", str(page), "--lines", "--output", "-"]) == 0
    assert "x_positions" in json.loads(capsys.readouterr().out)  # --lines: the whole image is one line
    out = tmp_path / "out"
    assert main(["ocr", str(page), "--detector", str(folder), "--format", "txt", "--output-dir", str(out)]) == 0
    text = (out / "page.txt").read_text()
    assert text.count("\n\n") == 2  # three lines far apart: three blocks
    assert main(["ocr", str(page), "--detector", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"==> {page} <==\n") and text.strip() in printed


def test_encrypted_empty_and_corrupt_pdfs_get_one_line_naming_the_file(tmp_path):
    from recog.image import ImageError, load_pdf_pages

    plain = _pdf(tmp_path / "plain.pdf", [np.full((60, 80, 3), 255, np.uint8)])
    data = plain.read_bytes()
    lock = (b"/Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32
            + b"> >>\n/ID [<" + b"33" * 16 + b"> <" + b"33" * 16 + b">]\n")
    assert b"trailer\n<<\n" in data
    (tmp_path / "locked.pdf").write_bytes(data.replace(b"trailer\n<<\n", b"trailer\n<<\n" + lock))
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "cut.pdf").write_bytes(data[:200])
    assert [n for n, _ in load_pdf_pages(plain)] == [1]
    for name, reason in (("locked.pdf", "encrypted"), ("empty.pdf", "not a readable PDF"),
                         ("cut.pdf", "not a readable PDF"), ("absent.pdf", "no such file")):
        with pytest.raises(ImageError, match=f"{name}: {reason}"):
            list(load_pdf_pages(tmp_path / name))


@pytest.fixture(scope="module")
def exported_pages(detector_dir, latin_lines_onnx: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[Path, Path]:
    """The tiny detector (through `recog export`) and the shipped line model, exported to ONNX."""
    folder, _ = detector_dir
    det = tmp_path_factory.mktemp("det-onnx")
    assert main(["export", "--model", str(folder), "--out", str(det)]) == 0
    return det, latin_lines_onnx


def test_the_edge_runtime_reads_pages_like_pytorch_without_importing_torch(detector_dir, reader, exported_pages,
                                                                          tmp_path):
    import subprocess
    import sys

    from recog_edge.boxes import DetectOptions
    from recog_edge.pages import EdgePageReader

    _, rendered = detector_dir
    det, lines = exported_pages
    edge = EdgePageReader(det, lines)
    edge.detector.options = DetectOptions(max_side=320, min_side=32)  # as the reader fixture
    for image, _ in rendered:
        want, got = reader.read(image), edge.read(image)
        assert got.text == want.text and len(got.lines) == len(want.lines) == 3
        for a, b in zip(got.lines, want.lines, strict=True):
            assert np.abs(np.array(a.box) - np.array(b.box)).max() <= 1.0
    path = tmp_path / "page.png"
    Image.fromarray(rendered[0][0]).save(path)
    code = ("import sys\nfrom recog_edge.pages import EdgePageReader\n"
            f"page = EdgePageReader({str(det)!r}, {str(lines)!r}).read({str(path)!r})\n"
            "print(len(page.lines), 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == "False"
    cli = subprocess.run([sys.executable, "-m", "recog_edge", "ocr", "--detect", "--detector", str(det), "--model",
                          str(lines), str(path)], capture_output=True, text=True, check=True)
    assert cli.stdout.startswith(f"==> {path} <==\n")


def test_a_detectors_saved_settings_are_applied_when_it_loads(detector_dir, tmp_path):
    import recog
    from recog.checkpoint import load_detector, save_model
    from recog_edge.boxes import detect_options

    model, _ = load_detector(detector_dir[0])
    folder = save_model(model, tmp_path / "tuned", info={"detect": {"box_thresh": 0.4, "max_side": 960}})
    options = recog.load(folder).detector.options
    assert (options.boxes.box_thresh, options.max_side, options.boxes.unclip_ratio) == (0.4, 960, 1.5)
    with pytest.raises(ValueError, match="unknown detection settings"):
        detect_options({"box_treshold": 0.4})


def test_int8_exports_are_smaller_and_read_the_same(detector_dir, exported_pages, tmp_path, capsys):
    import json as json_
    import shutil

    from recog.export import quantize_int8
    from recog_edge.boxes import DetectOptions
    from recog_edge.lines import EdgeLineModel
    from recog_edge.pages import EdgePageReader

    folder, rendered = detector_dir
    det, lines = exported_pages
    assert main(["export", "--model", str(folder), "--out", str(tmp_path / "det8"), "--int8"]) == 0
    assert "det.onnx: int8 against float32 on the check inputs, largest difference: prob " in capsys.readouterr().err
    shutil.copytree(lines, tmp_path / "lines8")  # the CLI's --int8 is tried on the detector; here the same step
    quantize_int8([tmp_path / "lines8" / "lines.onnx"])  # on the exported line model, without exporting it again
    assert (tmp_path / "lines8" / "lines.onnx").stat().st_size < 0.5 * (lines / "lines.onnx").stat().st_size
    examples = Path(__file__).resolve().parents[1] / "examples"
    price = json_.loads(next(r for r in (examples / "lines.jsonl").read_text().splitlines() if "price.png" in r))
    assert EdgeLineModel(tmp_path / "lines8").read([examples / "price.png"])[0].text == price["text"]
    reader = EdgePageReader(tmp_path / "det8", lines)
    reader.detector.options = DetectOptions(max_side=320, min_side=32)
    assert [len(reader.read(image).lines) for image, _ in rendered] == [3, 3]
