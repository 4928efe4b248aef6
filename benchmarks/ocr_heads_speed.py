"""Text-line decoding speed of the CTC, CPPD (parallel) and attention heads on one vision encoder.

    python benchmarks/ocr_heads_speed.py --manifest data/synth_ocr/test.jsonl --lines 500 --threads 2

Builds the encoder of ``configs/synth_ocr.yaml`` with all three heads (random weights unless
``--model`` names a checkpoint that has them): speed does not depend on the weights, except for
how long the autoregressive decoder runs, so its end-of-sequence output is disabled and every
batch decodes for as many steps as its longest reference line has characters (+1 for the eos a
trained model would emit) -- the cost a trained model pays. Images are loaded and resized
first; the timing covers frontend, encoder and search, batched as ``recog ocr`` batches them, or
one line at a time with ``--one-by-one`` (latency: where an autoregressive decoder pays a whole
step per character). Prints lines/s per head and the ratios the OCR issue asks for, end to end
(the shared encoder included), then the time of each decoder alone on encoder outputs computed
once (the part in which the heads differ).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import yaml

import recog
from recog.data import read_manifest
from recog.image import load_image, resize_line
from recog.inference import RecognitionModel
from recog.model import Recognizer
from recog.train import tokenizer_from_spec


def build(config: str, manifest: str) -> Recognizer:
    spec = yaml.safe_load(open(config))["model"]
    spec["tokenizer"]["manifest"] = manifest
    model = spec["model"]
    model["heads"] = {"ctc": {}, "parallel": model["heads"].get("parallel", {"max_len": 64}),
                      "attention": {"layers": 2, "heads": 4}}
    torch.manual_seed(0)
    return Recognizer(tokenizer_from_spec(spec["tokenizer"]), **model).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--model", help="checkpoint with ctc, parallel and attention heads (default: random)")
    parser.add_argument("--config", default="configs/synth_ocr.yaml")
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per head (best is kept)")
    parser.add_argument("--one-by-one", action="store_true", help="batches of one line (latency)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recognizer = recog.load(args.model).model if args.model else build(args.config, args.manifest)
    model = RecognitionModel(recognizer)
    attention = recognizer.heads["attention"]
    with torch.no_grad():
        attention.out.bias[attention.eos] = -1e9  # never stop early: decode the reference length
    entries = read_manifest(args.manifest)[: args.lines]
    images = {i: resize_line(load_image(e.path), recognizer.frontend.config) for i, e in enumerate(entries)}
    batches = [[i] for i in images] if args.one_by_one else model.plan_batches(images, None)
    params = sum(p.numel() for p in recognizer.encoder.parameters()) / 1e6
    print(f"{len(entries)} lines, {len(batches)} batches, encoder {params:.2f} M parameters, threads {args.threads}")
    speed = {}
    for head in ("ctc", "parallel", "attention"):
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            for batch in batches:
                options = {}
                if head == "attention":
                    options["max_len"] = 1 + max(len(entries[i].text) for i in batch)
                model.transcribe_arrays([images[i] for i in batch], ["-"] * len(batch), head=head, **options)
            best = min(best, time.perf_counter() - start)
        speed[head] = len(entries) / best
        print(f"{head:>9}: {speed[head]:.1f} lines/s ({1000 / speed[head]:.2f} ms/line)")
    print(f"CTC / CPPD time: {speed['ctc'] / speed['parallel']:.2f}x (target <= 1.5)")
    print(f"attention / CPPD time: {speed['parallel'] / speed['attention']:.2f}x (target >= 4)")

    # The decoders alone, on encoder outputs computed once: what differs between the heads.
    encoded = [(batch, *model.encode_arrays([images[i] for i in batch])) for batch in batches]
    decoder_ms = {}
    for head in ("ctc", "parallel", "attention"):
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            for batch, h, h_lengths in encoded:
                options = {"max_len": 1 + max(len(entries[i].text) for i in batch)} if head == "attention" else {}
                recognizer.decode(h, h_lengths, head=head, **options)
            best = min(best, time.perf_counter() - start)
        decoder_ms[head] = 1000 * best / len(entries)
        print(f"{head:>9} decoder alone: {decoder_ms[head]:.3f} ms/line")
    print(f"attention / CPPD decoder time: {decoder_ms['attention'] / decoder_ms['parallel']:.2f}x")
    print(f"mean reference length {np.mean([len(e.text) for e in entries]):.1f} characters")


if __name__ == "__main__":
    main()
