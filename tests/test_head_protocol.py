"""A head added to the registry works everywhere: decoding, rescoring, fusion, streaming and export
ask the head what it can do (``recog.heads.base.Head``), never its type or name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.ctc import CTCGreedyStream, greedy_decode, prefix_beam_search
from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions
from recog.export import export_streaming
from recog.heads import HEADS
from recog.heads.base import Head, StreamSearch
from recog.lm import CharNgramLM
from recog.streaming import EndpointConfig, StreamingRecognizer
from tests.helpers import tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")


class MirrorCTC(Head):
    """A CTC head under another name whose every output is read right to left: a head the rest of
    recog has never heard of."""

    searches = ("greedy", "beam")
    fusable = ("beam",)

    def __init__(self, d_model: int, vocab_size: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d_model, vocab_size)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.proj(h).float(), dim=-1)  # (B, T, V)

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        return F.ctc_loss(self(h).transpose(0, 1), targets.flip(1), h_lengths, target_lengths, zero_infinity=True)

    def search(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
               fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        if options.search == "greedy":
            return greedy_decode(self(h), h_lengths)
        lp = self(h).numpy()
        return [prefix_beam_search(lp[b, :n], options.beam, fusion) for b, n in enumerate(h_lengths.tolist())]

    def stream_search(self, options: DecodingOptions, fusion: PrefixFusion | None = None) -> StreamSearch | None:
        return CTCGreedyStream(self) if options.search == "greedy" else None

    def frame_outputs(self, h: torch.Tensor) -> torch.Tensor:
        return self(h)


@pytest.fixture
def mirror_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(HEADS, "mirror", MirrorCTC)  # the one registry line


def test_a_new_registered_head_decodes_fuses_streams_and_exports(mirror_registered: None, tmp_path: Path) -> None:
    model = tiny_recognizer([8, 3], heads={"mirror": {}, "ctc": {}})
    assert model.default_head == "mirror"
    x, lengths = torch.randn(2, 120, 80), torch.tensor([120, 70])
    h, h_lengths = model.encoder(x, lengths)
    greedy = model.decode(h, h_lengths)
    expected = greedy_decode(model.heads["mirror"](h), h_lengths)
    assert [hyp.tokens for hyp in greedy] == [hyp.tokens for hyp in expected]
    assert all(hyp.text == model.tokenizer.decode(hyp.tokens) for hyp in greedy)

    lm = CharNgramLM.train(["abc abc", "cab"], order=3)
    plain = model.decode(h, h_lengths, beam=4)
    fused = model.decode(h, h_lengths, beam=4, lm=lm, lm_weight=1.0, lm_bonus=0.0)
    assert [hyp.score for hyp in fused] != [hyp.score for hyp in plain]  # the LM reached the new head's search
    with pytest.raises(ValueError, match="'mirror' head cannot run diverse"):
        model.decode(h, h_lengths, search="diverse", beam=4)

    recognizer = StreamingRecognizer(model, endpoint=EndpointConfig(enabled=False))
    assert recognizer.head == "mirror"
    stream = recognizer.create_stream()
    samples = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    stream.accept_waveform(16000, samples)
    stream.input_finished()
    recognizer.decode(stream)
    offline = model.recognize(torch.from_numpy(samples)[None], torch.tensor([16000]))[0]
    assert stream.result.text == offline.text

    written = export_streaming(model, tmp_path / "onnx")
    import onnx

    outputs = [o.name for o in onnx.load(str(written[0])).graph.output]
    assert "mirror_log_probs" in outputs and "ctc_log_probs" in outputs
