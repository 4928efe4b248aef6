"""Streaming speech recognition with an exported recog model, on numpy + onnxruntime only.

    model = EdgeModel("exported/")            # the folder `recog export --streaming` wrote
    stream = model.create_stream()
    stream.accept_waveform(44100, samples)    # any rate, resampled as in recog.streaming
    while model.is_ready(stream):
        model.decode_stream(stream)           # one encoder chunk
    print(model.get_result(stream), stream.result.timestamps)

The loop is the one ``recog.streaming`` runs in PyTorch: log-mel frames as their windows
complete, encoder chunks through ``encoder.onnx`` with its caches fed back, greedy CTC (from the
encoder's ``ctc_log_probs``) or greedy transducer search (``predictor.onnx`` + ``joiner.onnx``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recog_edge.features import ChunkQueue, FeatureStream, NumpyLogMel, WaveformIntake
from recog_edge.results import StreamResult
from recog_edge.sessions import export_metadata, open_session

SPACE = "\u2581"  # SentencePiece's word-boundary mark


class EdgeModel:
    """An exported streaming model. ``head``: "ctc" or "rnnt" (default: the model's)."""

    def __init__(self, folder: str | Path, head: str | None = None, threads: int = 1) -> None:
        folder = Path(folder)
        if not (folder / "encoder.onnx").is_file():
            raise FileNotFoundError(f"{folder}: no encoder.onnx (write one with `recog export --streaming`)")
        self.encoder = open_session(folder / "encoder.onnx", threads)
        self.meta: dict[str, Any] = export_metadata(self.encoder)
        self.head = head or self.meta["default_head"]
        if self.head not in self.meta["heads"]:
            raise ValueError(f"{folder}: no {self.head!r} head exported (it has {self.meta['heads']})")
        if self.head == "rnnt":
            self.predictor = open_session(folder / "predictor.onnx", threads)
            self.joiner = open_session(folder / "joiner.onnx", threads)
        self.vocabulary: list[str] = self.meta["vocabulary"]
        self.logmel = NumpyLogMel(self.meta["features"])
        self.sample_rate = int(self.meta["sample_rate"])
        self.chunk_features = int(self.meta["chunk_features"])
        self.output_names = [o.name for o in self.encoder.get_outputs()]

    def detokenize(self, tokens: list[int]) -> str:
        pieces = "".join(self.vocabulary[t] for t in tokens)
        return pieces.replace(SPACE, " ").strip() if self.meta["tokenizer"] == "bpe" else pieces

    def create_stream(self) -> EdgeStream:
        return EdgeStream(self)

    def is_ready(self, stream: EdgeStream) -> bool:
        """Whether ``stream`` holds a complete chunk (or, once its input is finished, anything) to decode."""
        return stream.queue.ready(self.chunk_features)

    def decode(self, stream: EdgeStream) -> None:
        """Run every complete chunk of ``stream`` (all that is left once its input is finished)."""
        while self.is_ready(stream):
            self.decode_stream(stream)

    def get_result(self, stream: EdgeStream) -> str:
        """The text of ``stream`` so far."""
        return stream.result.text

    def decode_stream(self, stream: EdgeStream) -> None:
        """Run one chunk of ``stream`` if one is ready (sherpa-onnx's ``decode_stream``)."""
        if self.is_ready(stream):
            chunk, n = stream.queue.pop(self.chunk_features)
            feeds = {"chunk": chunk[None], "chunk_lengths": np.array([n], dtype=np.int64), **stream.cache}
            outputs = dict(zip(self.output_names, self.encoder.run(None, feeds), strict=True))
            stream.cache = {name: outputs["new_" + name] for name in stream.cache}
            frames = int(outputs["encoded_lengths"][0])
            if self.head == "ctc":
                self._ctc(stream, outputs["ctc_log_probs"][0, :frames])
            else:
                self._transducer(stream, outputs["encoded"][0, :frames])
            stream.frames += frames
            stream.update_result()

    def _ctc(self, stream: EdgeStream, log_probs: np.ndarray) -> None:
        for t, best in enumerate(log_probs.argmax(axis=-1).tolist()):
            if best != 0 and best != stream.last_id:
                stream.tokens.append(best)
                stream.stamps.append(stream.frames + t)
            stream.last_id = best

    def _transducer(self, stream: EdgeStream, encoded: np.ndarray) -> None:
        if stream.pred is None:
            self._predict(stream, 0)
        for t in range(len(encoded)):
            for _ in range(int(self.meta["predictor"]["max_symbols"])):
                log_probs = self.joiner.run(None, {"encoded": encoded[t: t + 1], "pred": stream.pred})[0][0]
                best = int(log_probs.argmax())
                if best == 0:
                    break
                stream.tokens.append(best)
                stream.stamps.append(stream.frames + t)
                self._predict(stream, best)

    def _predict(self, stream: EdgeStream, token: int) -> None:
        feeds = {"tokens": np.array([token], dtype=np.int64), **stream.pred_state}
        pred, *state = self.predictor.run(None, feeds)
        stream.pred, stream.pred_state = pred, dict(zip(stream.pred_state, state, strict=True))

    def transcribe(self, samples: np.ndarray, sample_rate: int | None = None) -> str:
        """Stream a whole signal through and return its text."""
        stream = self.create_stream()
        stream.accept_waveform(sample_rate or self.sample_rate, samples)
        stream.input_finished()
        self.decode(stream)
        return stream.result.text


def _zeros_for_one(spec: dict[str, Any]) -> np.ndarray:
    """Zeros of an exported state's shape with its batch axis set to 1."""
    shape = list(spec["shape"])
    shape[spec["batch_axis"]] = 1
    return np.zeros(shape, dtype=spec["dtype"])


class EdgeStream:
    """One audio stream of an EdgeModel."""

    def __init__(self, model: EdgeModel) -> None:
        self.model = model
        self.features = FeatureStream(model.logmel)
        self.queue = ChunkQueue(model.logmel.n_mels)
        self.cache = {name: _zeros_for_one(spec) for name, spec in model.meta["cache"].items()}
        predictor = model.meta.get("predictor")
        self.pred_state = {f"state_{i}": _zeros_for_one(spec)
                           for i, spec in enumerate(predictor["state"])} if predictor else {}
        self.pred: np.ndarray | None = None
        self.tokens: list[int] = []
        self.stamps: list[int] = []
        self.last_id = 0
        self.frames = 0
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

    def update_result(self) -> None:
        """``result`` from the tokens so far (greedy search: all of it is stable)."""
        text = self.model.detokenize(self.tokens)
        self.result.text = self.result.stable_text = text
        self.result.tokens = [self.model.vocabulary[t] for t in self.tokens]
        self.result.timestamps = [round(t * self.model.meta["frame_seconds"], 3) for t in self.stamps]
