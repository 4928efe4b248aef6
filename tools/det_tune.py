"""Tune a text detector's box settings on validation pages: detection H-mean at IoU 0.5 for each
box threshold and unclip ratio, each page detected as ``recog ocr`` detects it (``detect_page``,
with its quarter-turn retry); a page's probability maps (upright and turned) are computed once.

    python tools/det_tune.py --model runs/latin_det/checkpoints/best-....ckpt --manifest data/synth_pages/dev.jsonl

The best pair goes to the shipped model's info (``tools/ship_model.py --detect``), where
``recog.load`` applies it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recog.checkpoint import load_detector  # noqa: E402
from recog.detection.detector import DetectionModel  # noqa: E402
from recog.detection.metrics import DetectionCounts  # noqa: E402
from recog.detection.training import read_pages  # noqa: E402
from recog.image import load_image  # noqa: E402
from recog.models import resolve  # noqa: E402
from recog_edge.boxes import BoxOptions, detect_page  # noqa: E402


def memoized(probability: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``probability`` computed once per distinct input batch (the box settings do not change it)."""
    maps: dict[tuple, np.ndarray] = {}

    def cached(batch: np.ndarray) -> np.ndarray:
        key = (batch.shape, hashlib.blake2b(batch.tobytes(), digest_size=16).digest())
        if key not in maps:
            maps[key] = probability(batch)
        return maps[key]

    return cached


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="detector checkpoint, model folder or shipped name")
    parser.add_argument("--manifest", required=True, help="page manifest (recipes/synth_pages)")
    parser.add_argument("--limit", type=int, help="first N pages")
    parser.add_argument("--box-thresh", default="0.3,0.4,0.5,0.6", help="comma-separated values")
    parser.add_argument("--unclip", default="1.3,1.5,1.7", help="comma-separated values")
    parser.add_argument("--threads", type=int, help="CPU threads for PyTorch")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    detector = DetectionModel(load_detector(resolve(args.model))[0])
    pages = [(load_image(p["image_filepath"]), p["polygons"]) for p in read_pages(args.manifest)[: args.limit]]
    probability = memoized(detector.map)
    grid = [(float(b), float(u)) for b in args.box_thresh.split(",") for u in args.unclip.split(",")]
    scores = {}
    for box_thresh, unclip in grid:
        counts = DetectionCounts()
        options = replace(detector.options, boxes=BoxOptions(box_thresh=box_thresh, unclip_ratio=unclip))
        for image, reference in pages:
            counts.add([box for box, _ in detect_page(image, probability, options)], reference)
        scores[box_thresh, unclip] = counts.hmean
        print(f"box_thresh {box_thresh:.2f} unclip {unclip:.2f}: H-mean {100 * counts.hmean:.2f} % "
              f"(precision {100 * counts.precision:.2f} %, recall {100 * counts.recall:.2f} %)", flush=True)
    (box_thresh, unclip), best = max(scores.items(), key=lambda item: item[1])
    print(f"best: --detect '{{\"box_thresh\": {box_thresh}, \"unclip_ratio\": {unclip}}}' "
          f"(H-mean {100 * best:.2f} % on {len(pages)} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
