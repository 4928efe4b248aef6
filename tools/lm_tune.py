"""Tune the shallow-fusion weights of a character LM for a CTC or transducer head on dev manifests.

    python tools/lm_tune.py --model runs/synth_speech_ctc/checkpoints/last.ckpt \
        --lm runs/lm/synth_speech_char8.npz --manifest data/synth_speech/dev.jsonl
    python tools/lm_tune.py --model runs/synth_speech_hybrid/checkpoints/last.ckpt --head rnnt \
        --beam 4 --lm runs/lm/synth_speech_char8.npz --manifest data/synth_speech/dev.jsonl
    python tools/lm_tune.py --model runs/synth_speech_hybrid/checkpoints/last.ckpt --head ctc \
        --beam 4 --lm internal --manifest data/synth_speech/dev.jsonl   # the hybrid's own predictor
    python tools/lm_tune.py --model en-speech --head rnnt --beam 8 --lm en-speech \
        --manifest data/en_speech/dev.jsonl --ilme-weights 0,0.1,0.2   # and the internal LM subtracted
    python tools/lm_tune.py --model latin-lines --lm latin-lines \
        --manifest data/synth_ocr_v2/dev.jsonl data/synth_ocr_v2/dev_degraded.jsonl   # tuned on both together

The encoder runs once per utterance; prefix beam search (CTC) or modified beam search (RNNT) then
runs for every (weight, bonus) pair of the grid on the cached CTC log-probabilities or encoder
outputs. Prints WER, CER and exact-line accuracy of greedy
search, of beam search without the LM, and of each pair, then the best pair by WER (ties: CER). Use the best pair
on the test split with ``benchmarks/speech_eval.py --lm ... --lm-weight W --lm-bonus B``. ``--write``
keeps it beside the LM file (``lm.npz`` -> ``lm.fusion.json``) for the head tuned, beside the other
heads' settings: every search of that head that fuses that LM without being given weights then uses
it (``recog transcribe --lm``, recog-edge, the Python API); another head keeps its own or the defaults.
A setting already there (measured too, if the grid lacks it) is replaced only when the best pair
beats it measurably: fewer edits in at least ``--confidence`` (0.95) of paired bootstrap resamples
of the inputs (word edits; character edits where the two tie on WER). A dev set of a few hundred
lines tells pairs a few edits apart by chance, and a pair chosen so can read unseen data worse.
Works for text-line models too (give an OCR manifest).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    add_model,
    add_threads,
    encode_manifest,
    floats,
    load_model,
    parse_args,
    read_entries,
)
from recog.decoding.ctc import greedy_decode, prefix_beam_search  # noqa: E402
from recog.decoding.fusion import PrefixFusion  # noqa: E402
from recog.decoding.internal_lm import InternalLMFusion  # noqa: E402
from recog.metrics import (  # noqa: E402
    char_error_rate,
    edits_per_input,
    exact_match_rate,
    paired_bootstrap,
    word_error_rate,
)
from recog.models import is_name, resolve_lm  # noqa: E402
from recog_edge.fusion import tuned_setting  # noqa: E402
from recog_edge.lm import write_fusion_setting  # noqa: E402


def beats(refs: list[str], best: list[str], old: list[str]) -> float:
    """Share of paired bootstrap resamples in which hypotheses ``best`` make fewer edits than ``old``:
    word edits, or character edits where the two make as many word edits (the same WER)."""
    a, b = edits_per_input(refs, best, "word"), edits_per_input(refs, old, "word")
    if sum(a) == sum(b):
        a, b = edits_per_input(refs, best, "char"), edits_per_input(refs, old, "char")
    return paired_bootstrap(a, b)


def main() -> None:
    parser = argparse.ArgumentParser()
    add_model(parser)
    parser.add_argument("--lm", required=True, help="character LM from `recog lm`, or 'internal': a hybrid "
                        "model's rnnt predictor fused into its ctc head (the --ilm-weight/--ilm-bonus search)")
    parser.add_argument("--manifest", nargs="+", action="extend", required=True,
                        help="dev manifests (not test splits), tuned on together as one set of inputs")
    parser.add_argument("--head", default="ctc", choices=("ctc", "rnnt"))
    parser.add_argument("--beam", type=int, default=8)
    parser.add_argument("--weights", type=floats, default=floats("0.2,0.35,0.5,0.7,0.9"))
    parser.add_argument("--bonuses", type=floats, default=floats("0,0.5,1,1.5,2,3"))
    parser.add_argument("--ilme-weights", type=floats, default=floats("0"),
                        help="with --head rnnt: weights of the transducer's internal LM subtracted (internal LM "
                             "estimation), a third axis of the grid (default 0: none)")
    parser.add_argument("--write", action="store_true",
                        help="write the best pair beside the LM file as its fusion setting tuned for --head "
                             "(LM.fusion.json; the other heads' settings stay), unless it fails to beat the "
                             "setting there by --confidence")
    parser.add_argument("--confidence", type=float, default=0.95,
                        help="with --write: the share of paired bootstrap resamples of the inputs in which the best "
                             "pair must make fewer edits than the setting already written for it to be replaced "
                             "(0: always write the best)")
    add_threads(parser, default=2)
    args = parse_args(parser)
    internal = args.lm == "internal"
    if internal and args.head != "ctc":
        parser.error("--lm internal fuses the rnnt predictor into the ctc head: use --head ctc")
    if internal and args.write:
        parser.error("--write keeps a character LM's setting beside its file; the internal LM has none")
    if any(args.ilme_weights) and (internal or args.head != "rnnt"):
        parser.error("--ilme-weights subtract a transducer's internal LM from a character LM's fusion: --head rnnt")
    model = load_model(args.model, lm=None if internal else args.lm)
    recognizer, lm = model.model, model.lm
    if internal and not {"ctc", "rnnt"} <= set(recognizer.heads):
        parser.error(f"--lm internal needs a model with ctc and rnnt heads; {args.model} has {list(recognizer.heads)}")
    internal_lm = InternalLMFusion(recognizer.heads["rnnt"]) if internal else None
    if len({Path(m).resolve() for m in args.manifest}) < len(args.manifest):
        parser.error("--manifest: a manifest given twice would count its inputs twice")
    entries = [e for manifest in args.manifest for e in read_entries(manifest)]
    if len({e.key for e in entries}) > 1:
        parser.error("--manifest: audio and image manifests cannot be tuned on together")
    manifests = " + ".join(args.manifest)
    head = recognizer.heads[args.head]
    cached = {}  # per input: CTC log-probs (T, V) or encoder output (T, D)
    for batch, h, h_lengths in encode_manifest(model, entries):
        with torch.no_grad():
            out = head(h).numpy() if args.head == "ctc" else h
        cached.update((i, out[k, : int(n)]) for k, (i, n) in enumerate(zip(batch, h_lengths.tolist(), strict=True)))
    refs = [e.text for e in entries]

    def tokens(i: int, fusion: PrefixFusion | None, beam: int) -> list[int]:
        if args.head == "rnnt":
            h = cached[i]
            return head.decode(h[None], torch.tensor([len(h)]), beam=beam, fusion=fusion)[0].tokens
        lp = cached[i]
        return (prefix_beam_search(lp, beam, fusion).tokens if beam > 1
                else greedy_decode(torch.from_numpy(lp)[None], torch.tensor([len(lp)]))[0].tokens)

    hyps_of = {}  # grid point -> its hypotheses

    def run(fusion: PrefixFusion | None, beam: int, key: tuple | None = None) -> tuple[float, float, float]:
        hyps = [recognizer.tokenizer.decode(tokens(i, fusion, beam)) for i in range(len(entries))]
        if key is not None:
            hyps_of[key] = hyps
        return 100 * word_error_rate(refs, hyps), 100 * char_error_rate(refs, hyps), 100 * exact_match_rate(refs, hyps)

    def fusion_at(weight: float, bonus: float, ilme: float) -> PrefixFusion:
        return (internal_lm.reweighted(weight, bonus) if internal_lm
                else recognizer.lm_fusion(lm, weight, bonus, args.head, ilme))

    print(f"{manifests}: {len(entries)} inputs; model {args.model}, head {args.head}; "
          f"LM {args.lm}" + ("" if internal else f" (order {lm.order})"))
    for name, (wer, cer, exact) in (("greedy", run(None, 1)), (f"beam {args.beam} no LM", run(None, args.beam))):
        print(f"{name:<22}WER {wer:6.2f} %  CER {cer:6.2f} %  exact {exact:6.2f} %", flush=True)
    results = {}
    for weight, bonus, ilme in itertools.product(args.weights, args.bonuses, args.ilme_weights):
        results[weight, bonus, ilme] = run(fusion_at(weight, bonus, ilme), args.beam, (weight, bonus, ilme))
        wer, cer, exact = results[weight, bonus, ilme]
        print(f"weight {weight:<4} bonus {bonus:<4}" + (f" ilme {ilme:<4}" if len(args.ilme_weights) > 1 else "")
              + f"  WER {wer:6.2f} %  CER {cer:6.2f} %  exact {exact:6.2f} %", flush=True)
    (weight, bonus, ilme), (wer, cer, _) = min(results.items(), key=lambda kv: kv[1][:2])
    flag = "--ilm" if internal else "--lm"
    print(f"best: {flag}-weight {weight} {flag}-bonus {bonus}" + (f" --ilme-weight {ilme}" if ilme else "")
          + f" (WER {wer:.2f} %, CER {cer:.2f} %)")
    if args.write:
        old = tuned_setting(lm, args.head)  # what the LM file came with for this head ({}: none)
        key = (old["weight"], old["bonus"], old.get("ilme_weight", 0.0)) if old else None
        if key is not None and key != (weight, bonus, ilme):
            if key not in results:
                results[key] = run(fusion_at(*key), args.beam, key)
            share = beats(refs, hyps_of[weight, bonus, ilme], hyps_of[key])
            if share < args.confidence:
                print(f"kept the setting written before (weight {key[0]}, bonus {key[1]}"
                      + (f", ilme weight {key[2]}" if key[2] else "") + f": WER {results[key][0]:.2f} %, CER "
                      f"{results[key][1]:.2f} %): the best pair beats it in {share:.0%} of paired bootstrap "
                      f"resamples, under --confidence {args.confidence:.0%}")
                return
            print(f"the best pair beats the setting written before in {share:.0%} of paired bootstrap resamples")
        grid = f"weights {','.join(map(str, args.weights))}, bonuses {','.join(map(str, args.bonuses))}"
        if any(args.ilme_weights):
            grid += f", ilme weights {','.join(map(str, args.ilme_weights))}"
        tuned = (f"on {manifests} ({len(entries)} inputs, WER {wer:.2f} %, CER {cer:.2f} %) with model "
                 f"{args.model}, head {args.head}, beam {args.beam}; tools/lm_tune.py grid {grid}")
        print(f"wrote {write_fusion_setting(resolve_lm(args.lm), weight, bonus, tuned, ilme, head=args.head)}"
              + (f" (recog-edge's copy: python tools/ship_edge.py {args.lm})" if is_name(args.lm) else ""))


if __name__ == "__main__":
    main()
