"""Average the weights of models that share one configuration: checkpoints of one run (as icefall's
and NeMo's checkpoint averaging do), several fine-tunings of one model (a "model soup", Wortsman et
al. 2022), or a fine-tuned model and the model it started from (WiSE-FT's interpolation, which keeps
part of what fine-tuning forgot). The result is a model folder that ``recog eval --model``,
``--model.init_from`` and ``tools/ship_model.py`` read:

    python tools/average_model.py runs/latin_lines_v17/checkpoints/best-epoch=0-step=1922.ckpt \
        runs/latin_lines_v18/checkpoints/best-epoch=0-step=2357.ckpt \
        runs/latin_lines_v22/checkpoints/best-epoch=1-step=3674.ckpt --out runs/latin_lines_avg/soup3
    python tools/average_model.py runs/en_speech_v19/checkpoints/best-epoch=0-step=5166.ckpt \
        runs/en_speech_v20/checkpoints/best-epoch=0-step=11617.ckpt --weights 0.7,0.3 --out runs/en_speech_avg/avg30

Each model is a shipped model's name, a model folder or a training checkpoint: recognisers or text
detectors. Floating-point weights and buffers (normalisation statistics) are averaged in float32;
integer buffers (counters) are taken from the last model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recog when not installed
from recog.checkpoint import ModelFormatError, ModelParts, build_model, read_model, save_model  # noqa: E402
from recog.detection.model import TextDetector  # noqa: E402
from recog.model import Recognizer  # noqa: E402
from recog.models import resolve  # noqa: E402

READING = ("att_context", "detect")  # info that changes how a model reads (recog.inference.load)


def average(sources: list[str | Path], weights: list[float] | None = None
            ) -> tuple[Recognizer | TextDetector, dict[str, Any]]:
    """The model whose weights are the ``weights``-weighted mean of the ``sources``' (equal shares
    by default; the shares are normalised to sum to 1), and the first source's info on how it reads
    (a default attention context, a detector's box settings). SystemExit naming the source where the
    models differ in configuration, tokenizer or weight names."""
    if len(sources) < 2:
        raise SystemExit("average: needs at least two models")
    shares = [1.0] * len(sources) if weights is None else list(weights)
    if len(shares) != len(sources) or any(w < 0 for w in shares) or sum(shares) <= 0:
        raise SystemExit(f"--weights {shares}: needs one share per model, none negative, some positive")
    shares = [w / sum(shares) for w in shares]
    parts = [read_model(resolve(str(s))) for s in sources]
    first = parts[0]
    for source, p in zip(sources[1:], parts[1:], strict=True):
        if p.model != first.model or p.tokenizer != first.tokenizer:
            raise SystemExit(f"{source}: another configuration or tokenizer than {sources[0]}; only models of one "
                             f"configuration average")
        if set(p.weights) != set(first.weights):
            raise SystemExit(f"{source}: other weight names than {sources[0]}")
    mean = {}
    for name, last in parts[-1].weights.items():
        if last.is_floating_point():
            mean[name] = sum(w * p.weights[name].float() for w, p in zip(shares, parts, strict=True))
        else:
            mean[name] = last
    reading = {k: first.info[k] for k in READING if k in first.info}
    return build_model(ModelParts(first.model, first.tokenizer, mean, {}), sources[-1]), reading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="shipped model names, model folders or checkpoints (two or more)")
    parser.add_argument("--weights", help="one share per model, comma-separated (default: equal shares)")
    parser.add_argument("--out", required=True, type=Path, help="the averaged model folder")
    args = parser.parse_args()
    try:
        weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    except ValueError:
        raise SystemExit(f"--weights {args.weights}: needs numbers, e.g. 0.5,0.3,0.2") from None
    try:
        with torch.no_grad():
            model, reading = average(args.models, weights)
    except (FileNotFoundError, ModelFormatError) as err:  # the message names the file
        raise SystemExit(f"error: {err}") from None
    save_model(model, args.out, info={**reading, "averaged": [str(m) for m in args.models],
                                      "shares": weights or [1.0] * len(args.models)})
    print(f"wrote {args.out}: the average of {len(args.models)} models")


if __name__ == "__main__":
    main()
