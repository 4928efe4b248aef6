"""Waveform augmentations of the en_speech corpus (numpy, sox and ffmpeg), on 16 kHz float audio.

Training utterances get any of: coloured noise or babble at an SNR measured on the speech frames,
a sox ``reverb`` or a simulated room impulse response, the 300-3400 Hz telephone band at 8 kHz,
a lossy codec round trip (Opus, MP3, GSM), a low level or clipping, and long trailing silence.
Speed perturbation, leading silence, joined utterances and VTLP are left to training (recog's
data module and frontend). The test variants use the fixed forms ``silence_before``,
``add_white_noise``, ``sox_effects(..., TEST_REVERB)`` and ``band_limit_8k``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from voices import synth

from recog.noise import COLOURS, coloured_noise, mix_at_snr, speech_power  # noqa: F401 (the recipe's API)

SAMPLE_RATE = synth.SAMPLE_RATE
CODECS = {  # name -> (ffmpeg encoder, container, sample rate, bitrates in kbit/s to draw from)
    "opus": ("libopus", "ogg", 16000, (6, 8, 12, 16, 24)),
    "mp3": ("libmp3lame", "mp3", 16000, (16, 24, 32, 48)),
    "gsm": ("libgsm", "gsm", 8000, (13,)),
}
TELEPHONE = ["sinc", "300-3400", "rate", "-v", "8000", "rate", "-v", str(SAMPLE_RATE)]
TEST_REVERB = ["reverb", "50", "50", "100", "100", "20", "0"]  # a mid-sized room, as sox's defaults
TOOL_TIMEOUT_S = 60


def add_white_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at ``snr_db`` (the test_noise10 variant)."""
    return mix_at_snr(audio, rng.standard_normal(len(audio)), snr_db)


def babble(talkers: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of several talkers at once: each talker's audio, at equal speech power,
    repeated to length from a random offset."""
    out = np.zeros(n)
    for audio in talkers:
        power = speech_power(audio)
        if power <= 0:
            continue
        reps = -(-(n + len(audio)) // len(audio))
        looped = np.tile(audio, reps)
        start = int(rng.integers(len(audio)))
        out += looped[start : start + n] / np.sqrt(power)
    return out


def room_impulse_response(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A simulated room: a direct path, a few early reflections (2-20 ms) and a diffuse tail of
    exponentially decaying noise that falls 60 dB in ``rt60`` seconds; unit energy."""
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 10 ** (rng.uniform(-12, -4) / 20)
    rir[0] = 1.0
    for _ in range(int(rng.integers(2, 7))):
        rir[int(rng.uniform(0.002, 0.02) * SAMPLE_RATE)] += rng.uniform(-0.6, 0.6)
    return rir / np.sqrt(np.sum(rir**2))


def convolve(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``audio`` convolved with ``rir`` (FFT), its tail kept."""
    n = len(audio) + len(rir) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(rir, size), size)[:n]


def sox_effects(audio: np.ndarray, effects: list[str]) -> np.ndarray:
    """``audio`` through a sox effects chain (32-bit float wav in and out, 16 kHz)."""
    with tempfile.TemporaryDirectory(prefix="en_speech_sox_") as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(str(src), audio, SAMPLE_RATE, subtype="FLOAT")
        synth.run_tool(["sox", "-V1", str(src), "-t", "wav", "-e", "floating-point", "-b", "32", str(dst), *effects])
        out, rate = sf.read(str(dst), dtype="float64")
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"sox produced {rate} Hz")
    return out


def telephone(audio: np.ndarray) -> np.ndarray:
    """The 300-3400 Hz telephone band at 8 kHz, back at 16 kHz."""
    return sox_effects(audio, TELEPHONE)[: len(audio)]


def band_limit_8k(audio: np.ndarray) -> np.ndarray:
    """Resampled to 8 kHz and back: nothing above 4 kHz (the test_8k variant)."""
    return sox_effects(audio, ["rate", "-v", "8000", "rate", "-v", str(SAMPLE_RATE)])[: len(audio)]


def silence_before(audio: np.ndarray, seconds: float) -> np.ndarray:
    """``seconds`` of digital silence, then ``audio`` (the test_silence variant)."""
    return np.concatenate([np.zeros(int(seconds * SAMPLE_RATE)), audio])


def codec(audio: np.ndarray, name: str, kbps: int) -> np.ndarray:
    """An encode-decode round trip through ffmpeg with CODECS[name] at ``kbps``, cut to length."""
    encoder, container, rate, _ = CODECS[name]
    peak = float(np.max(np.abs(audio))) or 1.0
    with tempfile.TemporaryDirectory(prefix="en_speech_codec_") as tmp:
        src, enc, dst = Path(tmp) / "in.wav", Path(tmp) / f"enc.{container}", Path(tmp) / "out.wav"
        sf.write(str(src), audio * (0.9 / peak), SAMPLE_RATE, subtype="FLOAT")
        common = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1"]
        bitrate = [] if name == "gsm" else ["-b:a", f"{kbps}k"]
        synth.run_tool(
            [*common, "-i", str(src), "-ac", "1", "-ar", str(rate), "-c:a", encoder, *bitrate,
             "-fflags", "+bitexact", "-flags:a", "+bitexact", str(enc)]
        )  # fmt: skip
        synth.run_tool([*common, "-i", str(enc), "-ar", str(SAMPLE_RATE), "-c:a", "pcm_f32le", str(dst)])
        out, _ = sf.read(str(dst), dtype="float64", always_2d=True)
    out = out.mean(axis=1) * (peak / 0.9)  # ffmpeg trims the encoders' delay: no shift to undo
    return np.pad(out, (0, max(0, len(audio) - len(out))))[: len(audio)]


def set_peak(audio: np.ndarray, peak_db: float) -> np.ndarray:
    """``audio`` scaled to a peak of ``peak_db`` dBFS."""
    return audio * (10 ** (peak_db / 20) / max(float(np.max(np.abs(audio))), 1e-12))


def clip(audio: np.ndarray, drive_db: float) -> np.ndarray:
    """``audio`` driven ``drive_db`` dB past full scale and hard-clipped there."""
    return np.clip(set_peak(audio, drive_db), -1.0, 1.0)


def high_band_share(audio: np.ndarray, cutoff_hz: float) -> float:
    """Share of the signal's energy above ``cutoff_hz`` (to check band limits); Hann-windowed,
    so the cut ends of the signal do not leak energy across the spectrum."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    return float(spectrum[freqs > cutoff_hz].sum() / max(spectrum.sum(), 1e-30))
