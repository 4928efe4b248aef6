"""CTC head: a linear layer to token log-probabilities and the CTC loss; its searches are in
``recog.decoding.ctc``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.ctc import CTCGreedyStream, ctc_log_likelihood, greedy_decode, prefix_beam_search
from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions
from recog.heads.base import Head, StreamSearch


class CTCHead(Head):
    """(B, T, D) encodings -> (B, T, V) log-probabilities; token 0 is the blank.

    ``inter_layers``: intermediate CTC (Lee & Watanabe 2021) on the outputs of these encoder
    layers (0-based), through this head's own projection; the head's loss becomes
    ``(1 - inter_weight) * final + inter_weight * mean(intermediate)``. With ``self_condition``
    (Nozaki & Komatsu 2021) each intermediate posterior is projected back and added to that
    layer's output, so the layers above see a first guess of the text and can correct its
    spelling: the conditional independence of CTC is relaxed inside the encoder. The Recognizer
    gives the encoder :meth:`self_condition` as its conditioning projection; the encoder applies it
    frame by frame (training, inference, streaming and ONNX export alike, so streaming stays
    exact) and returns the intermediate layer outputs, which :meth:`loss` takes.
    """

    searches = ("greedy", "beam")
    fusable = ("beam",)
    aligns = True

    def __init__(self, d_model: int, vocab_size: int, inter_layers: list[int] | tuple[int, ...] = (),
                 inter_weight: float = 0.3, self_condition: bool = True) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.proj = nn.Linear(d_model, vocab_size)
        self.intermediate_layers = tuple(int(i) for i in inter_layers)
        if not 0.0 <= inter_weight <= 1.0:
            raise ValueError(f"inter_weight must be within [0, 1], got {inter_weight}")
        self.inter_weight = float(inter_weight)
        self.condition = nn.Linear(vocab_size, d_model) if self.intermediate_layers and self_condition else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.proj(h).float(), dim=-1)  # (B, T, V)

    def encoder_condition(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        return self.self_condition if self.condition is not None else None

    def self_condition(self, x: torch.Tensor) -> torch.Tensor:
        """Self-conditioning of an intermediate layer's output x (B, T, D): x plus the projection
        of its CTC posterior."""
        return x + self.condition(self(x).exp().to(x.dtype))

    def _ctc(self, log_probs: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor,
             target_lengths: torch.Tensor) -> torch.Tensor:
        total = F.ctc_loss(log_probs.transpose(0, 1), targets, h_lengths, target_lengths, blank=0,
                           reduction="sum", zero_infinity=True)  # log_probs (T, B, V)
        return total / log_probs.shape[0]

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """CTC loss summed over each utterance and averaged over the batch, mixed with the CTC
        losses of the ``intermediate`` layer outputs (B, T, D) where given (training: the
        Recognizer passes none outside it, so a validation loss is the final layer's alone)."""
        final = self._ctc(self(h), h_lengths, targets, target_lengths)
        if not intermediate:
            return final
        if len(intermediate) != len(self.intermediate_layers):
            raise ValueError(f"the CTC head needs the outputs of encoder layers {list(self.intermediate_layers)}, "
                             f"got {len(intermediate)}")
        inter = torch.stack([self._ctc(self(x), h_lengths, targets, target_lengths) for x in intermediate]).mean()
        return (1.0 - self.inter_weight) * final + self.inter_weight * inter

    @torch.no_grad()
    def search(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
               fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        """Batched greedy search (a beam of 1), or prefix beam search per input (with ``fusion``)."""
        if options.beam <= 1:
            return greedy_decode(self(h), h_lengths)
        lp = self(h).cpu().numpy()
        return [prefix_beam_search(lp[b, : int(n)], options.beam, fusion) for b, n in enumerate(h_lengths.tolist())]

    @torch.no_grad()
    def nbest(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
              fusion: PrefixFusion | None = None) -> list[list[Hypothesis]]:
        return [hyp.nbest or [hyp] for hyp in self.search(h, h_lengths, options, fusion)]

    @torch.no_grad()
    def log_likelihood(self, h: torch.Tensor, h_lengths: torch.Tensor, owner: list[int],
                       sequences: list[list[int]]) -> list[float]:
        return ctc_log_likelihood(self(h), h_lengths, owner, sequences)

    def stream_search(self, options: DecodingOptions, fusion: PrefixFusion | None = None) -> StreamSearch | None:
        return CTCGreedyStream(self) if options.beam <= 1 and fusion is None else None

    def frame_outputs(self, h: torch.Tensor) -> torch.Tensor:
        return self(h)


