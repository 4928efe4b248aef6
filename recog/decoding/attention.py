"""Searches over a step-by-step decoder (the attention head): batched greedy search, batched beam
search with length normalisation and an n-best list, diverse beam search (Vijayakumar et al.,
"Diverse Beam Search", 2018: groups of beams, a Hamming diversity penalty between groups).

Every search takes its settings as one frozen ``DecodingOptions``. Scores are model
log-probabilities, the eos included; beams are ranked by the length-normalised score
``score / (tokens + 1) ** length_penalty``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Protocol

import torch

from recog.decoding.hypothesis import Hypothesis, rank
from recog.decoding.options import DecodingOptions

NEG_INF = float("-inf")


class StepDecoder(Protocol):
    """What the searches need of a step-by-step decoder (``recog.heads.attention.AttentionHead``)."""

    sos: int
    eos: int

    def memory(self, h: torch.Tensor, h_lengths: torch.Tensor) -> Any: ...

    def initial_cache(self, rows: int, device: torch.device) -> torch.Tensor: ...

    def step(self, tokens: torch.Tensor, memory: Any, cache: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]: ...

    def reorder_cache(self, cache: torch.Tensor, index: torch.Tensor) -> torch.Tensor: ...


def output_limits(h_lengths: torch.Tensor, options: DecodingOptions) -> torch.Tensor:
    """Longest output of each input (B,): max_len, or the encoder frame count (CTC's own bound)."""
    return torch.full_like(h_lengths, options.max_len) if options.max_len is not None else h_lengths.clone()


def constrain(log_probs: torch.Tensor, step: int, limits: torch.Tensor, eos: int) -> torch.Tensor:
    """Never the blank (id 0: padding, never a target); nothing but eos once a row has ``limits``
    (N,) tokens. (N, C) -> (N, C)."""
    log_probs = log_probs.clone()
    log_probs[:, 0] = NEG_INF
    at_limit = step >= limits
    if bool(at_limit.any()):
        only_eos = torch.full_like(log_probs[0], NEG_INF)
        only_eos[eos] = 0.0
        log_probs[at_limit] = log_probs[at_limit] + only_eos
    return log_probs


def normalised(hyp: Hypothesis, length_penalty: float) -> float:
    """Score per (tokens + eos) ** length_penalty: the rank of a finished beam."""
    return hyp.score / (len(hyp.tokens) + 1) ** length_penalty


def _hypothesis(tokens: tuple[int, ...], score: float, stamps: tuple[int, ...], probs: tuple[float, ...]
                ) -> Hypothesis:
    return Hypothesis(tokens=list(tokens), score=score, confidence=math.exp(score / (len(tokens) + 1)),
                      timestamps=list(stamps), token_confidences=list(probs))


@torch.no_grad()
def greedy_search(decoder: StepDecoder, h: torch.Tensor, h_lengths: torch.Tensor,
                  options: DecodingOptions) -> list[Hypothesis]:
    """Batched greedy search: the likeliest next token of every input at once, until each ends."""
    batch, device = h.shape[0], h.device
    memory = decoder.memory(h, h_lengths)
    limits = output_limits(h_lengths, options)
    cache = decoder.initial_cache(batch, device)
    tokens = torch.full((batch,), decoder.sos, dtype=torch.long, device=device)
    ended = torch.zeros(batch, dtype=torch.bool, device=device)
    scores = torch.zeros(batch, dtype=torch.float64, device=device)
    outputs: list[list[int]] = [[] for _ in range(batch)]
    stamps: list[list[int]] = [[] for _ in range(batch)]
    probs: list[list[float]] = [[] for _ in range(batch)]
    for step in range(int(limits.max()) + 1 if batch else 0):
        log_probs, frames, cache = decoder.step(tokens, memory, cache)
        best_lp, tokens = constrain(log_probs, step, limits, decoder.eos).max(dim=-1)  # (B,) each
        scores += torch.where(ended, torch.zeros_like(best_lp), best_lp).double()
        for b in (~ended & (tokens != decoder.eos)).nonzero().squeeze(1).tolist():
            outputs[b].append(int(tokens[b]))
            stamps[b].append(int(frames[b]))
            probs[b].append(math.exp(float(best_lp[b])))
        ended |= tokens == decoder.eos
        if bool(ended.all()):
            break
    return [_hypothesis(tuple(outputs[b]), float(scores[b]), tuple(stamps[b]), tuple(probs[b]))
            for b in range(batch)]


class _Beam(NamedTuple):
    tokens: tuple[int, ...]
    score: float  # log-probability of the tokens
    stamps: tuple[int, ...]
    probs: tuple[float, ...]


def _settled(finished: list[Hypothesis], best_live: float, live_tokens: int, k: int, length_penalty: float) -> bool:
    """Whether a group is done: it has k finished hypotheses and its best live one, ranked as if it
    ended now (its last token counted as the eos), does not beat the k-th best of them. Exact when
    length_penalty is 0 (a score only falls as tokens are added); for beam 1 it stops where greedy
    search stops."""
    if len(finished) < k:
        return False
    kth = sorted((normalised(hyp, length_penalty) for hyp in finished), reverse=True)[k - 1]
    return best_live / live_tokens ** length_penalty <= kth


def _choose(ranked: torch.Tensor, k: int, eos: int) -> tuple[list[tuple[int, int]], list[int]]:
    """A group's choices among its candidates, (k beams x C classes) flattened, higher is better:
    up to k live extensions (beam, token), best first, and the beams whose eos is among the k best
    candidates (they finish)."""
    classes = ranked.numel() // k
    top_scores, top_index = ranked.topk(min(2 * k, ranked.numel()))
    live: list[tuple[int, int]] = []
    ending: list[int] = []
    for position, (score, flat) in enumerate(zip(top_scores.tolist(), top_index.tolist(), strict=True)):
        if score == NEG_INF or len(live) == k:
            break
        beam, token = divmod(flat, classes)
        if token != eos:
            live.append((beam, token))
        elif position < k:
            ending.append(beam)
    return live, ending


@torch.no_grad()
def beam_search(decoder: StepDecoder, h: torch.Tensor, h_lengths: torch.Tensor,
                options: DecodingOptions) -> list[Hypothesis]:
    """Batched beam search (search "beam") or diverse beam search (search "diverse").

    All B inputs x ``beam`` rows step together. Row b * beam + g * k + j is beam j of group g of
    input b, k = beam / groups. Each group is a beam search of width k; at each step, group g
    ranks its candidates by score minus ``diversity`` times how often earlier groups chose the same
    token at this step, and may not hold a hypothesis an earlier group holds (Vijayakumar et al.
    allow it: the groups then often finish the same text and the n-best holds fewer distinct
    hypotheses than plain beam search of the same width). An eos among a group's k best candidates
    finishes that hypothesis; a group stops once it has k finished and no live beam promises better
    (Hugging Face's rule), or at the length limit, where only eos is allowed. The result is the
    best finished hypothesis by length-normalised score, with its n-best.
    """
    groups = options.groups if options.search == "diverse" else 1
    width, batch, device = options.beam, h.shape[0], h.device
    k = width // groups
    rows = batch * width
    memory = decoder.memory(h, h_lengths).repeat(width)
    row_limits = output_limits(h_lengths, options).repeat_interleave(width)  # (rows,)
    cache = decoder.initial_cache(rows, device)
    # Every beam of a group starts from sos; only the first may extend it, or all k would be equal.
    beams = [_Beam((), 0.0 if row % width % k == 0 else NEG_INF, (), ()) for row in range(rows)]
    finished: list[list[list[Hypothesis]]] = [[[] for _ in range(groups)] for _ in range(batch)]
    done = [[False] * groups for _ in range(batch)]
    tokens = torch.full((rows,), decoder.sos, dtype=torch.long, device=device)
    for step in range(int(row_limits.max()) + 1 if batch else 0):
        log_probs, frames, cache = decoder.step(tokens, memory, cache)
        log_probs = constrain(log_probs, step, row_limits, decoder.eos).double()
        totals = torch.tensor([beam.score for beam in beams], dtype=torch.float64, device=device)[:, None] + log_probs
        frame_list = frames.tolist()
        source, next_tokens, next_beams = list(range(rows)), [decoder.eos] * rows, list(beams)
        for b in range(batch):
            chosen = torch.zeros(log_probs.shape[1], dtype=torch.float64, device=device)  # earlier groups' choices
            taken: dict[tuple[int, ...], list[int]] = {}  # earlier groups' choices: prefix -> next tokens
            for g in range(groups):
                if done[b][g]:
                    continue
                first = b * width + g * k
                ranked = totals[first: first + k] - options.diversity * chosen
                for j in range(k):  # no two groups extend (or end) the same prefix the same way
                    ranked[j, taken.get(beams[first + j].tokens, [])] = NEG_INF
                live, ending = _choose(ranked.flatten(), k, decoder.eos)
                live = [(first + j, token) for j, token in live]
                for src, token in [*live, *((first + j, decoder.eos) for j in ending)]:
                    taken.setdefault(beams[src].tokens, []).append(token)
                for src in (first + j for j in ending):
                    old = beams[src]
                    finished[b][g].append(_hypothesis(old.tokens, float(totals[src, decoder.eos]), old.stamps,
                                                      old.probs))
                    chosen[decoder.eos] += 1
                for _, token in live:
                    chosen[token] += 1
                for j in range(k):
                    row = first + j
                    if j < len(live):
                        src, token = live[j]
                        old = beams[src]
                        source[row], next_tokens[row] = src, token
                        next_beams[row] = _Beam(old.tokens + (token,), float(totals[src, token]),
                                                old.stamps + (frame_list[src],),
                                                old.probs + (math.exp(float(log_probs[src, token])),))
                    else:  # fewer than k live candidates: an empty row that no candidate comes from
                        next_beams[row] = _Beam((), NEG_INF, (), ())
                done[b][g] = not live or _settled(finished[b][g], max(float(totals[src, token]) for src, token in live),
                                                  step + 1, k, options.length_penalty)
        beams = next_beams
        index = torch.tensor(source, device=device)
        cache = decoder.reorder_cache(cache, index)
        tokens = torch.tensor(next_tokens, dtype=torch.long, device=device)
        if all(all(d) for d in done):
            break
    return [rank([hyp for group in finished[b] for hyp in group],
                 lambda hyp: normalised(hyp, options.length_penalty), options.nbest) for b in range(batch)]
