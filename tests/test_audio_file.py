"""recog_edge.audio_file: formats libsndfile does not read (M4A/AAC, the sound of videos) come
through ffmpeg, whole, as segments and in blocks; without ffmpeg, or where it cannot read them
either, one AudioError names the file; recog and recog-edge transcribe them as they do WAV."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

import recog_edge.audio_file
from recog.audio import SAMPLE_RATE, AudioError, load_audio
from recog.cli import main as recog_main
from recog_edge.audio_file import audio_blocks, audio_seconds, read_audio
from recog_edge.cli import main as edge_main
from tests.test_audio import peak_frequency, sine

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is required")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECONDS = 2.0


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def m4a(path: Path, samples: np.ndarray, rate: int) -> Path:
    """``samples`` (N,) or (N, C) as AAC in an M4A file at ``path`` (a format libsndfile does not read)."""
    wav = path.with_suffix(".wav")
    soundfile.write(str(wav), samples, rate, subtype="PCM_16")
    ffmpeg("-i", str(wav), "-c:a", "aac", "-b:a", "128k", str(path))
    with pytest.raises(soundfile.LibsndfileError):
        soundfile.info(str(path))
    return path


@pytest.fixture()
def tone_m4a(tmp_path: Path) -> Path:
    """A 2 s 440 Hz tone at 44.1 kHz stereo in an M4A file."""
    return m4a(tmp_path / "tone.m4a", np.stack([sine(440.0, 44_100, SECONDS)] * 2, axis=1), 44_100)


def test_an_m4a_file_loads_through_ffmpeg_as_16k_mono_with_length_and_pitch_kept(tone_m4a: Path) -> None:
    audio = load_audio(tone_m4a)

    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - SECONDS * SAMPLE_RATE) <= 0.05 * SAMPLE_RATE  # AAC pads its last frame
    assert abs(peak_frequency(audio) - 440.0) <= 3.0
    assert audio_seconds(tone_m4a) == pytest.approx(SECONDS, abs=0.05)


def test_without_ffmpeg_an_m4a_file_is_one_error_that_names_it_and_says_what_would_read_it(
        tone_m4a: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recog_edge.audio_file.shutil, "which", lambda name: None)

    with pytest.raises(AudioError) as info:
        load_audio(tone_m4a)

    assert str(info.value).startswith(f"{tone_m4a}: not readable as audio")
    assert "install ffmpeg" in str(info.value)
    assert audio_seconds(tone_m4a) == 0.0


def test_a_segment_of_an_m4a_file_is_read_from_its_offset_and_past_the_end_is_an_error(tmp_path: Path) -> None:
    noise = m4a(tmp_path / "noise.m4a", np.random.default_rng(0).uniform(-0.5, 0.5, int(SECONDS * SAMPLE_RATE)),
                SAMPLE_RATE)
    whole = load_audio(noise)
    part = load_audio(noise, offset=0.5, duration=1.0)

    assert abs(len(part) - SAMPLE_RATE) <= 0.01 * SAMPLE_RATE
    start = int(0.5 * SAMPLE_RATE)  # the part is the whole file's samples from 0.5 s (noise: one sharp peak)
    lag = int(np.argmax(np.correlate(whole[start - 400: start + 1400], part[:1000], mode="valid"))) - 400
    assert abs(lag) <= 2
    with pytest.raises(AudioError, match="past the end"):
        load_audio(noise, offset=5.0)


def test_an_m4a_file_read_in_blocks_is_the_file_read_whole(tone_m4a: Path) -> None:
    blocks = list(audio_blocks(tone_m4a, 0.25))
    whole, rate = read_audio(tone_m4a)

    assert rate == SAMPLE_RATE and len(blocks) >= 8
    assert all(r == rate and len(b) <= 0.25 * rate for r, b in blocks)
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks]), whole)


def test_a_file_whose_header_has_no_length_is_measured_by_decoding_it(tmp_path: Path) -> None:
    """WebM written to a pipe (a live recording) carries no duration: ffprobe says N/A, so the
    length is counted from ffmpeg's blocks."""
    live = tmp_path / "live.webm"
    with live.open("wb") as out:
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(EXAMPLES / "weather.flac"), "-c:a",
                        "libopus", "-f", "webm", "pipe:1"], stdout=out, check=True)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(live)],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "N/A"

    assert audio_seconds(live) == pytest.approx(soundfile.info(str(EXAMPLES / "weather.flac")).duration, abs=0.03)


