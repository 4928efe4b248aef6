"""Reading audio files, for recog and recog-edge alike: the formats of libsndfile (WAV, FLAC,
OGG/Vorbis/Opus, MP3, AIFF, AU...) through soundfile, and whatever else ffmpeg decodes (M4A/AAC,
WMA, AMR, and the sound of MP4, MOV, MKV and WebM videos) through ffmpeg where it is installed, as
Whisper reads files. Samples come as mono float32 at the file's own rate (ffmpeg's decode at
``FFMPEG_RATE``); every error is an ``AudioError`` whose message names the file.

ffmpeg runs on local files only (``-protocol_whitelist file``): a playlist cannot make it fetch
anything."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile

FFMPEG_RATE = 16_000  # Hz: the rate ffmpeg decodes to (recog's own, so nothing is resampled twice)


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and the reason."""


def read_audio(path: str | Path, offset: float = 0.0, duration: float | None = None) -> tuple[np.ndarray, int]:
    """A whole file, or its ``duration`` seconds from ``offset``, as (mono float32 samples (N,), rate).
    Channels are averaged; a file with no samples gives (0 samples, rate 0). AudioError for a
    missing or unreadable file and for an offset past the end."""
    blocks = list(audio_blocks(path, float("inf"), offset, duration))
    if not blocks:
        return np.zeros(0, dtype=np.float32), 0
    return np.concatenate([samples for _, samples in blocks]), blocks[0][0]


def audio_blocks(path: str | Path, seconds: float, offset: float = 0.0, duration: float | None = None
                 ) -> Iterator[tuple[int, np.ndarray]]:
    """A file (or its segment of ``duration`` seconds from ``offset``) read ``seconds`` at a time:
    (rate, mono float32 samples) pairs, so any length is read in bounded memory. A file that fails
    part of the way raises AudioError after the blocks it gave."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: {'a folder, not an audio file' if path.is_dir() else 'no such file'}")
    try:
        sound, why = soundfile.SoundFile(str(path)), ""
    except Exception as err:  # noqa: BLE001 - LibsndfileError, RuntimeError, TypeError...: not libsndfile's format
        sound, why = None, _reason(err)
    if sound is None:  # outside the except block: ffmpeg's errors are not chained to libsndfile's
        yield from _ffmpeg_blocks(path, seconds, offset, duration, why)
        return
    try:
        with sound:
            rate, start = sound.samplerate, int(round(offset * sound.samplerate))
            if offset and start >= sound.frames:
                raise AudioError(_past_end(path, offset, sound.frames / rate))
            sound.seek(start)
            left = -1 if duration is None else int(round(duration * rate))  # frames still wanted; -1: to the end
            size = -1 if seconds == float("inf") else max(1, int(seconds * rate))  # -1: all in one read
            while left != 0:
                want = size if left < 0 else left if size < 0 else min(size, left)
                block = sound.read(want, dtype="float32", always_2d=True)  # trimmed where the header promised more
                if len(block):
                    yield rate, _mono(block)
                if len(block) < want or want < 0:
                    break
                left = max(left - len(block), 0) if left > 0 else left
    except AudioError:
        raise
    except Exception as err:  # noqa: BLE001 - a file that opened but does not decode
        raise AudioError(f"{path}: not readable as audio ({_reason(err)})") from None


def audio_seconds(path: str | Path) -> float:
    """A file's length in seconds, from its header (ffprobe's for ffmpeg's formats, else decoded and
    counted); 0 where it cannot be read (reading it says why)."""
    try:
        info = soundfile.info(str(path))
        return info.frames / info.samplerate if info.samplerate else 0.0
    except Exception:  # noqa: BLE001 - not libsndfile's: ask ffprobe
        pass
    if not Path(path).is_file() or shutil.which("ffprobe") is None:
        return 0.0
    probe = subprocess.run(["ffprobe", "-v", "error", "-protocol_whitelist", "file", "-show_entries",
                            "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", f"file:{path}"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    said = probe.stdout.decode(errors="replace").strip()
    if said != "N/A":  # a length, or nothing: not readable (reading it says why)
        try:
            return float(said)
        except ValueError:
            return 0.0
    try:  # a stream without a length in its header (live WebM, raw AAC): counted block by block, in bounded memory
        return sum(len(samples) / rate for rate, samples in audio_blocks(path, 60.0))
    except AudioError:
        return 0.0


def _ffmpeg_blocks(path: Path, seconds: float, offset: float, duration: float | None, why: str
                   ) -> Iterator[tuple[int, np.ndarray]]:
    """ffmpeg's decoding of ``path`` at FFMPEG_RATE, mono, in blocks of ``seconds``; ``why`` is
    libsndfile's reason for not reading it, for the message where ffmpeg cannot either."""
    if shutil.which("ffmpeg") is None:
        raise AudioError(f"{path}: not readable as audio ({why}; install ffmpeg to read other formats)")
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file"]
    command += ["-ss", f"{offset:.6f}"] if offset else []
    command += ["-t", f"{duration:.6f}"] if duration is not None else []
    command += ["-i", f"file:{path}", "-vn", "-ac", "1", "-ar", str(FFMPEG_RATE), "-f", "f32le", "pipe:1"]
    size = 1 << 22 if seconds == float("inf") else max(1, int(seconds * FFMPEG_RATE))
    got, finished = 0, False
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        try:
            while chunk := process.stdout.read(4 * size):
                block = np.frombuffer(chunk[: len(chunk) // 4 * 4], dtype="<f4").astype(np.float32)
                got += len(block)
                if len(block):
                    yield FFMPEG_RATE, block
            finished = True
        finally:
            process.stdout.close()
            if not finished:  # the reader stopped early (or failed): ffmpeg need not decode the rest
                process.kill()
            process.wait()
        if process.returncode != 0:
            errors.seek(0)
            lines = [line.strip() for line in errors.read().decode(errors="replace").splitlines() if line.strip()]
            reason = lines[-1].removeprefix(f"file:{path}: ") if lines else f"ffmpeg exited with {process.returncode}"
            raise AudioError(f"{path}: not readable as audio (libsndfile: {why}; ffmpeg: {reason})")
    if not got and offset and (total := audio_seconds(path)) and offset >= total:
        raise AudioError(_past_end(path, offset, total))


def _mono(block: np.ndarray) -> np.ndarray:
    """(N, C) -> (N,) float32, the channels averaged."""
    return np.ascontiguousarray(block.mean(axis=1) if block.shape[1] > 1 else block[:, 0], dtype=np.float32)


def _past_end(path: Path, offset: float, total: float) -> str:
    return f"{path}: offset {offset:g} s is past the end of the audio ({total:.3f} s)"


def _reason(err: Exception) -> str:
    """libsndfile's first line, without the file name the message starts with anyway."""
    line = str(err).split("\n")[0] or type(err).__name__
    return line.split("': ", 1)[1] if line.startswith("Error opening '") and "': " in line else line
