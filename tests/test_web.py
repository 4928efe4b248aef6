"""The browser page (export/web/) in headless Debian chromium, driven by Playwright: it streams
recordings and reads images to exactly the text the Python edge runtime gives for the same files
and ONNX exports, its JS log-mel equals the Python frontend's frames, and bad input gets a
visible message. Needs `chromium` (apt) and export/web/node_modules (`npm ci`); `make test` installs both."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from recog.cli import main
from recog.web import WEB_ROOT, make_server
from recog_edge.features import FeatureStream, NumpyLogMel, WaveformIntake
from tests.helpers import tiny_recognizer, transparent_ink

pytestmark = pytest.mark.usefixtures("one_thread")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CHROMIUM = "/usr/bin/chromium"
RECORDINGS = ["hello.wav", "weather.flac", "talk.ogg"]
LINES = ["price.png", "sentence.jpg"]
PAGES = ["memo.png", "invoice.png"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, latin_lines_onnx: Path) -> dict[str, Path]:
    """ONNX exports: a random-weight streaming speech model (CTC + RNN-T, 560 ms look-ahead) and the
    shipped latin-lines and latin-det."""
    from recog.checkpoint import save_checkpoint

    root = tmp_path_factory.mktemp("web_models")
    checkpoint = save_checkpoint(tiny_recognizer([56, 13]), root / "speech.ckpt")
    assert main(["export", "--model", str(checkpoint), "--out", str(root / "speech"), "--streaming"]) == 0
    assert main(["export", "--model", "latin-det", "--out", str(root / "det")]) == 0
    return {"speech": root / "speech", "lines": latin_lines_onnx, "det": root / "det"}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The example recordings as 16 kHz WAVs (resampled once by soxr, so page and Python read the same samples)."""
    root = tmp_path_factory.mktemp("web_audio")
    paths = []
    for name in RECORDINGS:
        samples = resampled(EXAMPLES / name)
        paths.append(root / (Path(name).stem + ".wav"))
        soundfile.write(paths[-1], samples, 16000, subtype="FLOAT")
    return paths


def resampled(path: Path) -> np.ndarray:
    """A file's mono samples at 16 kHz, as the edge runtime's stream takes them in."""
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    intake = WaveformIntake(16000)
    return np.concatenate([intake.accept(rate, samples.mean(axis=1)), intake.finish()])


