"""Audio in: file loading, resampling, log-mel features and SpecAugment.

Everything here is plain PyTorch / numpy: torchaudio's PyPI wheels link CUDA and do not import
beside the CPU torch, so the feature pipeline must not need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
import torch
import torch.nn.functional as F
from torch import nn

from recog_edge.audio_file import AudioError, read_audio
from recog_edge.features import mel_filterbank

SAMPLE_RATE = 16_000


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, offset: float = 0.0,
               duration: float | None = None) -> np.ndarray:
    """Read an audio file (WAV/FLAC/OGG/MP3 and libsndfile's other formats, 8/16/24/32-bit int or
    float, any rate, any channel count; M4A, AAC, WMA and videos' sound where ffmpeg is installed:
    ``recog_edge.audio_file``) and return float32 mono samples at ``sample_rate`` in [-1, 1]; with
    ``offset`` and ``duration`` (seconds), only that segment (a NeMo manifest's offset/duration).

    Raises AudioError naming the file for missing, unreadable, truncated or empty files, and for a
    segment that starts past the end of the file.
    """
    mono, file_rate = read_audio(path, offset, duration)
    return _checked_at_rate(mono, file_rate, sample_rate, str(path))


def audio_from_array(samples: np.ndarray, sample_rate: int, name: str = "array") -> np.ndarray:
    """Audio given as an array -- (N,) mono or (N, C) channels, float in [-1, 1] or int16, at
    ``sample_rate`` Hz -- as float32 mono at 16 kHz, with the checks files get."""
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2):
        raise AudioError(f"{name}: expected (samples,) or (samples, channels) audio, got shape {samples.shape}")
    if samples.dtype == np.int16:
        samples = samples.astype(np.float32) / 32768.0
    elif not np.issubdtype(samples.dtype, np.floating):
        raise AudioError(f"{name}: expected float or int16 samples, got {samples.dtype}")
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    return _checked_at_rate(mono.astype(np.float32), sample_rate, SAMPLE_RATE, name)


def _checked_at_rate(mono: np.ndarray, rate: int, target: int, name: str) -> np.ndarray:
    """Mono float32 samples at ``rate`` -> contiguous float32 at ``target`` (soxr), refused with an
    AudioError naming ``name`` where none are left or some are NaN or infinite."""
    if rate != target and len(mono):
        mono = soxr.resample(mono, rate, target, quality="HQ").astype(np.float32)
    if len(mono) == 0:  # checked after resampling: a 1-sample file can resample to nothing
        raise AudioError(f"{name}: empty audio (0 samples at {target} Hz)")
    if not np.isfinite(mono).all():
        raise AudioError(f"{name}: audio contains NaN or infinite samples")
    return np.ascontiguousarray(mono, dtype=np.float32)


def change_speed(samples: np.ndarray, factor: float) -> np.ndarray:
    """Speed perturbation (Ko et al. 2015): play ``samples`` ``factor`` times faster, shifting
    tempo, pitch and formants together, as sox's ``speed`` does. (N,) -> (~N / factor,) float32."""
    if factor <= 0:
        raise ValueError(f"speed factor must be positive, got {factor}")
    if factor == 1.0 or len(samples) == 0:
        return samples
    # Read as if recorded at factor * rate, then resample back to rate.
    out = soxr.resample(samples, round(SAMPLE_RATE * factor), SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(out, dtype=np.float32)


@dataclass(frozen=True)
class FeatureConfig:
    """Log-mel settings; they travel with every checkpoint and export."""

    sample_rate: int = SAMPLE_RATE
    n_mels: int = 80
    window_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    log_floor: float = 1e-6
    # Fixed global normalisation of the log-mel values, (x - mean) / std: no statistic of the
    # utterance itself, so streaming sees the same features as offline. The defaults were
    # measured on the synthetic-speech corpus (mean -8.6, std 4.0 over all bins and frames) and
    # put padding (0) at the average level; set them per corpus in the model config.
    norm_mean: float = -8.6
    norm_std: float = 4.0

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.window_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))


