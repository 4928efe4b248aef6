"""Cache-aware streaming recognition over a Recognizer, in the shape sherpa-onnx users know::

    recognizer = StreamingRecognizer(recog.load("model.ckpt", att_context=(64, 3)))
    stream = recognizer.create_stream()
    stream.accept_waveform(16000, samples)      # any amount, any rate, as it arrives
    recognizer.decode(stream)                    # runs every chunk that is complete
    print(stream.result.text)                    # partial text of the current utterance
    stream.input_finished(); recognizer.decode(stream)

Audio becomes log-mel frames incrementally (the same frames the offline frontend gives), frames
become encoder chunks of ``right + 1`` frames through ``ConformerEncoder.forward_chunk`` and its
fixed-size caches, and the head's search state (CTC greedy, transducer greedy or beam) is carried
from chunk to chunk. Without endpointing the final text equals offline decoding with the same
attention context. With endpointing, trailing silence after speech (or a maximum length) closes
the utterance: its text moves to ``result.segments`` and the search restarts; the encoder keeps
its caches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import soxr
import torch

from recog.audio import SAMPLE_RATE, LogMel
from recog.encoders.conformer import StreamingCache
from recog.heads.ctc import greedy_decode
from recog.lm import CharNgramLM, LMFusion
from recog.model import Recognizer
from recog_edge.features import ChunkQueue, FeatureStream, as_float_samples


@dataclass(frozen=True)
class EndpointConfig:
    """When an utterance ends. ``trailing_silence``: seconds without a new token after at least
    one token; ``max_utterance``: seconds since the utterance started. ``enabled=False`` keeps one
    utterance for the whole stream (what offline decoding of the same file gives)."""

    enabled: bool = True
    trailing_silence: float = 1.2
    max_utterance: float = 20.0


@dataclass
class StreamResult:
    """What a stream has recognised so far.

    text: the current utterance so far (partial); stable_text: the part of it no later audio can
    change (all of it for greedy search; the prefix all beams share for transducer beam search);
    tokens / timestamps: pieces of the current utterance and their start times in seconds from the
    start of the stream; segments: finished utterances, oldest first.
    """

    text: str = ""
    stable_text: str = ""
    tokens: list[str] = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)


class TorchFrames:
    """recog's torch ``LogMel`` as a ``recog_edge.features.FrameSource``: one buffering code
    (``FeatureStream``) serves the torch and the edge runtimes."""

    def __init__(self, logmel: LogMel) -> None:
        self.logmel = logmel
        c = logmel.config
        self.n_fft, self.hop, self.n_mels = c.n_fft, c.hop_length, c.n_mels

    @torch.no_grad()
    def frames(self, padded: np.ndarray) -> np.ndarray:
        window = torch.from_numpy(np.ascontiguousarray(padded, dtype=np.float32))[None]
        return self.logmel.frames(window.to(self.logmel.window.device))[0].cpu().numpy()


class _Search:
    """One stream's search state for the current utterance; frame indices count from its start."""

    def __init__(self, model: Recognizer, head: str, beam: int, fusion: LMFusion | None = None) -> None:
        self.head_name, self.head, self.beam, self.fusion = head, model.heads[head], beam, fusion
        self.reset()

    def reset(self) -> None:
        device = next(self.head.parameters()).device
        self.frames = 0
        self.last_emit = -1  # frame of the newest token, -1 before any
        if self.head_name == "ctc":
            self.tokens: list[int] = []
            self.stamps: list[int] = []
            self.last_id = 0
        elif self.beam > 1:
            self.state = self.head.beam_start(device)
        else:
            self.state = self.head.greedy_start(1, device)

    def advance(self, h: torch.Tensor, n: int) -> None:
        """h: (1, T, D) encodings of which the first n are valid."""
        lengths = torch.tensor([n], device=h.device)
        if self.head_name == "ctc":
            log_probs = self.head(h[:, :n])
            hyp = greedy_decode(log_probs, lengths, last=torch.tensor([self.last_id]))[0]
            self.tokens += hyp.tokens
            self.stamps += [self.frames + t for t in hyp.timestamps]
            if n:
                self.last_id = int(log_probs[0, n - 1].argmax())
        elif self.beam > 1:
            self.head.beam_advance(self.state, h[0, :n], self.beam, self.fusion)
        else:
            self.head.greedy_advance(self.state, h[:, :n], lengths, self.head.max_symbols)
        self.frames += n
        stamps = self.timestamps()
        if stamps:
            self.last_emit = stamps[-1]

    def output(self, final: bool = False) -> tuple[list[int], list[int], list[int]]:
        """(tokens, timestamps, stable tokens) of the best hypothesis so far; ``final``: the
        utterance ends here (a fused LM then also scores the end of its text, as offline)."""
        if self.head_name == "ctc":
            return self.tokens, self.stamps, self.tokens
        if self.beam > 1:
            best = self.state.best(self.fusion if final else None)
            return best.tokens, best.timestamps, self.state.stable_tokens()
        return self.state.tokens[0], self.state.stamps[0], self.state.tokens[0]

    def timestamps(self) -> list[int]:
        return self.output()[1]


