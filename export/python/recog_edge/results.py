"""Result types: what a stream has recognised so far (one type for the PyTorch stream,
``recog.streaming``, and the edge runtime), and the edge runtime's result for one audio file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recog_edge.segments import Segment, Word, segments_of


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
    the search's log-probability (``score``) and its confidence in [0, 1]; and, as recog's
    ``Recognition``, its ``words`` and ``segments()`` (subtitles)."""

    audio_filepath: str
    text: str
    tokens: list[str] = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    confidence: float = 0.0
    token_confidences: list[float] = field(default_factory=list)
    score: float = 0.0
    words: list[Word] = field(default_factory=list, repr=False)  # text, start, end, confidence of each word
    # words after a pause a long file was cut at -> when the speech of their piece starts
    breaks: dict[int, float] = field(default_factory=dict, repr=False)

    def segments(self, max_gap: float = 0.8, max_seconds: float = 8.0, max_chars: int = 84) -> list[Segment]:
        """The words grouped as subtitles, as ``recog``'s ``Recognition.segments`` groups them."""
        return segments_of(self.words, max_gap, max_seconds, max_chars, self.breaks)

    def to_json(self) -> dict[str, Any]:
        """The JSON line ``recog transcribe --output`` writes (words and breaks are not in it)."""
        return {"audio_filepath": self.audio_filepath, "text": self.text, "tokens": self.tokens,
                "timestamps": self.timestamps, "confidence": self.confidence,
                "token_confidences": self.token_confidences, "score": self.score}
