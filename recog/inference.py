"""Using a trained model: ``recog.load(path).transcribe(files)`` for speech and text lines alike.

Files are read first (a bad file becomes an error naming it, never a crash of the batch), then
grouped by the bucketing sampler (speech: similar lengths under a sample budget; images: one
multi-size shape per batch), decoded, and returned in input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recog.audio import SAMPLE_RATE, AudioError, load_audio
from recog.data import AUDIO_KEY, IMAGE_KEY, BucketingBatchSampler, pad_images, pad_sequences
from recog.heads.search import DecodingOptions
from recog.hypothesis import Hypothesis
from recog.image import ImageError, load_image, resize_line
from recog.lm import CharNgramLM
from recog.model import Recognizer
from recog.text import tokenizer_from_state

InputError = (AudioError, ImageError)


@dataclass
class Transcript:
    """One speech file's result; the fields are those of ``recog transcribe``'s JSON lines."""

    audio_filepath: str
    text: str
    tokens: list[str]
    timestamps: list[float]  # seconds, start of each token
    confidence: float
    token_confidences: list[float]
    score: float
    nbest: list[dict[str, Any]] = field(default_factory=list)  # text, tokens, score, confidence; best first

    def to_json(self) -> dict[str, Any]:
        return _json_row(self)


@dataclass
class LineReading:
    """One text-line image's result; the fields are those of ``recog ocr``'s JSON lines."""

    image_filepath: str
    text: str
    tokens: list[str]
    x_positions: list[int]  # pixel column of each token in the original image
    confidence: float
    token_confidences: list[float]
    score: float
    nbest: list[dict[str, Any]] = field(default_factory=list)  # text, tokens, score, confidence; best first

    def to_json(self) -> dict[str, Any]:
        return _json_row(self)


Result = Transcript | LineReading


def _json_row(result: Result) -> dict[str, Any]:
    """The result's fields; ``nbest`` only where an n-best list was asked for."""
    row = asdict(result)
    if not row["nbest"]:
        del row["nbest"]
    return row


