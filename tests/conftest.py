"""Shared fixtures: real speech made with espeak-ng (installed by `make test`)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile

OVERFIT_TEXTS = ["hello world", "open the door", "blue sky"]


def speak(text: str, path: Path, speed: int = 110, voice: str = "en-us") -> Path:
    """Synthesise ``text`` to a WAV at ``path`` (espeak-ng's native 22.05 kHz)."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def write_manifest(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a few slow espeak-ng utterances and a manifest (relative paths)."""
    root = tmp_path_factory.mktemp("speech")
    rows = []
    for i, text in enumerate(OVERFIT_TEXTS):
        wav = speak(text, root / f"utt{i}.wav")
        rows.append({"audio_filepath": wav.name, "duration": soundfile.info(str(wav)).duration, "text": text})
    write_manifest(root / "train.jsonl", rows)
    return root


@pytest.fixture(scope="session")
def latin_lines_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped latin-lines exported once (``recog export``, checked against PyTorch) for the
    edge-runtime and browser tests: exporting it takes half a minute."""
    from recog.cli import main

    folder = tmp_path_factory.mktemp("latin-lines-onnx")
    assert main(["export", "--model", "latin-lines", "--out", str(folder)]) == 0
    return folder


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread, above all on a busy machine. Use it with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch  # only the tests that use it pay for the import

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
