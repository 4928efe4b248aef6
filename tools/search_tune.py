"""Tune the attention searches of a joint CTC/attention model on a dev manifest.

    python tools/search_tune.py --model runs/synth_speech_attention/checkpoints/best.ckpt \
        --manifest data/synth_speech/dev.jsonl [--lm LM --lm-weight W --lm-bonus B]

The encoder runs once per batch; the searches then run on the cached encoder output:
- attention rescoring of the CTC prefix beam search n-best (search "rescore") and joint rescoring
  of the CTC and attention n-best lists pooled (search "joint"), for each beam width and CTC
  weight of the grid, with the oracle WER of the CTC n-best (the best any reranking of it could
  do) beside them;
- diverse beam search (--diverse-beam wide, default 4, in 2 groups) for each diversity penalty,
  with plain beam search of the same width as the reference: top-1 WER and the distinct-n-gram
  ratios of the n-best lists.
Prints the best beam and weight of each by WER (``--search S --beam B --ctc-weight W``) and the largest
diversity whose top-1 WER stays within 0.5 absolute of beam's. Pick on dev, report on test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    add_lm_fusion,
    add_manifest,
    add_model,
    add_threads,
    distinct_ngram_ratio,
    encode_manifest,
    floats,
    ints,
    lm_setting,
    load_model,
    parse_args,
    read_entries,
)
from recog.lm import CharNgramLM  # noqa: E402
from recog.metrics import char_error_rate, word_error_rate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model(parser, help="checkpoint with attention and CTC heads")
    add_manifest(parser, help="dev manifest (not the test split)")
    parser.add_argument("--beams", type=ints, default=ints("4,8,16"), help="rescoring: CTC beam widths")
    parser.add_argument("--ctc-weights", type=floats, default=floats("0,0.1,0.3,0.5,1"))
    parser.add_argument("--diversities", type=floats, default=floats("0.1,0.25,0.5,1"))
    add_lm_fusion(parser, help="character LM fused into the CTC n-best (rescoring only)")
    parser.add_argument("--diverse-beam", type=int, default=4, help="width of beam and diverse beam search")
    add_threads(parser, default=2)
    args = parse_args(parser)
    model = load_model(args.model)
    recognizer = model.model
    lm = CharNgramLM.load(args.lm) if args.lm else None
    entries = read_entries(args.manifest)
    encoded = encode_manifest(model, entries)
    refs = [e.text for e in entries]

    def run(**options: object) -> tuple[float, float, list]:
        hyps: dict[int, object] = {}
        for batch, h, h_lengths in encoded:
            hyps.update(zip(batch, recognizer.decode(h, h_lengths, head="attention", **options), strict=True))
        ordered = [hyps[i] for i in range(len(entries))]
        texts = [hyp.text for hyp in ordered]
        return 100 * word_error_rate(refs, texts), 100 * char_error_rate(refs, texts), ordered

    print(f"{args.manifest}: {len(entries)} inputs; model {args.model}"
          + (f"; LM {args.lm} ({lm_setting(lm, 'ctc', args.lm_weight, args.lm_bonus)})" if lm else ""))
    lm_options = {"lm": lm, "lm_weight": args.lm_weight, "lm_bonus": args.lm_bonus} if lm else {}
    rescored = {}
    for beam in args.beams:
        _, _, nbest = run(search="rescore", beam=beam, nbest=beam, ctc_weight=1.0, **lm_options)
        oracle = [min((x.text for x in hyp.nbest or [hyp]), key=lambda t, ref=ref: word_error_rate([ref], [t]))
                  for ref, hyp in zip(refs, nbest, strict=True)]
        oracle_wer = 100 * word_error_rate(refs, oracle)
        print(f"rescore beam {beam:<3} n-best oracle       WER {oracle_wer:6.2f} %", flush=True)
        for search in ("rescore", "joint") if not lm else ("rescore",):
            for weight in args.ctc_weights:
                wer, cer, _ = run(search=search, beam=beam, ctc_weight=weight, **lm_options)
                rescored[search, beam, weight] = wer, cer
                print(f"{search:<7} beam {beam:<3} ctc weight {weight:<4}  WER {wer:6.2f} %  CER {cer:6.2f} %",
                      flush=True)
    for search in ("rescore", "joint"):
        tried = {key: value for key, value in rescored.items() if key[0] == search}
        if tried:
            (_, beam, weight), (wer, cer) = min(tried.items(), key=lambda kv: kv[1])
            print(f"best {search}: --search {search} --beam {beam} --ctc-weight {weight} "
                  f"(WER {wer:.2f} %, CER {cer:.2f} %)")

    def ratios(hyps: list) -> str:
        lists = [[x.tokens for x in hyp.nbest or [hyp]] for hyp in hyps]  # the n-best starts with the best
        per_list = sum(len(hyps) for hyps in lists) / len(lists)
        return (", ".join(f"{n}: {distinct_ngram_ratio(lists, n):.3f}" for n in (1, 2, 3))
                + f"; {per_list:.2f} distinct hypotheses per list")

    width = args.diverse_beam
    beam_wer, beam_cer, beam_hyps = run(search="beam", beam=width, nbest=width)
    print(f"beam {width:<3}                        WER {beam_wer:6.2f} %  CER {beam_cer:6.2f} %  "
          f"distinct n-grams {ratios(beam_hyps)}", flush=True)
    chosen = None
    for diversity in args.diversities:
        wer, cer, hyps = run(search="diverse", beam=width, groups=2, nbest=width, diversity=diversity)
        print(f"diverse {width}x2 diversity {diversity:<4}      WER {wer:6.2f} %  CER {cer:6.2f} %  "
              f"distinct n-grams {ratios(hyps)}", flush=True)
        if wer <= beam_wer + 0.5:
            chosen = diversity if chosen is None else max(chosen, diversity)
    print(f"largest diversity within beam's WER + 0.5: {chosen}")


if __name__ == "__main__":
    main()
