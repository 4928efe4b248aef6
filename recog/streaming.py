"""Cache-aware streaming recognition over a Recognizer, with sherpa-onnx's API::

    recognizer = StreamingRecognizer(recog.load("en-speech"), endpoint=EndpointConfig(reset=False))
    stream = recognizer.create_stream()
    stream.accept_waveform(44100, samples)      # any amount, any rate, as it arrives
    while recognizer.is_ready(stream):
        recognizer.decode_stream(stream)         # one encoder chunk
        if recognizer.is_endpoint(stream):
            print(recognizer.get_result(stream)) # the utterance's text
            recognizer.reset(stream)             # the application closes the utterance
    stream.input_finished()                      # then the same loop once more

With the default ``EndpointConfig()`` the recognizer closes utterances itself and keeps their
texts in ``stream.result.segments``; ``decode(stream)`` runs every ready chunk at once.

Audio becomes log-mel frames incrementally (the same frames the offline frontend gives), frames
become encoder chunks of ``right + 1`` frames through ``ConformerEncoder.forward_chunk`` and its
fixed-size caches, and the head's streaming search (``Head.stream_search``: CTC greedy,
transducer greedy or beam) is carried from chunk to chunk. Without endpointing the final text
equals offline decoding with the same attention context. With endpointing, trailing silence
after speech (or a maximum length) closes the utterance: its text moves to ``result.segments``
and the search restarts; the encoder keeps its caches.
"""

from __future__ import annotations

import numpy as np
import torch

from recog.audio import SAMPLE_RATE, LogMel
from recog.decoding.options import DecodingOptions
from recog.encoders.conformer import StreamingCache
from recog.heads.base import StreamSearch
from recog.lm import CharNgramLM
from recog.model import Recognizer
from recog_edge.endpoint import EndpointConfig, endpoint_reached
from recog_edge.features import ChunkQueue, FeatureStream, WaveformIntake
from recog_edge.results import StreamResult


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


class Stream:
    """One audio stream: feed it samples; read ``result``. Made by ``StreamingRecognizer.create_stream``."""

    def __init__(self, recognizer: StreamingRecognizer) -> None:
        self._recognizer = recognizer
        model = recognizer.model
        self._features = FeatureStream(TorchFrames(model.frontend))
        self._queue = ChunkQueue(model.frontend.config.n_mels)
        self.cache: StreamingCache = model.encoder.init_cache(1, device=recognizer.device)
        self._search = recognizer.new_search()
        self._last_emit = -1  # frame of the current utterance's newest token, -1 before any
        self._intake = WaveformIntake(SAMPLE_RATE)
        self.frames = 0  # encoder frames decoded since the stream started
        self._segment_start = 0
        self._endpoint_fired = False  # a rule fired and the utterance is not closed yet (reset=False)
        self.result = StreamResult()

    def accept_waveform(self, sample_rate: int, samples: np.ndarray) -> None:
        """Append audio: float samples in [-1, 1] (or int16), mono, at ``sample_rate`` Hz."""
        if self.finished:
            raise ValueError("accept_waveform after input_finished")
        self._queue.push(self._features.accept(self._intake.accept(sample_rate, samples)))

    def input_finished(self) -> None:
        """No more audio will come: the last partial chunk is decoded by the next ``decode``."""
        if self.finished:
            return
        self._queue.push(self._features.accept(self._intake.finish()))
        self._queue.push(self._features.finish())
        self._queue.finished = True

    @property
    def finished(self) -> bool:
        return self._queue.finished

    def _update_result(self, final: bool = False) -> None:
        tokenizer = self._recognizer.model.tokenizer
        tokens, stamps, stable = self._search.output(final or self.finished)
        if stamps:
            self._last_emit = stamps[-1]
        seconds = self._recognizer.model.frame_seconds
        self.result.text = tokenizer.decode(tokens)
        self.result.stable_text = tokenizer.decode(stable)
        self.result.tokens = [tokenizer.id_to_piece(t) for t in tokens]
        self.result.timestamps = [round((self._segment_start + t) * seconds, 3) for t in stamps]

    def _endpoint(self) -> None:
        """Close the current utterance if the endpoint rule fires."""
        rule = self._recognizer.endpoint
        if endpoint_reached(rule, self._search.frames, self._last_emit, self._recognizer.model.frame_seconds):
            self._endpoint_fired = True
            if rule.reset:
                self.close_utterance()

    def close_utterance(self) -> None:
        """End the current utterance here: its text moves to ``result.segments`` (if any) and the
        search restarts; the encoder keeps its caches."""
        if self._recognizer.fusion is not None:  # the utterance ends: rank its hypotheses as finished texts
            self._update_result(final=True)
        if self.result.text:
            self.result.segments.append(self.result.text)
        self._segment_start = self.frames
        self._search.reset()
        self._last_emit = -1
        self._endpoint_fired = False
        self._update_result()

    def final_text(self) -> str:
        """Every finished utterance and the current one, joined by spaces."""
        return " ".join(s for s in [*self.result.segments, self.result.text] if s)


