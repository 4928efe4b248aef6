"""Which files a command reads: the suffixes of audio files and images, and folders expanded into
the files in them (``recog``'s commands and ``recog-edge``'s alike)."""

from __future__ import annotations

import os
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
