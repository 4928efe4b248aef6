"""Text lines in saturated colour pairs: a text-line model's CER on the OCR recipe's test texts drawn
in its test fonts with ink and ground of different hues (green on magenta, orange on blue, ...),
beside the same lines in grey, and with the model's frontend reading colour or luminance.

    python benchmarks/colour_lines.py --model latin-lines --lines 300
    python benchmarks/colour_lines.py --model runs/latin_lines_v14/checkpoints/best.ckpt --threads 1

Each line: a test text of ``recipes/synth_ocr`` (``--manifest``, default its test split) in one of
the test split's font faces (``recipes/synth_ocr/fonts.py``: designs never seen in training), 28-40
px, on a flat ground. The ink and the ground are saturated colours (HSV saturation 0.6-1, value
0.5-1) whose hues lie 90-270 degrees apart, drawn until their WCAG contrast ratio is 3-7 (legible,
as signs and posters are, but not black on white). The grey copy of each line is its luminance (Rec.
601, as ``recog_edge.boxes.luminance`` gives the detector), so the two sets hold the same shapes and
contrast and differ only in hue. Everything follows from ``--seed``.

Printed per setting of the frontend (``ImageConfig.luminance`` off, as the model was saved, and on):
CER and exact lines on the coloured and on the grey lines. A model that reads its input's hue,
not only its brightness, reads the coloured lines worse than their grey copies.
"""

from __future__ import annotations

import argparse
import colorsys
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "recipes" / "synth_ocr"))

from prepare import contrast_ratio  # noqa: E402 - the recipe's WCAG contrast, recipes/synth_ocr

from benchmarks.common import add_limit, add_model, add_threads, load_model, set_threads  # noqa: E402
from recog.metrics import char_error_rate, exact_match_rate  # noqa: E402
from recog_edge.boxes import luminance  # noqa: E402 - the grey the detector reads


def colour_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ink and ground (uint8 RGB): saturated, hues 90-270 degrees apart, contrast ratio 3-7."""
    while True:
        hue = rng.random()
        ink_hue = (hue + rng.uniform(0.25, 0.75)) % 1.0
        ground, ink = (np.array(colorsys.hsv_to_rgb(h, rng.uniform(0.6, 1.0), rng.uniform(0.5, 1.0)))
                       for h in (hue, ink_hue))
        if 3.0 <= contrast_ratio(255 * ink, 255 * ground) <= 7.0:
            return np.round(ink * 255).astype(np.uint8), np.round(ground * 255).astype(np.uint8)


def render(text: str, font_path: str, size: int, ink: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """``text`` in the face at ``font_path``, ``size`` px, ink on a flat ground with a margin -> uint8 (H, W, 3)."""
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    pad = size // 4
    image = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), tuple(int(c) for c in ground))
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=tuple(int(c) for c in ink))
    return np.asarray(image)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model(parser, help="a text-line model: shipped name, model folder or checkpoint")
    parser.add_argument("--manifest", default="data/synth_ocr_v2/test.jsonl", help="where the texts come from")
    add_limit(parser, "--lines", default=300, help="lines to draw (the manifest's first N texts)")
    add_threads(parser, 1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from fonts import MissingPackagesError, check_packages, face_split

    try:  # the recipe's font split needs every font package it names, or the test faces differ
        check_packages()
    except MissingPackagesError as err:
        parser.exit(2, f"colour_lines.py: {err}\n")
    set_threads(args.threads)
    texts = [json.loads(row)["text"] for row in Path(args.manifest).read_text(encoding="utf-8").splitlines()]
    texts = [t for t in texts if t.strip()][: args.lines]
    faces = face_split()["test"]
    rng = np.random.default_rng(args.seed)
    coloured = []
    for text in texts:
        face = faces[int(rng.integers(len(faces)))]
        coloured.append(render(text, face.path, int(rng.integers(28, 41)), *colour_pair(rng)))
    sets = {"coloured": coloured, "grey": [luminance(x) for x in coloured]}
    model = load_model(args.model)
    config = model.model.frontend.config
    print(f"{len(texts)} test texts of {args.manifest} in {len(faces)} test faces, saturated hue pairs "
          f"(contrast 3-7), seed {args.seed}; model {args.model}, {args.threads} thread(s)")
    print(f"{'frontend':<22} {'set':<9} {'CER':>7} {'exact':>7}")
    for grey_frontend in (config.luminance, not config.luminance):
        model.model.frontend.config = dataclasses.replace(config, luminance=grey_frontend)
        saved = " (as saved)" if grey_frontend == config.luminance else ""
        label = f"{'luminance' if grey_frontend else 'colour'}{saved}"
        for name, images in sets.items():
            got = [r.text for r in model.transcribe(images)]
            print(f"{label:<22} {name:<9} {100 * char_error_rate(texts, got):>6.2f}% "
                  f"{100 * exact_match_rate(texts, got):>6.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
