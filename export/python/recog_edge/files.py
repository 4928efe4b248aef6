"""Which files a command reads: the suffixes of audio files and images, and folders expanded into
the files in them (``recog``'s commands and ``recog-edge``'s alike); and writing a file whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"})


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


def write_text_atomic(path: str | Path, text: str) -> None:
    """``text`` written to a temporary file beside ``path``, then renamed over it: never half a
    file, whatever stops the writing. The file is readable by all (0644), as a plain write leaves it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide a results file from other users
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
