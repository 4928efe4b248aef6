"""Transducer searches: batched greedy search (up to ``max_symbols`` tokens per frame) and
modified beam search (one symbol per frame, equal outputs merged) with shallow fusion. Both keep
their state in an object (``GreedySearch``, ``BeamSearch``) that ``*_advance`` continues, so a
stream carries the same search from chunk to chunk (``TransducerStream``).

They need of a model only what ``Transducer`` names: its prediction network and joiner
(``recog.heads.transducer.TransducerHead``), as torchaudio keeps ``RNNT`` and ``RNNTBeamSearch`` apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog_edge.search import beam_step, finished_best, shared_prefix

State = tuple[torch.Tensor, ...]


class Predictor(Protocol):
    """A transducer prediction network, one step at a time over N hypotheses."""

    def initial_state(self, n: int, device: torch.device) -> State: ...

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]: ...

    def select(self, state: State, index: torch.Tensor) -> State: ...

    def merge(self, state: State, update: State, mask: torch.Tensor) -> State: ...

    def cat(self, states: list[State]) -> State: ...


class Transducer(Protocol):
    """What the searches need of a transducer: predictor, projections and joiner."""

    vocab_size: int
    training: bool
    predictor: Predictor
    enc_proj: nn.Linear
    pred_proj: nn.Linear
    out: nn.Linear

    def joint(self, enc: torch.Tensor, pred: torch.Tensor) -> torch.Tensor: ...

    def parameters(self) -> Iterator[nn.Parameter]: ...


@torch.no_grad()
def greedy_search(model: Transducer, h: torch.Tensor, lengths: torch.Tensor, max_symbols: int) -> list[Hypothesis]:
    """Batched greedy search emitting up to ``max_symbols`` tokens per frame."""
    search = greedy_start(model, h.shape[0], h.device)
    greedy_advance(model, search, h, lengths, max_symbols)
    return search.hypotheses()


def greedy_start(model: Transducer, batch: int, device: torch.device) -> GreedySearch:
    """Fresh greedy-search state for ``batch`` utterances (or streams)."""
    state = model.predictor.initial_state(batch, device)
    pred_out, state = model.predictor.step(torch.zeros(batch, dtype=torch.long, device=device), state)
    return GreedySearch(state=state, pred=model.pred_proj(pred_out), scores=torch.zeros(batch, device=device),
                        frames=torch.zeros(batch, dtype=torch.long), tokens=[[] for _ in range(batch)],
                        stamps=[[] for _ in range(batch)], probs=[[] for _ in range(batch)])


@torch.no_grad()
def greedy_advance(model: Transducer, search: GreedySearch, h: torch.Tensor, lengths: torch.Tensor,
                   max_symbols: int) -> None:
    """Run greedy search over more frames h (B, T, D) with valid lengths (B,), continuing
    ``search`` (timestamps count from the first frame ever given to it)."""
    enc = model.enc_proj(h)  # (B, T, J)
    state, pred = search.state, search.pred
    offset = search.frames.clone()
    for t in range(enc.shape[1]):
        active = t < lengths.to(enc.device)  # (B,)
        for _ in range(max_symbols):
            lp = F.log_softmax(model.joint(enc[:, t], pred), dim=-1)  # (B, V)
            best_lp, best = lp.max(dim=-1)
            emit = active & (best != 0)
            search.scores += torch.where(active, best_lp, torch.zeros_like(best_lp))
            if not bool(emit.any()):
                break
            for b in emit.nonzero().squeeze(1).tolist():
                search.tokens[b].append(int(best[b]))
                search.stamps[b].append(int(offset[b]) + t)
                search.probs[b].append(math.exp(float(best_lp[b])))
            new_out, new_state = model.predictor.step(best, state)
            state = model.predictor.merge(state, new_state, emit)
            pred = torch.where(emit[:, None], model.pred_proj(new_out), pred)
            active = emit  # only items that emitted may emit again at this frame
    search.state, search.pred = state, pred
    search.frames += lengths.cpu()


@torch.no_grad()
def beam_search(model: Transducer, h: torch.Tensor, lengths: torch.Tensor, beam: int,
                fusion: PrefixFusion | None = None) -> list[Hypothesis]:
    """Modified beam search per utterance: at most one symbol per frame, ``beam`` active
    hypotheses, equal token sequences merged (their probabilities added). ``fusion``: a
    language model whose score for each hypothesis's tokens is added where hypotheses are
    ranked (shallow fusion); the final ranking adds its end-of-text score. Each frame's
    candidates (beam x beam) are picked by their parents' fused score plus their transducer
    log-probability, then ranked with the LM score of their new token (icefall scores the
    new token before picking: the same where the pool holds the LM's favourites)."""
    results = []
    for b, n in enumerate(lengths.tolist()):
        search = beam_start(model, h.device)
        beam_advance(model, search, h[b, : int(n)], beam, fusion)
        results.append(search.best(fusion))
    return results


def beam_start(model: Transducer, device: torch.device) -> BeamSearch:
    """Fresh beam-search state for one utterance (or stream)."""
    state = model.predictor.initial_state(1, device)
    out, state = model.predictor.step(torch.zeros(1, dtype=torch.long, device=device), state)
    return BeamSearch(hyps=[{"tokens": (), "score": 0.0, "lm": 0.0, "stamps": (), "probs": ()}], state=state,
                      pred=model.pred_proj(out), frames=0)


@torch.no_grad()
def beam_advance(model: Transducer, search: BeamSearch, h: torch.Tensor, beam: int,
                 fusion: PrefixFusion | None = None) -> None:
    """Continue ``search`` over the valid frames h (T, D) of its utterance. A hypothesis's
    ``score`` is its transducer log-probability, ``lm`` its fusion score (0 without ``fusion``);
    hypotheses rank by their sum."""
    enc = model.enc_proj(h)
    device = enc.device
    hyps, state, pred = search.hyps, search.state, search.pred  # pred: (H, J) for the hypotheses
    for i in range(enc.shape[0]):
        t = search.frames + i
        lp = F.log_softmax(model.joint(enc[i][None, :], pred), dim=-1)  # (H, V)
        hyps = beam_step(hyps, lp.float().cpu().numpy(), t, beam, fusion)
        src = torch.tensor([h["src"] for h in hyps], device=device)
        state = model.predictor.select(state, src)
        pred = pred[src]
        extend = torch.tensor([h["token"] is not None for h in hyps], device=device)
        if bool(extend.any()):
            tokens = torch.tensor([h["token"] or 0 for h in hyps], device=device)
            new_out, new_state = model.predictor.step(tokens, state)
            state = model.predictor.merge(state, new_state, extend)
            pred = torch.where(extend[:, None], model.pred_proj(new_out), pred)
    search.hyps, search.state, search.pred = hyps, state, pred
    search.frames += enc.shape[0]


@dataclass
class GreedySearch:
    """Batched transducer greedy search in progress (carried across chunks when streaming)."""

    state: State
    pred: torch.Tensor  # (B, J) projected predictor output after each item's last token
    scores: torch.Tensor  # (B,)
    frames: torch.Tensor  # (B,) frames consumed
    tokens: list[list[int]]
    stamps: list[list[int]]
    probs: list[list[float]]

    def hypotheses(self) -> list[Hypothesis]:
        return [Hypothesis(tokens=list(self.tokens[b]), score=float(self.scores[b]),
                           confidence=math.exp(float(self.scores[b]) / max(int(self.frames[b]), 1)),
                           timestamps=list(self.stamps[b]), token_confidences=list(self.probs[b]))
                for b in range(len(self.tokens))]


@dataclass
class BeamSearch:
    """One utterance's transducer beam search in progress (carried across chunks when streaming)."""

    hyps: list[dict[str, Any]]
    state: State
    pred: torch.Tensor  # (H, J)
    frames: int

    def best(self, fusion: PrefixFusion | None = None) -> Hypothesis:
        """The best hypothesis so far; with ``fusion``, ranked as finished texts (the LM's
        end-of-text score added). Its score includes the fusion score, its confidence is the
        transducer's alone."""
        best, score = finished_best(self.hyps, fusion)
        return Hypothesis(tokens=list(best["tokens"]), score=score,
                          confidence=math.exp(best["score"] / max(self.frames, 1)), timestamps=list(best["stamps"]),
                          token_confidences=list(best["probs"]))

    def stable_tokens(self) -> list[int]:
        """The longest token prefix every live hypothesis shares: it can no longer change."""
        return shared_prefix(self.hyps)


class TransducerStream:
    """The greedy (``beam`` 1) or modified beam search of one stream, continued chunk by chunk;
    its output equals the offline search over the whole input."""

    def __init__(self, model: Transducer, beam: int = 1, max_symbols: int = 5,
                 fusion: PrefixFusion | None = None) -> None:
        self.model, self.beam, self.max_symbols, self.fusion = model, beam, max_symbols, fusion
        self.reset()

    def reset(self) -> None:
        """Start a new utterance (frame indices count from here)."""
        device = next(self.model.parameters()).device
        self.frames = 0
        self.state = beam_start(self.model, device) if self.beam > 1 else greedy_start(self.model, 1, device)

    def advance(self, h: torch.Tensor, n: int) -> None:
        """h: (1, T, D) encodings of which the first n are valid."""
        if self.beam > 1:
            beam_advance(self.model, self.state, h[0, :n], self.beam, self.fusion)
        else:
            greedy_advance(self.model, self.state, h[:, :n], torch.tensor([n], device=h.device), self.max_symbols)
        self.frames += n

    def output(self, final: bool = False) -> tuple[list[int], list[int], list[int]]:
        """(tokens, timestamps, stable tokens) of the best hypothesis so far; ``final``: the
        utterance ends here (a fused LM then also scores the end of its text, as offline)."""
        best = self.hypothesis(final)
        stable = self.state.stable_tokens() if self.beam > 1 else best.tokens
        return best.tokens, best.timestamps, stable

    def hypothesis(self, final: bool = False) -> Hypothesis:
        """The best hypothesis so far, as the offline search would give it."""
        if self.beam > 1:
            return self.state.best(self.fusion if final else None)
        return self.state.hypotheses()[0]
