"""Recognizer = frontend + encoder + named heads with loss weights, plus its tokenizer.

It knows nothing of Lightning: ``recog.train`` wraps it for training, ``recog.inference`` for use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from recog.audio import FeatureConfig, LogMel, SpecAugment, SpecAugmentConfig
from recog.encoders import build_encoder
from recog.heads import build_head
from recog.hypothesis import Hypothesis
from recog.text import Tokenizer


class Recognizer(nn.Module):
    """Waveforms in, hypotheses out.

    Args:
        tokenizer: token ids <-> text (id 0 = blank); its size sets the heads' vocabulary.
        encoder: ``{"name": "conformer", **encoder options}``.
        heads: ``{head name: {"weight": loss weight, **head options}}``; the first is the default
            head for decoding.
        features: FeatureConfig fields. spec_augment: SpecAugmentConfig fields, or None for none.
    """

    def __init__(self, tokenizer: Tokenizer, encoder: dict[str, Any], heads: dict[str, dict[str, Any]],
                 features: dict[str, Any] | None = None, spec_augment: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.config = {"encoder": dict(encoder), "heads": {k: dict(v) for k, v in heads.items()},
                       "features": dict(features or {}), "spec_augment": spec_augment}
        feature_config = FeatureConfig(**(features or {}))
        self.frontend = LogMel(feature_config)
        self.spec_augment = SpecAugment(SpecAugmentConfig(**spec_augment)) if spec_augment is not None else None
        encoder = dict(encoder)
        encoder.setdefault("feat_in", feature_config.n_mels)
        self.encoder = build_encoder(encoder.pop("name"), **encoder)
        self.loss_weights = {name: float(opts.get("weight", 1.0)) for name, opts in heads.items()}
        self.heads = nn.ModuleDict({
            name: build_head(name, self.encoder.d_model, tokenizer.vocab_size,
                             **{k: v for k, v in opts.items() if k != "weight"})
            for name, opts in heads.items()})
        self.default_head = next(iter(heads))

    @property
    def frame_seconds(self) -> float:
        """Duration of one encoder frame in seconds."""
        return self.frontend.config.hop_ms / 1000 * self.encoder.subsampling_factor

    def encode(self, waveforms: torch.Tensor, wave_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N) samples, (B,) lengths -> encodings (B, T', D), lengths (B,)."""
        feats, feat_lengths = self.frontend(waveforms, wave_lengths)
        if self.spec_augment is not None:
            feats = self.spec_augment(feats, feat_lengths)
        return self.encoder(feats, feat_lengths)

    def forward(self, waveforms: torch.Tensor, wave_lengths: torch.Tensor, targets: torch.Tensor,
                target_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Weighted sum of head losses under "loss", each head's loss under "loss_<head>"."""
        h, h_lengths = self.encode(waveforms, wave_lengths)
        losses = {f"loss_{name}": head.loss(h, h_lengths, targets, target_lengths)
                  for name, head in self.heads.items()}
        losses["loss"] = sum(self.loss_weights[name] * losses[f"loss_{name}"] for name in self.heads)
        return losses

    @torch.no_grad()
    def decode(self, h: torch.Tensor, h_lengths: torch.Tensor, head: str | None = None,
               **search_options: Any) -> list[Hypothesis]:
        """Search with one head (the default head if None) and attach text to each hypothesis."""
        name = head or self.default_head
        if name not in self.heads:
            raise ValueError(f"this model has no {name!r} head; it has {sorted(self.heads)}")
        hyps = self.heads[name].decode(h, h_lengths, **search_options)
        for hyp in hyps:
            hyp.text = self.tokenizer.decode(hyp.tokens)
        return hyps

    @torch.no_grad()
    def recognize(self, waveforms: torch.Tensor, wave_lengths: torch.Tensor, head: str | None = None,
                  **search_options: Any) -> list[Hypothesis]:
        """Encode and decode a padded batch of waveforms."""
        h, h_lengths = self.encode(waveforms, wave_lengths)
        return self.decode(h, h_lengths, head=head, **search_options)
