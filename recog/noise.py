"""Additive noise for speech: coloured noise and mixing at a signal-to-noise ratio measured on the
speech frames, so silent margins do not lower the effective SNR. One implementation for training's
online noise (``recog.data.AudioDataset``'s ``noise_prob``), the speech recipes' corpora and the
benchmarks' noisy conditions."""

from __future__ import annotations

import numpy as np

FRAME = 160  # samples: 10 ms at recog's 16 kHz (recog.audio.SAMPLE_RATE)
# Noise colours: the exponent alpha of the power spectrum's slope, power ~ f**-alpha.
COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0}


def active_frames(audio: np.ndarray, frame: int = FRAME, floor_db: float = -40.0) -> np.ndarray:
    """Boolean mask of the ``frame``-sample frames (10 ms) within ``floor_db`` of the loudest."""
    return _active(_frames(audio, frame), floor_db)


def speech_power(audio: np.ndarray, frame: int = FRAME) -> float:
    """Mean power of the active frames (``active_frames``); 0 for silence."""
    frames = _frames(audio, frame)
    active = frames[_active(frames)]
    return float(np.mean(active**2)) if len(active) else 0.0


def _frames(audio: np.ndarray, frame: int) -> np.ndarray:
    """``audio`` as whole frames, (len // frame, frame) float64; a shorter tail is left out."""
    n = len(audio) // frame
    return np.asarray(audio[: n * frame], dtype=np.float64).reshape(n, frame)


def _active(frames: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """(n, frame) frames -> (n,) mask of those within ``floor_db`` of the loudest."""
    if not len(frames):
        return np.zeros(0, dtype=bool)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return rms > max(rms.max() * 10 ** (floor_db / 20), 1e-5)


def coloured_noise(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power noise of ``n`` samples (float64) whose power spectrum falls as f**-alpha
    (``COLOURS``: white, pink, brown, blue)."""
    if colour not in COLOURS:
        raise ValueError(f"noise colour must be one of {', '.join(COLOURS)}, got {colour!r}")
    noise = rng.standard_normal(n)
    if COLOURS[colour] != 0.0 and n > 1:
        spectrum = np.fft.rfft(noise)
        freqs = np.arange(len(spectrum), dtype=float)
        freqs[0] = 1.0  # keep DC finite
        noise = np.fft.irfft(spectrum * freqs ** (-COLOURS[colour] / 2), n)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-20) if n else noise


def mix_at_snr(audio: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``audio`` plus ``noise`` (as long) scaled to ``snr_db`` below the speech power, in
    ``audio``'s dtype. Silence gets no noise (its speech power is 0)."""
    scale = np.sqrt(speech_power(audio) / 10 ** (snr_db / 10) / max(float(np.mean(noise**2)), 1e-20))
    return (audio + noise * scale).astype(audio.dtype, copy=False)
