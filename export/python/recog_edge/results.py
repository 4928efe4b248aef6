"""Result types: what a stream has recognised so far (one type for the PyTorch stream,
``recog.streaming``, and the edge runtime), and the edge runtime's result for one audio file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StreamResult:
    """What a stream has recognised so far.

    text: the current utterance so far (partial); stable_text: the part of it no later audio can
    change (all of it for greedy search; the prefix all beams share for transducer beam search);
    tokens / timestamps: pieces of the current utterance and their start times in seconds from the
    start of the stream; segments: finished utterances, oldest first.
    """

    text: str = ""
    stable_text: str = ""
    tokens: list[str] = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)


@dataclass
class SpeechResult:
    """One audio file read by the edge runtime, with the fields (and their order) of ``recog
    transcribe``'s JSON lines: token pieces, their start times in seconds, each one's probability,
    the search's log-probability (``score``) and its confidence in [0, 1]."""

    audio_filepath: str
    text: str
    tokens: list[str] = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    confidence: float = 0.0
    token_confidences: list[float] = field(default_factory=list)
    score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