class StreamingRecognizer:
    """Streaming recognition with a cache-aware (causal, limited-context) speech Recognizer.

    Args:
        model: a Recognizer or a loaded RecognitionModel (``recog.load``).
        head: a head that streams (``Head.stream_search``: "ctc" greedy, "rnnt" greedy or beam;
            default: the model's default head).
        beam: 1 = greedy; > 1 = beam search (transducer modified beam search).
        att_context: (left, right) to use instead of the encoder's current context; the chunk is
            ``right + 1`` encoder frames. Default: the current context, or where that is unlimited
            (a unified offline/streaming model) the first limited context it was trained with.
        endpoint: the endpoint rule (``EndpointConfig(enabled=False)`` for one utterance).
        lm, lm_weight, lm_bonus: a character language model fused into transducer beam search
            (``beam`` > 1), as offline (``recog.lm``; weights None: its tuned setting, else recog's
            defaults); default: the LM ``recog.load(..., lm=...)``
            attached to ``model``, if any (pass ``model.model``, the bare Recognizer, to stream
            without it).
        ilme_weight: with ``lm``, the transducer's internal LM subtracted (as offline,
            ``DecodingOptions.ilme_weight``; None: the LM's tuned setting, else 0).
    """

    def __init__(self, model: object, head: str | None = None, beam: int = 1,
                 att_context: tuple[int, int] | None = None, endpoint: EndpointConfig | None = None,
                 lm: CharNgramLM | None = None, lm_weight: float | None = None,
                 lm_bonus: float | None = None, ilme_weight: float | None = None) -> None:
        lm = lm if lm is not None else getattr(model, "lm", None)
        self.model: Recognizer = getattr(model, "model", model)
        if not hasattr(self.model.encoder, "init_cache"):
            raise ValueError("streaming needs a speech model with a cache-aware encoder")
        self.model.eval()
        if att_context is not None:
            self.model.encoder.set_att_context(*att_context)
        else:
            self.model.encoder.use_streaming_context()
        self.model.encoder.init_cache(1)  # raises if the encoder cannot stream
        self.head = head or self.model.default_head
        self.options = DecodingOptions(beam=beam)
        decoder = self.model.head(self.head)
        if ilme_weight and lm is None:
            raise ValueError("ilme_weight subtracts the transducer's internal LM where a language model is fused: "
                             "give an LM (lm, --lm)")
        self.fusion = self.model.lm_fusion(lm, lm_weight, lm_bonus, self.head, ilme_weight) if lm is not None else None
        if self.fusion is not None and not decoder.fusable or self.fusion is not None and beam <= 1:
            beam_options = DecodingOptions(beam=max(beam, 2))
            able = [f"the {n} head" for n, h in self.model.heads.items()
                    if "beam" in h.fusable and h.stream_search(beam_options, self.fusion) is not None]
            raise ValueError(f"a language model streams with the beam search of {' or '.join(able) or 'no head'} "
                             f"of this model (transducer beam search): a beam above 1")
        decoder.check(self.options, self.fusion is not None, self.head)
        if decoder.stream_search(self.options) is None:
            able = [f"the {n} head" for n, h in self.model.heads.items() if h.stream_search(self.options) is not None]
            raise ValueError(f"the {self.head!r} head cannot stream {self.options.search} search; "
                             + (f"this model streams it with {' or '.join(able)}" if able else
                                "no head of this model can (streaming searches: CTC greedy, transducer greedy "
                                "and beam)"))
        self.endpoint = endpoint or EndpointConfig()
        self.device = next(self.model.parameters()).device

    @property
    def chunk_seconds(self) -> float:
        """Audio per encoder chunk: the algorithmic latency, less the 16 ms of the fbank window."""
        return self.model.encoder.chunk_frames * self.model.frame_seconds

    def new_search(self) -> StreamSearch:
        """A fresh search of the streaming head for one stream."""
        return self.model.head(self.head).stream_search(self.options, self.fusion)

    def create_stream(self) -> Stream:
        return Stream(self)

    def is_ready(self, stream: Stream) -> bool:
        """Whether ``stream`` holds a complete chunk (or, once its input is finished, anything) to decode."""
        return stream._queue.ready(self.model.encoder.chunk_features)

    def decode_stream(self, stream: Stream) -> None:
        """Decode one chunk of ``stream`` if one is ready, as sherpa-onnx's ``decode_stream`` (loop
        ``while is_ready(stream)``); ``decode`` runs every ready chunk at once."""
        self._decode_chunk([stream])

    def decode(self, stream: Stream) -> None:
        """Decode every complete chunk of ``stream`` (and, once its input is finished, the rest)."""
        self.decode_streams([stream])

    def get_result(self, stream: Stream) -> str:
        """The text of ``stream``'s current utterance so far (``stream.result`` holds the rest)."""
        return stream.result.text

    def is_endpoint(self, stream: Stream) -> bool:
        """Whether an endpoint rule has fired on the current utterance (with ``EndpointConfig(reset=
        False)`` it stays so until ``reset``; with automatic reset it never is between decodes)."""
        return stream._endpoint_fired

    def reset(self, stream: Stream) -> None:
        """Close ``stream``'s current utterance (sherpa-onnx's reset; see ``Stream.close_utterance``)."""
        stream.close_utterance()

    def decode_streams(self, streams: list[Stream]) -> None:
        """Decode all ready chunks of several streams, batching their chunks through the encoder."""
        while self._decode_chunk(streams):
            pass

    @torch.no_grad()
    def _decode_chunk(self, streams: list[Stream]) -> bool:
        """One chunk of each of ``streams`` that has one ready, as one batch; False if none had."""
        chunk = self.model.encoder.chunk_features
        ready = [s for s in streams if s._queue.ready(chunk)]
        if ready:
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
        return bool(ready)


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
