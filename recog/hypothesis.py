"""The one result type every head's search returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hypothesis:
    """A decoded sequence.

    ``timestamps`` are encoder frame indices (one per token) where the head can tell;
    ``score`` is the search's log-probability; ``confidence`` is in [0, 1] (per-frame geometric
    mean probability of the hypothesis); ``text`` is filled by the Recognizer's tokenizer.
    """

    tokens: list[int]
    score: float
    confidence: float
    timestamps: list[int] = field(default_factory=list)
    token_confidences: list[float] = field(default_factory=list)
    text: str = ""
