"""Using a trained model: ``recog.load(path).transcribe(files)``.

Files are read, sorted by length and batched under a budget of padded samples, so batch padding
stays small; results come back in input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recog.audio import SAMPLE_RATE, AudioError, load_audio
from recog.data import pad_sequences
from recog.model import Recognizer
from recog.text import tokenizer_from_state


@dataclass
class Transcript:
    """One file's result; the fields are those of ``recog transcribe``'s JSON lines."""

    audio_filepath: str
    text: str
    tokens: list[str]
    timestamps: list[float]  # seconds, start of each token
    confidence: float
    token_confidences: list[float]
    score: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load(path: str | Path, device: str = "cpu") -> SpeechModel:
    """Load a checkpoint written by ``recog train`` (read with ``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    if "recog" not in checkpoint:
        raise ValueError(f"{path}: not a recog checkpoint (no 'recog' section)")
    info = checkpoint["recog"]
    model = Recognizer(tokenizer_from_state(info["tokenizer"]), **info["model"])
    weights = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
    model.load_state_dict(weights)
    return SpeechModel(model.eval().to(device))


class SpeechModel:
    """A trained speech Recognizer ready for inference."""

    def __init__(self, model: Recognizer) -> None:
        self.model = model

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def transcribe(self, files: Iterable[str | Path], head: str | None = None, beam: int = 1,
                   batch_seconds: float = 120.0) -> list[Transcript]:
        """Transcribe audio files; raises AudioError (naming the file) on the first bad one."""
        results = []
        for _path, result in self.transcribe_each(files, head=head, beam=beam, batch_seconds=batch_seconds):
            if isinstance(result, Exception):
                raise result
            results.append(result)
        return results

    def transcribe_each(self, files: Iterable[str | Path], head: str | None = None, beam: int = 1,
                        batch_seconds: float = 120.0) -> Iterator[tuple[str, Transcript | AudioError]]:
        """Yield ``(path, Transcript or AudioError)`` for every file in input order; a bad file
        never stops the others."""
        paths = [str(f) for f in files]
        outcomes: dict[int, Transcript | AudioError] = {}
        audio: dict[int, np.ndarray] = {}
        for i, path in enumerate(paths):
            try:
                audio[i] = load_audio(path)
            except AudioError as err:
                outcomes[i] = err
        for batch in batch_by_length(audio, int(batch_seconds * SAMPLE_RATE)):
            transcripts = self.transcribe_arrays([audio[i] for i in batch], [paths[i] for i in batch],
                                                 head=head, beam=beam)
            outcomes.update(zip(batch, transcripts, strict=True))
        for i, path in enumerate(paths):
            yield path, outcomes[i]

    @torch.no_grad()
    def transcribe_arrays(self, waveforms: list[np.ndarray], names: list[str], head: str | None = None,
                          beam: int = 1) -> list[Transcript]:
        """Transcribe one batch of 16 kHz mono float32 arrays."""
        padded, lengths = pad_sequences([torch.from_numpy(w) for w in waveforms])
        hyps = self.model.recognize(padded.to(self.device), lengths.to(self.device), head=head, beam=beam)
        tokenizer, frame = self.model.tokenizer, self.model.frame_seconds
        return [Transcript(audio_filepath=name, text=h.text, tokens=[tokenizer.id_to_piece(t) for t in h.tokens],
                           timestamps=[round(t * frame, 3) for t in h.timestamps],
                           confidence=round(h.confidence, 4),
                           token_confidences=[round(c, 4) for c in h.token_confidences], score=round(h.score, 4))
                for name, h in zip(names, hyps, strict=True)]


def batch_by_length(audio: dict[int, np.ndarray], max_samples: int) -> Iterator[list[int]]:
    """Group indices by length under ``len(batch) * longest <= max_samples`` (at least one each)."""
    batch: list[int] = []
    for i in sorted(audio, key=lambda i: len(audio[i])):
        if batch and (len(batch) + 1) * len(audio[i]) > max_samples:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch
