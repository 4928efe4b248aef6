"""Cutting a long recording at pauses, for decoding it in pieces: an energy detector ends a piece
in the middle of each pause (at least ``pause_seconds`` of frames 30 dB below the loudest frame so
far) once the piece holds ``min_seconds``, so pieces are about one utterance each, as models trained on
utterances read best; a piece that reaches ``max_seconds`` without a pause ends in the quietest
stretch of its last ``search_seconds``. Memory holds at most one piece. A piece of steady noise
(``is_steady_noise``) is not decoded.

(silero-vad, the maintained detector, needs torchaudio, whose wheels do not import beside the CPU
torch; energy finds the pauses between utterances, and the length limit covers the rest.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

LONG_SECONDS = 60.0  # recog and recog-edge read audio files longer than this in pieces cut at pauses
BLOCK_SECONDS = 10.0  # ... read and cut this many seconds at a time (where a pause is cut depends on it)
FRAME_SECONDS = 0.02
SILENCE_DB = -30.0  # a frame this far below the loudest frame so far is silence
# Steady noise: the 95th and 5th percentiles of a piece's frame energies in the speech band lie
# within this many dB. Measured (20 ms frames, 300-4000 Hz): 30 s of white, pink, blue and brown
# noise spread 2.3-4.7 dB; en_speech test utterances with white noise at 10 dB SNR 6.5 dB at least,
# noisy training utterances (0-30 dB SNR) 6.5 dB at least; clean speech 44 dB at least.
STEADY_DB = 5.5
SPEECH_BAND = (300.0, 4000.0)


def frames_of(samples: np.ndarray, frame: int) -> np.ndarray:
    """``samples`` as whole frames of ``frame`` samples (frames, frame); a last partial frame is left out."""
    count = len(samples) // frame
    return samples[: count * frame].reshape(count, frame)


def frame_energy(samples: np.ndarray, frame: int) -> np.ndarray:
    """Mean power of each whole frame of ``samples``: (frames,) float64."""
    return (frames_of(samples, frame).astype(np.float64) ** 2).mean(axis=1)


def cut_at_pauses(blocks: Iterable[np.ndarray], sample_rate: int, max_seconds: float = 30.0,
                  min_seconds: float = 1.0, search_seconds: float = 10.0, pause_seconds: float = 0.3,
                  wait_seconds: float = 1.0) -> Iterator[tuple[float, np.ndarray]]:
    """Pieces of a signal given as consecutive ``blocks`` of samples: (start in seconds, samples),
    each at most ``max_seconds``; nothing is lost or repeated. A cut goes in the middle of the
    whole pause, so the next piece starts well clear of the last one's fading tail (a pause still
    going on after ``wait_seconds`` is cut in the middle of that much)."""
    frame = max(1, int(FRAME_SECONDS * sample_rate))
    span = max(1, int(round(pause_seconds / FRAME_SECONDS)))
    wait = max(span, int(round(wait_seconds / FRAME_SECONDS)))
    limit, least = int(max_seconds * sample_rate), int(min_seconds * sample_rate)
    pending, start, peak = np.zeros(0, dtype=np.float32), 0, 0.0
    for block in blocks:
        pending = np.concatenate([pending, block])
        while True:
            energy = frame_energy(pending, frame)
            peak = max(peak, float(energy.max(initial=0.0)))
            cut = _pause_cut(energy < peak * 10 ** (SILENCE_DB / 10), span, least // frame, wait) if peak > 0 else None
            if cut is None and len(pending) > limit:
                cut = _quietest_cut(energy, limit // frame, int(search_seconds / FRAME_SECONDS), span)
            if cut is None:
                break
            yield start / sample_rate, pending[: cut * frame]
            pending, start = pending[cut * frame:], start + cut * frame
    if len(pending):
        yield start / sample_rate, pending


def speech_pieces(blocks: Iterable[np.ndarray], sample_rate: int
                  ) -> Iterator[tuple[float, float, np.ndarray | None, float]]:
    """``cut_at_pauses``' pieces of ``blocks`` as each one's onset (its start in seconds plus the
    leading silence ``trim_silence`` drops), its end in seconds, its trimmed speech, or None in
    place of a piece of silence or steady noise, which says nothing, and the seconds of silence
    left before the speech (where its subtitle starts: the onset plus these; 0.0 for None): what
    recog and recog-edge decode of a long recording."""
    for start, piece in cut_at_pauses(blocks, sample_rate):
        lead, speech = trim_silence(piece, sample_rate)
        end = start + len(piece) / sample_rate
        if len(speech) and not is_steady_noise(speech, sample_rate):
            yield start + lead, end, speech, trim_silence(speech, sample_rate, keep_seconds=0.0)[0]
        else:
            yield start + lead, end, None, 0.0


def trim_silence(piece: np.ndarray, sample_rate: int, keep_seconds: float = 0.15) -> tuple[float, np.ndarray]:
    """A piece without its silence before and after speech (frames 30 dB below its loudest), but
    ``keep_seconds`` of it: (seconds removed at the start, samples). Models trained on utterances
    that start at once read a long silence first worse. An all-silent piece comes back empty."""
    frame = max(1, int(FRAME_SECONDS * sample_rate))
    energy = frame_energy(piece, frame)
    if len(energy) == 0:
        return 0.0, piece
    loud = np.flatnonzero(energy >= energy.max() * 10 ** (SILENCE_DB / 10)) if energy.max() > 0 else []
    if len(loud) == 0:
        return 0.0, piece[:0]
    keep = int(keep_seconds * sample_rate)
    first = max(0, int(loud[0]) * frame - keep)
    last = min(len(piece), (int(loud[-1]) + 1) * frame + keep)
    return first / sample_rate, piece[first:last]


def is_steady_noise(piece: np.ndarray, sample_rate: int) -> bool:
    """Whether a piece is steady noise (hum, hiss, fans, rain) rather than speech: its frames'
    energy in the speech band hardly changes (``STEADY_DB``), while speech rises and falls with
    its syllables even under noise. A model reading such a piece would invent words."""
    frame = max(1, int(FRAME_SECONDS * sample_rate))
    frames = frames_of(piece, frame)
    if len(frames) < 10:
        return False
    spectra = np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / sample_rate)
    energy = spectra[:, (freqs >= SPEECH_BAND[0]) & (freqs <= SPEECH_BAND[1])].sum(axis=1) + 1e-12  # (frames,)
    return bool(10 * np.log10(np.percentile(energy, 95) / np.percentile(energy, 5)) < STEADY_DB)


def _pause_cut(silent: np.ndarray, span: int, least: int, wait: int) -> int | None:
    """The frame in the middle of the first pause (a run of at least ``span`` ``silent`` frames)
    whose middle lies ``least`` frames or more into the piece, or None. A pause that runs to the
    end of the frames is taken only once it has lasted ``wait`` frames (then its first ``wait``)."""
    edges = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
    for first, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if end - first < span:
            continue
        if end == len(silent):  # the pause goes on past what has been read
            if end - first < wait:
                return None
            end = first + wait
        if (first + end) // 2 >= least:
            return int((first + end) // 2)
    return None


def _quietest_cut(energy: np.ndarray, limit: int, search: int, span: int) -> int:
    """The middle of the quietest ``span`` frames among the ``search`` before frame ``limit``."""
    low = max(0, limit - search)
    window = energy[low:limit]
    if len(window) <= span:
        return low + len(window) // 2 if len(window) else limit
    smoothed = np.convolve(window, np.ones(span) / span, mode="valid")
    return low + int(np.argmin(smoothed)) + span // 2
