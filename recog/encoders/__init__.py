"""Encoders: ``forward(x, lengths) -> (h (B, T', D), h_lengths (B,))``, built by name from config."""

from torch import nn

from recog.encoders.conformer import ConformerEncoder
from recog.encoders.vision import VisionEncoder

ENCODERS: dict[str, type[nn.Module]] = {"conformer": ConformerEncoder, "vision": VisionEncoder}


def build_encoder(name: str, **config: object) -> nn.Module:
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose from {sorted(ENCODERS)}")
    return ENCODERS[name](**config)
