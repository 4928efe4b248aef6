"""int8 against float ONNX exports of a text-line model, side by side in one run: file size, CER
and lines/s of the torch-free runtime (``recog_edge.EdgeLineModel``) on the same lines.

    python benchmarks/int8_export.py --model latin-lines --manifest data/synth_ocr_v2/test.jsonl --limit 300
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recog.export import export_lines, quantize_int8  # noqa: E402
from recog.inference import load  # noqa: E402
from recog.metrics import char_error_rate  # noqa: E402
from recog_edge.lines import EdgeLineModel  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="latin-lines", help="text-line model (name, folder or checkpoint)")
    parser.add_argument("--manifest", required=True, help="text-line manifest with reference texts")
    parser.add_argument("--limit", type=int, default=300, help="first N lines")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args()
    manifest = Path(args.manifest)
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()][: args.limit]
    paths = [str(manifest.parent / r["image_filepath"]) for r in rows]
    refs = [r["text"] for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        float_dir, int8_dir = Path(tmp) / "float", Path(tmp) / "int8"
        model = load(args.model).model
        export_lines(model, float_dir)
        quantize_int8(export_lines(model, int8_dir))
        figures = {}
        for name, folder in (("float32", float_dir), ("int8", int8_dir)):
            edge = EdgeLineModel(folder, threads=args.threads)
            edge.read(paths[:3])  # warm-up
            start = time.perf_counter()
            hyps = [r.text for r in edge.read(paths)]
            seconds = time.perf_counter() - start
            figures[name] = {"MB": (folder / "lines.onnx").stat().st_size / 1e6,
                             "CER": char_error_rate(refs, hyps), "lines/s": len(paths) / seconds}
    print(f"{args.model} on {len(paths)} lines of {args.manifest}, {args.threads} thread(s)")
    for name, f in figures.items():
        print(f"{name:8s} {f['MB']:6.1f} MB   CER {100 * f['CER']:6.2f} %   {f['lines/s']:6.1f} lines/s")
    a, b = figures["int8"], figures["float32"]
    print(f"int8 / float32: size {a['MB'] / b['MB']:.2f}x, CER {a['CER'] / max(b['CER'], 1e-9):.2f}x, "
          f"speed {a['lines/s'] / b['lines/s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
