"""Speech recognition with an exported recog model, on numpy + onnxruntime only.

    model = EdgeModel("exported/")            # the folder `recog export` wrote
    print(model.transcribe(samples, 44100))   # a whole signal: offline.onnx if exported, else streamed

    stream = model.create_stream()            # streaming (`recog export --streaming`: encoder.onnx)
    stream.accept_waveform(44100, samples)    # any rate, resampled as in recog.streaming
    while model.is_ready(stream):
        model.decode_stream(stream)           # one encoder chunk
        if model.is_endpoint(stream):         # with EndpointConfig(reset=False); else closed itself
            model.reset(stream)
    print(model.get_result(stream), stream.result.timestamps, stream.result.segments)

    EdgeModel("exported/", lm="lm.npz")       # beam search with a character LM fused

The streaming loop is the one ``recog.streaming`` runs in PyTorch: log-mel frames as their
windows complete, encoder chunks through ``encoder.onnx`` with its caches fed back, greedy CTC
(from the encoder's ``ctc_log_probs``) or greedy transducer search (``predictor.onnx`` +
``joiner.onnx``), and the same endpoint rules (``recog_edge.endpoint``). The offline graph
(``offline.onnx``: features of a whole signal -> encoder frames and per-head outputs) decodes
with greedy CTC, transducer, attention (``decoder.onnx``) or CASS-NAT (``cassnat.onnx``) search
(``recog_edge.search``), as ``recog.load(...).transcribe`` does. Both can run the transducer's
modified beam search instead (the offline graph also CTC prefix beam search), with a character
LM fused (``beam``, ``lm``), as recog's ``transcribe --lm`` and ``stream --lm`` do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recog_edge.endpoint import EndpointConfig, endpoint_reached
from recog_edge.features import ChunkQueue, FeatureStream, NumpyLogMel, WaveformIntake, as_float_samples
from recog_edge.fusion import LM_BEAM, FusionSum, LMFusion, PrefixFusion, ilme_weight
from recog_edge.lm import CharNgramLM
from recog_edge.results import SpeechResult, StreamResult
from recog_edge.search import (
    CTCGreedy,
    Decoded,
    TransducerBeam,
    TransducerGreedy,
    TransducerInternalLM,
    attention_greedy,
    cassnat_greedy,
    char_text,
    prefix_beam_search,
    zeros_for_one,
)
from recog_edge.segments import SPACE, Word, add_piece, words_of
from recog_edge.sessions import open_export
from recog_edge.vad import BLOCK_SECONDS, LONG_SECONDS, speech_pieces

PARTS = {"rnnt": ("predictor", "joiner"), "attention": ("decoder",), "cassnat": ("cassnat",)}  # head -> graphs


class EdgeModel:
    """An exported speech model: ``encoder.onnx`` (streaming), ``offline.onnx`` (whole signals) or
    both, with the head graphs they need. ``head``: "ctc", "rnnt", "attention" or "cassnat"
    (default: the model's); ``endpoint``: the streams' endpoint rule (as ``recog.streaming``).
    ``beam``: above 1, beam search of that width (default 1: greedy; ``LM_BEAM`` with ``lm``): the
    transducer's modified beam search, or CTC prefix beam search (offline only, as recog streams
    CTC greedily); ``lm``: a character LM (``recog lm``; a file or a loaded model) fused into it
    with ``lm_weight`` and ``lm_bonus`` (None: the LM's setting tuned for the head, else recog's
    defaults), less ``ilme`` times the transducer's internal LM (``TransducerInternalLM``; None: the
    LM's tuned ``ilme_weight``, else 0), so that ``recog transcribe --lm`` with the same settings reads the same
    text."""

    LONG_SECONDS = LONG_SECONDS  # longer files are read in pieces cut at pauses (transcribe_file)

    def __init__(self, folder: str | Path, head: str | None = None, threads: int = 1,
                 endpoint: EndpointConfig | None = None, beam: int | None = None,
                 lm: str | Path | CharNgramLM | None = None, lm_weight: float | None = None,
                 lm_bonus: float | None = None, ilme: float | None = None) -> None:
        folder = Path(folder)
        self.folder = folder
        streaming, offline = folder / "encoder.onnx", folder / "offline.onnx"
        if not streaming.is_file() and not offline.is_file():
            raise FileNotFoundError(f"{folder}: no encoder.onnx nor offline.onnx (write one with `recog export` of a "
                                    f"speech model)")
        self.encoder, self.streaming_meta = open_export(streaming, "streaming", threads) if streaming.is_file() \
            else (None, None)
        self.offline, self.offline_meta = open_export(offline, "offline", threads) if offline.is_file() \
            else (None, None)
        self.meta: dict[str, Any] = self.streaming_meta or self.offline_meta
        heads = [*(self.streaming_meta or {}).get("heads", []), *(self.offline_meta or {}).get("heads", [])]
        self.head = head or self.meta["default_head"]
        if self.head not in heads:
            raise ValueError(f"{folder}: no {self.head!r} head exported (it has {sorted(set(heads))})")
        self.parts = {name: open_export(folder / f"{name}.onnx", None, threads)[0] for name in PARTS.get(self.head, ())}
        self.vocabulary: list[str] = self.meta["vocabulary"]
        self.beam = beam if beam is not None else LM_BEAM if lm is not None else 1
        if self.beam < 1:
            raise ValueError(f"beam must be at least 1, got {self.beam}")
        if self.beam > 1 and self.head not in ("ctc", "rnnt"):
            raise ValueError(f"beam search (and a fused language model) runs on the ctc and rnnt heads, not "
                             f"{self.head!r}")
        if lm is not None and self.beam < 2:
            raise ValueError("a language model is fused into beam search: a beam above 1")
        lm = CharNgramLM.load(lm) if lm is not None and not isinstance(lm, CharNgramLM) else lm
        self.fusion: PrefixFusion | None = None
        if lm is not None:
            self.fusion = LMFusion(lm, self.vocabulary, lm_weight, lm_bonus, head=self.head)
            subtract = ilme_weight(lm, self.head, ilme)
            if self.head == "rnnt" and subtract > 0:
                self.fusion = FusionSum(self.fusion, TransducerInternalLM(
                    self.parts["predictor"], self.parts["joiner"], self.meta["predictor"], -subtract))
        elif ilme:
            raise ValueError("ilme_weight subtracts the transducer's internal LM where a language model is fused: "
                             "give an LM")
        if ilme and self.head != "rnnt":
            raise ValueError(f"ilme_weight subtracts a transducer's internal LM: the rnnt head, not {self.head!r}")
        self.logmel = NumpyLogMel(self.meta["features"])
        self.sample_rate = int(self.meta["sample_rate"])
        self.endpoint = endpoint or EndpointConfig()
        if self.encoder is not None:
            self.chunk_features = int(self.streaming_meta["chunk_features"])
            self.output_names = [o.name for o in self.encoder.get_outputs()]

    def detokenize(self, tokens: list[int]) -> str:
        """Token ids -> text, as the model's tokenizer decodes them (blank and unknown carry none)."""
        if self.meta["tokenizer"] == "bpe":
            return "".join(self.vocabulary[t] for t in tokens if t != 0).replace(SPACE, " ").strip()
        return char_text(self.vocabulary, tokens)

    # ------------------------------------------------------------------ whole signals

    def transcribe(self, samples: np.ndarray, sample_rate: int | None = None) -> str:
        """The text of a whole mono signal (float in [-1, 1] or int16) at ``sample_rate`` Hz (default
        the model's): through ``offline.onnx`` where the folder has it for this head, else streamed
        through ``encoder.onnx`` as one utterance (no endpointing)."""
        return self.detokenize(self.recognize_signal(samples, sample_rate).tokens)

    def transcribe_file(self, path: str | Path) -> SpeechResult:
        """An audio file (any rate; channels averaged; the formats of ``recog_edge.audio_file``) -> its
        result with the fields of ``recog transcribe``'s JSON lines; ValueError naming the file where
        it cannot be read or is empty.
        A file longer than ``LONG_SECONDS`` is cut at pauses and read piece by piece, as recog reads
        it (``recog_edge.vad``): models trained on utterances read minutes in one pass worse."""
        from recog_edge.audio_file import read_audio

        samples, rate = read_audio(path)
        if len(samples) == 0:
            raise ValueError(f"{path}: empty audio (0 samples)")
        try:
            pieces = self.pieces(samples, rate) if len(samples) > self.LONG_SECONDS * rate \
                else [(0.0, None, self.recognize_signal(samples, rate))]
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        seconds = self.meta["frame_seconds"]
        tokens: list[str] = []
        timestamps: list[float] = []
        words: list[Word] = []
        breaks: dict[int, float] = {}
        for start, onset, decoded in pieces:
            piece_tokens = [self.vocabulary[t] for t in decoded.tokens]
            stamps = [round(start + t * seconds, 3) for t in decoded.stamps]
            tokens += piece_tokens
            timestamps += stamps
            piece = words_of(piece_tokens, stamps, decoded.probs, seconds)
            if onset is None:  # the whole file in one piece: no cut, no break
                words += piece
            else:
                add_piece(words, breaks, piece, onset)
        weights = [len(d.tokens) or 1 for *_, d in pieces]  # each piece's values rounded first, as recog's
        return SpeechResult(
            audio_filepath=str(path), text=" ".join(t for *_, d in pieces if (t := self.detokenize(d.tokens))),
            tokens=tokens, timestamps=timestamps,
            confidence=round(float(np.average([round(d.confidence, 4) for *_, d in pieces], weights=weights)), 4)
            if pieces else 0.0,
            token_confidences=[round(p, 4) for *_, d in pieces for p in d.probs],
            score=round(sum(round(d.score, 4) for *_, d in pieces), 4), words=words, breaks=breaks)

    def pieces(self, samples: np.ndarray, sample_rate: int) -> list[tuple[float, float, Decoded]]:
        """A long mono signal cut at pauses as recog cuts a file (``recog_edge.vad.speech_pieces``
        over blocks of ``BLOCK_SECONDS`` at the file's rate, resampled as they come; pieces of at most
        30 s) -> each piece's start in seconds (its leading silence trimmed, but for 0.15 s), where its
        speech starts (silence trimmed whole: its subtitle's start, as recog's) and its search result;
        pieces of silence or steady noise are skipped, as recog skips them."""
        samples = as_float_samples(samples)
        if len(samples) == 0:
            raise ValueError("empty audio (0 samples)")
        step = max(1, int(BLOCK_SECONDS * sample_rate))
        blocks = ((sample_rate, samples[begin: begin + step]) for begin in range(0, len(samples), step))
        return [(start, round(start + lead, 3), self.recognize_signal(speech, self.sample_rate))
                for start, _, speech, lead in speech_pieces(WaveformIntake(self.sample_rate).resampled(blocks),
                                                            self.sample_rate)
                if speech is not None]

    def recognize_signal(self, samples: np.ndarray, sample_rate: int | None = None) -> Decoded:
        """The search's result for a whole mono signal (as ``transcribe``): tokens, their encoder
        frames and probabilities, score and confidence."""
        sample_rate = sample_rate or self.sample_rate
        if self.offline is None or self.head not in self.offline_meta["heads"]:
            stream = EdgeStream(self, EndpointConfig(enabled=False))
            stream.accept_waveform(sample_rate, samples)
            stream.input_finished()
            self.decode(stream)
            return stream.search.result()
        return self.recognize(self.features(samples, sample_rate))

    def features(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """A whole signal -> its log-mel frames (T, n_mels), resampled as ``recog.audio.load_audio``
        resamples (soxr, HQ)."""
        samples = as_float_samples(samples)
        if len(samples) == 0:
            raise ValueError("empty audio (0 samples)")
        if sample_rate != self.sample_rate:
            import soxr

            samples = soxr.resample(samples, sample_rate, self.sample_rate, quality="HQ").astype(np.float32)
        frames = FeatureStream(self.logmel)
        return np.concatenate([frames.accept(samples), frames.finish()])

    def recognize(self, features: np.ndarray) -> Decoded:
        """Log-mel frames (T, n_mels) through ``offline.onnx`` and the head's search: greedy, or with
        ``beam`` CTC prefix beam search or the transducer's modified beam search (the LM fused)."""
        if self.offline is None:
            raise ValueError(f"{self.folder}: no offline.onnx (write one with `recog export` without --streaming)")
        names = [o.name for o in self.offline.get_outputs()]
        feeds = {"features": features[None], "feature_lengths": np.array([len(features)], dtype=np.int64)}
        out = dict(zip(names, self.offline.run(None, feeds), strict=True))
        n = int(out["encoded_lengths"][0])
        if self.head == "ctc" and self.beam > 1:
            hyp = prefix_beam_search(out["ctc_log_probs"][0, :n], self.beam, self.fusion)
            return Decoded(hyp.tokens, hyp.timestamps, hyp.token_confidences, hyp.score, hyp.confidence)
        if self.head in ("ctc", "rnnt"):
            search = CTCGreedy() if self.head == "ctc" else self._transducer_search(self.meta["predictor"])
            search.advance(out["ctc_log_probs" if self.head == "ctc" else "encoded"][0, :n])
            return search.result()
        if self.head == "attention":
            return attention_greedy(self.parts["decoder"], self.offline_meta["decoder"],
                                    out["attention_memory_keys"], out["attention_memory_values"], n)
        return cassnat_greedy(self.parts["cassnat"], out["encoded"][0, :n], out["cassnat_ctc_log_probs"][0, :n])

    # ------------------------------------------------------------------ streaming (sherpa-onnx's loop)

    def create_stream(self) -> EdgeStream:
        if self.encoder is None or self.head not in self.streaming_meta["heads"]:
            why = "missing: streaming needs `recog export --streaming`" if self.encoder is None else \
                f"the {self.head!r} head does not stream"
            raise ValueError(f"{self.folder / 'encoder.onnx'}: {why}")
        return EdgeStream(self, self.endpoint)

    def is_ready(self, stream: EdgeStream) -> bool:
        """Whether ``stream`` holds a complete chunk (or, once its input is finished, anything) to decode."""
        return stream.queue.ready(self.chunk_features)

    def decode(self, stream: EdgeStream) -> None:
        """Run every complete chunk of ``stream`` (all that is left once its input is finished)."""
        while self.is_ready(stream):
            self.decode_stream(stream)

    def get_result(self, stream: EdgeStream) -> str:
        """The text of ``stream``'s current utterance so far (``stream.result`` holds the rest)."""
        return stream.result.text

    def is_endpoint(self, stream: EdgeStream) -> bool:
        """Whether an endpoint rule has fired on the current utterance (as ``recog.streaming``)."""
        return stream.endpoint_fired

    def reset(self, stream: EdgeStream) -> None:
        """Close ``stream``'s current utterance (sherpa-onnx's reset; see ``EdgeStream.close_utterance``)."""
        stream.close_utterance()

    def decode_stream(self, stream: EdgeStream) -> None:
        """Run one chunk of ``stream`` if one is ready (sherpa-onnx's ``decode_stream``)."""
        if self.is_ready(stream):
            chunk, n = stream.queue.pop(self.chunk_features)  # (chunk_features, n_mels)
            feeds = {"chunk": chunk[None], "chunk_lengths": np.array([n], dtype=np.int64), **stream.cache}
            outputs = dict(zip(self.output_names, self.encoder.run(None, feeds), strict=True))
            stream.cache = {name: outputs["new_" + name] for name in stream.cache}
            frames = int(outputs["encoded_lengths"][0])
            if self.head == "ctc":
                stream.search.advance(outputs["ctc_log_probs"][0, :frames])
            else:
                stream.search.advance(outputs["encoded"][0, :frames])
            stream.frames += frames
            stream.update_result()
            stream.check_endpoint()

    def new_search(self) -> CTCGreedy | TransducerGreedy | TransducerBeam:
        """A fresh search of the streaming head, for one utterance."""
        if self.head == "ctc":
            if self.beam > 1:
                raise ValueError(f"{self.folder / 'encoder.onnx'}: CTC streams greedily (beam search and an LM stream "
                                 f"on the rnnt head)")
            return CTCGreedy()
        return self._transducer_search(self.streaming_meta["predictor"])

    def _transducer_search(self, meta: dict[str, Any]) -> TransducerGreedy | TransducerBeam:
        """Greedy transducer search, or beam search (with the LM fused) where ``beam`` is above 1."""
        if self.beam > 1:
            return TransducerBeam(self.parts["predictor"], self.parts["joiner"], meta, self.beam, self.fusion)
        return TransducerGreedy(self.parts["predictor"], self.parts["joiner"], meta)


class EdgeStream:
    """One audio stream of an EdgeModel, closing utterances by ``endpoint``."""

    def __init__(self, model: EdgeModel, endpoint: EndpointConfig) -> None:
        self.model, self.endpoint = model, endpoint
        self.features = FeatureStream(model.logmel)
        self.queue = ChunkQueue(model.logmel.n_mels)
        self.cache = {name: zeros_for_one(spec) for name, spec in model.streaming_meta["cache"].items()}
        self.search = model.new_search()
        self.frames = 0  # encoder frames decoded since the stream started
        self.segment_start = 0  # ... when the current utterance started
        self.endpoint_fired = False  # a rule fired and the utterance is not closed yet (reset=False)
        self.last_emit = -1  # frame of the newest token the result has shown in this utterance, -1 before any
        self.intake = WaveformIntake(model.sample_rate)
        self.result = StreamResult()  # the PyTorch stream's result type, same names

    def accept_waveform(self, sample_rate: int, samples: np.ndarray) -> None:
        """Append mono audio (float in [-1, 1] or int16) at ``sample_rate`` Hz (resampled)."""
        if self.queue.finished:
            raise ValueError("accept_waveform after input_finished")
        self.queue.push(self.features.accept(self.intake.accept(sample_rate, samples)))

    def input_finished(self) -> None:
        if not self.queue.finished:
            self.queue.push(self.features.accept(self.intake.finish()))
            self.queue.push(self.features.finish())
            self.queue.finished = True

    def update_result(self, final: bool = False) -> None:
        """``result`` from the current utterance's best tokens so far (greedy search: all of them
        stable; beam search: the prefix every hypothesis shares). ``final`` (or the input finished):
        the utterance ends here, and a fused LM also scores the end of each text, as offline."""
        tokens, stamps, stable = self.search.output(final or self.queue.finished)
        if stamps:  # an empty best hypothesis keeps the last token shown (as recog.streaming)
            self.last_emit = stamps[-1]
        self.result.text = self.model.detokenize(tokens)
        self.result.stable_text = self.model.detokenize(stable)
        self.result.tokens = [self.model.vocabulary[t] for t in tokens]
        seconds = self.model.meta["frame_seconds"]
        self.result.timestamps = [round((self.segment_start + t) * seconds, 3) for t in stamps]

    def check_endpoint(self) -> None:
        """Note (and with ``endpoint.reset`` close) the utterance where an endpoint rule fires."""
        if endpoint_reached(self.endpoint, self.search.frames, self.last_emit, self.model.meta["frame_seconds"]):
            self.endpoint_fired = True
            if self.endpoint.reset:
                self.close_utterance()

    def close_utterance(self) -> None:
        """End the current utterance here: its text moves to ``result.segments`` (if any) and the
        search restarts; the encoder keeps its caches."""
        if self.model.fusion is not None:  # the utterance ends: rank its hypotheses as finished texts
            self.update_result(final=True)
        if self.result.text:
            self.result.segments.append(self.result.text)
        self.segment_start = self.frames
        self.search = self.model.new_search()
        self.last_emit = -1
        self.endpoint_fired = False
        self.update_result()

    def final_text(self) -> str:
        """Every finished utterance and the current one, joined by spaces."""
        return " ".join(s for s in [*self.result.segments, self.result.text] if s)