@pytest.mark.parametrize("make", ["random_bytes", "video_without_sound"])
def test_what_neither_reads_is_one_error_naming_the_file_with_both_reasons(tmp_path: Path, make: str) -> None:
    path = tmp_path / ("noise.m4a" if make == "random_bytes" else "silent.mp4")
    if make == "random_bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    else:
        ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:d=1", "-c:v", "libx264", str(path))

    with pytest.raises(AudioError) as info:
        load_audio(path)

    message = str(info.value)
    assert message.startswith(f"{path}: not readable as audio (libsndfile: ") and "; ffmpeg: " in message
    assert "\n" not in message


@pytest.fixture(scope="module")
def weather(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """examples/weather.flac as an MP4 video's sound track, in a folder, and the text recog reads in the FLAC."""
    folder = tmp_path_factory.mktemp("video")
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:d=4", "-i", str(EXAMPLES / "weather.flac"), "-shortest",
           "-c:v", "libx264", "-c:a", "aac", str(folder / "weather.mp4"))
    row = next(r for r in map(json.loads, (EXAMPLES / "speech.jsonl").read_text().splitlines())
               if r["audio_filepath"] == "weather.flac")
    return folder, row["text"]


def test_recog_transcribes_a_folder_with_a_video_in_it_as_it_reads_the_flac(
        weather: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    folder, text = weather
    assert recog_main(["transcribe", str(folder), "--threads", "1"]) == 0
    assert capsys.readouterr().out == f"{folder / 'weather.mp4'}\t{text}\n"


def test_recog_edge_transcribes_the_video_as_it_reads_the_flac(
        weather: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    folder, text = weather
    assert edge_main(["transcribe", str(folder / "weather.mp4"), "--threads", "1"]) == 0
    assert capsys.readouterr().out == f"{folder / 'weather.mp4'}\t{text}\n"


def test_a_long_m4a_recording_is_read_in_pieces_as_the_ogg_is(tmp_path: Path) -> None:
    """examples/talk.ogg (over LONG_SECONDS) as AAC: its length comes from ffprobe, so recog reads it
    in pieces cut at pauses from ffmpeg's blocks, to nearly the text of the OGG (AAC is lossy)."""
    import recog
    from recog.metrics import char_error_rate

    talk = tmp_path / "talk.m4a"
    ffmpeg("-i", str(EXAMPLES / "talk.ogg"), "-c:a", "aac", "-b:a", "96k", str(talk))
    model = recog.load("en-speech")
    ogg, aac = model.transcribe([EXAMPLES / "talk.ogg", talk])

    assert audio_seconds(talk) > model.LONG_SECONDS
    assert len(aac.breaks) >= 5 and len(aac.breaks) == len(ogg.breaks)
    assert char_error_rate([ogg.text], [aac.text]) < 0.02


def test_an_mp3_whose_header_promises_more_frames_than_it_has_reads_only_what_it_has(tmp_path: Path) -> None:
    """A VBR MP3 without a Xing header: libsndfile's frame count is an overestimate, so reads must
    stop where the audio does (as soundfile.read trims), whole and in blocks, not pad or repeat."""
    mp3 = tmp_path / "vbr.mp3"
    ffmpeg("-i", str(EXAMPLES / "weather.flac"), "-c:a", "libmp3lame", "-q:a", "4", "-write_xing", "0", str(mp3))
    truth, rate = soundfile.read(str(mp3), dtype="float32")
    assert soundfile.info(str(mp3)).frames > 1.5 * len(truth)  # the header's count, which must not be believed

    whole, got_rate = read_audio(mp3)
    blocks = [b for _, b in audio_blocks(mp3, 0.5)]

    assert got_rate == rate
    np.testing.assert_array_equal(whole, truth)
    np.testing.assert_allclose(np.concatenate(blocks), truth, atol=1e-4)  # mpg123 read in pieces: its rounding


def test_a_reader_that_stops_early_leaves_no_ffmpeg_behind(tone_m4a: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    popen = subprocess.Popen
    monkeypatch.setattr(recog_edge.audio_file.subprocess, "Popen",
                        lambda *a, **k: started.append(popen(*a, **k)) or started[-1])
    blocks = audio_blocks(tone_m4a, 0.1)
    next(blocks)
    blocks.close()

    assert len(started) == 1 and started[0].returncode is not None  # ended and reaped, not a zombie
