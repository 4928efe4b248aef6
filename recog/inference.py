"""Using a trained model: ``recog.load(path).transcribe(files)`` for speech and text lines alike.

Files are read first (a bad file becomes an error naming it, never a crash of the batch), then
grouped by the bucketing sampler (speech: similar lengths under a sample budget; images: one
multi-size shape per batch), decoded, and returned in input order. What differs between speech
and images lives in the model's input kind (``recog.inputs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from recog.audio import SAMPLE_RATE, AudioError
from recog.checkpoint import build_model, is_detector, read_model
from recog.data import BucketingBatchSampler, Entry
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions
from recog.image import ImageError
from recog.inputs import InputKind, Loaded, Source, input_kind
from recog.lm import CharNgramLM
from recog.model import Recognizer
from recog.models import default_model, resolve, resolve_lm
from recog_edge.audio_file import audio_blocks, audio_seconds
from recog_edge.segments import Segment, Word, add_piece, segments_of, words_of
from recog_edge.vad import LONG_SECONDS

if TYPE_CHECKING:
    from recog.pages import PageReader

InputError = (AudioError, ImageError)


@dataclass
class Recognition:
    """One input file's result.

    ``positions``: where each token starts in the input: seconds for speech, the pixel column in
    the original image for text lines. ``confidence`` is in [0, 1]; ``score`` is the search's
    log-probability; ``nbest`` (text, tokens, score, confidence; best first) only where asked for.
    ``to_json`` gives the fields of ``recog transcribe`` / ``recog ocr``'s JSON lines, which name
    the path and the positions as the input kind does (audio_filepath and timestamps;
    image_filepath and x_positions).
    """

    path: str
    text: str
    tokens: list[str]
    positions: list[float]
    confidence: float
    token_confidences: list[float]
    score: float
    path_key: str = field(repr=False)  # the JSON names: "audio_filepath" / "image_filepath"
    position_key: str = field(repr=False)  # "timestamps" / "x_positions"
    nbest: list[dict[str, Any]] = field(default_factory=list)
    offset: float | None = None  # where a manifest segment starts in its file (its positions count from the file)
    words: list[Word] = field(default_factory=list, repr=False)  # text, start, end, confidence of each word
    warning: str | None = None  # e.g. a long file that could be read only in part
    # words after a pause a long file was cut at -> when the speech of their piece starts
    breaks: dict[int, float] = field(default_factory=dict, repr=False)

    def segments(self, max_gap: float = 0.8, max_seconds: float = 8.0, max_chars: int = 84) -> list[Segment]:
        """The words grouped as subtitles: a new segment after a pause of ``max_gap`` seconds, at
        each pause a long recording was cut at, or before one would pass ``max_seconds`` or
        ``max_chars`` (``recog_edge.segments``)."""
        return segments_of(self.words, max_gap, max_seconds, max_chars, self.breaks)

    def to_json(self) -> dict[str, Any]:
        row = {self.path_key: self.path, **({"offset": self.offset} if self.offset is not None else {}),
               "text": self.text, "tokens": self.tokens, self.position_key: self.positions,
               "confidence": self.confidence, "token_confidences": self.token_confidences, "score": self.score}
        if self.nbest:
            row["nbest"] = self.nbest
        if self.warning:
            row["warning"] = self.warning
        return row


def load(path: str | Path, device: str = "cpu", att_context: tuple[int, int] | None = None,
         lm: str | Path | CharNgramLM | None = None, lines: str | Path | None = None
         ) -> RecognitionModel | PageReader:
    """Load a model: the name of a shipped model (``recog models``), a checkpoint written by
    ``recog train`` or a model folder (``recog.checkpoint``); never unpickles.

    A recogniser gives a RecognitionModel (``transcribe``). A text detector gives a PageReader
    (``read`` / ``read_pages``: whole images and PDFs) that reads its lines with ``lines`` (a
    text-line model; default: the shipped one), with the detection settings its info names
    (``info["detect"]``, e.g. the box threshold tuned on validation pages).

    ``att_context``: (left, right) attention context for a conformer trained with limited
    context (e.g. one of the look-aheads of a multi-latency model); default: its first.
    ``lm``: a character language model, its file (from ``recog lm``), or the name of a shipped
    model that ships one (e.g. "en-speech"), which CTC prefix beam search and transducer beam
    search then fuse (``beam`` > 1; ``lm_weight`` and ``lm_bonus`` search options).
    """
    if lm is not None and not isinstance(lm, CharNgramLM):
        lm = CharNgramLM.load(resolve_lm(lm))
    source = resolve(path)
    parts = read_model(source, device)
    if is_detector(parts):
        from recog.detection.detector import DetectionModel
        from recog.pages import PageReader
        from recog_edge.boxes import detect_options

        recognizer = load(lines or default_model("text-line"), device, lm=lm)
        if not isinstance(recognizer, RecognitionModel):
            raise ValueError(f"{lines}: a text detector, not a text-line model")
        detector = DetectionModel(build_model(parts, source).to(device), detect_options(parts.info.get("detect")))
        return PageReader(detector, recognizer)
    model = build_model(parts, source).to(device)
    att_context = att_context or parts.info.get("att_context")  # a shipped model may name its own
    if att_context is not None:
        if not hasattr(model.encoder, "set_att_context"):
            raise ValueError(f"{path}: this model's encoder has no attention context to set")
        model.encoder.set_att_context(*att_context)
    return RecognitionModel(model, lm=lm)


class RecognitionModel:
    """A trained Recognizer ready for inference on files or arrays.

    Speech models take audio files (any rate, channels, WAV/FLAC/OGG), text-line models image
    files; both give ``Recognition`` results.
    """

    CHUNK_INPUTS = 64  # inputs read, batched and decoded at a time: memory stays bounded, results come early
    LONG_SECONDS = LONG_SECONDS  # longer audio files are read in pieces cut at pauses (transcribe_long)

    def __init__(self, model: Recognizer, lm: CharNgramLM | None = None) -> None:
        self.model = model
        self.lm = lm
        self.input: InputKind = input_kind(model)

    @property
    def kind(self) -> str:
        """The frontend: "logmel" (speech) or "image" (text lines)."""
        return self.model.kind

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def transcribe(self, files: Iterable[Source], head: str | None = None, batch_size: int | None = None,
                   sample_rate: int = SAMPLE_RATE, batch_budget: float | None = None,
                   **search_options: Any) -> list[Recognition]:
        """Recognise every file (or array, or manifest entry); raises AudioError / ImageError
        (naming it) on a bad one. Arguments as ``transcribe_each``."""
        results = []
        for _path, result in self.transcribe_each(files, head=head, batch_size=batch_size, sample_rate=sample_rate,
                                                  batch_budget=batch_budget, **search_options):
            if isinstance(result, Exception):
                raise result
            results.append(result)
        return results

    def transcribe_each(self, files: Iterable[Source], head: str | None = None, batch_size: int | None = None,
                        sample_rate: int = SAMPLE_RATE, batch_budget: float | None = None,
                        progress: Callable[[str, float, float], None] | None = None,
                        **search_options: Any) -> Iterator[tuple[str, Recognition | Exception]]:
        """Yield ``(name, result or AudioError/ImageError)`` for every input in input order; a bad
        one never stops the others. Inputs are files, manifest entries (``recog.data``: a speech
        entry with an offset is its segment only) or arrays (audio at ``sample_rate`` Hz, mono or
        (N, C); images (H, W[, 3|4]) uint8), named "array N" in results and messages.
        ``batch_size``: at most this many inputs per batch; ``batch_budget``: at most this much
        padded input per batch (speech: samples, default 120 s; images: pixels, default 1M).
        ``search_options``: DecodingOptions fields, e.g. ``beam=4`` or ``search="diverse", nbest=4``.
        ``progress(name, seconds read, seconds in all)`` is called after each piece of a long file."""
        options = self.options(head, **search_options)  # bad options fail before any file is read
        sources = list(files)
        paths = [s.path if isinstance(s, Entry) else f"array {i}" if isinstance(s, np.ndarray) else str(s)
                 for i, s in enumerate(sources)]
        for start in range(0, len(sources), self.CHUNK_INPUTS):  # results come as each chunk is done
            chunk = range(start, min(start + self.CHUNK_INPUTS, len(sources)))
            outcomes: dict[int, Recognition | Exception] = {}
            items: dict[int, Loaded] = {}
            for i in chunk:
                try:
                    if (seconds := self.source_seconds(sources[i])) > self.LONG_SECONDS:
                        outcomes[i] = self.transcribe_long(sources[i], head, options, progress, seconds)
                    else:
                        items[i] = self.input.load(sources[i], sample_rate, paths[i])
                except InputError as err:
                    outcomes[i] = err
            loaded = {i: item.array for i, item in items.items()}
            for batch in self.plan_batches(loaded, batch_budget, batch_size):
                results = self.transcribe_arrays([loaded[i] for i in batch], [paths[i] for i in batch], head=head,
                                                 items=[items[i] for i in batch], options=options)
                outcomes.update(zip(batch, results, strict=True))
            for i in chunk:
                yield paths[i], outcomes[i]

    def source_seconds(self, source: Source) -> float:
        """The length of an audio file (or manifest entry's segment) in seconds, which decides whether
        it is read in pieces (``transcribe_long``, over ``LONG_SECONDS``); 0 for arrays and images."""
        if not isinstance(source, str | Path | Entry) or self.model.kind != "logmel":
            return 0.0
        if isinstance(source, Entry) and source.offset is not None and source.duration is not None:
            return source.duration
        return audio_seconds(source.path if isinstance(source, Entry) else source)

    def transcribe_long(self, source: str | Path | Entry, head: str | None, options: DecodingOptions,
                        progress: Callable[[str, float, float], None] | None = None,
                        total: float | None = None) -> Recognition:
        """A long recording in bounded memory and linear time: read from the file in blocks, cut
        into pieces of at most 30 s at pauses (``recog_edge.vad``), each decoded offline (the model's
        own context and search), joined into one result with file times. A file that stops
        decoding after some audio was read gives the text of what was read and a warning;
        ``progress(path, seconds read, seconds in all)`` follows the pieces; ``total``: the seconds
        in all where known (``source_seconds``)."""
        from recog_edge.features import WaveformIntake
        from recog_edge.vad import BLOCK_SECONDS, speech_pieces

        path = source.path if isinstance(source, Entry) else str(source)
        offset = source.offset if isinstance(source, Entry) else None
        segment = {"offset": offset, "duration": source.duration} if offset is not None else {}
        read, warning = [0.0], []
        total = self.source_seconds(source) if total is None else total

        def blocks() -> Iterator[tuple[int, np.ndarray]]:
            try:
                for rate, samples in audio_blocks(path, BLOCK_SECONDS, **segment):
                    read[0] += len(samples) / rate
                    yield rate, samples
            except AudioError as err:
                if not read[0]:
                    raise
                warning.append(f"truncated: read the first {read[0]:.1f} s, then {str(err).removeprefix(f'{path}: ')}")

        parts: list[Recognition] = []
        words: list[Word] = []
        breaks: dict[int, float] = {}
        pieces = speech_pieces(WaveformIntake(SAMPLE_RATE).resampled(blocks()), SAMPLE_RATE)
        for start, end, speech, lead in pieces:
            if speech is not None:  # silence or steady noise says nothing
                item = Loaded(speech, offset=(offset or 0.0) + start)
                [part] = self.transcribe_arrays([speech], [path], head=head, options=options, items=[item])
                add_piece(words, breaks, part.words, round(item.offset + lead, 3))  # its segment starts with its speech
                parts.append(part)
            if progress is not None:
                progress(path, end, total)
        weights = [len(r.tokens) or 1 for r in parts]
        return Recognition(
            path=path, text=" ".join(r.text for r in parts if r.text), tokens=[t for r in parts for t in r.tokens],
            positions=[p for r in parts for p in r.positions],
            confidence=round(float(np.average([r.confidence for r in parts], weights=weights)), 4) if parts else 0.0,
            token_confidences=[c for r in parts for c in r.token_confidences],
            score=round(sum(r.score for r in parts), 4), path_key=self.input.path_key,
            position_key=self.input.position_key, offset=offset, words=words, breaks=breaks,
            warning=warning[0] if warning else None)

    def options(self, head: str | None = None, **search_options: Any) -> DecodingOptions:
        """``search_options`` as DecodingOptions, checked against the ``head`` and this model's
        language model (``Recognizer.check``)."""
        options = DecodingOptions(**search_options)
        self.model.check(options, head, self.lm is not None)
        return options

    def plan_batches(self, loaded: dict[int, np.ndarray], budget: float | None, batch_size: int | None = None
                     ) -> list[list[int]]:
        """Indices of loaded inputs grouped into batches under a padded-size ``budget`` and at most
        ``batch_size`` inputs each (see ``transcribe_each``)."""
        if not loaded:
            return []
        index = sorted(loaded)
        lengths = [self.input.batch_length(loaded[i]) for i in index]
        groups = [self.input.batch_group(loaded[i]) for i in index]
        budget = budget or self.input.default_budget
        sampler = BucketingBatchSampler(lengths, max_frames=max(budget, max(lengths)), shuffle=False,
                                        max_batch_size=batch_size, groups=None if groups[0] is None else groups)
        return [[index[j] for j in batch] for batch in sampler.batches()]

    @torch.no_grad()
    def encode_arrays(self, inputs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad one batch (the inputs of ``transcribe_arrays``) and run the frontend and encoder:
        h (B, T, D) and h_lengths (B,), ready for ``self.model.decode``."""
        padded, lengths = self.input.pad(inputs)
        return self.model.encode(padded.to(self.device), lengths.to(self.device))

    @torch.no_grad()
    def transcribe_arrays(self, inputs: list[np.ndarray], names: list[str], head: str | None = None,
                          scales: list[float] | None = None, options: DecodingOptions | None = None,
                          items: list[Loaded] | None = None, **search_options: Any) -> list[Recognition]:
        """Recognise one batch: 16 kHz mono float32 waveforms, or uint8 (H, W, 3) images already
        at their multi-size target (``recog.image.resize_line``); ``items`` (``recog.inputs.Loaded``)
        or just their ``scales`` map positions back to the files (default: the arrays are the files).
        ``options`` or ``search_options``: how to search."""
        options = options or self.options(head, **search_options)
        h, h_lengths = self.encode_arrays(inputs)
        hyps = self.model.decode(h, h_lengths, head=head, lm=self.lm, options=options)
        items = items or [Loaded(x, scale) for x, scale in zip(inputs, scales or [1.0] * len(inputs), strict=True)]
        return [self.result(name, hyp, item) for name, hyp, item in zip(names, hyps, items, strict=True)]

    def result(self, name: str, hyp: Hypothesis, item: Loaded) -> Recognition:
        """A hypothesis of the input ``name`` (loaded as ``item``) as a Recognition."""
        return Recognition(
            path=name, text=hyp.text, tokens=self._pieces(hyp), positions=self.input.positions(hyp.timestamps, item),
            confidence=round(hyp.confidence, 4), token_confidences=[round(c, 4) for c in hyp.token_confidences],
            score=round(hyp.score, 4), path_key=self.input.path_key, position_key=self.input.position_key,
            offset=item.offset, words=words_of(self._pieces(hyp), self.input.positions(hyp.timestamps, item),
                                               hyp.token_confidences, self.input.step(item)),
            nbest=[{"text": alt.text, "tokens": self._pieces(alt), "score": round(alt.score, 4),
                    "confidence": round(alt.confidence, 4)} for alt in hyp.nbest])

    def _pieces(self, hyp: Hypothesis) -> list[str]:
        return [self.model.tokenizer.id_to_piece(t) for t in hyp.tokens]
