"""The Python API's inputs and batching: arrays as well as files, batch_size in items beside a
padding budget, manifests without durations, results as each chunk of inputs is done."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from recog.checkpoint import save_checkpoint
from recog.cli import main
from recog.image import ImageError
from recog.inference import RecognitionModel, load
from recog.noise import coloured_noise
from tests.helpers import tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[RecognitionModel, list[Path], list[np.ndarray]]:
    root = tmp_path_factory.mktemp("api")
    rng = np.random.default_rng(0)
    waves = [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in (16000, 9000, 24000, 4000, 12000)]
    files = []
    for i, wave in enumerate(waves):
        files.append(root / f"u{i}.wav")
        soundfile.write(files[-1], wave, 16000, subtype="FLOAT")
    model_path = save_checkpoint(tiny_recognizer([[-1, -1], [8, 3]]), root / "m.ckpt")
    return load(model_path), files, waves


def summary(results: list) -> list[tuple]:
    return [(r.text, r.score, r.positions) for r in results]


def test_arrays_read_like_the_files_they_came_from(speech: tuple) -> None:
    model, files, waves = speech
    from_files = model.transcribe(files)
    assert summary(model.transcribe(waves)) == summary(from_files)
    assert [r.path for r in model.transcribe(waves[:2])] == ["array 0", "array 1"]
    resampled = [np.interp(np.arange(0, len(w), 16000 / 44100), np.arange(len(w)), w).astype(np.float32)
                 for w in waves[:1]]
    assert model.transcribe(resampled, sample_rate=44100)[0].tokens  # resampled to 16 kHz, not misread
    stereo = np.stack([waves[0], waves[0]], axis=1)
    assert summary(model.transcribe([stereo])) == summary(from_files[:1])
    int16 = (waves[0] * 32767).astype(np.int16)
    assert model.transcribe([int16])[0].tokens is not None
    outcomes = dict(model.transcribe_each([np.zeros(0, np.float32), waves[1]]))
    assert "array 0" in str(outcomes["array 0"]) and "empty" in str(outcomes["array 0"])


def test_image_arrays_read_like_their_files(tmp_path: Path) -> None:
    model = RecognitionModel(tiny_ocr())
    image = (np.random.default_rng(0).random((32, 120, 3)) * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "line.png")
    assert summary(model.transcribe([image])) == summary(model.transcribe([tmp_path / "line.png"]))
    grey = image.mean(axis=2).astype(np.uint8)
    assert model.transcribe([grey])[0].path == "array 0"
    with pytest.raises(ImageError, match="array 0"):
        model.transcribe([np.zeros((5, 5, 7), np.uint8)])


def tiny_ocr():  # noqa: ANN201
    import torch

    from recog.model import Recognizer
    from recog.text import CharTokenizer

    torch.manual_seed(0)
    encoder = {"name": "vision", "dims": [16, 24, 32], "depths": [1, 1, 1], "local_blocks": [1, 1, 0],
               "n_heads": [2, 2, 2]}
    return Recognizer(CharTokenizer("abc"), encoder, {"ctc": {}}, frontend="image",
                      features={"height": 32, "max_width": 512}).eval()


def test_batch_size_counts_inputs_and_the_budget_counts_padding(speech: tuple) -> None:
    model, files, waves = speech
    loaded = dict(enumerate(waves))
    assert max(len(b) for b in model.plan_batches(loaded, None)) == 5  # two minutes of budget holds all
    assert max(len(b) for b in model.plan_batches(loaded, None, batch_size=2)) == 2
    assert all(sum(len(waves[i]) for i in b) <= 30000 or len(b) == 1 for b in model.plan_batches(loaded, 30000))
    assert summary(model.transcribe(files, batch_size=1)) == summary(model.transcribe(files))


def test_results_come_as_each_chunk_of_inputs_is_done(speech: tuple, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    model, files, waves = speech
    monkeypatch.setattr(model, "CHUNK_INPUTS", 2)
    late = tmp_path / "late.wav"  # does not exist until the first results are out
    results = model.transcribe_each([files[0], files[1], late])
    first = [next(results), next(results)]
    soundfile.write(late, waves[2], 16000, subtype="FLOAT")
    rest = list(results)
    assert [p for p, _ in first + rest] == [str(files[0]), str(files[1]), str(late)]
    assert not isinstance(rest[0][1], Exception)


def test_transcribe_manifest_needs_no_duration(speech: tuple, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model, files, _ = speech
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"audio_filepath": str(f)}) + "\n" for f in files[:2]))
    checkpoint = tmp_path / "m.ckpt"
    save_checkpoint(model.model, checkpoint)
    assert main(["transcribe", "--manifest", str(manifest), "--model", str(checkpoint), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(f) for f in files[:2]]


def test_a_long_recording_is_read_in_blocks_and_pieces_as_offline_decoding_reads_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import recog.inference
    from recog.inference import RecognitionModel

    rng = np.random.default_rng(3)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * np.arange(16000 * 12) / 16000)  # syllable-like, never silent
    wave = (rng.standard_normal(16000 * 12) * 0.1 * envelope).astype(np.float32)  # not steady noise, no pause
    soundfile.write(tmp_path / "long.wav", wave, 16000, subtype="FLOAT")
    model = RecognitionModel(tiny_recognizer([[-1, -1], [8, 3]]))
    monkeypatch.setattr(RecognitionModel, "LONG_SECONDS", 10.0)
    read_blocks = []
    real_blocks = recog.inference.audio_blocks
    monkeypatch.setattr(recog.inference, "audio_blocks", lambda *a, **k: (read_blocks.append(1) or b
                                                                       for b in real_blocks(*a, **k)))
    [long] = model.transcribe([tmp_path / "long.wav"])
    assert len(read_blocks) > 1  # read block by block, not whole
    monkeypatch.setattr(RecognitionModel, "LONG_SECONDS", 60.0)
    [whole] = model.transcribe([tmp_path / "long.wav"])  # one piece of 12 s: the same as reading it whole
    assert (long.text, long.positions, long.tokens) == (whole.text, whole.positions, whole.tokens)
    assert long.words and long.segments()


def test_long_audio_is_cut_in_its_pauses() -> None:
    from recog_edge.vad import cut_at_pauses

    rng = np.random.default_rng(5)
    rate, bursts, pause = 16000, [], np.zeros(8000, dtype=np.float32)  # 3 s of noise, 0.5 s of silence
    silences = []
    for i in range(10):
        bursts += [(rng.standard_normal(3 * rate) * 0.3).astype(np.float32), pause]
        silences.append((3.5 * i + 3.0, 3.5 * i + 3.5))
    signal = np.concatenate(bursts)
    blocks = [signal[i: i + 7000] for i in range(0, len(signal), 7000)]
    pieces = list(cut_at_pauses(blocks, rate, max_seconds=10.0, search_seconds=5.0, pause_seconds=0.2))
    assert np.array_equal(np.concatenate([p for _, p in pieces]), signal)  # nothing lost or doubled
    assert all(len(p) <= 10 * rate for _, p in pieces)
    cuts = [start for start, _ in pieces[1:]]
    assert cuts and all(any(a <= c <= b for a, b in silences) for c in cuts), cuts  # every cut in a pause
    # in the middle of the whole pause, clear of the speech on both sides
    assert all(any(abs(c - (a + b) / 2) <= 0.03 for a, b in silences) for c in cuts), cuts


def test_a_truncated_long_file_gives_the_readable_part_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture) -> None:
    from recog.inference import RecognitionModel

    wave = (np.random.default_rng(4).standard_normal(16000 * 30) * 0.1).astype(np.float32)
    soundfile.write(tmp_path / "full.flac", wave, 16000)
    data = (tmp_path / "full.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])  # the decoder loses sync half way
    model = RecognitionModel(tiny_recognizer([[-1, -1], [8, 3]]))
    monkeypatch.setattr(RecognitionModel, "LONG_SECONDS", 10.0)
    [result] = model.transcribe([tmp_path / "cut.flac"])
    assert result.warning and result.warning.startswith("truncated: read the first")
    assert result.to_json()["warning"] == result.warning
    assert 0 < max(result.positions, default=1.0) < 16.0  # tokens only from what could be read
    checkpoint = tmp_path / "m.ckpt"
    save_checkpoint(model.model, checkpoint)
    assert main(["transcribe", str(tmp_path / "cut.flac"), "--model", str(checkpoint), "--quiet"]) == 0
    assert "warning:" in capsys.readouterr().err


def test_folders_without_inputs_named_like_files_and_link_loops_get_one_line_each(
        speech: tuple, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model, files, _ = speech
    checkpoint = save_checkpoint(model.model, tmp_path / "m.ckpt")
    (tmp_path / "e_directory.wav").mkdir()  # a folder named like a file
    looped = tmp_path / "looped"
    looped.mkdir()
    (looped / "again").symlink_to(looped, target_is_directory=True)  # a symlink loop
    (looped / "notes.txt").write_text("no audio here")
    code = main(["transcribe", str(files[0]), str(tmp_path / "e_directory.wav"), str(looped), "--model",
                 str(checkpoint), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1  # the good file is done, the rest reported
    assert captured.out.startswith(f"{files[0]}\t")
    assert "e_directory.wav: a folder with no" in captured.err and "looped: a folder with no" in captured.err
    assert main(["transcribe", str(tmp_path / "e_directory.wav"), "--model", str(checkpoint)]) == 2
    assert "e_directory.wav: a folder with no" in capsys.readouterr().err


def test_each_piece_of_a_long_recording_starts_a_segment_at_its_speech(
        speech: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Utterances 0.4 s apart (under the 0.8 s pause that splits words) still start a segment each,
    where their speech starts, not where the model emitted the first token."""
    from recog.inference import RecognitionModel

    model, _, _ = speech
    rng = np.random.default_rng(6)
    rate, parts, onsets, position = 16000, [], [], 0.0
    for seconds in (2.0, 1.5, 2.5):
        gap = np.zeros(int(0.4 * rate), dtype=np.float32)
        burst = (rng.standard_normal(int(seconds * rate)) * 0.2).astype(np.float32)
        parts += [gap, burst]
        onsets.append(position + 0.4)
        position += 0.4 + seconds
    soundfile.write(tmp_path / "joined.wav", np.concatenate(parts), rate, subtype="FLOAT")
    monkeypatch.setattr(RecognitionModel, "LONG_SECONDS", 3.0)
    [result] = model.transcribe([tmp_path / "joined.wav"])
    assert len(result.breaks) == 3, "every piece is read and says something"
    segments = result.segments(max_gap=0.8)
    assert [round(s.start, 2) for s in segments] == pytest.approx(onsets, abs=0.03)
    assert all(s.start <= s.words[0].start for s in segments)  # no word starts before its speech
    assert [w.text for s in segments for w in s.words] == [w.text for w in result.words]  # none lost or doubled


