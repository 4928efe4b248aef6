"""Batch invariance: every head and search reads the same text whatever the batch size, with
inputs of very different lengths in one batch (NeMo #12840, WeNet #531 report the opposite), and
batched streaming reads what streams alone read."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.inference import RecognitionModel
from recog.model import Recognizer
from recog.streaming import EndpointConfig, StreamingRecognizer
from recog.text import CharTokenizer
from tests.helpers import tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")

BATCH_SIZES = (1, 2, 5, 16)
SPEECH_SEARCHES = {
    "ctc greedy": dict(head="ctc"), "ctc beam": dict(head="ctc", beam=4),
    "rnnt greedy": dict(head="rnnt"), "rnnt beam": dict(head="rnnt", beam=3),
    "attention greedy": dict(head="attention", max_len=20),
    "attention beam": dict(head="attention", beam=3, max_len=20),
    "rescore": dict(search="rescore", beam=3, max_len=20), "joint": dict(search="joint", beam=3, max_len=20),
}
LINE_SEARCHES = {"ctc greedy": dict(head="ctc"), "parallel": dict(head="parallel"),
                 "attention greedy": dict(head="attention", max_len=20)}


@pytest.fixture(scope="module")
def speech() -> tuple[RecognitionModel, list[np.ndarray]]:
    model = tiny_recognizer([[-1, -1], [8, 3]], heads={"ctc": {}, "rnnt": {"pred_dim": 32, "joint_dim": 32},
                                                       "attention": {"layers": 1, "heads": 2}})
    rng = np.random.default_rng(0)
    waves = [(rng.standard_normal(int(16000 * s)) * 0.2).astype(np.float32)
             for s in np.linspace(0.2, 6.0, 16)[rng.permutation(16)]]
    return RecognitionModel(model), waves


@pytest.fixture(scope="module")
def lines() -> tuple[RecognitionModel, list[np.ndarray]]:
    torch.manual_seed(0)
    encoder = {"name": "vision", "dims": [16, 24, 32], "depths": [1, 1, 1], "local_blocks": [1, 1, 0],
               "n_heads": [2, 2, 2]}
    heads = {"ctc": {}, "parallel": {"max_len": 20, "layers": 1, "heads": 2}, "attention": {"layers": 1, "heads": 2}}
    model = Recognizer(CharTokenizer("abcdefgh "), encoder, heads, frontend="image",
                       features={"height": 32, "max_width": 1024}).eval()
    rng = np.random.default_rng(1)
    images = [(rng.random((32, int(w), 3)) * 255).astype(np.uint8) for w in rng.integers(20, 900, 16)]
    return RecognitionModel(model), images


def read(model: RecognitionModel, inputs: list[np.ndarray], batch_size: int, options: dict) -> list[tuple]:
    return [(r.text, r.positions) for r in model.transcribe(inputs, batch_size=batch_size, **options)]


@pytest.mark.parametrize("search", list(SPEECH_SEARCHES))
def test_speech_reads_the_same_at_every_batch_size(speech: tuple, search: str) -> None:
    model, waves = speech
    alone = read(model, waves, 1, SPEECH_SEARCHES[search])
    assert any(text for text, _ in alone)  # random weights say something: equal texts mean equal outputs
    for size in BATCH_SIZES[1:]:
        assert read(model, waves, size, SPEECH_SEARCHES[search]) == alone, f"batch size {size}"


@pytest.mark.parametrize("search", list(LINE_SEARCHES))
def test_text_lines_read_the_same_at_every_batch_size(lines: tuple, search: str) -> None:
    model, images = lines
    alone = read(model, images, 1, LINE_SEARCHES[search])
    assert any(text for text, _ in alone)
    for size in BATCH_SIZES[1:]:
        assert read(model, images, size, LINE_SEARCHES[search]) == alone, f"batch size {size}"


@pytest.mark.parametrize("head,beam", [("ctc", 1), ("rnnt", 1), ("rnnt", 3)])
def test_batched_streams_read_what_streams_alone_read(speech: tuple, head: str, beam: int) -> None:
    model, waves = speech
    recognizer = StreamingRecognizer(model.model, head=head, beam=beam, endpoint=EndpointConfig(enabled=False))

    def run(group: list[np.ndarray]) -> list[str]:
        streams = [recognizer.create_stream() for _ in group]
        for stream, wave in zip(streams, group, strict=True):
            stream.accept_waveform(16000, wave)
            stream.input_finished()
        recognizer.decode_streams(streams)
        return [s.result.text for s in streams]

    alone = [run([w])[0] for w in waves[:5]]
    assert run(waves[:5]) == alone
    model.model.encoder.set_att_context(-1, -1)
