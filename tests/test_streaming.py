"""Cache-aware streaming: chunk-by-chunk encoder == offline encoder with the same context,
incremental log-mel == offline log-mel, streaming sessions == offline decoding."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from recog.audio import LogMel, load_audio
from recog.encoders.conformer import ConformerEncoder, ConvModule, context_mask
from recog.model import Recognizer
from recog.streaming import EndpointConfig, StreamingRecognizer, TorchFrames
from recog.text import CharTokenizer
from recog_edge.features import FeatureStream, NumpyLogMel
from tests.conftest import speak
from tests.helpers import tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"feat_in": 20, "d_model": 32, "n_layers": 2, "n_heads": 4, "subsampling_channels": 8, "conv_kernel": 5,
        "causal": True, "conv_norm": "layer"}


@pytest.mark.parametrize("chunked_conv", [False, True])
@pytest.mark.parametrize("factor", [4, 8])
@pytest.mark.parametrize("context", [[8, 3], [6, 1], [4, 0], [0, 2], [16, 7]])
def test_chunk_by_chunk_encoding_equals_the_offline_forward_with_the_same_context(factor: int, context: list,
                                                                                  chunked_conv: bool) -> None:
    torch.manual_seed(0)
    encoder = ConformerEncoder(**TINY, subsampling_factor=factor, att_context_size=context,
                               chunked_conv=chunked_conv).eval()
    x, lengths = torch.randn(3, 203, 20), torch.tensor([203, 150, 37])  # a batch of unequal lengths
    with torch.no_grad():
        offline, h_lengths = encoder(x, lengths)
        streamed = encoder.forward_streaming(x, lengths)[0]
    for b, n in enumerate(h_lengths.tolist()):
        torch.testing.assert_close(streamed[b, :n], offline[b, :n], rtol=0, atol=1e-4)


def test_streaming_differs_from_full_context_so_the_parity_test_can_fail() -> None:
    torch.manual_seed(0)
    encoder = ConformerEncoder(**TINY, subsampling_factor=4, att_context_size=[8, 3]).eval()
    x, lengths = torch.randn(1, 120, 20), torch.tensor([120])
    with torch.no_grad():
        streamed = encoder.forward_streaming(x, lengths)[0]
        encoder.set_att_context(-1, -1)
        full, _ = encoder(x, lengths)
    assert (streamed[:, : full.shape[1]] - full).abs().max() > 1e-3


@pytest.mark.parametrize("chunk", [1, 3, 4, 10])
def test_the_chunked_conv_sees_its_own_chunk_and_never_the_next(chunk: int) -> None:
    torch.manual_seed(0)
    conv = ConvModule(16, 5, "layer", causal=True, chunked=True).eval()
    x, mask = torch.randn(1, 20, 16), torch.ones(1, 20, dtype=torch.bool)
    base = conv(x, mask, chunk=chunk)
    for t in range(20):
        bumped = x.clone()
        bumped[:, t] += 1.0
        changed = ((conv(bumped, mask, chunk=chunk) - base).abs().amax(dim=2) > 1e-6)[0]
        start = t // chunk * chunk  # the first frame of t's chunk
        expected = torch.zeros(20, dtype=torch.bool)
        expected[max(start, t - 2): t + 3] = True  # within the kernel's reach, and not in an earlier chunk
        assert torch.equal(changed, expected), (t, changed.nonzero().flatten().tolist())


def test_the_chunked_conv_with_full_context_is_the_centred_conv() -> None:
    torch.manual_seed(0)
    chunked = ConvModule(16, 5, "layer", causal=True, chunked=True).eval()
    centred = ConvModule(16, 5, "layer", causal=False).eval()
    centred.load_state_dict(chunked.state_dict())
    x, mask = torch.randn(2, 20, 16), torch.tensor([[True] * 20, [True] * 13 + [False] * 7])
    torch.testing.assert_close(chunked(x, mask), centred(x, mask))
    torch.testing.assert_close(chunked(x, mask, chunk=20), centred(x, mask))


def test_a_chunked_conv_is_refused_without_causal_or_with_an_even_kernel() -> None:
    with pytest.raises(ValueError, match="causal"):
        ConformerEncoder(**{**TINY, "causal": False}, chunked_conv=True)
    with pytest.raises(ValueError, match="odd"):
        ConformerEncoder(**{**TINY, "conv_kernel": 4}, chunked_conv=True)


def test_the_cache_keeps_its_shape_however_long_the_stream() -> None:
    encoder = ConformerEncoder(**TINY, subsampling_factor=4, att_context_size=[8, 1]).eval()
    cache = encoder.init_cache(2)
    shapes = [tuple(t.shape) for t in [*cache.subsampling, cache.last_channel, cache.last_time, cache.length]]
    with torch.no_grad():
        for _ in range(20):
            _, _, cache = encoder.forward_chunk(torch.randn(2, encoder.chunk_features, 20), torch.tensor([8, 8]), cache)
    assert [tuple(t.shape) for t in [*cache.subsampling, cache.last_channel, cache.last_time, cache.length]] == shapes
    assert cache.length.tolist() == [8, 8]  # the valid-length counter stops at `left`


def test_context_mask_is_chunked_with_a_limited_left_context() -> None:
    allowed = context_mask(6, left=2, right=1, device=torch.device("cpu")).int()
    expected = torch.tensor([[1, 1, 0, 0, 0, 0],
                             [1, 1, 0, 0, 0, 0],
                             [1, 1, 1, 1, 0, 0],
                             [1, 1, 1, 1, 0, 0],
                             [0, 0, 1, 1, 1, 1],
                             [0, 0, 1, 1, 1, 1]])
    assert torch.equal(allowed, expected)
    assert context_mask(6, -1, -1, torch.device("cpu")) is None


def test_a_multi_latency_encoder_draws_contexts_in_training_and_uses_the_first_at_inference() -> None:
    torch.manual_seed(0)
    contexts = [[8, 3], [8, 1], [8, 0]]
    encoder = ConformerEncoder(**TINY, subsampling_factor=4, att_context_size=contexts, att_context_probs=[1, 1, 1])
    assert encoder.att_context == (8, 3)
    original = ConformerEncoder.forward
    x, lengths = torch.randn(1, 64, 20), torch.tensor([64])
    calls = []
    import recog.encoders.conformer as conformer

    real = conformer.context_mask

    def spy(frames, left, right, device):  # noqa: ANN001, ANN202
        calls.append((left, right))
        return real(frames, left, right, device)

    conformer.context_mask = spy
    try:
        encoder.train()
        for _ in range(30):
            original(encoder, x, lengths)
        drawn = set(calls)
    finally:
        conformer.context_mask = real
    assert drawn == {(8, 3), (8, 1), (8, 0)}


@pytest.mark.parametrize("bad", [[5, 1], [-2, 0], [4, -1]])
def test_an_impossible_context_is_refused(bad: list) -> None:
    with pytest.raises(ValueError, match="att_context_size"):
        ConformerEncoder(**TINY, att_context_size=bad)


def test_streaming_refuses_an_encoder_that_looks_at_the_future() -> None:
    encoder = ConformerEncoder(**{**TINY, "causal": False}, att_context_size=[8, 1])
    with pytest.raises(ValueError, match="causal"):
        encoder.init_cache(1)
    with pytest.raises(ValueError, match="limited context"):
        ConformerEncoder(**TINY).init_cache(1)  # full context by default


@pytest.mark.parametrize("numpy_frontend", [False, True])
@pytest.mark.parametrize("sizes", [[160], [1], [37, 4000, 5], [16000]])
def test_incremental_log_mel_equals_the_offline_frames(sizes: list, numpy_frontend: bool) -> None:
    rng = np.random.default_rng(0)
    signal = (rng.standard_normal(12345) * 0.1).astype(np.float32)
    logmel = LogMel()
    offline, n = logmel(torch.from_numpy(signal)[None], torch.tensor([len(signal)]))
    source = NumpyLogMel(asdict(logmel.config)) if numpy_frontend else TorchFrames(logmel)
    stream, pieces, start, i = FeatureStream(source), [], 0, 0
    while start < len(signal):
        size = sizes[i % len(sizes)]
        pieces.append(stream.accept(signal[start: start + size]))
        start, i = start + size, i + 1
    pieces.append(stream.finish())
    streamed = torch.from_numpy(np.concatenate(pieces))
    assert streamed.shape[0] == int(n[0])
    torch.testing.assert_close(streamed, offline[0, : int(n[0])], rtol=0, atol=1e-4)


# ------------------------------------------------------------------ sessions


@pytest.fixture(scope="module")
def utterances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("stream")
    return [speak("open the door please", root / "a.wav"), speak("blue sky", root / "b.wav", speed=160),
            speak("one two three four five", root / "c.wav", speed=140)]


def offline_texts(model: Recognizer, paths: list[Path], head: str, beam: int) -> list[str]:
    texts = []
    for path in paths:
        wave = torch.from_numpy(load_audio(path))[None]
        texts.append(model.recognize(wave, torch.tensor([wave.shape[1]]), head=head, beam=beam)[0].text)
    return texts


@pytest.mark.parametrize(("head", "beam"), [("ctc", 1), ("rnnt", 1), ("rnnt", 3)])
def test_a_stream_reads_the_same_text_as_offline_decoding(utterances: list[Path], head: str, beam: int) -> None:
    # Random weights emit many tokens, so equal texts mean equal posteriors frame by frame.
    model = tiny_recognizer([8, 3])
    recognizer = StreamingRecognizer(model, head=head, beam=beam, endpoint=EndpointConfig(enabled=False))
    expected = offline_texts(model, utterances, head, beam)
    assert all(expected)
    for path, text in zip(utterances, expected, strict=True):
        stream = recognizer.create_stream()
        samples = load_audio(path)
        for start in range(0, len(samples), 1234):  # arbitrary pieces, not aligned to chunks
            stream.accept_waveform(16000, samples[start: start + 1234])
            recognizer.decode(stream)
        stream.input_finished()
        recognizer.decode(stream)
        assert stream.result.text == text
        assert stream.result.stable_text == text or beam > 1
        assert stream.result.timestamps == sorted(stream.result.timestamps)


def test_a_stream_with_a_language_model_reads_the_same_text_as_offline_decoding_with_it(
        utterances: list[Path]) -> None:
    from recog.lm import CharNgramLM

    model = tiny_recognizer([8, 3])
    lm = CharNgramLM.train(["open the door please", "blue sky", "one two three four five"], order=4)
    fused = {"lm": lm, "lm_weight": 2.0, "lm_bonus": 0.5}  # a heavy LM: it must change the texts
    plain = offline_texts(model, utterances, "rnnt", 3)
    expected = []
    for path in utterances:
        wave = torch.from_numpy(load_audio(path))[None]
        expected.append(model.recognize(wave, torch.tensor([wave.shape[1]]), head="rnnt", beam=3, **fused)[0].text)
    assert expected != plain
    recognizer = StreamingRecognizer(model, head="rnnt", beam=3, endpoint=EndpointConfig(enabled=False), **fused)
    for path, text in zip(utterances, expected, strict=True):
        stream = recognizer.create_stream()
        samples = load_audio(path)
        for start in range(0, len(samples), 2345):
            stream.accept_waveform(16000, samples[start: start + 2345])
            recognizer.decode(stream)
        stream.input_finished()
        recognizer.decode(stream)
        assert stream.result.text == text
    with pytest.raises(ValueError, match="transducer beam search"):
        StreamingRecognizer(model, head="rnnt", beam=1, lm=lm)
    with pytest.raises(ValueError, match="transducer beam search"):
        StreamingRecognizer(model, head="ctc", lm=lm)


def test_streams_decoded_together_read_what_they_read_alone(utterances: list[Path]) -> None:
    model = tiny_recognizer([8, 1])
    recognizer = StreamingRecognizer(model, endpoint=EndpointConfig(enabled=False))
    expected = offline_texts(model, utterances, "ctc", 1)
    streams = [recognizer.create_stream() for _ in utterances]
    signals = [load_audio(p) for p in utterances]
    for step in range(0, max(len(s) for s in signals), 3000):
        for stream, signal in zip(streams, signals, strict=True):
            if step < len(signal):
                stream.accept_waveform(16000, signal[step: step + 3000])
            elif not stream.finished:
                stream.input_finished()
        recognizer.decode_streams(streams)  # unequal lengths, in one batch
    for stream in streams:
        stream.input_finished()
    recognizer.decode_streams(streams)
    assert [s.result.text for s in streams] == expected


def test_a_stream_at_another_sample_rate_is_resampled(utterances: list[Path]) -> None:
    import soundfile

    model = tiny_recognizer([8, 3])
    recognizer = StreamingRecognizer(model, endpoint=EndpointConfig(enabled=False))
    native, rate = soundfile.read(str(utterances[0]), dtype="float32")  # espeak: 22.05 kHz
    assert rate != 16000
    stream = recognizer.create_stream()
    stream.accept_waveform(rate, native)
    stream.input_finished()
    recognizer.decode(stream)
    assert stream.result.text == offline_texts(model, utterances[:1], "ctc", 1)[0]
    with pytest.raises(ValueError, match="sample rate changed"):
        other = recognizer.create_stream()
        other.accept_waveform(rate, native[:100])
        other.accept_waveform(16000, native[:100])


def test_the_maximum_utterance_length_ends_an_utterance_and_restarts_the_search(utterances: list[Path]) -> None:
    model = tiny_recognizer([8, 3])
    recognizer = StreamingRecognizer(model, endpoint=EndpointConfig(max_utterance=0.5))
    stream = recognizer.create_stream()
    stream.accept_waveform(16000, load_audio(utterances[2]))
    stream.input_finished()
    recognizer.decode(stream)
    assert len(stream.result.segments) >= 2
    assert stream.final_text().startswith(stream.result.segments[0])
    assert all(t >= 0.5 * (len(stream.result.segments)) - 0.2 for t in stream.result.timestamps)


def test_trailing_silence_after_speech_ends_an_utterance() -> None:
    model = tiny_recognizer([8, 3], heads={"ctc": {}})
    recognizer = StreamingRecognizer(model, endpoint=EndpointConfig(trailing_silence=0.4))
    stream = recognizer.create_stream()
    search = stream._search
    stream._last_emit, search.frames = 2, 2 + int(0.4 / model.frame_seconds) + 1
    stream.result.text = "hello"
    stream._endpoint()
    assert stream.result.segments == ["hello"]
    assert search.frames == 0 and stream._last_emit == -1
    stream._endpoint()  # no speech yet, and less silence than silence_before_speech: nothing happens
    assert stream.result.segments == ["hello"] and search.frames == 0
    search.frames = int(2.4 / model.frame_seconds) + 1  # then 2.4 s of silence without a token
    stream.frames += search.frames
    stream._endpoint()
    assert stream.result.segments == ["hello"]  # the silence is dropped: no empty segment
    assert search.frames == 0 and stream._segment_start == stream.frames  # timestamps count on from here


def test_streaming_refuses_a_non_streaming_model_with_a_clear_error() -> None:
    tokenizer = CharTokenizer("ab")
    model = Recognizer(tokenizer, {"name": "conformer", **{**TINY, "feat_in": 80}}, {"ctc": {}})
    with pytest.raises(ValueError, match="limited context"):
        StreamingRecognizer(model)


def test_a_self_conditioned_ctc_model_streams_exactly_and_trains_its_intermediate_loss() -> None:
    model = tiny_recognizer([8, 3], heads={"ctc": {"inter_layers": [0], "inter_weight": 0.5}})
    assert model.encoder.intermediate_layers == (0,)
    assert model.encoder.condition == model.heads["ctc"].self_condition
    x, lengths = torch.randn(2, 203, 80), torch.tensor([203, 90])
    with torch.no_grad():
        offline, h_lengths = model.encoder(x, lengths)
        streamed = model.encoder.forward_streaming(x, lengths)[0]
        model.encoder.condition = None
        unconditioned, _ = model.encoder(x, lengths)
    for b, n in enumerate(h_lengths.tolist()):
        torch.testing.assert_close(streamed[b, :n], offline[b, :n], rtol=0, atol=1e-4)
    assert (unconditioned - offline).abs().max() > 1e-3  # the conditioning is in the encoder's path

    model = tiny_recognizer([8, 3], heads={"ctc": {"inter_layers": [0], "inter_weight": 0.5}}).train()
    waves = torch.randn(2, 16000) * 0.1
    targets, target_lengths = torch.tensor([[1, 2, 3], [4, 0, 0]]), torch.tensor([3, 1])
    losses = model(waves, torch.tensor([16000, 12000]), targets, target_lengths)
    losses["loss"].backward()
    assert model.heads["ctc"].condition.weight.grad.abs().sum() > 0  # the conditioning layer learns


@pytest.mark.parametrize("heads", [{"ctc": {"inter_layers": [1]}},  # the last of 2 layers
                                   {"ctc": {"inter_layers": [-1]}}])
def test_intermediate_ctc_on_a_layer_that_is_not_below_the_last_is_refused(heads: dict) -> None:
    with pytest.raises(ValueError, match="inter_layers"):
        tiny_recognizer([8, 3], heads=heads)


def test_a_unified_model_decodes_offline_with_full_context_and_streams_at_its_first_limited_one() -> None:
    model = tiny_recognizer([[-1, -1], [8, 3], [8, 1]])
    assert model.encoder.att_context == (-1, -1)  # offline by default
    recognizer = StreamingRecognizer(model, endpoint=EndpointConfig(enabled=False))
    assert model.encoder.att_context == (8, 3) and recognizer.chunk_seconds == pytest.approx(4 * 0.04)
    samples = np.random.default_rng(1).standard_normal(12000).astype(np.float32) * 0.1
    stream = recognizer.create_stream()
    stream.accept_waveform(16000, samples)
    stream.input_finished()
    recognizer.decode(stream)
    offline = model.recognize(torch.from_numpy(samples)[None], torch.tensor([12000]))[0]  # at (8, 3) now
    assert stream.result.text == offline.text


def test_the_sherpa_onnx_loop_gives_the_segments_automatic_endpointing_gives() -> None:
    model = tiny_recognizer([8, 3])
    samples = np.random.default_rng(2).standard_normal(16000 * 4).astype(np.float32) * 0.1
    rule = {"max_utterance": 0.7, "trailing_silence": 0.3}

    auto = StreamingRecognizer(model, endpoint=EndpointConfig(**rule))
    stream = auto.create_stream()
    for start in range(0, len(samples), 4410):
        stream.accept_waveform(16000, samples[start: start + 4410])
        auto.decode(stream)
    stream.input_finished()
    auto.decode(stream)
    expected = [*stream.result.segments, stream.result.text]

    manual = StreamingRecognizer(model, endpoint=EndpointConfig(reset=False, **rule))
    stream, segments, endpoints = manual.create_stream(), [], 0

    def drain() -> None:
        nonlocal endpoints
        while manual.is_ready(stream):
            manual.decode_stream(stream)  # one chunk a call
            if manual.is_endpoint(stream):
                endpoints += 1
                if manual.get_result(stream):
                    segments.append(manual.get_result(stream))
                manual.reset(stream)
                assert not manual.is_endpoint(stream)

    for start in range(0, len(samples), 4410):
        stream.accept_waveform(16000, samples[start: start + 4410])
        drain()
    stream.input_finished()
    drain()
    assert endpoints >= 4  # 4 s of input, at most 0.7 s an utterance
    assert [*segments, manual.get_result(stream)] == expected
