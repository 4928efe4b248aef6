"""Reading order alone: each page's true boxes and line texts (from the page recipe's manifest), put
in order by ``recog_edge.layout`` and joined as the page reader joins them, against the page's
reference text (whitespace collapsed, as benchmarks/ocr_pages.py scores pages). No model runs, so
what is left is the layout's error, the floor under a page reader's page CER.

With ``--found``, the boxes and texts are instead those recog found and read on each page (the
``lines`` that ``benchmarks/ocr_pages.py --json`` writes), put in order afresh: layout rules
are judged on detected boxes (whose edges are noisier than the renderer's) as well, without
running the models again for every change of a rule. Only the pages in that file are scored.

    python benchmarks/reading_order.py --manifest data/synth_pages/test.jsonl
    python benchmarks/reading_order.py --manifest data/synth_pages/train.jsonl --worst 10
    python benchmarks/ocr_pages.py --systems recog --limit 60 --json /tmp/pages.json
    python benchmarks/reading_order.py --manifest data/synth_pages/test.jsonl --found /tmp/pages.json

Prints the page CER by page kind and over all pages, the number of pages over 5 %, and the worst
pages.
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--found", help="lay out recog's lines from this benchmarks/ocr_pages.py --json file")
    args = parser.parse_args(argv)
    pages = [page for page in read_pages(args.manifest) if page["lines"]]
    if args.found:
        found = found_lines(args.found)
        pages = [{**page, **found[page["image_filepath"]]} for page in pages if page["image_filepath"] in found]
        if not pages:
            raise SystemExit(f"--found {args.found}: none of its pages is in {args.manifest} (give the manifest "
                             "as benchmarks/ocr_pages.py was given it: page paths are matched as written)")
    refs: dict[str, list[str]] = defaultdict(list)
    hyps: dict[str, list[str]] = defaultdict(list)
    scored = []
    for page in pages:
        ref = collapse(page["text"])
        texts = [line["text"] for line in page["lines"]]
        hyp = collapse(page_text(corners_order(np.array(page["polygons"])), texts)) if texts else ""
        refs[page["kind"]].append(ref)
        hyps[page["kind"]].append(hyp)
        scored.append((char_error_rate([ref], [hyp]), page["kind"], page["image_filepath"]))
    source = "recog's boxes and texts" if args.found else "true boxes"
    print(f"reading order from {source}, {len(pages)} pages of {args.manifest}")
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


def found_lines(path: str) -> dict[str, dict]:
    """recog's lines per page image (``polygons`` (N, 4, 2) and ``lines`` [{text}]) from an
    ``ocr_pages.py --json`` file."""
    systems = json.loads(Path(path).read_text(encoding="utf-8"))["systems"]
    recog = next((s for s in systems if s["name"] == "recog"), None)
    if recog is None or not all("lines" in page for page in recog["per_page"]):
        raise SystemExit(f"{path}: no recog lines in it (write it with benchmarks/ocr_pages.py --systems recog --json)")
    return {page["image_filepath"]: {"polygons": [line["box"] for line in page["lines"]],
                                     "lines": [{"text": line["text"]} for line in page["lines"]]}
            for page in recog["per_page"]}


if __name__ == "__main__":
    sys.exit(main())
