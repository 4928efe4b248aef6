"""Text-line training data from the page recipe: every box of a page split cut out as the page
reader cuts it (``recog_edge.boxes.crop_box``: a perspective warp with a margin of 0.1 box
heights), written as a text-line manifest. Lines of receipts, UI screens and signs at their real
sizes are what the line recipe lacks; mixed with its lines, they teach a text-line model to read
the crops whole-image OCR gives it.

    python recipes/synth_pages/crops.py --pages data/synth_pages --split train --max-lines 20000
    # -> data/synth_pages/lines_train.jsonl with images in data/synth_pages/crops/train/

Deterministic given --seed (which boxes are taken when --max-lines is below the split's total).
Rows: ``image_filepath`` (relative to the pages folder), ``text``, ``kind``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recog when not installed
from recog.detection.training import read_pages  # noqa: E402
from recog.image import load_image  # noqa: E402
from recog_edge.boxes import crop_box  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="data/synth_pages", help="the page recipe's output folder")
    parser.add_argument("--split", default="train", choices=["train", "dev", "test"])
    parser.add_argument("--max-lines", type=int, default=20000, help="at most this many lines (a random sample)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    root = Path(args.pages)
    pages = read_pages(root / f"{args.split}.jsonl")
    boxes = [(p, i) for p in pages for i in range(len(p["lines"]))]
    chosen = sorted(random.Random(args.seed).sample(range(len(boxes)), min(args.max_lines, len(boxes))))
    by_page: dict[str, list[int]] = {}
    for n in chosen:
        page, i = boxes[n]
        by_page.setdefault(page["image_filepath"], []).append(i)
    folder = root / "crops" / args.split
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for page in pages:
        picks = by_page.get(page["image_filepath"])
        if not picks:
            continue
        image = load_image(page["image_filepath"])
        stem = Path(page["image_filepath"]).stem
        for i in picks:
            line = page["lines"][i]
            # the recipe's points start at the text's own top-left: no turning needed
            crop = crop_box(image, page["polygons"][i])
            name = f"{stem}_{i:03d}.png"
            cv2.imwrite(str(folder / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            rows.append({"image_filepath": f"crops/{args.split}/{name}", "text": line["text"], "kind": page["kind"]})
    out = root / f"lines_{args.split}.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} line crops of {len(by_page)} pages to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
