"""WER, CER and offline inverse real-time factor of a speech model on a manifest.

    python benchmarks/speech_eval.py --model runs/synth_speech_ctc/checkpoints/last.ckpt \
        --manifest data/synth_speech/test.jsonl --threads 1

RTFx = audio seconds / processing seconds, with model load and file reading excluded
(the audio is read first, then timed through frontend, encoder and search).

``--lm FILE`` (from ``recog lm``) fuses a character n-gram LM into CTC prefix beam search or
transducer beam search (``--beam`` > 1; weights from ``tools/lm_tune.py``).

``--by voice`` adds WER and CER per group of a manifest field, grouped by the part before its
first ":" (the synthetic recipe's ``voice`` is "espeak:ACCENT+VARIANT" or "flite:NAME", so this
separates the held-out espeak-ng variants from the held-out flite speaker).

``--leading-silence S`` puts S seconds of silence before every utterance: the synthetic corpus
has at most 0.3 s before its speech, so this measures whether a model has learnt that speech
starts where its input starts (see ``data.leading_silence``).

``--peer pocketsphinx`` reads the same audio with pocketsphinx (PyPI ``pocketsphinx`` 5.x, not a
project dependency: ``pip install pocketsphinx``), a classic HMM recogniser whose US English acoustic
model, language model and dictionary come inside its wheel (nothing is downloaded), one utterance
at a time on one thread; its figures (and groups) are printed after recog's, scored the same way
(its output is lower-case words, as the recipes' texts are). Not installed: skipped with one line
saying so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    Stopwatch,
    add_context,
    add_limit,
    add_lm_fusion,
    add_manifest,
    add_model,
    add_threads,
    audio_seconds,
    group_rows,
    lm_setting,
    load_audio_entries,
    load_model,
    parameter_count,
    parse_args,
    read_entries,
)
from recog.audio import SAMPLE_RATE  # noqa: E402
from recog.metrics import char_error_rate, inverse_real_time_factor, word_error_rate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    add_model(parser)
    add_manifest(parser)
    add_threads(parser, default=1)
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--head")
    parser.add_argument("--batch-seconds", type=float, default=120.0)
    add_context(parser, help="LEFT,RIGHT attention context (limited-context models); "
                "by the streaming parity, the WER streaming gets at that look-ahead")
    add_lm_fusion(parser, help="character LM fused into beam search (ctc or rnnt head)")
    parser.add_argument("--ilm-weight", type=float, default=0.0,
                        help="hybrid models, ctc head, beam > 1: the rnnt head's predictor fused as an internal LM")
    parser.add_argument("--ilm-bonus", type=float, default=1.0)
    add_limit(parser, "--files", help="first N manifest entries only")
    parser.add_argument("--leading-silence", type=float, default=0.0,
                        help="seconds of digital silence put before every utterance (robustness to speech "
                             "that does not start where the input starts)")
    parser.add_argument("--by", help="manifest field to break WER/CER down by (its part before the first ':')")
    parser.add_argument("--peer", choices=["pocketsphinx"], help="also read the audio with this recogniser")
    args = parse_args(parser)
    model = load_model(args.model, args.context, lm=args.lm)
    search = {"beam": args.beam, **({"lm_weight": args.lm_weight, "lm_bonus": args.lm_bonus} if args.lm else {}),
              **({"ilm_weight": args.ilm_weight, "ilm_bonus": args.ilm_bonus} if args.ilm_weight else {})}
    entries = read_entries(args.manifest, args.files)
    audio = dict(enumerate(load_audio_entries(entries, args.leading_silence)))
    seconds = audio_seconds(audio.values())
    batches = model.plan_batches(audio, args.batch_seconds * SAMPLE_RATE)
    model.transcribe_arrays([audio[i] for i in batches[0]], ["warmup"] * len(batches[0]), head=args.head, **search)
    texts: dict[int, str] = {}
    with Stopwatch() as watch:
        for batch in batches:
            results = model.transcribe_arrays([audio[i] for i in batch], [entries[i].path for i in batch],
                                              head=args.head, **search)
            texts.update((i, r.text) for i, r in zip(batch, results, strict=True))
    elapsed = watch.seconds
    refs = [e.text for e in entries]
    hyps = [texts[i] for i in range(len(entries))]
    params = parameter_count(model.model)
    head = args.head or model.model.default_head
    lm = f"{args.lm} ({lm_setting(model.lm, head, args.lm_weight, args.lm_bonus)})" if args.lm else "none"
    if args.ilm_weight:
        lm = f"internal (rnnt predictor, weight {args.ilm_weight}, bonus {args.ilm_bonus})"
    print(f"model: {args.model} ({params / 1e6:.2f} M parameters), head {head}, "
          f"beam {args.beam}, LM {lm}, threads {args.threads}, "
          f"context {getattr(model.model.encoder, 'att_context', None)}")
    print(f"utterances: {len(entries)}, audio: {seconds:.1f} s (each after {args.leading_silence:g} s of silence)")
    groups = group_rows(args.manifest, entries, args.by) if args.by else {}
    report(refs, hyps, seconds, elapsed, groups, args.by)
    if args.peer:
        peer = pocketsphinx_texts([audio[i] for i in range(len(entries))])
        if peer is not None:
            print("pocketsphinx (its bundled en-us model, one thread):")
            report(refs, peer[0], seconds, peer[1], groups, args.by)


def report(refs: list[str], hyps: list[str], seconds: float, elapsed: float, groups: dict[str, list[int]],
           field: str | None) -> None:
    """WER, CER and RTFx of one recogniser, then WER and CER per group."""
    print(f"WER: {100 * word_error_rate(refs, hyps):.2f} %")
    print(f"CER: {100 * char_error_rate(refs, hyps):.2f} %")
    print(f"RTFx: {inverse_real_time_factor(seconds, elapsed):.1f}")
    for name, items in groups.items():
        r, h = [refs[i] for i in items], [hyps[i] for i in items]
        print(f"  {field} {name}: {len(items)} utterances, WER {100 * word_error_rate(r, h):.2f} %, "
              f"CER {100 * char_error_rate(r, h):.2f} %")


def pocketsphinx_texts(audio: list[np.ndarray]) -> tuple[list[str], float] | None:
    """pocketsphinx's text of each 16 kHz signal and the wall seconds they took (one untimed
    warm-up utterance first); None, after one line saying so, where it is not installed."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        print("skipped: pocketsphinx not installed (pip install pocketsphinx)")
        return None
    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def read(samples: np.ndarray) -> str:
        decoder.start_utt()
        decoder.process_raw((np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr.lower() if hyp is not None else ""

    if audio:
        read(audio[0])
    with Stopwatch() as watch:
        texts = [read(samples) for samples in audio]
    return texts, watch.seconds


if __name__ == "__main__":
    main()
