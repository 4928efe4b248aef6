"""Real-time factor of streaming speech in the browser page (export/web/, onnxruntime-web WASM, one
thread, headless Debian chromium) against the Python edge runtime (onnxruntime, one thread) on the
same export and files, and whether both give the same text.

    python benchmarks/web_rtf.py --speech exported/ examples/hello.wav examples/talk.ogg [--head rnnt]

Files are resampled to the model's rate with soxr first (as recog_edge does), so both read the
same samples. The page decodes as fast as it can; RTF = decoding time / audio duration.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recog.web import make_server  # noqa: E402
from recog_edge import EdgeModel  # noqa: E402
from recog_edge.features import WaveformIntake  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speech", required=True, help="a `recog export --streaming` folder")
    parser.add_argument("--head", help="ctc or rnnt (default: the model's)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    model = EdgeModel(args.speech, head=args.head)
    httpd = make_server({"speech": args.speech}, port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/index.html?head={model.head}"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-state=ready]", timeout=120_000)
        print(page.text_content("#speech-status"))
        for name in args.files:
            samples, rate = soundfile.read(name, dtype="float32", always_2d=True)
            intake = WaveformIntake(model.sample_rate)
            samples = intake.accept(rate, samples.mean(axis=1))
            wav = Path(tmp) / (Path(name).stem + ".wav")
            soundfile.write(wav, samples, model.sample_rate, subtype="FLOAT")
            start = time.perf_counter()
            expected = model.transcribe(samples, model.sample_rate)
            python_rtf = (time.perf_counter() - start) / (len(samples) / model.sample_rate)
            page.evaluate("document.getElementById('speech').dataset.state = 'ready'")
            page.set_input_files("#audio-file", str(wav))
            page.wait_for_selector("#speech[data-state=done], #speech[data-state=failed]", timeout=600_000)
            same = page.text_content("#final") == expected
            print(f"{name}\t{len(samples) / model.sample_rate:.2f} s\tpage RTF "
                  f"{float(page.get_attribute('#speech', 'data-rtf')):.3f}\tpython edge RTF {python_rtf:.3f}\t"
                  f"same text: {same}")
        browser.close()
    httpd.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
