"""The one result type every head's search returns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass
class Hypothesis:
    """A decoded sequence.

    ``timestamps`` are encoder frame indices (one per token) where the head can tell;
    ``score`` is the search's log-probability; ``confidence`` is in [0, 1] (geometric mean
    probability of the hypothesis per encoder frame for CTC and the transducer, per output token
    for the attention and parallel heads); ``text`` is filled by the Recognizer's tokenizer.
    ``nbest`` holds the search's best distinct hypotheses, best first (this one among them), where
    an n-best list was asked for; otherwise it is empty.
    """

    tokens: list[int]
    score: float
    confidence: float
    timestamps: list[int] = field(default_factory=list)
    token_confidences: list[float] = field(default_factory=list)
    text: str = ""
    nbest: list[Hypothesis] = field(default_factory=list)


def rank(pool: list[Hypothesis], key: Any, nbest: int) -> Hypothesis:
    """The best of ``pool`` by ``key``, with the ``nbest`` best distinct hypotheses as its n-best
    (none when nbest is 1)."""
    ranked: dict[tuple[int, ...], Hypothesis] = {}
    for hyp in sorted(pool, key=key, reverse=True):
        ranked.setdefault(tuple(hyp.tokens), hyp)
    best = list(ranked.values())
    return replace(best[0], nbest=best[:nbest]) if nbest > 1 else best[0]