class LogMel(nn.Module):
    """Waveforms (B, N) with lengths (B,) -> normalised log-mel features (B, T, n_mels), lengths (B,).

    Frames are centred with zero padding (not reflection) so that a file's frames are the same
    alone or padded inside a batch; frames past a file's length are set to 0.

    ``vtlp``: (low, high) vocal-tract-length perturbation in training: each utterance's filterbank
    is warped by a factor drawn from ``VTLP_STEPS`` values spread over [low, high] (Jaitly & Hinton
    2013), for speaker variety. Outside training, and without it, the filterbank is unwarped.
    """

    VTLP_STEPS = 9

    def __init__(self, config: FeatureConfig | None = None, vtlp: tuple[float, float] | None = None) -> None:
        super().__init__()
        self.config = config or FeatureConfig()
        c = self.config
        self.register_buffer("window", torch.hann_window(c.win_length, periodic=False), persistent=False)
        self.register_buffer("filterbank", torch.tensor(mel_filterbank(c.n_mels, c.n_fft, c.sample_rate),
                                                    dtype=torch.float32), persistent=False)
        self.vtlp = None if vtlp is None else (float(vtlp[0]), float(vtlp[1]))
        if self.vtlp is not None:
            low, high = self.vtlp
            if not 0.5 <= low <= high <= 1.5:
                raise ValueError(f"vtlp must be [low, high] within [0.5, 1.5], got {list(vtlp)}")
            warps = np.linspace(low, high, self.VTLP_STEPS)
            banks = [mel_filterbank(c.n_mels, c.n_fft, c.sample_rate, warp=float(w)) for w in warps]
            self.register_buffer("warped_filterbanks", torch.tensor(np.stack(banks), dtype=torch.float32),
                                 persistent=False)  # (VTLP_STEPS, n_mels, F)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return lengths // self.config.hop_length + 1

    def frames(self, padded: torch.Tensor, warp_index: torch.Tensor | None = None) -> torch.Tensor:
        """Waveforms already padded by ``n_fft // 2`` on the left (B, N) -> every whole frame's
        normalised log-mel (B, 1 + (N - n_fft) // hop, n_mels); frame k covers samples
        [k*hop, k*hop + n_fft) of ``padded``. The one feature computation of offline and streaming.
        ``warp_index`` (B,): each item's VTLP filterbank (training)."""
        c = self.config
        spec = torch.stft(padded, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                          window=self.window, center=False, return_complex=True)
        power = spec.real.square() + spec.imag.square()  # (B, F, T)
        if warp_index is None:
            mel = torch.matmul(self.filterbank, power)  # (B, n_mels, T)
        else:
            mel = torch.bmm(self.warped_filterbanks[warp_index], power)  # (B, n_mels, T)
        return ((torch.log(mel + c.log_floor) - c.norm_mean) / c.norm_std).transpose(1, 2)  # (B, T, n_mels)

    def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = self.config.n_fft // 2
        # Zero samples past each length so whatever fills the padding never reaches a frame.
        waveforms = waveforms * (torch.arange(waveforms.shape[1], device=waveforms.device)[None, :] < lengths[:, None])
        warp_index = None
        if self.training and self.vtlp is not None:
            warp_index = torch.randint(self.VTLP_STEPS, (waveforms.shape[0],), device=waveforms.device)
        feats = self.frames(F.pad(waveforms, (half, half)), warp_index)  # centred frames, zero padding
        feat_lengths = self.output_lengths(lengths)
        valid = torch.arange(feats.shape[1], device=feats.device)[None, :] < feat_lengths[:, None]
        return feats * valid.unsqueeze(-1), feat_lengths


@dataclass(frozen=True)
class SpecAugmentConfig:
    freq_masks: int = 2
    freq_width: int = 15
    time_masks: int = 5
    time_width: float = 0.05  # fraction of each utterance's length


class SpecAugment(nn.Module):
    """Frequency and time masking (Park et al. 2019) on (B, T, F) features; training only."""

    def __init__(self, config: SpecAugmentConfig | None = None) -> None:
        super().__init__()
        self.config = config or SpecAugmentConfig()

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return feats
        c = self.config
        batch, frames, bins = feats.shape
        keep = torch.ones_like(feats, dtype=torch.bool)
        freq_idx = torch.arange(bins, device=feats.device)
        time_idx = torch.arange(frames, device=feats.device)
        for b in range(batch):
            for _ in range(c.freq_masks):
                width = int(torch.randint(0, c.freq_width + 1, ()))
                start = int(torch.randint(0, bins - width + 1, ()))
                keep[b] &= ~((freq_idx >= start) & (freq_idx < start + width))[None, :]
            valid = int(lengths[b])
            max_width = min(valid, max(1, int(c.time_width * valid)))
            for _ in range(c.time_masks):
                width = int(torch.randint(0, max_width + 1, ()))
                start = int(torch.randint(0, valid - width + 1, ()))
                keep[b] &= ~((time_idx >= start) & (time_idx < start + width))[:, None]
        return feats * keep
