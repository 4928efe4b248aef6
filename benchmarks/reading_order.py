"""Reading order alone: each page's true boxes and line texts (from the page recipe's manifest), put
in order by ``recog_edge.layout`` and joined as the page reader joins them, against the page's
reference text (whitespace collapsed, as benchmarks/ocr_pages.py scores pages). No model runs, so
what is left is the layout's error, the floor under a page reader's page CER.

    python benchmarks/reading_order.py --manifest data/synth_pages/test.jsonl
    python benchmarks/reading_order.py --manifest data/synth_pages/train.jsonl --worst 10

Prints the page CER by page kind and over all pages, the number of pages over 5 %, and the worst
pages.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root
from benchmarks.ocr_pages import collapse  # noqa: E402
from recog.detection.training import read_pages  # noqa: E402
from recog.metrics import char_error_rate  # noqa: E402
from recog_edge.layout import corners_order, page_text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True, help="a page manifest (recipes/synth_pages)")
    parser.add_argument("--worst", type=int, default=5, help="list this many worst pages")
    args = parser.parse_args(argv)
    pages = [page for page in read_pages(args.manifest) if page["lines"]]
    refs: dict[str, list[str]] = defaultdict(list)
    hyps: dict[str, list[str]] = defaultdict(list)
    scored = []
    for page in pages:
        ref = collapse(page["text"])
        hyp = collapse(page_text(corners_order(np.array(page["polygons"])), [line["text"] for line in page["lines"]]))
        refs[page["kind"]].append(ref)
        hyps[page["kind"]].append(hyp)
        scored.append((char_error_rate([ref], [hyp]), page["kind"], page["image_filepath"]))
    print(f"reading order from true boxes, {len(pages)} pages of {args.manifest}")
    for kind in sorted(refs):
        cer = char_error_rate(refs[kind], hyps[kind])
        print(f"  {kind:<11} {len(refs[kind]):4d} pages  page CER {100 * cer:6.2f} %")
    every_ref = [r for kind in refs for r in refs[kind]]
    every_hyp = [h for kind in refs for h in hyps[kind]]
    over = sum(cer > 0.05 for cer, _, _ in scored)
    print(f"  {'all':<11} {len(pages):4d} pages  page CER {100 * char_error_rate(every_ref, every_hyp):6.2f} %"
          f"  ({over} pages over 5 %)")
    for cer, kind, path in sorted(scored, reverse=True)[: args.worst]:
        print(f"  worst: {100 * cer:6.2f} %  {kind:<11} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
