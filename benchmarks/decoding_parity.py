"""Every search on one seeded random model, recorded, so that two checkouts (before and after a
refactor) can be compared: the same tokens, scores, timestamps and n-best, and the time ratio.

    git worktree add /tmp/before HEAD~1
    (cd /tmp/before && PYTHONPATH=. python /work/main/benchmarks/decoding_parity.py --record /tmp/before.json)
    python benchmarks/decoding_parity.py --record /tmp/after.json --compare /tmp/before.json

It imports ``recog`` from wherever Python finds it (the checkout it runs in) and uses only the
API both sides share (``Recognizer.decode``, ``StreamingRecognizer``). The weights are written
beside the record (``<record>.pt``) and read from the compared record's, so both sides decode the
same model even where parameter creation order changed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from recog.lm import CharNgramLM
from recog.model import Recognizer
from recog.streaming import EndpointConfig, StreamingRecognizer
from recog.text import CharTokenizer

ENCODER = {"name": "conformer", "feat_in": 80, "d_model": 32, "n_layers": 3, "n_heads": 4, "subsampling_channels": 8,
           "subsampling_factor": 4, "causal": True, "att_context_size": [8, 3], "conv_norm": "layer"}
HEADS = {"ctc": {"inter_layers": [1]}, "rnnt": {"pred_dim": 32, "joint_dim": 32},
         "attention": {"layers": 1, "heads": 2}}


def searches(lm: CharNgramLM) -> dict[str, dict]:
    return {
        "ctc greedy": dict(head="ctc"), "ctc beam": dict(head="ctc", beam=4, nbest=3),
        "ctc beam lm": dict(head="ctc", beam=4, lm=lm, lm_weight=0.8, lm_bonus=0.5),
        "ctc beam ilm": dict(head="ctc", beam=4, ilm_weight=0.6, ilm_bonus=0.3),
        "rnnt greedy": dict(head="rnnt"), "rnnt beam": dict(head="rnnt", beam=3),
        "rnnt beam lm": dict(head="rnnt", beam=3, lm=lm, lm_weight=0.8, lm_bonus=0.5),
        "att greedy": dict(head="attention", max_len=12),
        "att beam": dict(head="attention", beam=4, nbest=3, max_len=12),
        "att diverse": dict(head="attention", search="diverse", beam=4, nbest=4, max_len=12),
        "rescore": dict(search="rescore", beam=4, nbest=2, max_len=12),
        "rescore lm": dict(search="rescore", beam=4, lm=lm, max_len=12),
        "joint": dict(search="joint", beam=3, max_len=12),
    }


def record(weights: Path | None, out: Path, repeats: int) -> dict:
    torch.manual_seed(0)
    model = Recognizer(CharTokenizer("abcdefghijklmnopqrstuvwxyz '"), ENCODER, HEADS).eval()
    if weights is not None:
        model.load_state_dict(torch.load(weights, weights_only=True))
    torch.save(model.state_dict(), out.with_suffix(".pt"))
    lm = CharNgramLM.train(["open the door", "a blue sky", "the cat sat on the mat"], order=4)
    wave = torch.randn(3, 24000, generator=torch.Generator().manual_seed(1)) * 0.3
    h, h_lengths = model.encode(wave, torch.tensor([24000, 16000, 9000]))
    results, seconds = {}, {}
    for name, options in searches(lm).items():
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            hyps = model.decode(h, h_lengths, **options)
            best = min(best, time.perf_counter() - start)
        seconds[name] = best
        results[name] = [[hyp.tokens, round(hyp.score, 4), hyp.timestamps, [round(c, 4) for c in hyp.token_confidences],
                          [[n.tokens, round(n.score, 4)] for n in hyp.nbest]] for hyp in hyps]
    samples = wave[0].numpy()
    for name, options in {"stream ctc": dict(head="ctc"), "stream rnnt": dict(head="rnnt"),
                          "stream rnnt beam lm": dict(head="rnnt", beam=3, lm=lm, lm_weight=0.8, lm_bonus=0.5)}.items():
        recognizer = StreamingRecognizer(model, endpoint=EndpointConfig(trailing_silence=0.3), **options)
        stream = recognizer.create_stream()
        for start in range(0, len(samples), 1234):
            stream.accept_waveform(16000, samples[start: start + 1234])
            recognizer.decode(stream)
        stream.input_finished()
        recognizer.decode(stream)
        results[name] = [stream.result.segments, stream.result.text, stream.result.timestamps]
    return {"results": results, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", required=True, type=Path, help="write this run's outputs and times here")
    parser.add_argument("--compare", type=Path, help="a record from another checkout to compare with")
    parser.add_argument("--repeats", type=int, default=7, help="best of this many timings per search")
    args = parser.parse_args()
    torch.set_num_threads(1)
    before = json.loads(args.compare.read_text()) if args.compare else None
    now = record(args.compare.with_suffix(".pt") if args.compare else None, args.record, args.repeats)
    args.record.write_text(json.dumps(now))
    if before is None:
        print(f"recorded {len(now['results'])} searches to {args.record}")
        return
    for name, result in now["results"].items():
        same = "same" if result == before["results"].get(name) else "DIFFERENT"
        ratio = (f"  time now/before {now['seconds'][name] / before['seconds'][name]:.2f}"
                 if name in now["seconds"] and name in before["seconds"] else "")
        print(f"{name:20s} {same}{ratio}")
    differ = [name for name, result in now["results"].items() if result != before["results"].get(name)]
    print(f"{len(now['results']) - len(differ)} of {len(now['results'])} searches give the same outputs")


if __name__ == "__main__":
    main()
