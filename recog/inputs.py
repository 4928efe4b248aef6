"""One class per kind of input a model reads: speech (waveforms) and text lines (images). Each owns
what differs between them -- how a file is read, how a batch is padded and budgeted, and where a
token sits in the input -- so the Python API and the CLI hold no branch on the modality.

``input_kind(model)`` gives the kind a Recognizer reads (by its frontend).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from recog.audio import SAMPLE_RATE, audio_from_array, load_audio
from recog.data import AUDIO_KEY, IMAGE_KEY, Entry, pad_images, pad_sequences
from recog.image import image_from_array, load_image, resize_line
from recog.model import Recognizer
from recog_edge.files import AUDIO_SUFFIXES, IMAGE_SUFFIXES

Source = str | Path | Entry | np.ndarray  # what the Python API reads: files, manifest entries, arrays


@dataclass
class Loaded:
    """One input ready for the model: ``array`` (a 16 kHz waveform, or an image at its multi-size
    target) and ``scale``, what maps the model's positions back to the file (original / resized
    image width; 1 for speech) and ``offset``, where a segment starts in its file (seconds; None:
    the whole file)."""

    array: np.ndarray
    scale: float = 1.0
    offset: float | None = None


class InputKind:
    """What a kind of input needs: the file types a folder search collects, the manifest and JSON
    names, loading, batch lengths and padding, and the position of each token in the input."""

    name: ClassVar[str]  # what a user calls it: "speech", "text-line"
    command: ClassVar[str]  # the recog command that reads it
    path_key: ClassVar[str]  # manifest and JSON field of the file path
    position_key: ClassVar[str]  # JSON field of the token positions
    units: ClassVar[str]  # what an item is called in reports
    suffixes: ClassVar[frozenset[str]]
    default_budget: ClassVar[float]  # padded input size per batch

    def __init__(self, model: Recognizer) -> None:
        self.model = model

    def load(self, source: Source, sample_rate: int = SAMPLE_RATE, name: str = "array") -> Loaded:
        """Read one file, a manifest entry (a speech entry may name a segment of its file) or an
        array (audio at ``sample_rate``, or an image; ``name`` in messages); AudioError /
        ImageError (naming it) where it cannot be used."""
        raise NotImplementedError

    def batch_length(self, array: np.ndarray) -> float:
        """The size one input takes of a batch budget."""
        raise NotImplementedError

    def batch_group(self, array: np.ndarray) -> tuple[int, ...] | None:
        """Inputs of different groups never share a batch (None: one group)."""
        return None

    def pad(self, arrays: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """One padded batch and its lengths."""
        raise NotImplementedError

    def positions(self, frames: Sequence[int], item: Loaded) -> list[float]:
        """Encoder frames of tokens -> their positions in the input file."""
        raise NotImplementedError

    def step(self, item: Loaded) -> float:
        """One encoder frame in the positions' unit (where the last word of a result ends)."""
        raise NotImplementedError


class SpeechInput(InputKind):
    """Audio files (any rate and channels: WAV, FLAC, OGG, ...); positions are token start times in seconds."""

    name, command, units = "speech", "transcribe", "utterances"
    path_key, position_key = AUDIO_KEY, "timestamps"
    suffixes = AUDIO_SUFFIXES
    default_budget = 120 * SAMPLE_RATE  # samples: two minutes of audio

    def load(self, source: Source, sample_rate: int = SAMPLE_RATE, name: str = "array") -> Loaded:
        if isinstance(source, Entry):
            return Loaded(source.load_audio(), offset=source.offset)
        if isinstance(source, np.ndarray):
            return Loaded(audio_from_array(source, sample_rate, name))
        return Loaded(load_audio(source))

    def batch_length(self, array: np.ndarray) -> float:
        return float(len(array))

    def pad(self, arrays: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_sequences([torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])

    def positions(self, frames: Sequence[int], item: Loaded) -> list[float]:
        seconds, start = self.model.frame_seconds, item.offset or 0.0  # times in the file, segment or not
        return [round(start + t * seconds, 3) for t in frames]

    def step(self, item: Loaded) -> float:
        return self.model.frame_seconds


class TextLineInput(InputKind):
    """Text-line images (PNG, JPEG, ...), resized to one of the model's multi-size shapes; positions
    are the pixel columns of tokens in the original image."""

    name, command, units = "text-line", "ocr", "lines"
    path_key, position_key = IMAGE_KEY, "x_positions"
    suffixes = IMAGE_SUFFIXES
    default_budget = 1_000_000  # pixels

    def load(self, source: Source, sample_rate: int = SAMPLE_RATE, name: str = "array") -> Loaded:
        if isinstance(source, np.ndarray):
            image = image_from_array(source, name)
        else:
            image = load_image(source.path if isinstance(source, Entry) else source)
        resized = resize_line(image, self.model.frontend.config)
        return Loaded(resized, image.shape[1] / resized.shape[1])

    def batch_length(self, array: np.ndarray) -> float:
        return float(array.shape[0] * array.shape[1])

    def batch_group(self, array: np.ndarray) -> tuple[int, ...]:
        return tuple(array.shape[:2])  # one multi-size shape per batch

    def pad(self, arrays: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_images([torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])

    def positions(self, frames: Sequence[int], item: Loaded) -> list[float]:
        stride = self.model.encoder.stride
        return [int(round((t + 0.5) * stride * item.scale)) for t in frames]

    def step(self, item: Loaded) -> float:
        return self.model.encoder.stride * item.scale


KINDS: dict[str, type[InputKind]] = {"logmel": SpeechInput, "image": TextLineInput}  # by frontend


def input_kind(model: Recognizer) -> InputKind:
    """The kind of input ``model`` reads."""
    return KINDS[model.kind](model)


def kind_of_path_key(key: str) -> type[InputKind]:
    """The input kind whose manifests name files by ``key``."""
    return next(kind for kind in KINDS.values() if kind.path_key == key)


def kind_of_command(command: str) -> type[InputKind]:
    """The input kind the ``recog`` command ``command`` reads."""
    return next(kind for kind in KINDS.values() if kind.command == command)
