"""Which files a command reads: the suffixes of audio files and images, and folders expanded into
the files in them (``recog``'s commands and ``recog-edge``'s alike); and writing a file whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

# libsndfile's formats, then those read through ffmpeg where it is installed (recog_edge.audio_file)
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au",
                            ".m4a", ".aac", ".wma", ".amr", ".mp4", ".mov", ".mkv", ".webm"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".avif", ".jp2",
                            ".ppm", ".pgm", ".pbm"})  # what Pillow reads (recog_edge.image_file)


def expand_inputs(items: Iterable[str], suffixes: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files as given; folders searched recursively (symbolic links to folders not followed, so a
    link loop cannot trap the search) for files with one of ``suffixes``. Returns the paths and,
    for each folder that holds none (a folder named like a file, ``x.wav/``, included), a
    (folder, message) problem."""
    suffixes = {s.lower() for s in suffixes}
    paths: list[str] = []
    problems: list[tuple[str, str]] = []
    for item in items:
        if not Path(item).is_dir():
            paths.append(item)
            continue
        found = sorted(str(Path(root) / name) for root, _, names in os.walk(item, followlinks=False)
                       for name in names if Path(name).suffix.lower() in suffixes and (Path(root) / name).is_file())
        if not found:
            problems.append((item, f"{item}: a folder with no {'/'.join(sorted(suffixes))} files in it"))
        paths.extend(found)
    return paths, problems


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` to write to; it is renamed over ``path`` when the
    block ends, and removed where the block raises: never half a file, whatever stops the writing.
    Each call has its own temporary name, so two processes writing the same file at once (two
    recipe runs side by side) do not trip over each other; the last rename wins. The file is
    readable by all (0644), as a plain write leaves it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide a results file from other users
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """``text`` written whole to ``path`` (``atomic_path``)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