@pytest.fixture(scope="module")
def server(models: dict[str, Path]) -> Iterator[str]:
    """`recog serve-web`'s server of the page and the exports, on a free port, in a thread."""
    httpd = make_server(models, port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), "Debian's chromium is missing: `make web` installs it"
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright) -> Iterator[object]:  # noqa: ANN001 - Playwright's driver
    """Headless Debian chromium (never a downloaded one)."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield chromium
    chromium.close()


def open_page(browser, url: str, **context_options: object):  # noqa: ANN001, ANN201 - Playwright objects
    """A fresh page at ``url``, once it has loaded (or failed to load) its models."""
    page = browser.new_context(**context_options).new_page()
    page.goto(url)
    page.wait_for_selector("body[data-state=ready]", timeout=60_000)
    return page


def run_until_done(page, section: str) -> None:  # noqa: ANN001 - a Playwright page
    page.wait_for_selector(f"#{section}[data-state=done], #{section}[data-state=failed]", timeout=60_000)
    assert page.get_attribute(f"#{section}", "data-state") == "done", page.inner_text("#messages")


def test_the_js_frontend_gives_the_python_frontends_frames(models: dict[str, Path], tmp_path: Path) -> None:
    from recog_edge.sessions import export_metadata, open_session

    config = export_metadata(open_session(models["speech"] / "encoder.onnx"))["features"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    worst = []
    for name in RECORDINGS:
        samples = resampled(EXAMPLES / name)
        samples.astype(np.float32).tofile(tmp_path / "samples.f32")
        subprocess.run(["node", str(WEB_ROOT / "js" / "frontend-cli.mjs"), str(tmp_path / "config.json"),
                        str(tmp_path / "samples.f32"), str(tmp_path / "frames.f32"), "1600"], check=True)
        stream = FeatureStream(NumpyLogMel(config))
        expected = np.concatenate([stream.accept(samples), stream.finish()])  # (T, n_mels)
        got = np.fromfile(tmp_path / "frames.f32", dtype=np.float32).reshape(-1, config["n_mels"])
        assert got.shape == expected.shape and len(got) > 100
        worst.append(float(np.abs(got - expected).max()))
    print(f"JS log-mel vs Python on {RECORDINGS}: max |difference| {worst}")
    assert max(worst) <= 1e-4


def test_the_js_reading_order_equals_recog_edges_on_many_layouts() -> None:
    """layout.js is a port of recog_edge/layout.py: the same blocks, rows and boxes on columns,
    tables, menu bars above panels and sidebars (one in two boxes), form panels, panels whose first
    rows are set apart or whose lines are out of step, a receipt with items missed, and random pages of lines and cells,
    some with columns of their own pitch."""
    from recog_edge.layout import reading_order
    from tests.test_detection import (
        COLUMNS_OVER_SMALL_PRINT,
        MENU_ABOVE_PANELS,
        MENU_IN_TWO_BOXES,
        MENU_OVER_SIDEBAR,
        PANELS_OUT_OF_STEP,
        PANELS_SET_APART,
        RECEIPT_MISSED_NAMES,
        RECEIPT_WITH_DASHES,
        SIDEBAR_BESIDE_FORM,
        TABLE_BESIDE_PROSE,
        TWO_FORM_PANELS,
        WRAPPED_TABLE,
    )

    rng = np.random.default_rng(0)
    layouts = [[list(b) for _, b in boxes] for boxes in (MENU_ABOVE_PANELS, WRAPPED_TABLE, TWO_FORM_PANELS,
                                                         MENU_OVER_SIDEBAR, TABLE_BESIDE_PROSE,
                                                         RECEIPT_WITH_DASHES, COLUMNS_OVER_SMALL_PRINT,
                                                         MENU_IN_TWO_BOXES, PANELS_SET_APART, PANELS_OUT_OF_STEP,
                                                         SIDEBAR_BESIDE_FORM, RECEIPT_MISSED_NAMES)]
    for _ in range(60):
        boxes, y = [], 10.0
        columns = int(rng.integers(1, 4))
        own_pitch = rng.random() < 0.3  # each column at its own y (out of step), else rows across
        ys = [y + float(rng.integers(0, 20)) if own_pitch else y for _ in range(columns)]
        for _ in range(int(rng.integers(3, 30))):
            for c in range(columns):
                height = float(rng.choice([12, 15, 20, 32]))
                if rng.random() < 0.8:
                    x0 = 20 + c * 400 + float(rng.integers(0, 60))
                    boxes.append([x0, ys[c], x0 + float(rng.integers(20, 340)), ys[c] + height])
                if own_pitch:
                    ys[c] += height + float(rng.choice([4, 8, 20, 45]))
            if not own_pitch:
                ys = [ys[0] + height + float(rng.choice([4, 8, 20, 45]))] * columns
        layouts.append(boxes)
    script = ("import { readingOrder } from " + json.dumps((WEB_ROOT / "js" / "layout.js").as_uri()) + ";"
              "let text = ''; process.stdin.on('data', (d) => { text += d; });"
              "process.stdin.on('end', () => console.log(JSON.stringify(JSON.parse(text).map(readingOrder))));")
    done = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(layouts),
                          capture_output=True, text=True, check=True)
    got = json.loads(done.stdout)
    expected = [reading_order(np.array(boxes, np.float64)) for boxes in layouts]
    assert sum(len(blocks) > 1 for blocks in expected) > 30  # columns and paragraphs, not one block each
    assert got == expected


def test_the_js_line_sizes_equal_recog_edges() -> None:
    """lines.js resizes a line to recog_edge.lines.target_size's size, with and without a
    width_scale (halves round to even on both sides)."""
    from recog_edge.lines import target_size

    rng = np.random.default_rng(0)
    cases = [[int(rng.integers(1, 6000)), int(rng.integers(8, 120)), float(rng.choice([1.0, 0.85, 0.75, 0.6]))]
             for _ in range(400)] + [[250, 100, 1.0], [1000, 32, 0.75], [2000, 100, 0.5]]
    script = ("import { targetSize } from " + json.dumps((WEB_ROOT / "js" / "lines.js").as_uri()) + ";"
              "let text = ''; process.stdin.on('data', (d) => { text += d; });"
              "process.stdin.on('end', () => console.log(JSON.stringify("
              "JSON.parse(text).map(([w, h, s]) => targetSize(w, h, 32, 4096, s)))));")
    done = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(cases),
                          capture_output=True, text=True, check=True)
    expected = [list(target_size(w, h, 32, 4096, s)) for w, h, s in cases]
    assert sum(e != list(target_size(w, h)) for e, (w, h, _) in zip(expected, cases, strict=True)) > 100
    assert json.loads(done.stdout) == expected


def test_the_js_pieces_join_as_recog_edges(tmp_path: Path) -> None:
    """pieces.js reads a long crop's pieces in one call and joins their texts and confidences as
    recog_edge.pieces.in_pieces does: empty texts left out, the same blanks trimmed, a zero
    confidence making the line's zero (the others to within the last bits of log and exp)."""
    from recog_edge.pieces import in_pieces
    from tests.test_pieces import LONG, line_crop

    crops = [line_crop(LONG, size) for size in (14, 20, 24, 31)] + [line_crop("Short line")]

    def read(parts: list[np.ndarray]) -> list[tuple[str, float]]:  # the fake reader pieces.js gets too
        return [("" if p.shape[1] % 3 == 0 else f" w{p.shape[1]}\u00a0\t", 0.0 if p.shape[1] % 7 == 0
                 else (p.shape[1] % 97 + 1) / 100) for p in parts]

    got = pieces_js_on(crops, tmp_path, "inPieces",
                       "const read = async (parts) => parts.map((p) => [p.cols % 3 === 0 ? '' : ` w${p.cols}\u00a0\t`,"
                       "  p.cols % 7 === 0 ? 0 : ((p.cols % 97) + 1) / 100]);"
                       "return await inPieces(cv, read)(mats);")
    expected = in_pieces(read)(crops)
    assert [t for t, _ in got] == [t for t, _ in expected] and expected[-1] == read(crops[-1:])[0]
    assert [c for _, c in got] == pytest.approx([c for _, c in expected], rel=1e-12)
    assert any("\u00a0 w" in t for t, _ in expected)  # blanks beyond ASCII kept, as both sides trim alike
    assert 0.0 in [c for _, c in expected] and len({c for _, c in expected}) > 2


