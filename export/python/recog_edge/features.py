"""Log-mel features in numpy: the same frames as ``recog.audio.LogMel`` (which builds its mel
filterbank from here), computed without torch for the edge runtime."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

import numpy as np


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0,
                   f_max: float | None = None, warp: float = 1.0) -> np.ndarray:
    """Slaney-normalised mel filterbank (as librosa / NeMo / Whisper), (n_mels, n_fft//2+1) float64.

    ``warp``: a vocal-tract-length warp factor (training augmentation, ``vtlp_warp``): the filters
    read the spectrum at warped frequencies, so a voice sounds as if its vocal tract were shorter
    (warp > 1: formants move up) or longer."""
    f_max = f_max or sample_rate / 2

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        # Slaney scale: linear below 1 kHz, logarithmic above.
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (math.log(6.4) / 27.0),
                        f / (200.0 / 3))

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp((math.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))

    fft_freqs = vtlp_warp(np.linspace(0, sample_rate / 2, n_fft // 2 + 1), warp, sample_rate)
    mel_points = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    lower, center, upper = mel_points[:-2, None], mel_points[1:-1, None], mel_points[2:, None]
    up = (fft_freqs[None, :] - lower) / (center - lower)
    down = (upper - fft_freqs[None, :]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(up, down))
    return weights * (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]


def vtlp_warp(freqs: np.ndarray, alpha: float, sample_rate: int, boundary_hz: float = 4800.0) -> np.ndarray:
    """Vocal-tract-length perturbation's frequency warp (Jaitly & Hinton 2013): ``alpha * f`` up to a
    boundary, then the straight line that keeps the Nyquist frequency in place; identity at alpha 1."""
    nyquist = sample_rate / 2
    knee = boundary_hz * min(alpha, 1.0) / alpha
    upper = nyquist - (nyquist - boundary_hz * min(alpha, 1.0)) / (nyquist - knee) * (nyquist - freqs)
    return np.where(freqs <= knee, freqs * alpha, upper)


class NumpyLogMel:
    """Normalised log-mel frames from a ``recog.audio.FeatureConfig`` given as a dict (as the
    ONNX metadata carries it)."""

    BLOCK = 64  # frames per FFT and filterbank pass

    def __init__(self, config: Mapping[str, float]) -> None:
        self.sample_rate = int(config["sample_rate"])
        self.n_fft, self.n_mels = int(config["n_fft"]), int(config["n_mels"])
        self.hop = int(round(self.sample_rate * config["hop_ms"] / 1000))
        win = int(round(self.sample_rate * config["window_ms"] / 1000))
        self.floor, self.mean, self.std = config["log_floor"], config["norm_mean"], config["norm_std"]
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / (win - 1))  # symmetric Hann
        left = (self.n_fft - win) // 2
        self.window = np.zeros(self.n_fft)
        self.window[left: left + win] = window  # centred in the FFT frame, as torch.stft does
        self.filterbank = mel_filterbank(self.n_mels, self.n_fft, self.sample_rate)

    def frames(self, padded: np.ndarray) -> np.ndarray:
        """Samples already padded by ``n_fft // 2`` on the left (N,) -> (1 + (N - n_fft) // hop,
        n_mels) float32; frame k covers ``padded[k*hop : k*hop + n_fft]``."""
        if len(padded) < self.n_fft:
            return np.zeros((0, self.n_mels), dtype=np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop]  # (T, n_fft), a view
        out = np.empty((len(windows), self.n_mels), dtype=np.float32)
        # BLOCK frames at a time, so each stage's float64 temporaries stay in the core's cache. The
        # same numbers; whole, a 4.4 s signal (1.8 MB of spectrum) took 2.6x as long.
        for start in range(0, len(windows), self.BLOCK):
            block = windows[start: start + self.BLOCK] * self.window  # float64, as the window is
            spectrum = np.fft.rfft(block, axis=1)
            power = spectrum.real**2 + spectrum.imag**2  # (BLOCK, F)
            mel = power @ self.filterbank.T  # (BLOCK, n_mels)
            out[start: start + self.BLOCK] = (np.log(mel + self.floor) - self.mean) / self.std
        return out


class FrameSource(Protocol):
    """What FeatureStream needs of a frontend: ``NumpyLogMel``, or recog's torch ``LogMel`` behind
    an adapter."""

    n_fft: int
    hop: int
    n_mels: int

    def frames(self, padded: np.ndarray) -> np.ndarray: ...


class FeatureStream:
    """Samples in, frames out, as soon as each frame's window is complete; the same frames as
    the offline frontend on the whole signal (centred, zero padding at both ends). Holds less
    than one window of samples."""

    def __init__(self, logmel: FrameSource) -> None:
        self.logmel = logmel
        self.buffer = np.zeros(logmel.n_fft // 2, dtype=np.float32)
        self.samples = 0
        self.frames = 0

    def accept(self, samples: np.ndarray) -> np.ndarray:
        """Append samples at the frontend's rate -> the newly complete frames (T, n_mels)."""
        self.buffer = np.concatenate([self.buffer, samples.astype(np.float32, copy=False)])
        self.samples += len(samples)
        return self._take(None)

    def finish(self) -> np.ndarray:
        """No more audio: the remaining frames, up to the offline count ``samples // hop + 1``."""
        lm = self.logmel
        self.buffer = np.concatenate([self.buffer, np.zeros(lm.n_fft // 2 + lm.hop, dtype=np.float32)])
        return self._take(self.samples // lm.hop + 1)

    def _take(self, total: int | None) -> np.ndarray:
        lm = self.logmel
        n = (len(self.buffer) - lm.n_fft) // lm.hop + 1 if len(self.buffer) >= lm.n_fft else 0
        if total is not None:
            n = min(n, total - self.frames)
        if n <= 0:
            return np.zeros((0, lm.n_mels), dtype=np.float32)
        feats = lm.frames(self.buffer[: (n - 1) * lm.hop + lm.n_fft])
        self.buffer = self.buffer[n * lm.hop:]
        self.frames += n
        return feats


def as_float_samples(samples: np.ndarray) -> np.ndarray:
    """Mono samples as float32 in [-1, 1]; int16 input is scaled by 1/32768."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        samples = samples.astype(np.float32) / 32768.0
    return samples.astype(np.float32, copy=False).reshape(-1)


class WaveformIntake:
    """A stream's audio as it arrives, at any one rate (int16 or float, mono), resampled to
    ``sample_rate`` on the fly (soxr's streaming resampler) and handed on as float32. Shared by the
    PyTorch and the edge streams, so both accept the same input."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.rate: int | None = None
        self._resampler = None

    def accept(self, sample_rate: int, samples: np.ndarray) -> np.ndarray:
        """``samples`` at ``sample_rate`` Hz (the same rate every call) -> float32 at the target rate."""
        if self.rate is None:
            self.rate = int(sample_rate)
            if self.rate != self.sample_rate:
                import soxr

                self._resampler = soxr.ResampleStream(self.rate, self.sample_rate, 1, dtype="float32")
        elif int(sample_rate) != self.rate:
            raise ValueError(f"sample rate changed mid-stream from {self.rate} to {sample_rate} Hz")
        samples = as_float_samples(samples)
        return self._resampler.resample_chunk(samples) if self._resampler is not None else samples

    def finish(self) -> np.ndarray:
        """The resampler's last samples (none without resampling)."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)

    def resampled(self, blocks: Iterable[tuple[int, np.ndarray]]) -> Iterator[np.ndarray]:
        """Each ``(sample_rate, samples)`` block of a whole signal accepted, then the resampler's
        last samples: the signal at the target rate, a block at a time."""
        for sample_rate, samples in blocks:
            yield self.accept(sample_rate, samples)
        yield self.finish()


class ChunkQueue:
    """Feature frames waiting for the encoder, handed out in chunks of a fixed size; the last
    chunk of a finished stream is zero-padded. Shared by the torch and the edge streams."""

    def __init__(self, n_mels: int) -> None:
        self.frames = np.zeros((0, n_mels), dtype=np.float32)  # (T, n_mels)
        self.finished = False

    def push(self, frames: np.ndarray) -> None:
        self.frames = np.concatenate([self.frames, frames])

    def ready(self, chunk: int) -> bool:
        return len(self.frames) >= chunk or (self.finished and len(self.frames) > 0)

    def pop(self, chunk: int) -> tuple[np.ndarray, int]:
        """-> (chunk, n_mels) features and how many of them are real."""
        real = min(chunk, len(self.frames))
        out = np.zeros((chunk, self.frames.shape[1]), dtype=np.float32)
        out[:real] = self.frames[:real]
        self.frames = self.frames[real:]
        return out, real
