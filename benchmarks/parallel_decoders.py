"""Parallel against autoregressive decoding on one encoder (issue 26): CASS-NAT against the
attention decoder (and CTC) for speech, or CPPD against the attention decoder for text lines,
from one checkpoint whose heads were trained together on the same encoder
(``configs/speech_decoders.yaml``, ``configs/line_decoders.yaml``).

    python benchmarks/parallel_decoders.py --model runs/speech_decoders/checkpoints/last.ckpt \
        --manifest data/synth_speech/test.jsonl --threads 1
    python benchmarks/parallel_decoders.py --model runs/line_decoders/checkpoints/last.ckpt \
        --manifest data/synth_ocr_v2/test.jsonl --threads 1

The inputs are read and encoded once, batched as recog batches them; each search then decodes
the same encoder outputs (once untimed, then best of ``--repeats``), so its time is the decoder's
alone. End-to-end speed adds the shared
encoder time. Prints WER (CER for text lines), decoder time, end-to-end RTFx (lines/s) per
search, and the issue's ratios: the parallel decoder's error against attention beam 4, attention
beam 4's decoder time against the parallel decoder's, and the parallel decoder's end-to-end speed
against CTC greedy's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    Stopwatch,
    add_limit,
    add_manifest,
    add_model,
    add_threads,
    best_time,
    encode_manifest,
    load_model,
    parse_args,
    read_entries,
    set_threads,
)
from recog.metrics import char_error_rate, word_error_rate  # noqa: E402

PARALLEL = {"cassnat", "parallel"}  # the heads that emit every token in one pass
CANDIDATES = {"cassnat"}  # those that also decode several candidates (``beam``) in that pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model(parser, help="checkpoint with a parallel head (cassnat or parallel), attention and ctc")
    add_manifest(parser)
    add_threads(parser, default=1)
    add_limit(parser, "--files")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per search (best kept)")
    args = parse_args(parser)
    set_threads(args.threads)
    model = load_model(args.model)
    recognizer = model.model
    parallel = next(h for h in recognizer.heads if h in PARALLEL)
    speech = recognizer.kind == "logmel"
    entries = read_entries(args.manifest, args.files)
    with Stopwatch() as encoding:
        encoded = encode_manifest(model, entries)
    size = sum(e.duration for e in entries) if speech else len(entries)
    # CASS-NAT samples alternative alignments (candidates); CPPD has one argmax pass only
    many = parallel in CANDIDATES
    searches = {"ctc greedy": ("ctc", {}), f"{parallel} (1 candidate)": (parallel, {}),
                **({f"{parallel} (4 candidates)": (parallel, {"beam": 4})} if many else {}),
                "attention greedy": ("attention", {}), "attention beam 4": ("attention", {"beam": 4})}
    refs = [e.text for e in entries]
    score = word_error_rate if speech else char_error_rate
    rows = {}
    for name, (head, options) in searches.items():
        hyps: dict[int, str] = {}

        def decode_all(head: str = head, options: dict = options, hyps: dict[int, str] = hyps) -> None:
            for batch, h, h_lengths in encoded:
                for i, hyp in zip(batch, recognizer.decode(h, h_lengths, head=head, **options), strict=True):
                    hyps[i] = hyp.text

        decode_all()  # warm-up: first calls pay one-off set-up
        seconds = best_time(decode_all, args.repeats)
        error = score(refs, [hyps[i] for i in range(len(entries))])
        rows[name] = (error, seconds, size / (encoding.seconds + seconds))
    unit = "RTFx" if speech else "lines/s"
    print(f"{args.model}: {len(entries)} {'utterances' if speech else 'lines'}, threads {args.threads}, "
          f"encoder {encoding.seconds:.2f} s (shared by every search)")
    for name, (error, seconds, speed) in rows.items():
        print(f"{name:26s} {'WER' if speech else 'CER'} {100 * error:6.2f} %   decoder {seconds:7.3f} s   "
              f"end to end {unit} {speed:7.1f}")
    att, ctc = rows["attention beam 4"], rows["ctc greedy"]
    for name in [n for n in rows if n.startswith(parallel)]:
        par = rows[name]
        print(f"{name}: error / attention beam 4's {par[0] / max(att[0], 1e-9):.2f}x, "
              f"attention beam 4 decoder time / its decoder time {att[1] / par[1]:.1f}x, "
              f"end-to-end speed / CTC greedy's {par[2] / ctc[2]:.2f}x")


if __name__ == "__main__":
    main()
