"""What a stream has recognised so far: one result type for the PyTorch stream
(``recog.streaming``) and the edge runtime (``recog_edge.runtime``)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
