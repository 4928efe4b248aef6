"""Cutting a long recording at pauses, for models that cannot read it as a stream: an energy
detector picks, in the last seconds before each length limit, the quietest stretch to cut at, so
words are not cut where the speaker pauses at all, and memory holds at most one piece.

(silero-vad, the maintained detector, needs torchaudio, whose wheels do not import beside the CPU
torch; energy is enough to find the pauses between utterances.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

FRAME_SECONDS = 0.02


def cut_at_pauses(blocks: Iterable[np.ndarray], sample_rate: int, max_seconds: float = 30.0,
                  search_seconds: float = 10.0, pause_seconds: float = 0.3) -> Iterator[tuple[float, np.ndarray]]:
    """Pieces of a signal given as consecutive ``blocks`` of samples: (start in seconds, samples),
    each at most ``max_seconds``. A piece ends in the middle of the quietest ``pause_seconds`` of
    its last ``search_seconds`` (mean energy of 20 ms frames), where a pause is most likely."""
    limit = int(max_seconds * sample_rate)
    frame = max(1, int(FRAME_SECONDS * sample_rate))
    span = max(1, int(pause_seconds / FRAME_SECONDS))
    pending, start = np.zeros(0, dtype=np.float32), 0
    for block in blocks:
        pending = np.concatenate([pending, block])
        while len(pending) > limit:
            window_start = max(0, limit - int(search_seconds * sample_rate))
            window = pending[window_start:limit]
            frames = len(window) // frame
            energy = (window[: frames * frame].reshape(frames, frame).astype(np.float64) ** 2).mean(axis=1)
            if frames > span:
                smoothed = np.convolve(energy, np.ones(span) / span, mode="valid")  # mean over pause_seconds
                quietest = int(np.argmin(smoothed)) + span // 2
            else:
                quietest = frames // 2
            cut = window_start + quietest * frame
            yield start / sample_rate, pending[:cut]
            pending, start = pending[cut:], start + cut
    if len(pending):
        yield start / sample_rate, pending
