"""The one result type every head's search returns."""

from __future__ import annotations

from dataclasses import dataclass, field


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