def test_the_js_upside_down_vote_equals_recog_edges() -> None:
    """pages.js turns a group of lines as recog_edge.pages does: most of its sampled lines read surer
    turned, by TURN_MARGIN on average (a lone line 0.004 surer turned stays upright)."""
    from recog_edge.pages import turns

    rng = np.random.default_rng(0)
    cases = [[0.004], [0.05], [-0.2, 0.3, 0.3], [0.03, 0.03, -0.01], [0.06, 0.06, -0.01, -0.01]]
    cases += [[round(float(g), 4) for g in rng.normal(0.02, 0.06, int(rng.integers(1, 9)))] for _ in range(200)]
    script = ("import { turns } from " + json.dumps((WEB_ROOT / "js" / "pages.js").as_uri()) + ";"
              "let text = ''; process.stdin.on('data', (d) => { text += d; });"
              "process.stdin.on('end', () => console.log(JSON.stringify(JSON.parse(text).map(turns))));")
    done = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(cases),
                          capture_output=True, text=True, check=True)
    expected = [turns(gains) for gains in cases]
    assert expected[:5] == [False, True, True, False, False]
    assert 40 < sum(expected) < 160  # both answers, many times each
    assert json.loads(done.stdout) == expected


def test_the_js_line_cuts_equal_recog_edges(tmp_path: Path) -> None:
    """pieces.js cuts a long line crop at the columns recog_edge.pieces cuts, on rendered lines of
    several sizes and colours, with and without the page reader's margins, and on noise."""
    from recog_edge.pieces import cut_columns
    from tests.test_pieces import LONG, line_crop

    rng = np.random.default_rng(0)
    crops = [line_crop(LONG, size, ink, paper) for size in (12, 18, 24, 31)
             for ink, paper in (("black", "white"), ("white", "navy"), ("darkred", "khaki"), ("gray", "silver"))]
    crops += [line_crop(" ".join(rng.permutation(LONG.split())), int(rng.integers(10, 40))) for _ in range(12)]
    crops += [np.pad(c, ((8, 8), (4, 4), (0, 0)), mode="edge") for c in crops[:8]]  # the reader's margins
    crops += [np.clip(c.astype(np.int16) + rng.integers(-40, 40, c.shape), 0, 255).astype(np.uint8) for c in crops[:8]]
    for _ in range(150):  # bars of ink of random strength, in gaps round the thresholds' edges
        height = int(rng.integers(10, 60))
        paper = int(rng.integers(0, 256))
        columns, x = [], 0
        while x < int(rng.integers(18, 60)) * height:
            bar, gap = int(rng.integers(1, int(rng.choice([1, 4])) * height)), int(rng.integers(1, height // 2 + 2))
            columns += [int(rng.integers(0, 256))] * bar + [paper] * gap
            x += bar + gap
        crop = np.full((height, len(columns), 3), paper, np.uint8)
        top = int(rng.integers(0, height // 4 + 1))  # the bars' rows: up to the whole height
        crop[top: height - int(rng.integers(0, height // 4 + 1))] = np.array(columns, np.uint8)[None, :, None]
        crops.append(crop)
    crops += [rng.integers(0, 256, (30, 1500, 3), dtype=np.uint8)]
    expected = [cut_columns(crop) for crop in crops]
    assert sum(len(cuts) > 0 for cuts in expected) > 30 and expected[-1] == []
    assert pieces_js_on(crops, tmp_path, "cutColumns", "return mats.map((mat) => cutColumns(cv, mat));") == expected


def pieces_js_on(crops: list[np.ndarray], tmp_path: Path, names: str, body: str) -> object:
    """What the JS function ``body`` returns (as JSON) under node, given ``names`` imported from
    pieces.js, opencv.js as ``cv`` and ``crops`` (uint8 RGB) as ``mats`` (CV_8UC3)."""
    cases = []
    for i, crop in enumerate(crops):
        crop.tofile(tmp_path / f"{i}.rgb")
        cases.append([str(tmp_path / f"{i}.rgb"), *crop.shape[:2]])
    script = ("import { createRequire } from 'module'; import { readFileSync } from 'fs';"
              "import { " + names + " } from " + json.dumps((WEB_ROOT / "js" / "pieces.js").as_uri()) + ";"
              "let cv = createRequire(" + json.dumps(str(WEB_ROOT / "package.json")) + ")('@techstark/opencv-js');"
              "if (typeof cv.then === 'function') cv = await cv;"
              "else if (!cv.Mat) await new Promise((done) => (cv.onRuntimeInitialized = done));"
              "let text = ''; process.stdin.on('data', (d) => { text += d; });"
              "process.stdin.on('end', async () => {"
              "  const mats = JSON.parse(text).map(([path, h, w]) => {"
              "    const mat = new cv.Mat(h, w, cv.CV_8UC3); mat.data.set(readFileSync(path)); return mat; });"
              "  console.log(JSON.stringify(await (async () => {" + body + "})()));"
              "  mats.forEach((m) => m.delete()); });")
    done = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(cases),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("head", ["ctc", "rnnt"])
def test_the_page_streams_recordings_to_the_edge_runtimes_text(models: dict[str, Path], recordings: list[Path],
                                                              server: str, browser, head: str) -> None:  # noqa: ANN001
    from recog_edge import EdgeModel

    model = EdgeModel(models["speech"], head=head)
    page = open_page(browser, f"{server}?head={head}")
    for path in recordings:
        samples, rate = soundfile.read(path, dtype="float32")
        expected = model.transcribe(samples, rate)
        page.evaluate("document.getElementById('speech').dataset.state = 'ready'")
        page.set_input_files("#audio-file", str(path))
        run_until_done(page, "speech")
        assert expected and page.text_content("#final") == expected
        assert page.text_content("#partial") == expected
        print(f"{head} {path.name}: {page.inner_text('#speech-stats')}")
    assert page.inner_text("#messages") == ""


def test_the_page_reads_lines_and_pages_like_the_edge_runtime(models: dict[str, Path], server: str,
                                                             browser, tmp_path: Path) -> None:  # noqa: ANN001
    from PIL import Image

    from recog_edge import EdgeLineModel
    from recog_edge.boxes import crop_box
    from recog_edge.pages import EdgePageReader
    from recog_edge.pieces import cut_columns
    from tests.test_pieces import long_lines_page

    turned = tmp_path / "memo_turned.png"  # lines running up: detected a quarter turn round, as recog_edge does
    Image.open(EXAMPLES / "memo.png").transpose(Image.Transpose.ROTATE_90).save(turned)
    upside_down = tmp_path / "memo_upside_down.png"  # every line read turned (recog_edge.pages.turns)
    Image.open(EXAMPLES / "memo.png").transpose(Image.Transpose.ROTATE_180).save(upside_down)

    long_lines = tmp_path / "long_lines.png"  # lines over PIECE heights wide: read in pieces (recog_edge.pieces)
    image = long_lines_page()
    Image.fromarray(image).save(long_lines)
    long_upside_down = tmp_path / "long_lines_upside_down.png"  # its turn vote reads 12-height windows of them
    Image.fromarray(image[::-1, ::-1]).save(long_upside_down)

    lines, pages = EdgeLineModel(models["lines"]), EdgePageReader(models["det"], models["lines"])
    made = [turned, upside_down, long_lines, long_upside_down]
    expected = {path: pages.read(path) for path in [EXAMPLES / name for name in PAGES] + made}
    assert expected[long_upside_down].text == expected[long_lines].text
    assert expected[upside_down].text.split() == expected[EXAMPLES / "memo.png"].text.split()  # it turns
    assert sum(len(cut_columns(crop_box(image, np.array(line.box, np.float32)))) > 0
               for line in expected[long_lines].lines) == 2
    transparent = transparent_ink(EXAMPLES / "price.png", tmp_path / "price_transparent.png")  # read on white
    assert lines.read([transparent])[0].text == lines.read([EXAMPLES / "price.png"])[0].text
    page = open_page(browser, server)
    page.check("#line-mode")
    for path in [EXAMPLES / name for name in LINES] + [transparent]:
        page.evaluate("document.getElementById('ocr').dataset.state = 'ready'")
        page.set_input_files("#image-file", str(path))
        run_until_done(page, "ocr")
        assert page.text_content("#ocr-text") == lines.read([path])[0].text
    page.uncheck("#line-mode")
    for path, edge in expected.items():
        page.evaluate("document.getElementById('ocr').dataset.state = 'ready'")
        page.set_input_files("#image-file", str(path))
        run_until_done(page, "ocr")
        assert edge.text and page.text_content("#ocr-text") == edge.text
        assert page.get_attribute("#ocr", "data-lines") == str(len(edge.lines))  # one box drawn per line
        if path == long_lines:  # read in pieces: their joined confidences, not the whole lines' (0.0014-0.006 apart)
            confidences = json.loads(page.get_attribute("#ocr", "data-confidences"))  # (WASM kernels: 1e-4 apart)
            assert confidences == pytest.approx([line.confidence for line in edge.lines], abs=1e-3)
    assert page.inner_text("#messages") == ""


def test_the_microphone_streams_through_the_model(models: dict[str, Path], recordings: list[Path],
                                                  server: str, playwright) -> None:  # noqa: ANN001
    """Chromium's fake capture device plays a WAV as the microphone; the page streams it live."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={recordings[0]}%noloop"])
    try:
        page = open_page(chromium, server, permissions=["microphone"])
        page.click("#mic-start")
        page.wait_for_selector("#speech[data-state=listening]", timeout=10_000)
        page.wait_for_function("document.getElementById('partial').textContent.length > 0", timeout=20_000)
        page.click("#mic-stop")
        run_until_done(page, "speech")
        assert float(page.get_attribute("#speech", "data-mic-seconds")) > 0.5
        assert page.text_content("#final") and page.inner_text("#messages") == ""
    finally:
        chromium.close()


def test_bad_input_gets_a_visible_message(models: dict[str, Path], server: str, browser,  # noqa: ANN001
                                          tmp_path: Path) -> None:
    # A refused microphone (no permission granted in this context).
    page = open_page(browser, server)
    page.click("#mic-start")
    page.wait_for_selector("#speech[data-state=failed]", timeout=10_000)
    assert "microphone could not be opened" in page.inner_text("#messages")
    assert not page.is_disabled("#mic-start")  # the page goes on: try again, or stream a recording
    # A non-image file, dropped on the drop zone.
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["not a picture"], "notes.txt", {type: "text/plain"}));
        document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
    }""")
    page.wait_for_selector("#ocr[data-state=failed]", timeout=10_000)
    assert "notes.txt: not an image" in page.inner_text("#messages")
    # A file that claims to be an image but is not one.
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    page.evaluate("document.getElementById('ocr').dataset.state = 'ready'")
    page.set_input_files("#image-file", str(tmp_path / "broken.png"))
    page.wait_for_selector("#ocr[data-state=failed]", timeout=10_000)
    assert "broken.png: not readable as an image" in page.inner_text("#messages")
    # Model files that fail to load: missing, and not ONNX.
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "encoder.onnx").write_bytes(b"\x00garbage")
    page = open_page(browser, f"{server}?speech=models/nowhere/&lines=models/nowhere/")
    messages = page.inner_text("#messages")
    assert "speech model could not be loaded" in messages and "nowhere/encoder.onnx" in messages
    assert "text-line model could not be loaded" in messages and "HTTP 404" in messages
    httpd = make_server({"speech": tmp_path / "bad"}, port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page = open_page(browser, f"http://127.0.0.1:{httpd.server_address[1]}/index.html")
        assert "encoder.onnx: not a recog export" in page.inner_text("#messages")
        assert page.is_disabled("#mic-start") and page.is_disabled("#audio-file")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_serve_web_serves_the_shipped_edge_models_where_no_folder_is_given(models: dict[str, Path]) -> None:
    from recog.web import served_models
    from recog_edge.models import ROOT, shipped

    served = served_models()
    expected = {slot: ROOT / name for slot, name in (("speech", "en-speech"), ("lines", "latin-lines"),
                                                     ("det", "latin-det")) if name in shipped()}
    assert served == expected and {"lines", "det"} <= set(served)
    assert served_models(speech=str(models["speech"]), lines="latin-lines")["speech"] == models["speech"]
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        served_models(det="no-such-model")
