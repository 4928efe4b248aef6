"""Recognizer = frontend + encoder + named heads with loss weights, plus its tokenizer.

The frontend is "logmel" (waveforms -> log-mel features, SpecAugment in training) or "image"
(uint8 text-line images -> normalised pixels); everything after it is shared.

It knows nothing of Lightning: ``recog.train`` wraps it for training, ``recog.inference`` for use.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from recog.audio import FeatureConfig, LogMel, SpecAugment, SpecAugmentConfig
from recog.encoders import build_encoder
from recog.heads import build_head
from recog.heads.attention import AttentionHead
from recog.heads.internal_lm import InternalLMFusion
from recog.heads.search import DecodingOptions, attention_rescoring, ctc_log_likelihood
from recog.heads.transducer import TransducerHead
from recog.hypothesis import Hypothesis
from recog.image import ImageConfig, ImageFrontend
from recog.lm import CharNgramLM, LMFusion, PrefixFusion
from recog.text import BLANK, UNK, Tokenizer

FRONTENDS = ("logmel", "image")


class Recognizer(nn.Module):
    """Waveforms or text-line images in, hypotheses out.

    Args:
        tokenizer: token ids <-> text (id 0 = blank); its size sets the heads' vocabulary.
        encoder: ``{"name": "conformer" | "vision", **encoder options}``.
        heads: ``{head name: {"weight": loss weight, **head options}}``; the first head that can
            decode is the default for decoding (training-only heads such as "sgm" cannot).
        frontend: "logmel" (speech) or "image" (text lines).
        features: FeatureConfig fields (logmel) or ImageConfig fields (image).
        spec_augment: SpecAugmentConfig fields, or None for none (logmel only).
    """

    def __init__(self, tokenizer: Tokenizer, encoder: dict[str, Any], heads: dict[str, dict[str, Any]],
                 features: dict[str, Any] | None = None, spec_augment: dict[str, Any] | None = None,
                 frontend: str = "logmel") -> None:
        super().__init__()
        if frontend not in FRONTENDS:
            raise ValueError(f"frontend must be one of {FRONTENDS}, got {frontend!r}")
        self.tokenizer = tokenizer
        self.config = {"encoder": dict(encoder), "heads": {k: dict(v) for k, v in heads.items()},
                       "features": dict(features or {}), "spec_augment": spec_augment, "frontend": frontend}
        encoder = dict(encoder)
        self.spec_augment = None
        if frontend == "logmel":
            feature_config = FeatureConfig(**(features or {}))
            self.frontend: nn.Module = LogMel(feature_config)
            if spec_augment is not None:
                self.spec_augment = SpecAugment(SpecAugmentConfig(**spec_augment))
            encoder.setdefault("feat_in", feature_config.n_mels)
        else:
            self.frontend = ImageFrontend(ImageConfig(**(features or {})))
        self.kind = frontend
        self.encoder = build_encoder(encoder.pop("name"), **encoder)
        self.loss_weights = {name: float(opts.get("weight", 1.0)) for name, opts in heads.items()}
        self.heads = nn.ModuleDict({
            name: build_head(name, self.encoder.d_model, tokenizer.vocab_size,
                             **{k: v for k, v in opts.items() if k != "weight"})
            for name, opts in heads.items()})
        ctc = self.heads["ctc"] if "ctc" in self.heads else None
        if ctc is not None and ctc.inter_layers:
            layers = len(getattr(self.encoder, "layers", ()))
            if not hasattr(self.encoder, "layer_hook") or not all(0 <= i < layers - 1 for i in ctc.inter_layers):
                raise ValueError(f"ctc inter_layers {list(ctc.inter_layers)} must name layers below the last of a "
                                 f"conformer encoder (it has {layers} layers, indices from 0)")
            self.encoder.layer_hook = ctc.layer_hook  # intermediate (self-conditioned) CTC
        self.decoding_heads = [name for name, head in self.heads.items() if getattr(head, "decodes", True)]
        if not self.decoding_heads:
            raise ValueError("a Recognizer needs at least one head that can decode (e.g. 'ctc')")
        self.default_head = self.decoding_heads[0]

    @property
    def frame_seconds(self) -> float:
        """Duration of one encoder frame in seconds (speech models)."""
        return self.frontend.config.hop_ms / 1000 * self.encoder.subsampling_factor

    def encode(self, inputs: torch.Tensor, input_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, N) or uint8 images (B, H, W, 3), with lengths (samples or pixel widths)
        (B,) -> encodings (B, T', D), lengths (B,)."""
        x, lengths = self.frontend(inputs, input_lengths)
        if self.spec_augment is not None:
            x = self.spec_augment(x, lengths)
        return self.encoder(x, lengths)

    def forward(self, inputs: torch.Tensor, input_lengths: torch.Tensor, targets: torch.Tensor,
                target_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Weighted sum of head losses under "loss", each head's loss under "loss_<head>"."""
        h, h_lengths = self.encode(inputs, input_lengths)
        losses = {f"loss_{name}": head.loss(h, h_lengths, targets, target_lengths)
                  for name, head in self.heads.items()}
        losses["loss"] = sum(self.loss_weights[name] * losses[f"loss_{name}"] for name in self.heads)
        return losses

    @torch.no_grad()
    def decode(self, h: torch.Tensor, h_lengths: torch.Tensor, head: str | None = None,
               lm: CharNgramLM | None = None, **search_options: Any) -> list[Hypothesis]:
        """Search with one head (the default head if None) and attach text to each hypothesis and
        its n-best. ``search_options`` are DecodingOptions fields (search, beam, groups, diversity,
        nbest, ...): the CTC and transducer heads take greedy or beam search, the attention head
        every search; "rescore" reranks the CTC head's n-best with the attention head, "joint" the
        CTC and attention n-best lists pooled, with both heads. ``lm``: a character language model
        fused into the CTC head's prefix beam search (also the n-best that rescoring reranks) or
        the transducer head's beam search. ``ilm_weight`` > 0 fuses the rnnt head's prediction
        network into the ctc head's prefix beam search instead (``recog.heads.internal_lm``)."""
        options = DecodingOptions(**search_options)
        name = head or self.default_head
        if name not in self.decoding_heads:
            raise ValueError(f"this model has no {name!r} head to decode with; it has {self.decoding_heads}")
        decoder = self.heads[name]
        fusion: PrefixFusion | None = None
        if options.ilm_weight > 0:
            if lm is not None:
                raise ValueError("fuse either a language model or the internal LM (ilm_weight), not both")
            if name != "ctc" or "rnnt" not in self.heads or options.search != "beam":
                raise ValueError(f"the internal LM (ilm_weight) is the rnnt head's prediction network fused into the "
                                 f"ctc head's prefix beam search: it needs a model with 'ctc' and 'rnnt' heads (this "
                                 f"one has {list(self.heads)}), head 'ctc' (got {name!r}) and search 'beam' (got "
                                 f"{options.search!r})")
            fusion = InternalLMFusion(self.heads["rnnt"], options.ilm_weight, options.ilm_bonus)
        elif lm is not None:
            fusable = options.search == "rescore" or (
                options.search == "beam" and (name == "ctc" or isinstance(decoder, TransducerHead)))
            if not fusable:
                raise ValueError(f"a language model is fused into CTC prefix beam search or transducer beam search, "
                                 f"not into the {name!r} head's {options.search} search: use head 'ctc' or 'rnnt' "
                                 f"with search 'beam', or search 'rescore'")
            fusion = self.lm_fusion(lm, options.lm_weight, options.lm_bonus)
        if options.search in ("rescore", "joint"):
            hyps = self._rescore(h, h_lengths, name, options, fusion)
        elif fusion is not None:
            hyps = decoder.decode(h, h_lengths, beam=options.beam, fusion=fusion)
        elif isinstance(decoder, AttentionHead):
            hyps = decoder.decode(h, h_lengths, **asdict(options))
        elif options.search == "diverse":
            raise ValueError(f"diverse beam search needs the attention head, not {name!r}")
        else:
            hyps = decoder.decode(h, h_lengths, beam=options.beam)
        if options.nbest > 1 and hyps and not any(hyp.nbest for hyp in hyps):
            raise ValueError(f"the {name!r} head keeps no n-best list; use beam search with the ctc or attention head")
        for hyp in hyps:
            hyp.nbest = hyp.nbest[: options.nbest] if options.nbest > 1 else []
            for each in (hyp, *hyp.nbest):
                each.text = self.tokenizer.decode(each.tokens)
        return hyps

    def lm_fusion(self, lm: CharNgramLM, weight: float, bonus: float) -> LMFusion:
        """Shallow fusion of ``lm`` over this model's tokens (blank and unknown carry no text)."""
        pieces = [self.tokenizer.id_to_piece(i) for i in range(self.tokenizer.vocab_size)]
        return LMFusion(lm, ["" if piece in (BLANK, UNK) else piece for piece in pieces], weight, bonus)

    def _rescore(self, h: torch.Tensor, h_lengths: torch.Tensor, head: str, options: DecodingOptions,
                 fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        """Attention rescoring (WeNet): the CTC head's prefix beam search n-best, reranked with the
        attention head. Joint rescoring: that n-best and the attention head's beam search n-best
        pooled, each ranked by attention log-prob + ctc_weight * CTC log-likelihood."""
        if head not in ("ctc", "attention") or not {"ctc", "attention"} <= set(self.heads):
            raise ValueError(f"rescoring needs a model with 'ctc' and 'attention' heads (it has {list(self.heads)}) "
                             f"and the head 'attention' or 'ctc' (got {head!r})")
        ctc, attention = self.heads["ctc"], self.heads["attention"]
        candidates = [hyp.nbest or [hyp] for hyp in ctc.decode(h, h_lengths, beam=options.beam, fusion=fusion)]
        if options.search == "rescore":
            return attention_rescoring(attention, h, h_lengths, candidates, options)
        beams = attention.decode(h, h_lengths, search="beam", beam=options.beam, nbest=options.beam,
                                 length_penalty=options.length_penalty, max_len=options.max_len)
        pooled = []
        for ctc_nbest, beam in zip(candidates, beams, strict=True):
            unique = {tuple(hyp.tokens): hyp for hyp in [*(beam.nbest or [beam]), *ctc_nbest]}
            pooled.append(list(unique.values()))  # a CTC hypothesis keeps its CTC timestamps
        owner = [b for b, hyps in enumerate(pooled) for _ in hyps]
        ctc_scores = ctc_log_likelihood(ctc(h), h_lengths, owner, [hyp.tokens for hyps in pooled for hyp in hyps])
        return attention_rescoring(attention, h, h_lengths, pooled, options, ctc_scores)

    @torch.no_grad()
    def recognize(self, inputs: torch.Tensor, input_lengths: torch.Tensor, head: str | None = None,
                  **search_options: Any) -> list[Hypothesis]:
        """Encode and decode a padded batch of inputs."""
        h, h_lengths = self.encode(inputs, input_lengths)
        return self.decode(h, h_lengths, head=head, **search_options)