class Stream:
    """One audio stream: feed it samples; read ``result``. Made by ``StreamingRecognizer.create_stream``."""

    def __init__(self, recognizer: StreamingRecognizer) -> None:
        self._recognizer = recognizer
        model = recognizer.model
        self._features = FeatureStream(TorchFrames(model.frontend))
        self._queue = ChunkQueue(model.frontend.config.n_mels)
        self.cache: StreamingCache = model.encoder.init_cache(1, device=recognizer.device)
        self._search = _Search(model, recognizer.head, recognizer.beam, recognizer.fusion)
        self._resampler: soxr.ResampleStream | None = None
        self._rate: int | None = None
        self.frames = 0  # encoder frames decoded since the stream started
        self._segment_start = 0
        self.result = StreamResult()

    def accept_waveform(self, sample_rate: int, samples: np.ndarray) -> None:
        """Append audio: float samples in [-1, 1] (or int16), mono, at ``sample_rate`` Hz."""
        if self.finished:
            raise ValueError("accept_waveform after input_finished")
        if self._rate is None:
            self._rate = int(sample_rate)
            if self._rate != SAMPLE_RATE:
                self._resampler = soxr.ResampleStream(self._rate, SAMPLE_RATE, 1, dtype="float32")
        elif int(sample_rate) != self._rate:
            raise ValueError(f"sample rate changed mid-stream from {self._rate} to {sample_rate} Hz")
        samples = as_float_samples(samples)
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        self._queue.push(self._features.accept(samples))

    def input_finished(self) -> None:
        """No more audio will come: the last partial chunk is decoded by the next ``decode``."""
        if self.finished:
            return
        if self._resampler is not None:
            self._queue.push(self._features.accept(
                self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)))
        self._queue.push(self._features.finish())
        self._queue.finished = True

    @property
    def finished(self) -> bool:
        return self._queue.finished

    def _update_result(self, final: bool = False) -> None:
        tokenizer = self._recognizer.model.tokenizer
        tokens, stamps, stable = self._search.output(final or self.finished)
        seconds = self._recognizer.model.frame_seconds
        self.result.text = tokenizer.decode(tokens)
        self.result.stable_text = tokenizer.decode(stable)
        self.result.tokens = [tokenizer.id_to_piece(t) for t in tokens]
        self.result.timestamps = [round((self._segment_start + t) * seconds, 3) for t in stamps]

    def _endpoint(self) -> None:
        """Close the current utterance if the endpoint rule fires."""
        rule = self._recognizer.endpoint
        if not rule.enabled:
            return
        seconds = self._recognizer.model.frame_seconds
        search = self._search
        silence = (search.frames - 1 - search.last_emit) * seconds
        spoke = search.last_emit >= 0
        if (spoke and silence >= rule.trailing_silence) or search.frames * seconds >= rule.max_utterance:
            if search.fusion is not None:  # the utterance ends: rank its hypotheses as finished texts
                self._update_result(final=True)
            if self.result.text:
                self.result.segments.append(self.result.text)
            self._segment_start = self.frames
            search.reset()
            self._update_result()

    def final_text(self) -> str:
        """Every finished utterance and the current one, joined by spaces."""
        return " ".join(s for s in [*self.result.segments, self.result.text] if s)


