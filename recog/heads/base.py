"""The Head protocol: what every head offers, so that the Recognizer, streaming and export ask a
head what it can do instead of checking its type or name.

A head maps any encoder output (B, T, D) with lengths (B,) to a loss in training and to
hypotheses in decoding. Beyond that, a head declares:

- ``searches``: the searches (``recog.decoding.options.SEARCHES``) it runs on its own;
- ``fusable``: those of its searches into which a language model can be fused (a ``PrefixFusion``);
- ``aligns``: it gives an n-best list by beam search and the log-likelihood of any token sequence
  (the CTC head): the "aligning" half of rescoring;
- ``scores``: it gives the log-probability of each token of given sequences (the attention head):
  the "scoring" half of rescoring;
- ``intermediate_layers``: encoder layers whose outputs its loss needs (intermediate CTC), and
  ``encoder_condition``: a projection the encoder applies there (self-conditioning);
- ``stream_search``: a search that continues chunk by chunk (streaming), or None;
- ``frame_outputs``: a per-frame output that an exported encoder graph can carry, or None;
- ``export_parts``: the ONNX graphs of its decoder, if it has any beyond per-frame outputs;
- ``internal_lm``: a language model of its own to fuse into another head's beam search, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import torch
from torch import nn

from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions


class StreamSearch(Protocol):
    """One stream's search state for the current utterance; frame indices count from its start."""

    frames: int

    def reset(self) -> None: ...

    def advance(self, h: torch.Tensor, n: int) -> None:
        """h: (1, T, D) encodings of which the first n are valid."""

    def output(self, final: bool = False) -> tuple[list[int], list[int], list[int]]:
        """(tokens, timestamps, stable tokens) of the best hypothesis so far."""

    def hypothesis(self, final: bool = False) -> Hypothesis:
        """The best hypothesis so far, with scores and confidences."""


class ExportPart(NamedTuple):
    """One ONNX graph of a head: ``module(*args)`` with named inputs and outputs, the axis of each
    input that is the batch, how many leading arguments ``forward`` names before a ``*args``
    (None: it has none), metadata for the runtime under the part's name, and the other dynamic
    axes by input: {input: {axis: name}}, e.g. encoder "frames", cached "past" tokens, "tokens".
    ``int8`` False: the graph stays float32 in an int8 export (a graph run once per step on one
    row, whose matmuls gain less from int8 than quantizing their input on the fly costs)."""

    name: str
    module: nn.Module
    args: tuple[torch.Tensor, ...]
    inputs: list[str]
    outputs: list[str]
    batch_axes: dict[str, int]
    fixed_args: int | None
    metadata: dict[str, Any]
    axes: dict[str, dict[int, str]] = {}  # noqa: RUF012 - a NamedTuple default, never mutated
    int8: bool = True


class Head(nn.Module):
    """Base class of every head; subclasses override what they can do."""

    searches: tuple[str, ...] = ("greedy",)
    fusable: tuple[str, ...] = ()
    aligns = False
    scores = False
    intermediate_layers: tuple[int, ...] = ()

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Training loss of encodings h (B, T, D) against padded targets (B, U); ``intermediate``:
        the outputs (B, T, D) of the encoder layers ``intermediate_layers`` names."""
        raise NotImplementedError

    @property
    def decodes(self) -> bool:
        """Whether the head can decode at all (a training-only head cannot)."""
        return bool(self.searches)

    @torch.no_grad()
    def decode(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions | None = None,
               fusion: PrefixFusion | None = None, **fields: Any) -> list[Hypothesis]:
        """One hypothesis per input, by ``options`` (or ``fields``, its fields): ``options.search``
        must be one of ``searches``, and ``fusion`` needs one of ``fusable``. Tokens only: the
        Recognizer attaches text."""
        if options is not None and fields:
            raise ValueError("give the search either as options or as its fields, not both")
        options = options or DecodingOptions(**fields)
        self.check(options, fusion is not None)
        return self.search(h, h_lengths, options, fusion)

    def search(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
               fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        """``decode`` once its options are checked: what each head implements."""
        raise NotImplementedError

    def nbest(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
              fusion: PrefixFusion | None = None) -> list[list[Hypothesis]]:
        """Aligning heads: each input's beam search n-best, best first."""
        raise NotImplementedError

    def log_likelihood(self, h: torch.Tensor, h_lengths: torch.Tensor, owner: list[int],
                       sequences: list[list[int]]) -> list[float]:
        """Aligning heads: log P(sequence | input ``owner[i]``) of each sequence."""
        raise NotImplementedError

    def score_sequences(self, h: torch.Tensor, h_lengths: torch.Tensor, owner: list[int],
                        sequences: list[list[int]]) -> list[list[float]]:
        """Scoring heads: log-probability of each token of each sequence, then of its end."""
        raise NotImplementedError

    def stream_search(self, options: DecodingOptions, fusion: PrefixFusion | None = None) -> StreamSearch | None:
        """A search that continues chunk by chunk, or None where the head cannot stream ``options``."""
        return None

    def frame_outputs(self, h: torch.Tensor) -> torch.Tensor | None:
        """A per-frame output (B, T, ·) for an exported encoder graph to carry, or None."""
        return None

    def graph_outputs(self, h: torch.Tensor, h_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """What an exported offline graph (encoder and heads in one) carries for this head, by
        name (the exporter prefixes the head's): by default its per-frame output as "log_probs"."""
        frames = self.frame_outputs(h)
        return {} if frames is None else {"log_probs": frames}

    def export_parts(self) -> list[ExportPart]:
        """The ONNX graphs of this head's decoder (beyond ``frame_outputs``)."""
        return []

    def encoder_condition(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """A projection the encoder applies to the outputs of ``intermediate_layers`` (self-conditioning), or None."""
        return None

    def internal_lm(self, weight: float, bonus: float) -> PrefixFusion | None:
        """This head's own language model, to fuse into another head's beam search, or None."""
        return None

    def check(self, options: DecodingOptions, fused: bool = False, name: str | None = None) -> None:
        """Raise a clear ValueError where this head cannot run ``options`` (with a language model
        fused where ``fused``: it needs one of ``fusable`` and a beam above 1); ``name``: what to call
        the head (its registry name)."""
        name = name or type(self).__name__
        if options.search not in self.searches:
            raise ValueError(f"the {name!r} head cannot run {options.search} search; it runs "
                             f"{', '.join(self.searches) or 'none (it guides training only)'}")
        if fused and (options.search not in self.fusable or options.beam <= 1):
            where = f"its {' or '.join(self.fusable)} search" if self.fusable else "no search of it"
            raise ValueError(f"a language model fuses into {where} for the {name!r} head, not into "
                             f"{options.search} search" + (" (use a beam above 1)" if options.beam == 1 else ""))
