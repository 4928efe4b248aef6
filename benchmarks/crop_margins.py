"""Line crop margins on detected boxes: each line recog found on a page (the ``lines`` that
``benchmarks/ocr_pages.py --json`` writes) that matches a true box (IoU >= 0.5) is cut again with
each pair of margins (``recog_edge.boxes.crop_box``: ``margin`` above and below, ``ends`` before
and after, in box heights) and read by one text-line model, against that true box's text. The
detector does not run again, so margins compare on the same boxes (each turned as the page reader
turned it in that run), side by side in one run.

    python benchmarks/ocr_pages.py --manifest data/synth_pages/test.jsonl --systems recog --limit 60 \
        --json /tmp/pages.json
    python benchmarks/crop_margins.py --manifest data/synth_pages/test.jsonl --found /tmp/pages.json \
        --margins 0.2:0.2 0.2:0.35 0.2:0.5

Prints, for each ``margin:ends`` pair, the matched lines' CER by page kind and over all of them.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root
import recog  # noqa: E402
from benchmarks.common import add_manifest, add_threads, parse_args  # noqa: E402
from benchmarks.reading_order import found_lines  # noqa: E402
from recog.detection.metrics import match_boxes  # noqa: E402
from recog.detection.training import read_pages  # noqa: E402
from recog.image import load_image  # noqa: E402
from recog.metrics import char_error_rate  # noqa: E402
from recog_edge.boxes import crop_box  # noqa: E402


def margin_pair(text: str) -> tuple[float, float]:
    """``"0.2:0.35"`` -> (margin, ends)."""
    try:
        margin, ends = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give margin:ends, e.g. 0.2:0.35") from None
    return margin, ends


def matched_lines(manifest: str, found_file: str) -> list[dict]:
    """Every found line matched one-to-one to a true box: {image, box (4, 2), kind, text}."""
    found = found_lines(found_file)
    items = []
    for page in read_pages(manifest):
        if page["image_filepath"] not in found:
            continue
        boxes = [np.asarray(b, np.float32) for b in found[page["image_filepath"]]["polygons"]]
        pairs = match_boxes(boxes, page["polygons"], 0.5)
        items += [{"image": page["image_filepath"], "box": boxes[f], "kind": page["kind"],
                   "text": page["lines"][r]["text"]} for f, r in pairs]
    if not items:
        raise SystemExit(f"--found {found_file}: no found line matches a true box of {manifest}")
    return items


def cer(refs: list[str], texts: list[str], index: Iterable[int]) -> float:
    """CER in percent of the lines at ``index``."""
    index = list(index)
    return 100 * char_error_rate([refs[i] for i in index], [texts[i] for i in index])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_manifest(parser, help="a page manifest (recipes/synth_pages)")
    parser.add_argument("--found", required=True, help="a benchmarks/ocr_pages.py --json file with recog's lines")
    parser.add_argument("--margins", nargs="+", type=margin_pair, default=[(0.2, 0.2), (0.2, 0.35), (0.2, 0.5)],
                        help="margin:ends pairs, in box heights")
    parser.add_argument("--model", default="latin-lines", help="the text-line model")
    add_threads(parser, default=1)
    args = parse_args(parser, argv)
    model = recog.load(args.model)
    items = matched_lines(args.manifest, args.found)
    images = {path: load_image(path) for path in {item["image"] for item in items}}
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_kind[item["kind"]].append(i)
    print(f"{len(items)} matched lines of {len(images)} pages, read by {args.model}")
    print(f"{'margin:ends':<14}" + "".join(f"{kind:>12}" for kind in sorted(by_kind)) + f"{'all':>10}")
    refs = [item["text"] for item in items]
    for margin, ends in args.margins:
        crops = [crop_box(images[item["image"]], item["box"], margin, ends) for item in items]
        texts = [r.text for r in model.transcribe(crops)]
        cers = [cer(refs, texts, by_kind[kind]) for kind in sorted(by_kind)]
        cells = "".join(f"{value:>10.2f} %" for value in cers)
        print(f"{margin:g}:{ends:<10g}{cells}{cer(refs, texts, range(len(items))):>8.2f} %", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
