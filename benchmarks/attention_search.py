"""Attention decoder search: the cost of a decoding step, and accuracy, speed and n-best diversity
of each search.

    python benchmarks/attention_search.py                       # (a) only: random weights
    python benchmarks/attention_search.py --model CKPT --manifest data/synth_speech/test.jsonl

(a) ms per output token when decoding 10 vs 100 tokens of one long utterance (random weights, a
    fixed random encoder output), with the key/value cache and without it (every step re-runs the
    whole prefix), and the 100/10 ratio: with the cache a step costs one new token, so the ratio
    stays near 1 (target <= 1.3); without it the cost per token grows with the prefix. The
    cross-attention memory is computed once per utterance and timed apart.
(b) with a checkpoint (attention + CTC heads) and a manifest: WER, CER and RTFx (speech) or
    lines/s (text lines) of greedy, beam 4, diverse beam (4 beams, 2 groups; --beam sets the width of
    both), attention rescoring
    and joint rescoring (beam 4), and the distinct-n-gram ratio of the beam and diverse beam n-best
    lists (distinct n-grams / all n-grams over an input's n-best hypotheses, averaged over inputs)
    with the number of distinct hypotheses per list. Inputs are read before timing. Choose the
    diversity and the CTC weights on dev with tools/search_tune.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
import recog  # noqa: E402
from benchmarks.common import (  # noqa: E402
    Stopwatch,
    add_manifest,
    add_model,
    add_threads,
    audio_seconds,
    distinct_ngram_ratio,
    load_model,
    median_time,
    parse_args,
    read_entries,
    timed,
)
from recog.heads.attention import AttentionHead  # noqa: E402
from recog.metrics import char_error_rate, inverse_real_time_factor, word_error_rate  # noqa: E402


def search_table(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    """The searches of (b), with the diversity and CTC weight chosen on dev (tools/search_tune.py)."""
    return {
        "greedy": {"search": "greedy"},
        f"beam {args.beam}": {"search": "beam", "beam": args.beam, "nbest": args.beam},
        f"diverse {args.beam}x2": {"search": "diverse", "beam": args.beam, "groups": 2, "nbest": args.beam,
                                   "diversity": args.diversity},
        f"rescore {args.rescore_beam}": {"search": "rescore", "beam": args.rescore_beam, "ctc_weight": args.ctc_weight},
        "joint 4": {"search": "joint", "beam": 4, "ctc_weight": args.joint_ctc_weight},
    }


# ---------------------------------------------------------------- (a) step cost


@torch.no_grad()
def cached_decode(head: AttentionHead, memory: object, tokens: int) -> None:
    """``tokens`` steps through the cache, never stopping at eos."""
    cache = head.initial_cache(1, torch.device("cpu"))
    last = torch.full((1,), head.sos, dtype=torch.long)
    for _ in range(tokens):
        log_probs, _, cache = head.step(last, memory, cache)
        last = log_probs[:, : head.eos].argmax(dim=-1)


@torch.no_grad()
def uncached_decode(head: AttentionHead, memory: object, tokens: int) -> None:
    """``tokens`` steps, each re-running the decoder over the whole prefix."""
    prefix = torch.full((1, 1), head.sos, dtype=torch.long)
    for _ in range(tokens):
        logits = head(prefix, memory)[:, -1]
        prefix = torch.cat([prefix, logits[:, : head.eos].argmax(dim=-1, keepdim=True)], dim=1)


def ms_per_token(decode: object, head: AttentionHead, memory: object, tokens: int, repeats: int) -> float:
    return median_time(lambda: decode(head, memory, tokens), repeats) * 1000 / tokens  # type: ignore[operator]


def step_cost(args: argparse.Namespace) -> None:
    torch.manual_seed(0)
    head = AttentionHead(d_model=args.dim, vocab_size=args.vocab, layers=args.layers, heads=args.heads,
                         dropout=0.0).eval()
    h = torch.randn(1, args.frames, args.dim)  # (1, T, D): a long utterance's encoder output
    lengths = torch.tensor([args.frames])
    with torch.no_grad():
        memory, seconds = timed(lambda: head.memory(h, lengths))
        memory_ms = seconds * 1000
    cached_decode(head, memory, 10)  # warm-up
    uncached_decode(head, memory, 10)
    print(f"(a) decoder: {args.layers} layers, dim {args.dim}, {args.heads} heads, {args.vocab + 1} classes; "
          f"encoder output {args.frames} frames; {args.threads} thread(s); median of {args.repeats}")
    print(f"    cross-attention memory, once per utterance: {memory_ms:.2f} ms")
    for name, decode in (("with KV cache", cached_decode), ("without cache", uncached_decode)):
        short = ms_per_token(decode, head, memory, 10, args.repeats)
        long = ms_per_token(decode, head, memory, 100, args.repeats)
        print(f"    {name}: {short:.3f} ms/token at 10 tokens, {long:.3f} ms/token at 100 tokens, "
              f"ratio {long / short:.2f}")


# ---------------------------------------------------------------- (b) searches on a real model


def searches(args: argparse.Namespace) -> None:
    model = load_model(args.model)
    entries = read_entries(args.manifest)
    speech = model.kind == "logmel"
    loaded = [model.input.load(e.path) for e in entries]
    inputs = {i: item.array for i, item in enumerate(loaded)}
    scales = {i: item.scale for i, item in enumerate(loaded)}
    seconds = audio_seconds(inputs.values()) if speech else 0.0
    batches = model.plan_batches(inputs, args.batch_size)
    refs = [e.text for e in entries]
    print(f"(b) {args.model}, head {args.head}: {len(entries)} {'utterances' if speech else 'lines'}")
    model.transcribe_arrays([inputs[i] for i in batches[0]], ["warm-up"] * len(batches[0]), head=args.head)
    for name, options in search_table(args).items():
        results: dict[int, recog.Recognition] = {}
        with Stopwatch() as watch:
            for batch in batches:
                out = model.transcribe_arrays([inputs[i] for i in batch], [entries[i].path for i in batch],
                                              head=args.head, scales=[scales[i] for i in batch],
                                              **options)
                results.update(zip(batch, out, strict=True))
        elapsed = watch.seconds
        hyps = [results[i].text for i in range(len(entries))]
        speed = (f"RTFx {inverse_real_time_factor(seconds, elapsed):.1f}" if speech
                 else f"{len(entries) / elapsed:.1f} lines/s")
        line = (f"    {name:12s} WER {100 * word_error_rate(refs, hyps):6.2f} %  "
                f"CER {100 * char_error_rate(refs, hyps):6.2f} %  {speed}")
        if options.get("nbest", 1) > 1:
            nbest = [[x["tokens"] for x in results[i].nbest] for i in range(len(entries))]
            line += "  distinct n-grams " + ", ".join(f"{n}: {distinct_ngram_ratio(nbest, n):.3f}" for n in (1, 2, 3))
            line += f"; {sum(map(len, nbest)) / len(nbest):.2f} hypotheses per list"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_threads(parser, default=1)
    parser.add_argument("--dim", type=int, default=144, help="(a) decoder width")
    parser.add_argument("--layers", type=int, default=3, help="(a) decoder layers")
    parser.add_argument("--heads", type=int, default=4, help="(a) attention heads")
    parser.add_argument("--vocab", type=int, default=40, help="(a) tokenizer vocabulary size")
    parser.add_argument("--frames", type=int, default=750, help="(a) encoder frames (30 s at 40 ms)")
    parser.add_argument("--repeats", type=int, default=5, help="(a) timed runs per figure (median)")
    add_model(parser, required=False, help="(b) checkpoint with attention and CTC heads")
    add_manifest(parser, required=False, help="(b) JSONL manifest with reference texts")
    parser.add_argument("--head", default="attention", help="(b) head for greedy/beam/diverse")
    parser.add_argument("--batch-size", type=float, help="(b) padded samples or pixels per batch (default as recog)")
    parser.add_argument("--diversity", type=float, default=0.5, help="(b) diverse beam search penalty")
    parser.add_argument("--beam", type=int, default=4, help="(b) width of beam and diverse beam search (2 groups)")
    parser.add_argument("--rescore-beam", type=int, default=4, help="(b) CTC n-best size for rescoring")
    parser.add_argument("--ctc-weight", type=float, default=0.3, help="(b) rescoring's CTC weight")
    parser.add_argument("--joint-ctc-weight", type=float, default=0.3, help="(b) joint rescoring's CTC weight")
    args = parse_args(parser)
    step_cost(args)
    if args.model and args.manifest:
        searches(args)


if __name__ == "__main__":
    main()
