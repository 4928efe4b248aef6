"""Deepen a trained text-line model without changing what it reads: new blocks are appended to the
vision encoder's stages with their residual outputs (attention ``proj``, the MLP's last layer)
zeroed, so each new block passes its input through unchanged until training moves it (the identity
start of progressive stacking; Gong et al. 2019). The grown folder is the ``--model.init_from`` of
the next run, which then trains with the new ``depths``:

    python tools/grow_model.py latin-lines --depths 2,4,4 --out runs/latin_lines_grown
    recog train --config configs/latin_lines.yaml --model.init_from runs/latin_lines_grown \
        --model.model.encoder.depths "[2, 4, 4]"

Blocks are only appended: every trained block keeps its place and weights, and a block appended
past a stage's ``local_blocks`` is a global (attention) block.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recog when not installed
from recog.checkpoint import is_detector, read_model, save_model  # noqa: E402
from recog.encoders.vision import GlobalBlock, LocalBlock, VisionConfig  # noqa: E402
from recog.model import Recognizer  # noqa: E402
from recog.models import resolve  # noqa: E402
from recog.text import tokenizer_from_state  # noqa: E402


def grow(source: str | Path, depths: list[int]) -> Recognizer:
    """The model at ``source`` with its vision encoder deepened to ``depths`` (one per stage, none
    shallower than now); the new blocks are identities at the start."""
    parts = read_model(resolve(str(source)))
    encoder = parts.model.get("encoder", {})
    if is_detector(parts) or encoder.get("name") != "vision":
        raise SystemExit(f"{source}: not a text-line model with a vision encoder")
    before = VisionConfig(**{k: v for k, v in encoder.items() if k != "name"}).depths
    if len(depths) != len(before) or any(d < b for d, b in zip(depths, before, strict=True)):
        raise SystemExit(f"--depths {depths}: needs one depth per stage, none below today's {before}")
    config = {**parts.model, "encoder": {**encoder, "depths": depths}}
    model = Recognizer(tokenizer_from_state(parts.tokenizer), **config)
    missing, unexpected = model.load_state_dict(parts.weights, strict=False)
    assert not unexpected, unexpected
    new = tuple(f"encoder.stages.{stage}.{j}." for stage, (b, d) in enumerate(zip(before, depths, strict=True))
                for j in range(b, d))
    assert all(k.startswith(new) for k in missing), f"weights other than new blocks missing: {sorted(missing)}"
    with torch.no_grad():
        for stage, (blocks, depth) in enumerate(zip(model.encoder.stages, before, strict=True)):
            for block in list(blocks)[depth:]:
                assert isinstance(block, GlobalBlock | LocalBlock), (stage, type(block))
                last = [block.proj, block.mlp[3]] if isinstance(block, GlobalBlock) else [block.mixer, block.mlp[3]]
                for layer in last:  # the residual branch adds zero: the block is an identity
                    layer.weight.zero_()
                    layer.bias.zero_()
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a shipped model's name, a model folder or a checkpoint")
    parser.add_argument("--depths", required=True, help="blocks per stage, e.g. 2,4,4")
    parser.add_argument("--out", required=True, type=Path, help="the grown model folder")
    args = parser.parse_args()
    model = grow(args.model, [int(d) for d in args.depths.split(",")])
    save_model(model, args.out, info={"grown_from": str(args.model)})
    print(f"{args.out}: depths {model.encoder.config.depths}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")


if __name__ == "__main__":
    main()