def recognizer_weights(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The Recognizer's state dict inside a ``recog train`` checkpoint (whose keys carry the
    training module's ``model.`` prefix)."""
    return {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}


def load(path: str | Path, device: str = "cpu", att_context: tuple[int, int] | None = None,
         lm: str | Path | CharNgramLM | None = None) -> RecognitionModel:
    """Load a checkpoint written by ``recog train`` (read with ``weights_only=True``).

    ``att_context``: (left, right) attention context for a conformer trained with limited
    context (e.g. one of the look-aheads of a multi-latency model); default: its first.
    ``lm``: a character language model (or its file, from ``recog lm``) that CTC prefix beam
    search and transducer beam search then fuse (``beam`` > 1; ``lm_weight`` and ``lm_bonus``
    search options).
    """
    if lm is not None and not isinstance(lm, CharNgramLM):
        lm = CharNgramLM.load(lm)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: not a readable checkpoint ({type(err).__name__})") from None
    if not isinstance(checkpoint, dict) or "recog" not in checkpoint:
        raise ValueError(f"{path}: not a recog checkpoint (no 'recog' section)")
    info = checkpoint["recog"]
    model = Recognizer(tokenizer_from_state(info["tokenizer"]), **info["model"])
    model.load_state_dict(recognizer_weights(checkpoint))
    if att_context is not None:
        if not hasattr(model.encoder, "set_att_context"):
            raise ValueError(f"{path}: this model's encoder has no attention context to set")
        model.encoder.set_att_context(*att_context)
    return RecognitionModel(model.eval().to(device), lm=lm)


class RecognitionModel:
    """A trained Recognizer ready for inference on files or arrays.

    Speech models take audio files (any rate, channels, WAV/FLAC/OGG) and give Transcripts;
    text-line models take image files and give LineReadings.
    """

    def __init__(self, model: Recognizer, lm: CharNgramLM | None = None) -> None:
        self.model = model
        self.lm = lm
        self.kind = model.kind
        self.path_key = AUDIO_KEY if self.kind == "logmel" else IMAGE_KEY

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def transcribe(self, files: Iterable[str | Path], head: str | None = None, batch_size: float | None = None,
                   **search_options: Any) -> list[Result]:
        """Recognise every file; raises AudioError / ImageError (naming the file) on a bad one.
        ``search_options``: DecodingOptions fields, e.g. ``beam=4`` or ``search="diverse", nbest=4``."""
        results = []
        for _path, result in self.transcribe_each(files, head=head, batch_size=batch_size, **search_options):
            if isinstance(result, Exception):
                raise result
            results.append(result)
        return results

    def transcribe_each(self, files: Iterable[str | Path], head: str | None = None, batch_size: float | None = None,
                        **search_options: Any) -> Iterator[tuple[str, Result | Exception]]:
        """Yield ``(path, result or AudioError/ImageError)`` for every file in input order; a bad
        file never stops the others. ``batch_size``: padded samples (speech, default 120 s) or
        pixels (images, default 1M) per batch. ``search_options``: DecodingOptions fields."""
        options = DecodingOptions(**search_options)  # bad options fail before any file is read
        if self.lm is not None and options.search not in ("beam", "rescore"):
            raise ValueError(f"a language model is fused into beam search; {options.search} search "
                             "cannot use it (use beam search, beam > 1, or search 'rescore')")
        paths = [str(f) for f in files]
        outcomes: dict[int, Result | Exception] = {}
        loaded: dict[int, np.ndarray] = {}
        originals: dict[int, tuple[int, int]] = {}
        for i, path in enumerate(paths):
            try:
                if self.kind == "logmel":
                    loaded[i] = load_audio(path)
                else:
                    image = load_image(path)
                    originals[i] = (image.shape[1], image.shape[0])
                    loaded[i] = resize_line(image, self.model.frontend.config)
            except InputError as err:
                outcomes[i] = err
        for batch in self.plan_batches(loaded, batch_size):
            results = self.transcribe_arrays([loaded[i] for i in batch], [paths[i] for i in batch], head=head,
                                             original_widths=[originals.get(i, (0, 0))[0] for i in batch],
                                             **search_options)
            outcomes.update(zip(batch, results, strict=True))
        for i, path in enumerate(paths):
            yield path, outcomes[i]

    def plan_batches(self, loaded: dict[int, np.ndarray], budget: float | None) -> list[list[int]]:
        """Indices of loaded inputs grouped into batches (see ``transcribe_each``)."""
        if not loaded:
            return []
        index = sorted(loaded)
        if self.kind == "logmel":
            lengths, groups = [float(len(loaded[i])) for i in index], None
            budget = budget or 120 * SAMPLE_RATE
        else:
            lengths = [float(loaded[i].shape[0] * loaded[i].shape[1]) for i in index]
            groups = [loaded[i].shape[:2] for i in index]
            budget = budget or 1_000_000
        sampler = BucketingBatchSampler(lengths, max_frames=max(budget, max(lengths)), shuffle=False, groups=groups)
        return [[index[j] for j in batch] for batch in sampler.batches()]

    @torch.no_grad()
    def encode_arrays(self, inputs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad one batch (the inputs of ``transcribe_arrays``) and run the frontend and encoder:
        h (B, T, D) and h_lengths (B,), ready for ``self.model.decode``."""
        tensors = [torch.from_numpy(np.ascontiguousarray(x)) for x in inputs]
        padded, lengths = (pad_sequences if self.kind == "logmel" else pad_images)(tensors)
        return self.model.encode(padded.to(self.device), lengths.to(self.device))

    @torch.no_grad()
    def transcribe_arrays(self, inputs: list[np.ndarray], names: list[str], head: str | None = None,
                          original_widths: list[int] | None = None, **search_options: Any) -> list[Result]:
        """Recognise one batch: 16 kHz mono float32 waveforms, or uint8 (H, W, 3) images already
        at their multi-size target (``recog.image.resize_line``). ``search_options``: DecodingOptions fields."""
        h, h_lengths = self.encode_arrays(inputs)
        hyps = self.model.decode(h, h_lengths, head=head, lm=self.lm, **search_options)
        if self.kind == "logmel":
            return [self._transcript(name, h) for name, h in zip(names, hyps, strict=True)]
        widths = original_widths or [x.shape[1] for x in inputs]
        return [self._reading(name, h, x.shape[1], w or x.shape[1])
                for name, h, x, w in zip(names, hyps, inputs, widths, strict=True)]

    def _pieces(self, h: Hypothesis) -> list[str]:
        return [self.model.tokenizer.id_to_piece(t) for t in h.tokens]

    def _common(self, h: Hypothesis) -> dict[str, Any]:
        return {"text": h.text, "tokens": self._pieces(h), "confidence": round(h.confidence, 4),
                "token_confidences": [round(c, 4) for c in h.token_confidences], "score": round(h.score, 4),
                "nbest": [{"text": alt.text, "tokens": self._pieces(alt), "score": round(alt.score, 4),
                           "confidence": round(alt.confidence, 4)} for alt in h.nbest]}

    def _transcript(self, name: str, h: Hypothesis) -> Transcript:
        frame = self.model.frame_seconds
        return Transcript(audio_filepath=name, timestamps=[round(t * frame, 3) for t in h.timestamps],
                          **self._common(h))

    def _reading(self, name: str, h: Hypothesis, resized_width: int, original_width: int) -> LineReading:
        stride = self.model.encoder.stride
        scale = original_width / resized_width
        return LineReading(image_filepath=name, x_positions=[int(round((t + 0.5) * stride * scale))
                                                             for t in h.timestamps], **self._common(h))
