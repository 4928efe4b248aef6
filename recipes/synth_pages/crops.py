"""Text-line training data from the page recipe: every box of a page split cut out as the page
reader cuts it (``recog_edge.boxes.crop_box``: a perspective warp with its margin), written as a
text-line manifest. Lines of receipts, UI screens and signs at their real sizes are what the line
recipe lacks; mixed with its lines, they teach a text-line model to read the crops whole-image OCR
gives it.

With ``--detector``, the boxes are those the detector finds on each page (as the page reader finds
them: their edges follow the ink and sit a little inside the renderer's ascender-to-descender
boxes), each matched one to one to a true box at IoU >= 0.5 and labelled with its text; found
boxes that match none are left out. A recogniser trained only on true-box crops read crops of
latin-det's boxes worse (test pages: 1.72 % CER against 1.08 % on the same lines' true boxes).

With ``--negatives`` as well, the found boxes that hold no text (less than a tenth of their area
inside the true boxes, all of them together: a screen's window buttons, a checkbox, an icon) are
cut too, with the empty text: a recogniser that learns to read nothing there lets the page reader
drop them, as it drops every empty reading. latin-lines 10 read 24 title bars' three buttons of the
200 test pages as "0 0 0" or "000", at confidences (0.91-0.96) no threshold tells from text. They
are cut on the pages that ``--max-lines`` samples a line of, on top of those lines.

    python recipes/synth_pages/crops.py --pages data/synth_pages --split train --max-lines 20000
    # -> data/synth_pages/lines_train.jsonl with images in data/synth_pages/crops/train/
    python recipes/synth_pages/crops.py --split train --detector latin-det
    # -> data/synth_pages/lines_train_found.jsonl, crops in data/synth_pages/crops/train_found/
    python recipes/synth_pages/crops.py --split train --detector latin-det --negatives
    # the same, and the found boxes with no text in them, labelled ""

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
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recog when not installed
from recog.detection.metrics import inside_share, match_boxes  # noqa: E402
from recog.detection.training import read_pages  # noqa: E402
from recog.image import load_image  # noqa: E402
from recog_edge.boxes import CROP_ENDS, CROP_MARGIN, crop_box, reading_corners  # noqa: E402

NO_TEXT_SHARE = 0.1  # a found box with less of its area inside the true boxes holds no text


def found_boxes(detect, image: np.ndarray, polygons: list[np.ndarray]
                ) -> tuple[dict[int, np.ndarray], list[np.ndarray]]:
    """(true box index -> the found box matched to it (IoU >= 0.5), its corners rolled to start
    where the true box's do (the text's top-left, so a turned page's crops come out upright);
    the found boxes that hold no text (``NO_TEXT_SHARE``), corners as the page reader reads them)."""
    found = [np.asarray(box, np.float32) for box, _ in detect(image)]
    matched = {}
    for i, j in match_boxes(found, polygons):
        rolls = [np.roll(found[i], k, axis=0) for k in range(4)]
        matched[j] = min(rolls, key=lambda box: float(np.linalg.norm(box - polygons[j], axis=1).sum()))
    empty = [reading_corners(box) for box in found
             if sum(inside_share(box, polygon) for polygon in polygons) < NO_TEXT_SHARE]
    return matched, empty


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="data/synth_pages", help="the page recipe's output folder")
    parser.add_argument("--split", default="train", choices=["train", "dev", "test"])
    parser.add_argument("--kinds", help="comma-separated page kinds to cut from, e.g. screenshot,sign (default: all)")
    parser.add_argument("--max-lines", type=int, default=20000, help="at most this many lines (a random sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--detector", help="cut the boxes this text detector finds (shipped name or path), "
                        "labelled by the true boxes they match, instead of the true boxes")
    parser.add_argument("--negatives", action="store_true",
                        help="with --detector: also cut the found boxes that hold no text, labelled with the "
                        "empty text")
    parser.add_argument("--out-name", help="write lines_NAME.jsonl and crops/NAME/ (default NAME: the split, "
                        "SPLIT_found with --detector)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the detector")
    parser.add_argument("--margin", type=float, default=CROP_MARGIN,
                        help="crop margin above and below, in box heights (default: the page reader's)")
    parser.add_argument("--ends", type=float, default=CROP_ENDS,
                        help="crop margin before and after the line, in box heights (default: the page reader's; "
                        "latin-lines 5-7's crops were cut with 0.2)")
    args = parser.parse_args(argv)
    if args.negatives and not args.detector:
        parser.error("--negatives needs --detector: only found boxes can hold no text")
    root = Path(args.pages)
    tag = args.out_name or args.split + ("_found" if args.detector else "")  # crops/train/, crops/train_found/
    detect = None
    if args.detector:
        import torch

        import recog

        torch.set_num_threads(args.threads)
        detect = recog.load(args.detector).detector.detect
    pages = read_pages(root / f"{args.split}.jsonl")
    if args.kinds:
        kinds = {kind.strip() for kind in args.kinds.split(",")}
        if missing := kinds - {page["kind"] for page in pages}:
            parser.error(f"--kinds: no {', '.join(sorted(missing))} page in {root / args.split}.jsonl")
        pages = [page for page in pages if page["kind"] in kinds]
    boxes = [(p, i) for p in pages for i in range(len(p["lines"]))]
    chosen = sorted(random.Random(args.seed).sample(range(len(boxes)), min(args.max_lines, len(boxes))))
    by_page: dict[str, list[int]] = {}
    for n in chosen:
        page, i = boxes[n]
        by_page.setdefault(page["image_filepath"], []).append(i)
    folder = root / "crops" / tag
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for page in pages:
        picks = by_page.get(page["image_filepath"])
        if not picks:
            continue
        image = load_image(page["image_filepath"])
        stem = Path(page["image_filepath"]).stem
        # the recipe's points start at the text's own top-left: no turning needed
        polygons = [np.asarray(p, np.float32) for p in page["polygons"]]
        cut, empty = found_boxes(detect, image, polygons) if detect else (dict(enumerate(polygons)), [])
        crops = [(f"{stem}_{i:03d}.png", cut[i], page["lines"][i]["text"]) for i in picks if i in cut]
        if args.negatives:
            crops += [(f"{stem}_none{k:02d}.png", box, "") for k, box in enumerate(empty)]
        for file, box, text in crops:
            crop = crop_box(image, box, args.margin, args.ends)
            cv2.imwrite(str(folder / file), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            rows.append({"image_filepath": f"crops/{tag}/{file}", "text": text, "kind": page["kind"]})
    out = root / f"lines_{tag}.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    nothing = sum(not row["text"] for row in rows)
    print(f"wrote {len(rows)} line crops of {len(by_page)} pages to {out}"
          + (f" ({nothing} of found boxes with no text)" if args.negatives else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
