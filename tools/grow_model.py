"""Deepen a trained model while it reads as before: new blocks start with their residual outputs
zeroed, so each passes its input through until training moves it (the identity start of
progressive stacking; Gong et al. 2019). The grown folder is the ``--model.init_from`` of the next
run, which then trains with the new depth:

    python tools/grow_model.py latin-lines --depths 2,4,4 --out runs/latin_lines_grown
    recog train --config configs/latin_lines.yaml --model.init_from runs/latin_lines_grown \
        --model.model.encoder.depths "[2, 4, 4]"

    python tools/grow_model.py en-speech --insert-after 2,5 --out runs/en_speech_grown
    recog train --config configs/en_speech.yaml --model.init_from runs/en_speech_grown \
        --model.model.encoder.n_layers 8

Text-line models (vision encoder, ``--depths``): blocks are appended to the stages; every trained
block keeps its place and weights, and a block appended past a stage's ``local_blocks`` is a global
(attention) block. Their start is exact: the grown model's encodings equal the source's.

Speech models (conformer encoder, ``--insert-after``): a new block follows each listed layer
(0-based; list a layer twice for two), a copy of that layer with the last linear layer of each
residual branch (both feed-forwards, attention, convolution) zeroed. Its output is then its input
through the copied output LayerNorm: a Conformer block ends in a LayerNorm, so the start is close
rather than exact (en-speech 13 with new blocks after layers 2 and 5 read dev at 24.20 % WER before
training, against 23.40 %; the same blocks with their branches left on, 38.81 %).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recog when not installed
from recog.checkpoint import ModelParts, is_detector, read_model, save_model  # noqa: E402
from recog.encoders.conformer import ConformerBlock  # noqa: E402
from recog.encoders.vision import GlobalBlock, LocalBlock, VisionConfig  # noqa: E402
from recog.model import Recognizer  # noqa: E402
from recog.models import resolve  # noqa: E402
from recog.text import tokenizer_from_state  # noqa: E402


def _zero(layers: list[torch.nn.Linear]) -> None:
    """Zero the residual branches' last layers: the block adds nothing to its input."""
    with torch.no_grad():
        for layer in layers:
            layer.weight.zero_()
            layer.bias.zero_()


def _grown(parts: ModelParts, encoder: dict, weights: dict[str, torch.Tensor]) -> tuple[Recognizer, set[str]]:
    """The Recognizer of ``parts`` with ``encoder`` options, ``weights`` loaded; the missing names."""
    model = Recognizer(tokenizer_from_state(parts.tokenizer), **{**parts.model, "encoder": encoder})
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not unexpected, unexpected
    return model, set(missing)


def grow_vision(parts: ModelParts, depths: list[int]) -> Recognizer:
    """A text-line model's vision encoder deepened to ``depths`` (one per stage, none shallower
    than now); the new blocks are identities at the start."""
    encoder = parts.model["encoder"]
    before = VisionConfig(**{k: v for k, v in encoder.items() if k != "name"}).depths
    if len(depths) != len(before) or any(d < b for d, b in zip(depths, before, strict=True)):
        raise SystemExit(f"--depths {depths}: needs one depth per stage, none below today's {before}")
    model, missing = _grown(parts, {**encoder, "depths": depths}, parts.weights)
    new = tuple(f"encoder.stages.{stage}.{j}." for stage, (b, d) in enumerate(zip(before, depths, strict=True))
                for j in range(b, d))
    assert all(k.startswith(new) for k in missing), f"weights other than new blocks missing: {sorted(missing)}"
    for stage, (blocks, depth) in enumerate(zip(model.encoder.stages, before, strict=True)):
        for block in list(blocks)[depth:]:
            assert isinstance(block, GlobalBlock | LocalBlock), (stage, type(block))
            _zero([block.proj, block.mlp[3]] if isinstance(block, GlobalBlock) else [block.mixer, block.mlp[3]])
    return model


def grow_conformer(parts: ModelParts, insert_after: list[int]) -> Recognizer:
    """A speech model's conformer with a new block after each layer of ``insert_after``: a copy of
    that layer whose residual branches start at zero."""
    encoder = parts.model["encoder"]
    n_layers = int(encoder.get("n_layers", 0))
    if not insert_after or any(not 0 <= i < n_layers for i in insert_after):
        raise SystemExit(f"--insert-after {insert_after}: needs layers of this encoder (0-{n_layers - 1})")
    order = []  # per layer of the grown encoder: (the source layer it copies, whether it is new)
    for i in range(n_layers):
        order += [(i, False)] + [(i, True)] * insert_after.count(i)
    weights = {k: v for k, v in parts.weights.items() if not k.startswith("encoder.layers.")}
    for j, (i, _) in enumerate(order):
        source = f"encoder.layers.{i}."
        weights.update({f"encoder.layers.{j}.{k[len(source):]}": v.clone()
                        for k, v in parts.weights.items() if k.startswith(source)})
    model, missing = _grown(parts, {**encoder, "n_layers": len(order)}, weights)
    assert not missing, f"weights missing: {sorted(missing)}"
    for block, (_, new) in zip(model.encoder.layers, order, strict=True):
        if new:
            assert isinstance(block, ConformerBlock), type(block)
            _zero([block.ff1[4], block.att.out, block.conv.pointwise2, block.ff2[4]])
    return model


def grow(source: str | Path, depths: list[int] | None = None, insert_after: list[int] | None = None
         ) -> Recognizer:
    """The model at ``source`` deepened: a text-line model's vision encoder to ``depths``, or a
    speech model's conformer with a new block after each layer of ``insert_after``."""
    parts = read_model(resolve(str(source)))
    name = None if is_detector(parts) else parts.model.get("encoder", {}).get("name")
    if name == "vision" and depths is not None and insert_after is None:
        return grow_vision(parts, depths).eval()
    if name == "conformer" and insert_after is not None and depths is None:
        return grow_conformer(parts, insert_after).eval()
    raise SystemExit(f"{source}: grows a text-line model (vision encoder) with --depths or a speech model "
                     f"(conformer encoder) with --insert-after; this is {'a text detector' if name is None else name}")


def _ints(text: str | None) -> list[int] | None:
    return None if text is None else [int(v) for v in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a shipped model's name, a model folder or a checkpoint")
    parser.add_argument("--depths", help="vision encoder: blocks per stage, e.g. 2,4,4")
    parser.add_argument("--insert-after", help="conformer: the layers a new block follows, e.g. 2,5")
    parser.add_argument("--out", required=True, type=Path, help="the grown model folder")
    args = parser.parse_args()
    model = grow(args.model, _ints(args.depths), _ints(args.insert_after))
    save_model(model, args.out, info={"grown_from": str(args.model)})
    config = model.encoder.config
    shape = f"depths {config.depths}" if hasattr(config, "depths") else f"{config.n_layers} layers"
    print(f"{args.out}: {shape}, {sum(p.numel() for p in model.parameters()):,} parameters")


if __name__ == "__main__":
    main()
