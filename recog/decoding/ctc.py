"""CTC searches over (B, T, V) log-probabilities (blank = 0): batched greedy search, prefix beam
search with shallow fusion (``recog_edge.search.prefix_beam_search``, one implementation for recog
and the edge runtime), the CTC log-likelihood of given sequences (for rescoring), and the
greedy search of a stream, carried from chunk to chunk."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from recog.decoding.hypothesis import Hypothesis
from recog_edge.search import prefix_beam_search  # noqa: F401 - numpy, shared with the edge runtime

NEG_INF = float("-inf")


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


def ctc_log_likelihood(log_probs: torch.Tensor, lengths: torch.Tensor, owner: list[int],
                       sequences: list[list[int]]) -> list[float]:
    """log P_CTC(sequence | input) over all alignments, for each sequence of its ``owner`` input;
    ``log_probs`` (B, T, C) from the CTC head (blank 0), ``lengths`` (B,). -inf where the sequence
    cannot be aligned to the frames."""
    if not sequences:
        return []
    index = torch.tensor(owner, device=log_probs.device)
    targets = torch.tensor([token for seq in sequences for token in seq], dtype=torch.long, device=log_probs.device)
    target_lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.long, device=log_probs.device)
    nll = F.ctc_loss(log_probs.float()[index].transpose(0, 1), targets, lengths[index], target_lengths, blank=0,
                     reduction="none", zero_infinity=False)
    return (-nll).tolist()


class CTCGreedyStream:
    """Greedy CTC search of one stream, continued chunk by chunk: a token run that crosses a chunk
    boundary is emitted once, so the text equals offline greedy search on the whole input.

    ``log_probs``: the head's (B, T, D) -> (B, T, V) log-probabilities.
    """

    def __init__(self, log_probs: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.log_probs = log_probs
        self.reset()

    def reset(self) -> None:
        """Start a new utterance (frame indices count from here)."""
        self.frames = 0
        self.tokens: list[int] = []
        self.stamps: list[int] = []
        self.probs: list[float] = []
        self.score = 0.0  # log-probability of the best path so far
        self.last_id = 0  # best id on the last frame seen (0 = blank)

    def advance(self, h: torch.Tensor, n: int) -> None:
        """h: (1, T, D) encodings of which the first n are valid."""
        log_probs = self.log_probs(h[:, :n])  # (1, n, V)
        hyp = greedy_decode(log_probs, torch.tensor([n], device=h.device),
                            last=torch.tensor([self.last_id], device=h.device))[0]
        self.tokens += hyp.tokens
        self.stamps += [self.frames + t for t in hyp.timestamps]
        self.probs += hyp.token_confidences
        self.score += hyp.score if n else 0.0
        if n:
            self.last_id = int(log_probs[0, n - 1].argmax())
        self.frames += n

    def output(self, final: bool = False) -> tuple[list[int], list[int], list[int]]:
        """(tokens, timestamps, stable tokens): greedy output never changes once emitted."""
        return self.tokens, self.stamps, self.tokens

    def hypothesis(self, final: bool = False) -> Hypothesis:
        """The utterance so far as offline greedy search would give it."""
        return Hypothesis(tokens=list(self.tokens), score=self.score,
                          confidence=float(np.exp(self.score / max(self.frames, 1))), timestamps=list(self.stamps),
                          token_confidences=list(self.probs))


@torch.no_grad()
def ctc_forced_align(log_probs: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor,
                     target_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The most probable CTC alignment (Viterbi) of each target, over (B, T, V) log-probabilities:
    the first and the last frame (B, U) at which each token is emitted (-1 past a target's length).
    The recursion runs over frames as batched tensor operations; only the backtrace loops."""
    batch, frames, _ = log_probs.shape
    u_max = targets.shape[1]
    states = 2 * u_max + 1
    ext = torch.zeros(batch, states, dtype=torch.long, device=log_probs.device)  # blank, y1, blank, y2, ...
    ext[:, 1::2] = targets
    emit = log_probs.float().gather(2, ext[:, None, :].expand(batch, frames, states))  # (B, T, S)
    skip = torch.zeros(batch, states, dtype=torch.bool, device=log_probs.device)
    skip[:, 2:] = (ext[:, 2:] != 0) & (ext[:, 2:] != ext[:, :-2])
    alpha = torch.full((batch, states), NEG_INF, device=log_probs.device)
    alpha[:, 0] = emit[:, 0, 0]
    if states > 1:
        alpha[:, 1] = emit[:, 0, 1]
    back = torch.zeros(batch, frames, states, dtype=torch.long, device=log_probs.device)
    for t in range(1, frames):
        one = F.pad(alpha, (1, 0), value=NEG_INF)[:, :-1]
        two = torch.where(skip, F.pad(alpha, (2, 0), value=NEG_INF)[:, :-2], torch.full_like(alpha, NEG_INF))
        best, arg = torch.stack([alpha, one, two], dim=-1).max(dim=-1)  # (B, S)
        valid = (t < lengths)[:, None]
        alpha = torch.where(valid, best + emit[:, t], alpha)
        back[:, t] = torch.where(valid, arg, torch.zeros_like(arg))
    first = torch.full((batch, u_max), -1, dtype=torch.long)
    last = torch.full((batch, u_max), -1, dtype=torch.long)
    alpha, back = alpha.cpu(), back.cpu()
    for b in range(batch):
        end = 2 * int(target_lengths[b])
        s = end if end == 0 or alpha[b, end] >= alpha[b, end - 1] else end - 1
        for t in range(int(lengths[b]) - 1, -1, -1):
            if s % 2:  # a token's state
                u = s // 2
                first[b, u] = t
                if last[b, u] < 0:
                    last[b, u] = t
            s -= int(back[b, t, s])
    return first, last
