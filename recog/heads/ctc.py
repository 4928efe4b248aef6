"""CTC head: a linear layer to token log-probabilities, CTC loss, greedy and prefix beam search."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recog.hypothesis import Hypothesis
from recog.lm import PrefixFusion

NEG_INF = float("-inf")


class CTCHead(nn.Module):
    """(B, T, D) encodings -> (B, T, V) log-probabilities; token 0 is the blank.

    ``inter_layers``: intermediate CTC (Lee & Watanabe 2021) on the outputs of these encoder
    layers (0-based), through this head's own projection; the head's loss becomes
    ``(1 - inter_weight) * final + inter_weight * mean(intermediate)``. With ``self_condition``
    (Nozaki & Komatsu 2021) each intermediate posterior is projected back and added to that
    layer's output, so the layers above see a first guess of the text and can correct its
    spelling: the conditional independence of CTC is relaxed inside the encoder. The encoder
    calls :meth:`layer_hook` after every layer (the Recognizer wires it), in training, inference,
    streaming and ONNX export alike; it acts frame by frame, so streaming stays exact.
    """

    def __init__(self, d_model: int, vocab_size: int, inter_layers: list[int] | tuple[int, ...] = (),
                 inter_weight: float = 0.3, self_condition: bool = True) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.proj = nn.Linear(d_model, vocab_size)
        self.inter_layers = tuple(int(i) for i in inter_layers)
        if not 0.0 <= inter_weight <= 1.0:
            raise ValueError(f"inter_weight must be within [0, 1], got {inter_weight}")
        self.inter_weight = float(inter_weight)
        self.condition = nn.Linear(vocab_size, d_model) if self.inter_layers and self_condition else None
        self._intermediate: list[torch.Tensor] = []  # training only: log-probs of each inter layer

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.proj(h).float(), dim=-1)  # (B, T, V)

    def layer_hook(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Called by the encoder with layer ``index``'s output x (B, T, D): at an intermediate
        layer, keep its CTC log-probs for the loss (training) and add the self-conditioning."""
        record = self.training and torch.is_grad_enabled()
        if index not in self.inter_layers or not (record or self.condition is not None):
            return x
        if index == min(self.inter_layers):
            self._intermediate = []  # a new encoder pass
        log_probs = self(x)  # (B, T, V)
        if record:
            self._intermediate.append(log_probs)
        if self.condition is not None:
            x = x + self.condition(log_probs.exp().to(x.dtype))
        return x

    def _ctc(self, log_probs: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor,
             target_lengths: torch.Tensor) -> torch.Tensor:
        total = F.ctc_loss(log_probs.transpose(0, 1), targets, h_lengths, target_lengths, blank=0,
                           reduction="sum", zero_infinity=True)  # log_probs (T, B, V)
        return total / log_probs.shape[0]

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor,
             target_lengths: torch.Tensor) -> torch.Tensor:
        """CTC loss summed over each utterance and averaged over the batch, mixed with the
        intermediate CTC losses of the encoder pass that produced ``h`` (when configured; they
        are kept in training only, so a validation loss is the final layer's alone)."""
        final = self._ctc(self(h), h_lengths, targets, target_lengths)
        intermediate, self._intermediate = self._intermediate, []
        if not intermediate:
            return final
        if any(lp.shape[:2] != h.shape[:2] for lp in intermediate):
            raise RuntimeError("the intermediate CTC outputs kept by the CTC head come from another encoder pass")
        inter = torch.stack([self._ctc(lp, h_lengths, targets, target_lengths) for lp in intermediate]).mean()
        return (1.0 - self.inter_weight) * final + self.inter_weight * inter

    @torch.no_grad()
    def decode(self, h: torch.Tensor, h_lengths: torch.Tensor, beam: int = 1, fusion: PrefixFusion | None = None
               ) -> list[Hypothesis]:
        """Greedy (beam=1, batched) or prefix beam search (beam>1) per utterance, the latter
        with an optional language model (``fusion``)."""
        log_probs = self(h)
        if beam <= 1:
            if fusion is not None:
                raise ValueError("a language model needs prefix beam search: use a beam above 1")
            return greedy_decode(log_probs, h_lengths)
        lp = log_probs.cpu().numpy()
        return [prefix_beam_search(lp[b, : int(n)], beam, fusion) for b, n in enumerate(h_lengths.tolist())]


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor, last: torch.Tensor | None = None
                  ) -> list[Hypothesis]:
    """Best path per frame, repeats collapsed, blanks removed. (B, T, V), (B,) -> B hypotheses.

    A token's timestamp is the first frame of its run; its confidence the posterior there.
    ``last`` (B,): for streaming, each item's best id on the frame before these (0 = blank, the
    default), so a token run that crosses a chunk boundary is emitted once.
    """
    best_lp, best_ids = log_probs.max(dim=-1)  # (B, T)
    before = torch.zeros_like(best_ids[:, :1]) if last is None else last[:, None].to(best_ids)
    previous = torch.cat([before, best_ids[:, :-1]], dim=1)
    valid = torch.arange(best_ids.shape[1], device=best_ids.device)[None, :] < lengths[:, None]
    emit = (best_ids != 0) & (best_ids != previous) & valid  # (B, T)
    hyps = []
    for b in range(best_ids.shape[0]):
        frames = emit[b].nonzero().squeeze(1)
        n = max(int(lengths[b]), 1)
        score = float(best_lp[b, : int(lengths[b])].sum())
        hyps.append(Hypothesis(
            tokens=best_ids[b, frames].tolist(), score=score, confidence=float(np.exp(score / n)),
            timestamps=frames.tolist(), token_confidences=best_lp[b, frames].exp().tolist()))
    return hyps


