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
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    add_limit,
    add_manifest,
    add_model,
    add_threads,
    best_time,
    load_line_images,
    load_model,
    parameter_count,
    parse_args,
    read_entries,
)
from recog.inference import RecognitionModel  # noqa: E402
from recog.model import Recognizer  # noqa: E402
from recog.train import tokenizer_from_spec  # noqa: E402


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
    add_manifest(parser)
    add_model(parser, required=False, help="checkpoint with ctc, parallel and attention heads (default: random)")
    parser.add_argument("--config", default="configs/synth_ocr.yaml")
    add_limit(parser, "--lines", default=500)
    add_threads(parser, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per head (best is kept)")
    parser.add_argument("--one-by-one", action="store_true", help="batches of one line (latency)")
    args = parse_args(parser)
    recognizer = load_model(args.model).model if args.model else build(args.config, args.manifest)
    model = RecognitionModel(recognizer)
    attention = recognizer.heads["attention"]
    with torch.no_grad():
        attention.out.bias[attention.eos] = -1e9  # never stop early: decode the reference length
    entries = read_entries(args.manifest, args.lines)
    images = dict(enumerate(load_line_images(entries, recognizer.frontend.config)[0]))
    batches = [[i] for i in images] if args.one_by_one else model.plan_batches(images, None)
    params = parameter_count(recognizer.encoder) / 1e6
    print(f"{len(entries)} lines, {len(batches)} batches, encoder {params:.2f} M parameters, threads {args.threads}")

    def max_len(batch: list[int]) -> dict[str, int]:
        """The attention head's options: decode as many steps as the batch's longest reference (+1: eos)."""
        return {"max_len": 1 + max(len(entries[i].text) for i in batch)}

    def transcribe_all(head: str) -> None:
        for batch in batches:
            options = max_len(batch) if head == "attention" else {}
            model.transcribe_arrays([images[i] for i in batch], ["-"] * len(batch), head=head, **options)

    speed = {}
    for head in ("ctc", "parallel", "attention"):
        best = best_time(lambda head=head: transcribe_all(head), args.repeats)
        speed[head] = len(entries) / best
        print(f"{head:>9}: {speed[head]:.1f} lines/s ({1000 / speed[head]:.2f} ms/line)")
    print(f"CTC / CPPD time: {speed['ctc'] / speed['parallel']:.2f}x (target <= 1.5)")
    print(f"attention / CPPD time: {speed['parallel'] / speed['attention']:.2f}x (target >= 4)")

    # The decoders alone, on encoder outputs computed once: what differs between the heads.
    encoded = [(batch, *model.encode_arrays([images[i] for i in batch])) for batch in batches]

    def decode_all(head: str) -> None:
        for batch, h, h_lengths in encoded:
            options = max_len(batch) if head == "attention" else {}
            recognizer.decode(h, h_lengths, head=head, **options)

    decoder_ms = {}
    for head in ("ctc", "parallel", "attention"):
        best = best_time(lambda head=head: decode_all(head), args.repeats)
        decoder_ms[head] = 1000 * best / len(entries)
        print(f"{head:>9} decoder alone: {decoder_ms[head]:.3f} ms/line")
    print(f"attention / CPPD decoder time: {decoder_ms['attention'] / decoder_ms['parallel']:.2f}x")
    print(f"mean reference length {np.mean([len(e.text) for e in entries]):.1f} characters")


if __name__ == "__main__":
    main()