def test_a_long_file_reports_its_progress_and_the_bar_shows_only_on_a_terminal(
        speech: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from recog.inference import RecognitionModel

    model, _, _ = speech
    wave = (np.random.default_rng(7).standard_normal(16000 * 12) * 0.1).astype(np.float32)
    wave[16000 * 5: 16000 * 6] = 0  # a pause: two pieces
    soundfile.write(tmp_path / "long.wav", wave, 16000, subtype="FLOAT")
    monkeypatch.setattr(RecognitionModel, "LONG_SECONDS", 10.0)
    calls = []
    list(model.transcribe_each([tmp_path / "long.wav"], progress=lambda *a: calls.append(a)))
    assert len(calls) >= 2 and all(total == pytest.approx(12.0) for _, _, total in calls)
    reads = [read for _, read, _ in calls]
    assert reads == sorted(reads) and reads[-1] == pytest.approx(12.0)
    checkpoint = save_checkpoint(model.model, tmp_path / "m.ckpt")
    command = ["transcribe", str(tmp_path / "long.wav"), "--model", str(checkpoint)]
    assert main(command) == 0
    assert capsys.readouterr().err == ""  # piped: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(command) == 0
    assert "long.wav:" in capsys.readouterr().err  # a terminal: the recording's bar, in seconds
    assert main([*command, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def steady_noise(colour: str, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``recog.noise.coloured_noise`` at a peak of 0.5, float32."""
    noise = coloured_noise(colour, samples, rng)
    return (0.5 * noise / np.abs(noise).max()).astype(np.float32)


def test_five_minutes_of_silence_or_steady_noise_say_nothing_and_a_10_ms_file_is_read(
        speech: tuple, speech_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, _, _ = speech
    rng = np.random.default_rng(8)
    files = {"silence": np.zeros(16000 * 300, dtype=np.float32)}
    files.update({colour: steady_noise(colour, 16000 * 300, rng) for colour in ("white", "pink", "brown")})
    for name, wave in files.items():
        soundfile.write(tmp_path / f"{name}.wav", wave, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "click.wav", (rng.standard_normal(160) * 0.1).astype(np.float32), 16000,
                    subtype="FLOAT")
    results = model.transcribe([tmp_path / f"{name}.wav" for name in files] + [tmp_path / "click.wav"])
    assert [(r.text, r.tokens, r.segments()) for r in results[:-1]] == [("", [], [])] * len(files)
    assert results[-1].path.endswith("click.wav") and results[-1].warning is None
    # speech under white noise at 10 dB SNR is still read: the same model says something there
    from recog.audio import load_audio
    from recog.inference import RecognitionModel

    utterances = [load_audio(p) for p in sorted(speech_dir.glob("utt*.wav"))]
    voice = np.concatenate([np.concatenate([u, np.zeros(4000, np.float32)]) for u in utterances * 2])
    noise = rng.standard_normal(len(voice)).astype(np.float32)
    noise *= np.sqrt((voice ** 2).mean() / (noise ** 2).mean() / 10)  # 10 dB under the voice's mean power
    soundfile.write(tmp_path / "noisy.wav", voice + noise, 16000, subtype="FLOAT")
    monkeypatch.setattr(RecognitionModel, "LONG_SECONDS", 3.0)
    [noisy] = model.transcribe([tmp_path / "noisy.wav"])
    assert noisy.tokens
