"""recog.audio: loading any soundfile format to 16 kHz mono float32, log-mel features, SpecAugment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from recog.audio import SAMPLE_RATE, AudioError, LogMel, SpecAugment, SpecAugmentConfig, change_speed, load_audio

DURATION = 0.75  # seconds; not a round number of frames
AMPLITUDE = 0.5


def sine(freq: float, rate: int, duration: float = DURATION, amplitude: float = AMPLITUDE) -> np.ndarray:
    t = np.arange(int(round(duration * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float64)


def peak_frequency(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


# (file name, sample rate, channels, soundfile format, subtype, sine frequency)
FORMATS = [
    ("pcm_u8.wav", 16_000, 1, "WAV", "PCM_U8", 440.0),
    ("pcm_16.wav", 16_000, 1, "WAV", "PCM_16", 523.0),
    ("pcm_24.wav", 16_000, 1, "WAV", "PCM_24", 1000.0),
    ("float_32.wav", 16_000, 1, "WAV", "FLOAT", 1500.0),
    ("lossless.flac", 16_000, 1, "FLAC", "PCM_16", 700.0),
    ("vorbis.ogg", 16_000, 1, "OGG", "VORBIS", 880.0),
    ("stereo.wav", 16_000, 2, "WAV", "PCM_16", 600.0),
    ("narrowband_8k.wav", 8_000, 1, "WAV", "PCM_16", 1000.0),
    ("fullband_48k.wav", 48_000, 1, "WAV", "PCM_24", 3000.0),
    ("stereo_44k1.flac", 44_100, 2, "FLAC", "PCM_24", 2500.0),
]


@pytest.mark.parametrize(("name", "rate", "channels", "fmt", "subtype", "freq"), FORMATS,
                         ids=[f[0] for f in FORMATS])
def test_every_format_loads_as_16k_mono_float32_with_length_and_pitch_kept(
        tmp_path: Path, name: str, rate: int, channels: int, fmt: str, subtype: str, freq: float) -> None:
    tone = sine(freq, rate)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    path = tmp_path / name
    soundfile.write(str(path), data, rate, format=fmt, subtype=subtype)

    audio = load_audio(path)

    assert audio.dtype == np.float32
    assert audio.ndim == 1
    expected = DURATION * SAMPLE_RATE
    assert abs(len(audio) - expected) <= 0.01 * expected
    assert abs(peak_frequency(audio) - freq) <= 3.0
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert rms == pytest.approx(AMPLITUDE / np.sqrt(2), rel=0.05)  # loudness kept, samples in [-1, 1] scale
    assert np.abs(audio).max() <= 1.0


def test_stereo_is_mixed_to_the_average_of_its_channels(tmp_path: Path) -> None:
    left, right = sine(440.0, SAMPLE_RATE, amplitude=0.8), sine(440.0, SAMPLE_RATE, amplitude=0.2)
    path = tmp_path / "unbalanced.wav"
    soundfile.write(str(path), np.stack([left, right], axis=1), SAMPLE_RATE, subtype="FLOAT")

    audio = load_audio(path)

    np.testing.assert_allclose(audio, (left + right) / 2, atol=1e-6)


def test_float_wav_keeps_samples_exactly_at_16k(tmp_path: Path) -> None:
    samples = np.random.default_rng(0).uniform(-0.9, 0.9, 4000).astype(np.float32)
    path = tmp_path / "exact.wav"
    soundfile.write(str(path), samples, SAMPLE_RATE, subtype="FLOAT")

    np.testing.assert_array_equal(load_audio(path), samples)


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "does_not_exist.wav"


def _empty_wav(tmp_path: Path) -> Path:
    path = tmp_path / "empty.wav"
    soundfile.write(str(path), np.zeros(0, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
    return path


def _text_as_wav(tmp_path: Path) -> Path:
    path = tmp_path / "notes.wav"
    path.write_text("these are meeting notes, not audio\n" * 20)
    return path


def _random_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    return path


def _header_only(tmp_path: Path) -> Path:
    good = tmp_path / "good.wav"
    soundfile.write(str(good), sine(440.0, SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")
    path = tmp_path / "chopped_header.wav"
    path.write_bytes(good.read_bytes()[:30])  # cut inside the header: no data chunk at all
    return path


def _nan_samples(tmp_path: Path) -> Path:
    samples = sine(440.0, SAMPLE_RATE).astype(np.float32)
    samples[100] = np.nan
    path = tmp_path / "has_nan.wav"
    soundfile.write(str(path), samples, SAMPLE_RATE, subtype="FLOAT")
    return path


@pytest.mark.parametrize("make_bad_file", [_missing, _empty_wav, _text_as_wav, _random_bytes, _header_only,
                                           _nan_samples],
                         ids=["missing", "empty", "text_renamed_wav", "random_bytes", "chopped_header", "nan"])
def test_unusable_files_raise_audio_error_naming_the_file(tmp_path: Path, make_bad_file) -> None:
    path = make_bad_file(tmp_path)

    with pytest.raises(AudioError) as info:
        load_audio(path)

    assert path.name in str(info.value)


@pytest.mark.parametrize("rate", [48_000, 44_100])
def test_a_file_too_short_to_survive_resampling_is_reported_as_empty(tmp_path: Path, rate: int) -> None:
    """One sample at 48 kHz is a third of a sample at 16 kHz: the result would be 0 samples, which
    load_audio otherwise refuses as empty audio."""
    path = tmp_path / f"one_sample_{rate}.wav"
    soundfile.write(str(path), np.full(1, 0.1, dtype=np.float32), rate, subtype="FLOAT")

    try:
        audio = load_audio(path)
    except AudioError as err:
        assert path.name in str(err)
    else:
        assert len(audio) > 0, "load_audio returned 0 samples instead of raising AudioError"


def test_truncated_wav_loads_what_is_there_or_raises_audio_error(tmp_path: Path) -> None:
    """A header that promises 0.75 s followed by a few data bytes: libsndfile reads what is there
    (a shorter file); anything else it does must surface as an AudioError naming the file."""
    good = tmp_path / "good.wav"
    soundfile.write(str(good), sine(440.0, SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")
    header_size = len(good.read_bytes()) - 2 * int(DURATION * SAMPLE_RATE)
    for kept in (0, 1, 5, 64):
        path = tmp_path / f"truncated_{kept}.wav"
        path.write_bytes(good.read_bytes()[: header_size + kept])
        try:
            audio = load_audio(path)
        except AudioError as err:
            assert path.name in str(err)
        else:
            assert audio.dtype == np.float32 and audio.ndim == 1
            assert 0 < len(audio) <= kept // 2


def test_resampling_to_another_rate_on_request(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    soundfile.write(str(path), sine(440.0, SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")

    audio = load_audio(path, sample_rate=8000)

    assert abs(len(audio) - DURATION * 8000) <= 0.01 * DURATION * 8000
    assert abs(peak_frequency(audio, 8000) - 440.0) <= 3.0


# ---------------------------------------------------------------- LogMel


def test_logmel_shapes_and_lengths_follow_the_10ms_hop() -> None:
    sizes = [16_000, 12_345, 800, 161, 159]
    waves = torch.randn(len(sizes), max(sizes))
    lengths = torch.tensor(sizes)

    feats, feat_lengths = LogMel()(waves, lengths)

    assert feats.shape == (len(sizes), max(sizes) // 160 + 1, 80)
    assert feat_lengths.tolist() == [n // 160 + 1 for n in sizes]
    assert torch.isfinite(feats).all()


def test_logmel_frames_past_each_length_are_exactly_zero() -> None:
    sizes = [8000, 3217, 1601]
    waves = torch.randn(len(sizes), max(sizes)) * 0.3
    feats, feat_lengths = LogMel()(waves, torch.tensor(sizes))

    for b, n in enumerate(feat_lengths.tolist()):
        assert (feats[b, n:] == 0).all()
        assert (feats[b, :n] != 0).any(dim=-1).all()  # valid frames carry features


def test_logmel_of_a_file_is_the_same_alone_and_padded_with_noise_in_a_batch() -> None:
    generator = torch.Generator().manual_seed(0)
    sizes = [4001, 16000, 2345]
    waves = [torch.randn(n, generator=generator) * 0.3 for n in sizes]
    batch = torch.randn(len(sizes), max(sizes), generator=generator) * 10  # garbage in the padding
    for b, w in enumerate(waves):
        batch[b, : len(w)] = w
    frontend = LogMel()

    feats, feat_lengths = frontend(batch, torch.tensor(sizes))

    for b, w in enumerate(waves):
        alone, alone_length = frontend(w[None], torch.tensor([len(w)]))
        assert int(alone_length) == int(feat_lengths[b]) == alone.shape[1]
        torch.testing.assert_close(feats[b, : alone.shape[1]], alone[0], rtol=0, atol=1e-5)


def test_logmel_puts_a_tone_in_the_mel_band_of_its_frequency() -> None:
    frontend = LogMel()
    low = torch.tensor(sine(300.0, SAMPLE_RATE), dtype=torch.float32)
    high = torch.tensor(sine(3000.0, SAMPLE_RATE), dtype=torch.float32)
    feats, _ = frontend(torch.stack([low, high]), torch.tensor([len(low), len(high)]))

    bands = feats[:, 10:-10].mean(dim=1).argmax(dim=-1)  # loudest mel band, away from the edges
    fft_bin = {300.0: round(300.0 * 512 / SAMPLE_RATE), 3000.0: round(3000.0 * 512 / SAMPLE_RATE)}
    expected = [int(frontend.filterbank[:, fft_bin[f]].argmax()) for f in (300.0, 3000.0)]
    assert abs(int(bands[0]) - expected[0]) <= 1
    assert abs(int(bands[1]) - expected[1]) <= 1
    assert int(bands[1]) > int(bands[0]) + 20


# ---------------------------------------------------------------- SpecAugment


def test_spec_augment_is_identity_in_eval_mode() -> None:
    feats = torch.randn(3, 120, 80)
    augment = SpecAugment(SpecAugmentConfig(freq_masks=2, freq_width=27, time_masks=10, time_width=0.05)).eval()

    out = augment(feats, torch.tensor([120, 90, 50]))

    assert torch.equal(out, feats)


def test_spec_augment_zeroes_bands_and_spans_in_train_mode_and_keeps_the_rest() -> None:
    torch.manual_seed(0)
    feats = torch.randn(4, 200, 80) + 3.0  # no exact zeros in the input
    augment = SpecAugment(SpecAugmentConfig(freq_masks=2, freq_width=15, time_masks=5, time_width=0.05)).train()

    out = augment(feats, torch.tensor([200, 200, 150, 100]))

    zeroed = out == 0
    assert zeroed.any()
    assert not zeroed.all()
    assert torch.equal(out[~zeroed], feats[~zeroed])  # what is not masked is untouched
    # Masks are whole frequency bands and whole time spans.
    fully_masked_bins = zeroed.all(dim=1).sum()
    fully_masked_frames = zeroed.all(dim=2).sum()
    assert fully_masked_bins > 0 and fully_masked_frames > 0
    assert torch.equal(zeroed, zeroed.all(dim=1, keepdim=True) | zeroed.all(dim=2, keepdim=True))


def test_spec_augment_can_mask_every_frequency_bin_and_every_valid_frame() -> None:
    """Masks are drawn uniformly inside the spectrogram: the last bin and an utterance's last frame
    must be reachable like any other (over 400 utterances each is hit many times)."""
    torch.manual_seed(0)
    lengths = torch.tensor([40, 50] * 200)
    feats = torch.ones(len(lengths), 50, 80)
    augment = SpecAugment(SpecAugmentConfig(freq_masks=2, freq_width=15, time_masks=5, time_width=0.2)).train()

    zeroed = augment(feats, lengths) == 0

    masked_bins = zeroed.all(dim=1).sum(dim=0)  # (80,) how often each bin was masked
    assert (masked_bins > 0).all(), f"never masked: bins {torch.nonzero(masked_bins == 0).flatten().tolist()}"
    for n in (40, 50):
        frames = zeroed[lengths == n].all(dim=2).sum(dim=0)  # (50,)
        assert (frames[n:] == 0).all()  # no time mask outside the utterance
        never = torch.nonzero(frames[:n] == 0).flatten().tolist()
        assert not never, f"length {n}: frames {never} are never masked"


@pytest.mark.parametrize("factor", [0.85, 1.15])
def test_change_speed_scales_length_down_and_pitch_up_by_the_factor(factor: float) -> None:
    samples = sine(500.0, SAMPLE_RATE, duration=1.0).astype(np.float32)
    out = change_speed(samples, factor)
    assert out.dtype == np.float32
    assert len(out) == pytest.approx(len(samples) / factor, abs=2)
    assert peak_frequency(out) == pytest.approx(500.0 * factor, abs=3.0)


def test_change_speed_at_one_is_identity_and_refuses_nonpositive_factors() -> None:
    samples = sine(500.0, SAMPLE_RATE).astype(np.float32)
    assert change_speed(samples, 1.0) is samples
    with pytest.raises(ValueError, match="positive"):
        change_speed(samples, 0.0)


def test_vtlp_warps_the_filterbank_in_training_only_and_moves_a_tone_the_right_way() -> None:
    from recog.audio import FeatureConfig, LogMel
    from recog_edge.features import mel_filterbank

    c = FeatureConfig()
    np.testing.assert_array_equal(mel_filterbank(c.n_mels, c.n_fft, c.sample_rate, warp=1.0),
                                  mel_filterbank(c.n_mels, c.n_fft, c.sample_rate))
    t = np.arange(16000) / 16000
    tone = torch.tensor(np.sin(2 * np.pi * 1000 * t), dtype=torch.float32)[None]
    peak = {}
    for warp in (0.8, 1.0, 1.2):
        logmel = LogMel(c, vtlp=(warp, warp))
        logmel.train()
        feats, _ = logmel(tone, torch.tensor([16000]))
        peak[warp] = int(feats[0, 50].argmax())
    assert peak[0.8] < peak[1.0] < peak[1.2]  # a longer vocal tract lowers the formants, a shorter raises them
    varied = LogMel(c, vtlp=(0.8, 1.2))
    plain = LogMel(c)
    batch = tone.repeat(8, 1)
    varied.eval()
    torch.testing.assert_close(varied(batch, torch.full((8,), 16000))[0], plain(batch, torch.full((8,), 16000))[0])
    varied.train()
    torch.manual_seed(0)
    warped = varied(batch, torch.full((8,), 16000))[0]
    assert len({int(warped[i, 50].argmax()) for i in range(8)}) > 1  # each utterance draws its own warp
    with pytest.raises(ValueError, match="vtlp"):
        LogMel(c, vtlp=(1.2, 0.8))
