"""How sure the upside-down test is: for every direction group of lines on each page of page
manifests (recipes/synth_pages), how much surer its longest lines read turned half a turn
(``recog_edge.pages.turn_gains``), against the page's true rotation; groups whose vote and mean
gain fall either side of ``TURN_MARGIN`` are listed, with the gains of groups on upright and on
upside-down pages.

    python benchmarks/turn_gains.py data/synth_pages_v2/test.jsonl data/synth_pages_v2/dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recog when not installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifests", nargs="+", help="page manifests (JSONL, with a rotation per page)")
    parser.add_argument("--detector", default="latin-det")
    parser.add_argument("--lines", default="latin-lines")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    import recog
    from recog.image import load_image
    from recog_edge.boxes import crop_box, reading_corners
    from recog_edge.pages import TURN_MARGIN, direction_groups, turn_gains, turns

    torch.set_num_threads(args.threads)
    detector, lines = recog.load(args.detector).detector, recog.load(args.lines)

    def read(crops: list[np.ndarray]) -> list[tuple[str, float]]:
        return [(r.text, r.confidence) for r in lines.transcribe(crops)]

    groups = []
    for manifest in args.manifests:
        root = Path(manifest).parent
        for row in map(json.loads, Path(manifest).read_text().splitlines()):
            image = load_image(root / row["image_filepath"])
            boxes = [reading_corners(np.asarray(box, np.float32)) for box, _ in detector.detect(image)]
            crops = [crop_box(image, box) for box in boxes]
            for direction, group in direction_groups(boxes).items():
                gains = turn_gains(crops, boxes, group, read)
                groups.append((row["image_filepath"], row["rotation"], direction, gains))
    print(f"{len(groups)} direction groups on the pages of {', '.join(args.manifests)}; TURN_MARGIN {TURN_MARGIN}")
    for rotation in sorted({g[1] for g in groups}):
        main_gains = [float(np.mean(g[3])) for g in groups if g[1] == rotation and len(g[3]) > 1]
        if main_gains:
            print(f"pages at {rotation:3d} degrees: groups of 2+ lines gain {min(main_gains):+.3f} to "
                  f"{max(main_gains):+.3f} turned (mean over each group's lines)")
    print("groups whose vote turns them but whose mean gain is under the margin (they stay as they are):")
    for page, rotation, direction, gains in groups:
        voted = 2 * sum(gain > 0 for gain in gains) > len(gains)
        if voted and not turns(gains):
            print(f"  {page} (rotation {rotation}, direction {direction}): {len(gains)} lines, mean gain "
                  f"{np.mean(gains):+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
