"""Recognizer = frontend + encoder + named heads with loss weights, plus its tokenizer.

The frontend is "logmel" (waveforms -> log-mel features, SpecAugment in training) or "image"
(uint8 text-line images -> normalised pixels); everything after it is shared.

It knows nothing of Lightning: ``recog.train`` wraps it for training, ``recog.inference`` for use.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from recog.audio import FeatureConfig, LogMel, SpecAugment, SpecAugmentConfig
from recog.decoding.fusion import FusionSum, LMFusion, PrefixFusion, ilme_weight
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import RESCORING, DecodingOptions
from recog.decoding.rescoring import rescore
from recog.encoders import build_encoder
from recog.heads import build_head
from recog.heads.base import Head
from recog.image import ImageConfig, ImageFrontend
from recog.lm import CharNgramLM
from recog.text import Tokenizer

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
        vtlp: [low, high] vocal-tract-length perturbation of the filterbank in training (logmel only,
            e.g. [0.9, 1.1]), or None for none.
    """

    def __init__(self, tokenizer: Tokenizer, encoder: dict[str, Any], heads: dict[str, dict[str, Any]],
                 features: dict[str, Any] | None = None, spec_augment: dict[str, Any] | None = None,
                 frontend: str = "logmel", vtlp: list[float] | None = None) -> None:
        super().__init__()
        if frontend not in FRONTENDS:
            raise ValueError(f"frontend must be one of {FRONTENDS}, got {frontend!r}")
        self.tokenizer = tokenizer
        self.config = {"encoder": dict(encoder), "heads": {k: dict(v) for k, v in heads.items()},
                       "features": dict(features or {}), "spec_augment": spec_augment, "frontend": frontend}
        if vtlp is not None:
            self.config["vtlp"] = list(vtlp)
        encoder = dict(encoder)
        self.spec_augment = None
        if frontend == "logmel":
            feature_config = FeatureConfig(**(features or {}))
            self.frontend: nn.Module = LogMel(feature_config, vtlp=tuple(vtlp) if vtlp is not None else None)
            if spec_augment is not None:
                self.spec_augment = SpecAugment(SpecAugmentConfig(**spec_augment))
            encoder.setdefault("feat_in", feature_config.n_mels)
        else:
            if vtlp is not None:
                raise ValueError("vtlp warps the mel filterbank of speech (logmel) models, not images")
            self.frontend = ImageFrontend(ImageConfig(**(features or {})))
        self.kind = frontend
        self.encoder = build_encoder(encoder.pop("name"), **encoder)
        self.loss_weights = {name: float(opts.get("weight", 1.0)) for name, opts in heads.items()}
        self.heads = nn.ModuleDict({
            name: build_head(name, self.encoder.d_model, tokenizer.vocab_size,
                             **{k: v for k, v in opts.items() if k != "weight"})
            for name, opts in heads.items()})
        self.intermediate_head: str | None = None  # the head whose loss reads intermediate encoder outputs
        for name, head in self.heads.items():
            if not head.intermediate_layers:
                continue
            if self.intermediate_head is not None or not hasattr(self.encoder, "set_intermediate"):
                raise ValueError(f"the {name!r} head's inter_layers need an encoder with intermediate outputs (a "
                                 f"conformer), read by one head only")
            try:
                self.encoder.set_intermediate(head.intermediate_layers, head.encoder_condition())
            except ValueError as err:
                raise ValueError(f"{name} inter_layers: {err}") from None
            self.intermediate_head = name
        self.decoding_heads = [name for name, head in self.heads.items() if head.decodes]
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
        return self.encoder(*self.features(inputs, input_lengths))

    def features(self, inputs: torch.Tensor, input_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The frontend's features (B, T, F) or (B, C, H, W), with lengths (B,); SpecAugment in training."""
        x, lengths = self.frontend(inputs, input_lengths)
        if self.spec_augment is not None:
            x = self.spec_augment(x, lengths)
        return x, lengths

    def forward(self, inputs: torch.Tensor, input_lengths: torch.Tensor, targets: torch.Tensor,
                target_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Weighted sum of head losses under "loss", each head's loss under "loss_<head>"."""
        x, lengths = self.features(inputs, input_lengths)
        if self.intermediate_head is None or not (self.training and torch.is_grad_enabled()):
            h, h_lengths = self.encoder(x, lengths)  # a validation loss is the final layers' alone
            intermediate: list[torch.Tensor] = []
        else:
            h, h_lengths, intermediate = self.encoder.forward_intermediate(x, lengths)
        losses = {f"loss_{name}": head.loss(h, h_lengths, targets, target_lengths,
                                            intermediate if name == self.intermediate_head else ())
                  for name, head in self.heads.items()}
        losses["loss"] = sum(self.loss_weights[name] * losses[f"loss_{name}"] for name in self.heads)
        return losses

    @torch.no_grad()
    def decode(self, h: torch.Tensor, h_lengths: torch.Tensor, head: str | None = None,
               lm: CharNgramLM | None = None, options: DecodingOptions | None = None,
               **search_options: Any) -> list[Hypothesis]:
        """Search with one head (the default head if None) and attach text to each hypothesis and
        its n-best. ``options`` (or ``search_options``, its fields) say how: each head runs the
        searches it declares (``Head.searches``); "rescore" and "joint" combine the model's aligning
        (CTC) and scoring (attention) heads. ``lm``: a character language model fused into the
        searches that take one (``Head.fusable``: CTC prefix beam search, transducer beam search,
        and the n-best that "rescore" reranks). ``ilm_weight`` > 0 fuses another head's own
        language model instead (``Head.internal_lm``: a hybrid's RNN-T prediction network into its
        CTC head's prefix beam search)."""
        if options is not None and search_options:
            raise ValueError("give the search either as options or as its fields, not both")
        options = options or DecodingOptions(**search_options)
        name = head or self.default_head
        self.check(options, name, lm is not None)
        fusion = self.fusion(options, lm, name)
        if options.search in RESCORING:
            hyps = rescore(*self._rescoring_heads(name), h, h_lengths, options, fusion)
        else:
            hyps = self.heads[name].search(h, h_lengths, options, fusion)
        if options.nbest > 1 and hyps and not any(hyp.nbest for hyp in hyps):
            keepers = [n for n, each in self.heads.items() if each.aligns or each.scores]
            raise ValueError(f"the {name!r} head keeps no n-best list with {options.search} search; use beam search "
                             f"with a head that keeps one ({', '.join(keepers) or 'none in this model'})")
        for hyp in hyps:
            hyp.nbest = hyp.nbest[: options.nbest] if options.nbest > 1 else []
            for each in (hyp, *hyp.nbest):
                each.text = self.tokenizer.decode(each.tokens)
        return hyps

    def head(self, name: str) -> Head:
        """The decoding head ``name``; a clear error where the model has none of that name."""
        if name not in self.decoding_heads:
            raise ValueError(f"this model has no {name!r} head to decode with; it has {self.decoding_heads}")
        return self.heads[name]

    def check(self, options: DecodingOptions, head: str | None = None, lm: bool = False) -> None:
        """Raise a clear ValueError where ``head`` (the default head if None) cannot search as
        ``options`` say, with a language model where ``lm`` (or ``options.ilm_weight`` > 0)."""
        name = head or self.default_head
        decoder = self.head(name)
        fused = lm or options.ilm_weight > 0
        if options.ilm_weight > 0:
            if lm:
                raise ValueError("fuse either a language model or the internal LM (ilm_weight), not both")
            if not self._internal_lms(name, options) or "beam" not in decoder.fusable or options.search != "beam":
                raise ValueError(f"the internal LM (ilm_weight) is another head's own language model (an 'rnnt' "
                                 f"head's prediction network) fused into the beam search of a head that fuses one: "
                                 f"e.g. head 'ctc' with search 'beam' in a model with 'ctc' and 'rnnt' heads (got "
                                 f"head {name!r}, search {options.search!r}, heads {list(self.heads)})")
        has_internal_lm = type(decoder).internal_lm is not Head.internal_lm
        if options.ilme_weight and (not lm or not has_internal_lm or options.search != "beam"):
            raise ValueError(f"ilme_weight subtracts a transducer head's internal LM where a language model is fused "
                             f"into its beam search: give an LM and head 'rnnt' (got head {name!r}, search "
                             f"{options.search!r}, {'an' if lm else 'no'} LM)")
        if options.search in RESCORING:
            aligner, _ = self._rescoring_heads(name)
            if fused and options.search != "rescore":
                raise ValueError("a language model fuses into rescore search (the n-best it reranks), not joint")
            aligner.check(replace(options, search="beam"), fused, "aligning")
            return
        if fused and not decoder.fusable:
            takers = [f"the {n!r} head" for n, h in self.heads.items() if h.fusable] or ["no head of this model"]
            raise ValueError(f"the {name!r} head takes no language model; {' or '.join(takers)} fuses one into "
                             f"its beam search")
        decoder.check(options, fused, name)

    def fusion(self, options: DecodingOptions, lm: CharNgramLM | None, head: str) -> PrefixFusion | None:
        """What ``options`` fuse into the ``head``'s search (checked by ``check``): ``lm``, or with
        ``ilm_weight`` > 0 the internal LM of another head of this model; None for neither."""
        if options.ilm_weight > 0:
            return self._internal_lms(head, options)[0]
        if lm is None:
            return None
        # rescoring fuses the LM into the aligning head's n-best (its CTC prefix beam search)
        searched = head if options.search == "beam" else self._rescoring_names(head)[0]
        return self.lm_fusion(lm, options.lm_weight, options.lm_bonus, searched, options.ilme_weight)

    def _internal_lms(self, head: str, options: DecodingOptions) -> list[PrefixFusion]:
        """The internal LMs of this model's heads other than ``head``."""
        own = [h.internal_lm(options.ilm_weight, options.ilm_bonus) for other, h in self.heads.items() if other != head]
        return [fusion for fusion in own if fusion is not None]

    def _rescoring_heads(self, name: str) -> tuple[Head, Head]:
        """(aligning head, scoring head) for rescoring, the decoding ``name`` one of them."""
        aligner, scorer = self._rescoring_names(name)
        return self.heads[aligner], self.heads[scorer]

    def _rescoring_names(self, name: str) -> tuple[str, str]:
        """The names of ``_rescoring_heads``."""
        aligner = next((n for n, h in self.heads.items() if h.aligns), None)
        scorer = next((n for n, h in self.heads.items() if h.scores), None)
        if aligner is None or scorer is None or name not in (aligner, scorer):
            raise ValueError(f"rescoring needs a model with an aligning head ('ctc') and a scoring head "
                             f"('attention') (it has {list(self.heads)}), and one of them to decode (got {name!r})")
        return aligner, scorer

    def lm_fusion(self, lm: CharNgramLM, weight: float | None, bonus: float | None, head: str,
                  ilme: float | None = None) -> PrefixFusion:
        """Shallow fusion of ``lm`` over this model's tokens (blank and unknown carry no text) into
        the search of ``head``; weights None: the LM's pair tuned for that head, else the defaults
        (``recog_edge.fusion.fusion_weights``). Into a transducer's beam search, less ``ilme`` times
        its internal LM (None: the LM's tuned ``ilme_weight``, else 0; ``DecodingOptions.ilme_weight``)."""
        pieces = [self.tokenizer.id_to_piece(i) for i in range(self.tokenizer.vocab_size)]
        fusion = LMFusion(lm, pieces, weight, bonus, head=head)
        subtract = ilme_weight(lm, head, ilme)
        internal = self.heads[head].internal_lm(-subtract, 0.0) if subtract else None
        if ilme and internal is None:  # a tuned weight of a flat setting has no place on a CTC head
            raise ValueError(f"ilme_weight subtracts a transducer head's internal LM: the {head!r} head has none")
        return FusionSum(fusion, internal) if internal is not None else fusion

    @torch.no_grad()
    def recognize(self, inputs: torch.Tensor, input_lengths: torch.Tensor, head: str | None = None,
                  **search_options: Any) -> list[Hypothesis]:
        """Encode and decode a padded batch of inputs."""
        h, h_lengths = self.encode(inputs, input_lengths)
        return self.decode(h, h_lengths, head=head, **search_options)
