"""A hybrid model's own transducer prediction network as a language model for its CTC head.

The prediction network of an RNN-T head is trained on the same transcripts as the CTC head and
learns which token follows which (Meng et al. 2021, "Internal Language Model Estimation"). Fed to
the joiner with a zero encoder vector, ``log_softmax(out(tanh(enc_proj(0) + pred_proj(pred))))``
over the non-blank tokens estimates that internal LM. ``InternalLMFusion`` fuses it into the CTC head's
prefix beam search exactly as ``recog.decoding.fusion.LMFusion`` fuses a character n-gram: a prefix scores
``weight * log P_ILM(prefix) + bonus * len(prefix)`` on top of its CTC log-probability. So the
CTC head gets the word knowledge that its sibling head has, from the one model file, with no
external text.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from recog.decoding.fusion import NextTokenFusion, cached_start
from recog.decoding.transducer import Transducer


class InternalLMFusion(NextTokenFusion):
    """Shallow fusion of a transducer head's internal LM into CTC prefix beam search.

    Args:
        head: the RNN-T head of the same model (its predictor, ``pred_proj`` and ``out``).
        weight: LM weight; bonus: per-token insertion bonus.
    """

    CACHE_PREFIXES = 200_000  # the prefix cache starts over beyond this many prefixes

    def __init__(self, head: Transducer, weight: float = 0.5, bonus: float = 1.0) -> None:
        if head.training:
            raise ValueError("the internal LM reads the prediction network in eval mode (no dropout): "
                             "call model.eval() first")
        super().__init__(weight, bonus)
        self.head = head
        self._device = next(head.parameters()).device
        # prefix -> (its next-token log-probs (V,), predictor state after it)
        self._next: dict[tuple[int, ...], tuple[torch.Tensor, tuple[torch.Tensor, ...]]] = {}

    def reweighted(self, weight: float, bonus: float) -> InternalLMFusion:
        """The same internal LM with other weights, sharing the predictor steps already run (a
        weight grid on one dev set runs each step once)."""
        fusion = InternalLMFusion(self.head, weight, bonus)
        fusion._next = self._next
        return fusion

    def _log_probs(self, out: torch.Tensor) -> torch.Tensor:
        """Predictor outputs (N, H) -> (N, V) internal-LM log-probs, blank excluded (-inf)."""
        joint = self.head.enc_proj.bias + self.head.pred_proj(out)  # a zero encoder vector, projected
        logits = self.head.out(torch.tanh(joint)).float()
        logits[:, 0] = float("-inf")
        return torch.log_softmax(logits, dim=-1).cpu()

    def _store(self, prefix: tuple[int, ...], log_probs: torch.Tensor, state: tuple[torch.Tensor, ...]) -> None:
        if len(self._next) > self.CACHE_PREFIXES:  # a long search: start over
            self._next, self._scores = {}, {(): 0.0}
        self._next[prefix] = (log_probs, state)

    @torch.no_grad()
    def _next_log_probs(self, prefix: tuple[int, ...]) -> torch.Tensor:
        """(V,) log P_ILM(next token | prefix), blank excluded (its entry is -inf); built on the
        longest cached ancestor (beams share parents, so usually the parent), iteratively."""
        known = cached_start(prefix, self._next)
        state = self._next[prefix[:known]][1] if known >= 0 else self.head.predictor.initial_state(1, self._device)
        for end in range(known + 1, len(prefix) + 1):
            last = prefix[end - 1] if end else 0  # the predictor starts from blank, as in training
            out, state = self.head.predictor.step(torch.tensor([last], device=self._device), state)
            self._store(prefix[:end], self._log_probs(out)[0], state)
        return self._next[prefix][0]

    @torch.no_grad()
    def prepare(self, prefixes: Iterable[tuple[int, ...]]) -> None:
        """One batched predictor step for every prefix not yet cached whose parent is (the beams
        after a frame: each grew by at most one token); any other goes one step at a time."""
        todo = [p for p in prefixes if p not in self._next]
        ready = [p for p in todo if p and p[:-1] in self._next]
        if len(ready) > 1:
            predictor = self.head.predictor
            state = predictor.cat([self._next[p[:-1]][1] for p in ready])
            out, state = predictor.step(torch.tensor([p[-1] for p in ready], device=self._device), state)
            log_probs = self._log_probs(out)
            for i, p in enumerate(ready):
                self._store(p, log_probs[i], predictor.select(state, torch.tensor([i], device=self._device)))
        for p in todo:
            if p not in self._next:
                self._next_log_probs(p)
