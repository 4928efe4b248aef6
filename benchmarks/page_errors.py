"""Where whole-page OCR loses characters: the errors of an ``ocr_pages.py --json`` run split by source.

    python benchmarks/ocr_pages.py --manifest data/synth_pages/test.jsonl --limit 60 --json pages.json
    python benchmarks/page_errors.py pages.json

Per system and page kind (micro-averaged, whitespace collapsed as ``ocr_pages.py`` does):

- page CER, and page CER with *rule lines* left out of both texts (lines made only of ``-=_*~.``
  and spaces: a receipt's separators, which one missed box turns into 60 or so deletions);
- for a system that returns its lines with boxes (recog): the line boxes matched one to one with
  the manifest's at IoU >= ``--iou`` (``recog.detection.metrics.match_boxes``), and the characters
  (1) misread in matched lines (edit distance of each pair), (2) of reference lines no box matched
  (missed, merged with a neighbour or cut apart), (3) of returned lines that matched no reference
  line (extra, merged or cut). Merged or cut lines count in both (2) and (3) although their text
  may be right, so the three say where to look, not how the page CER adds up; what page CER has
  beyond line misreads is detection and reading order.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.*
from benchmarks.ocr_pages import collapse  # noqa: E402
from recog.detection.metrics import match_boxes  # noqa: E402
from recog.detection.training import read_pages  # noqa: E402
from recog.metrics import char_edits  # noqa: E402

RULE = re.compile(r"[-=_*~.\s]+")  # a line of these only is a rule, not words


def without_rules(text: str) -> str:
    """``text`` without its rule lines."""
    return "\n".join(line for line in text.split("\n") if not RULE.fullmatch(line))


def tally(ref: dict[str, Any], out: dict[str, Any], iou: float) -> dict[str, int]:
    """One page's counts: reference characters and page edits, with and without rule lines, and
    (where the system gave lines) line misreads, missed and extra characters."""
    text, plain = collapse(ref["text"]), collapse(without_rules(ref["text"]))
    counts = {"chars": len(text), "edits": char_edits(text, collapse(out["text"])),
              "plain_chars": len(plain), "plain_edits": char_edits(plain, collapse(without_rules(out["text"])))}
    if "lines" in out:
        boxes = [np.asarray(line["box"], np.float32) for line in out["lines"]]
        pairs = match_boxes(boxes, ref["polygons"], iou)
        refs, outs = {j for _, j in pairs}, {i for i, _ in pairs}
        counts |= {"misread": sum(char_edits(ref["lines"][j]["text"], out["lines"][i]["text"]) for i, j in pairs),
                   "missed": sum(len(line["text"]) for j, line in enumerate(ref["lines"]) if j not in refs),
                   "extra": sum(len(line["text"]) for i, line in enumerate(out["lines"]) if i not in outs)}
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", help="the --json file of benchmarks/ocr_pages.py")
    parser.add_argument("--manifest", help="the page manifest it read (default: the one the file names)")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU a line box needs to match (default 0.5)")
    args = parser.parse_args(argv)
    try:
        run = json.loads(Path(args.json).read_text(encoding="utf-8"))
        pages = {str(Path(p["image_filepath"]).resolve()): p for p in read_pages(args.manifest or run["manifest"])}
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {args.json}: {err}", file=sys.stderr)
        return 2
    for system in run["systems"]:
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for out in system["per_page"]:
            ref = pages.get(str(Path(out["image_filepath"]).resolve()))
            if ref is None:
                print(f"error: {out['image_filepath']} is not in the manifest", file=sys.stderr)
                return 2
            counts = tally(ref, out, args.iou)
            for kind in (ref["kind"], "all"):
                for key, value in counts.items():
                    totals[kind][key] += value
        print(f"== {system['name']}")
        print(f"{'kind':<11} {'page CER':>9} {'no rules':>9} {'misread':>8} {'missed':>8} {'extra':>8}"
              "  (% of reference characters)")
        for kind, t in sorted(totals.items(), key=lambda kv: (kv[0] == "all", kv[0])):
            lines = (" ".join(f"{100 * t[k] / max(t['chars'], 1):>7.2f}%" for k in ("misread", "missed", "extra"))
                     if "misread" in t else f"{'-':>8} {'-':>8} {'-':>8}")  # page figures only: no line boxes
            print(f"{kind:<11} {100 * t['edits'] / max(t['chars'], 1):>8.2f}% "
                  f"{100 * t['plain_edits'] / max(t['plain_chars'], 1):>8.2f}% {lines}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
