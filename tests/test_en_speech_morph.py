"""Tests for recipes/en_speech/morph.py: WORLD resynthesis of natural training voices as new speakers
(pitch level, pitch range, vocal-tract length), which utterances it takes, and the tool end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.helpers import recipe_modules

pyworld = pytest.importorskip("pyworld", reason="pyworld is required (pip install pyworld setuptools)")

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "en_speech"
SR = 16000


@pytest.fixture(scope="module")
def morph():
    with recipe_modules(RECIPE, "morph") as modules:
        yield modules.morph


def vowel(seconds: float = 1.2, f0: float = 120.0, formants: tuple[float, ...] = (700.0, 1200.0, 2600.0)) -> np.ndarray:
    """A voiced vowel: a pulse train at ``f0`` (with a slow 10 % glide) through resonators at ``formants``."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))) / SR
    x = (np.sin(phase) > 0.99).astype(np.float64)
    for freq in formants:  # two-pole resonators
        r, theta = np.exp(-np.pi * 80 / SR), 2 * np.pi * freq / SR
        a1, a2 = -2 * r * np.cos(theta), r * r
        y = np.zeros_like(x)
        for i in range(n):
            y[i] = x[i] - a1 * (y[i - 1] if i else 0) - a2 * (y[i - 2] if i > 1 else 0)
        x = y
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def mean_f0(audio: np.ndarray) -> float:
    f0, t = pyworld.dio(audio.astype(np.float64), SR, frame_period=5.0)
    f0 = pyworld.stonemask(audio.astype(np.float64), f0, t, SR)
    return float(np.exp(np.log(f0[f0 > 0]).mean()))


def centroid(audio: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    return float((power * freqs).sum() / power.sum())


def test_morph_moves_pitch_to_the_drawn_speaker_and_warps_the_formants(morph):
    x = vowel()
    assert mean_f0(x) == pytest.approx(120, rel=0.05)
    for target in (90.0, 220.0):
        y = morph.morph(x, SR, morph.Draw(target, 1.0, 1.0))
        assert abs(len(y) - len(x)) < 0.02 * SR and y.dtype == np.float32
        assert mean_f0(y) == pytest.approx(target, rel=0.08)
        assert np.abs(y).max() == pytest.approx(np.abs(x).max(), rel=1e-3)  # the input's peak
    same = morph.morph(x, SR, morph.Draw(120.0, 1.0, 1.0))
    up = morph.morph(x, SR, morph.Draw(120.0, 1.0, 1.18))
    down = morph.morph(x, SR, morph.Draw(120.0, 1.0, 0.86))
    assert centroid(down) < 0.93 * centroid(same) and centroid(up) > 1.07 * centroid(same)


def test_excursion_scales_the_pitch_contour_around_its_mean(morph):
    x = vowel()
    spreads = {}
    for excursion in (0.5, 1.5):
        y = morph.morph(x, SR, morph.Draw(150.0, excursion, 1.0))
        f0, t = pyworld.dio(y.astype(np.float64), SR, frame_period=5.0)
        spreads[excursion] = np.log(f0[f0 > 0]).std()
    assert spreads[1.5] > 2.2 * spreads[0.5]


def test_silence_has_no_speaker_to_morph(morph):
    with pytest.raises(ValueError, match="no voiced frame"):
        morph.morph(np.zeros(SR, dtype=np.float32), SR, morph.Draw(150.0, 1.0, 1.0))


def test_draws_stay_in_range_and_warp_follows_pitch(morph):
    rng = np.random.default_rng(0)
    draws = [morph.draw(rng) for _ in range(2000)]
    f0 = np.array([d.f0_hz for d in draws])
    warp = np.array([d.warp for d in draws])
    assert f0.min() >= 80 and f0.max() <= 280 and warp.min() >= 0.86 and warp.max() <= 1.2
    assert all(0.6 <= d.excursion <= 1.6 for d in draws)
    assert np.corrcoef(np.log(f0), warp)[0, 1] > 0.5
    assert (f0 < 120).mean() > 0.3 and (f0 > 180).mean() > 0.3  # log-uniform: low and high voices alike


def tiny_corpus(root: Path) -> list[dict]:
    rows = []
    for i, (voice, augment) in enumerate([("flite:kal", "clean"), ("espeak:en-us", "clean"),
                                          ("flite:kal", "noise_white"), ("rhvoice:bdl", "clean"),
                                          ("pico:en-US", "clean"), ("rhvoice:bdl", "clean")]):
        path = root / f"wavs/train/{i:06d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        audio = np.zeros(SR, dtype=np.float32) if i == 5 else vowel(0.6, 100 + 20 * i)
        soundfile.write(path, audio, SR, subtype="PCM_16")
        rows.append({"audio_filepath": f"wavs/train/{i:06d}.wav", "duration": len(audio) / SR, "text": f"word {i}",
                     "voice": voice, "source": "fortunes", "augment": augment})
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "ignore", str(RECIPE / "morph.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_morph_tool_takes_clean_natural_voices_and_resumes(tmp_path):
    data, out = tmp_path / "corpus", tmp_path / "morphed"
    tiny_corpus(data)
    proc = run("--data", str(data), "--out", str(out), "--per-voice", "5")
    # the silent rhvoice utterance fails, is named, and the others are written
    assert proc.returncode == 1 and "from wavs/train/000005.wav: no voiced frame" in proc.stderr, proc.stderr
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert sorted(r["source_audio"] for r in rows) == ["wavs/train/000000.wav", "wavs/train/000003.wav",
                                                      "wavs/train/000004.wav"]  # not espeak, not augmented
    for row in rows:
        assert row["voice"].startswith("world:") and row["augment"].startswith("morph f0=")
        info = soundfile.info(out / row["audio_filepath"])
        assert info.samplerate == SR and row["duration"] == pytest.approx(info.frames / SR, abs=1e-3)
    first = {r["audio_filepath"]: (out / r["audio_filepath"]).read_bytes() for r in rows}

    again = run("--data", str(data), "--out", str(out), "--per-voice", "5")
    assert "0 made, 3 reused, 1 failed" in again.stdout, again.stdout
    other = tmp_path / "other"
    assert run("--data", str(data), "--out", str(other), "--per-voice", "5").returncode == 1
    assert first == {p: (other / p).read_bytes() for p in first}  # deterministic

    refused = run("--data", str(data), "--out", str(out), "--per-voice", "1")
    assert refused.returncode != 0 and "different settings (per_voice)" in refused.stderr


def test_morph_tool_names_a_missing_corpus(tmp_path):
    proc = run("--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "nothing/train.jsonl: no training manifest" in proc.stderr