class StreamingRecognizer:
    """Streaming recognition with a cache-aware (causal, limited-context) speech Recognizer.

    Args:
        model: a Recognizer or a loaded RecognitionModel (``recog.load``).
        head: "ctc" or "rnnt" (default: the model's default head).
        beam: 1 = greedy; > 1 = transducer modified beam search.
        att_context: (left, right) to use instead of the encoder's current context; the chunk is
            ``right + 1`` encoder frames.
        endpoint: the endpoint rule (``EndpointConfig(enabled=False)`` for one utterance).
        lm, lm_weight, lm_bonus: a character language model fused into transducer beam search
            (``beam`` > 1), as offline (``recog.lm``); default: the LM ``recog.load(..., lm=...)``
            attached to ``model``, if any (pass ``model.model``, the bare Recognizer, to stream
            without it).
    """

    def __init__(self, model: object, head: str | None = None, beam: int = 1,
                 att_context: tuple[int, int] | None = None, endpoint: EndpointConfig | None = None,
                 lm: CharNgramLM | None = None, lm_weight: float = 0.5, lm_bonus: float = 1.0) -> None:
        lm = lm if lm is not None else getattr(model, "lm", None)
        self.model: Recognizer = getattr(model, "model", model)
        if self.model.kind != "logmel":
            raise ValueError("streaming needs a speech model")
        self.model.eval()
        if att_context is not None:
            self.model.encoder.set_att_context(*att_context)
        self.model.encoder.init_cache(1)  # raises if the encoder cannot stream
        self.head = head or self.model.default_head
        if self.head not in ("ctc", "rnnt") or self.head not in self.model.heads:
            raise ValueError(f"streaming decodes with a 'ctc' or 'rnnt' head of the model; got {self.head!r} "
                             f"(the model has {list(self.model.heads)})")
        if beam > 1 and self.head == "ctc":
            raise ValueError("streaming CTC decoding is greedy; beam search streams with the rnnt head")
        if lm is not None and (self.head != "rnnt" or beam <= 1):
            raise ValueError("a language model streams with transducer beam search: "
                             "use the rnnt head and a beam above 1")
        self.beam = beam
        self.fusion = self.model.lm_fusion(lm, lm_weight, lm_bonus) if lm is not None else None
        self.endpoint = endpoint or EndpointConfig()
        self.device = next(self.model.parameters()).device

    @property
    def chunk_seconds(self) -> float:
        """Audio per encoder chunk: the algorithmic latency, less the 16 ms of the fbank window."""
        return self.model.encoder.chunk_frames * self.model.frame_seconds

    def create_stream(self) -> Stream:
        return Stream(self)

    def is_ready(self, stream: Stream) -> bool:
        return stream._queue.ready(self.model.encoder.chunk_features)

    def decode(self, stream: Stream) -> None:
        """Decode every complete chunk of ``stream`` (and, once its input is finished, the rest)."""
        self.decode_streams([stream])

    @torch.no_grad()
    def decode_streams(self, streams: list[Stream]) -> None:
        """Decode all ready chunks of several streams, batching their chunks through the encoder."""
        chunk = self.model.encoder.chunk_features
        while True:
            ready = [s for s in streams if s._queue.ready(chunk)]
            if not ready:
                return
            chunks, lengths = zip(*(s._queue.pop(chunk) for s in ready), strict=True)
            cache = stack_caches([s.cache for s in ready])
            h, h_lengths, cache = self.model.encoder.forward_chunk(
                torch.from_numpy(np.stack(chunks)).to(self.device), torch.tensor(lengths, device=self.device), cache)
            for i, (stream, own) in enumerate(zip(ready, split_cache(cache), strict=True)):
                n = int(h_lengths[i])
                stream.cache = own
                stream._search.advance(h[i: i + 1], n)
                stream.frames += n
                stream._update_result()
                stream._endpoint()


def stack_caches(caches: list[StreamingCache]) -> StreamingCache:
    """Per-stream caches (batch 1 each) -> one batched cache."""
    return StreamingCache(
        subsampling=[torch.cat(parts) for parts in zip(*(c.subsampling for c in caches), strict=True)],
        last_channel=torch.cat([c.last_channel for c in caches], dim=1),
        last_time=torch.cat([c.last_time for c in caches], dim=1),
        length=torch.cat([c.length for c in caches]))


def split_cache(cache: StreamingCache) -> list[StreamingCache]:
    """A batched cache -> one batch-1 cache per stream."""
    return [StreamingCache(subsampling=[s[i: i + 1] for s in cache.subsampling],
                           last_channel=cache.last_channel[:, i: i + 1], last_time=cache.last_time[:, i: i + 1],
                           length=cache.length[i: i + 1]) for i in range(len(cache.length))]