def _add_path(nxt: dict[tuple[int, ...], list[float]], best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]],
              prefix: tuple[int, ...], ends_in_blank: bool, logp: float, times: tuple[int, ...]) -> None:
    """Add one path's probability to ``prefix`` and keep the timestamps of its likeliest path."""
    slot = nxt[prefix]
    slot[0 if ends_in_blank else 1] = np.logaddexp(slot[0 if ends_in_blank else 1], logp)
    if prefix not in best or logp > best[prefix][0]:
        best[prefix] = (logp, times)


def prefix_beam_search(log_probs: np.ndarray, beam: int, fusion: PrefixFusion | None = None) -> Hypothesis:
    """CTC prefix beam search over one utterance's (T, V) log-probabilities.

    Each prefix keeps log P(ending in blank), log P(ending in its last token), and the frames at
    which its tokens were emitted along its most probable contribution (so timestamps follow the
    likely alignment, not the first path that happened to create the prefix). Per frame only the
    ``beam`` most likely tokens extend prefixes. The result's ``nbest`` holds every final prefix,
    best first (the n-best that attention rescoring reranks).

    ``fusion``: a language model whose prefix score is added when prefixes are ranked (shallow
    fusion); hypothesis scores then include it, and finished prefixes are ranked with its
    end-of-text probability.
    """
    def rank_key(kv: tuple[tuple[int, ...], list[float] | tuple[float, float]], final: bool = False) -> float:
        prefix, (p_blank, p_token) = kv
        lm = 0.0 if fusion is None else (fusion.final_score if final else fusion.prefix_score)(prefix)
        return float(np.logaddexp(p_blank, p_token)) + lm

    frames, vocab = log_probs.shape
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}
    stamps: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}
    k = min(beam, vocab)
    for t in range(frames):
        if fusion is not None:
            fusion.prepare(beams)  # this frame extends these prefixes
        lp = log_probs[t]
        candidates = [int(c) for c in np.argpartition(-lp, k - 1)[:k] if c != 0]
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [NEG_INF, NEG_INF])
        best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
        add = partial(_add_path, nxt, best)
        for prefix, (p_blank, p_token) in beams.items():
            total = np.logaddexp(p_blank, p_token)
            add(prefix, True, total + lp[0], stamps[prefix])
            for c in candidates:
                if prefix and c == prefix[-1]:
                    add(prefix, False, p_token + lp[c], stamps[prefix])  # repeat collapses
                    extend_from = p_blank  # a repeated token needs a blank between
                else:
                    extend_from = total
                add(prefix + (c,), False, extend_from + lp[c], stamps[prefix] + (t,))
        ranked = sorted(nxt.items(), key=rank_key, reverse=True)[:beam]
        beams = {p: (v[0], v[1]) for p, v in ranked}
        stamps = {p: best[p][1] for p in beams}
    final = partial(rank_key, final=True)
    ranked = sorted(beams.items(), key=final, reverse=True)  # stable: ties keep order
    nbest = [_prefix_hypothesis(prefix, final((prefix, p)), list(stamps[prefix]), log_probs,
                                acoustic=float(np.logaddexp(*p))) for prefix, p in ranked]
    return replace(nbest[0], nbest=nbest)


def _prefix_hypothesis(prefix: tuple[int, ...], score: float, times: list[int], log_probs: np.ndarray,
                       acoustic: float) -> Hypothesis:
    """A finished prefix; its confidence comes from the CTC (acoustic) log-probability alone."""
    return Hypothesis(tokens=list(prefix), score=score, confidence=float(np.exp(acoustic / max(len(log_probs), 1))),
                      timestamps=times,
                      token_confidences=[float(np.exp(log_probs[t, c])) for t, c in zip(times, prefix, strict=True)])
