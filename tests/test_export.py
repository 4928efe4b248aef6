"""ONNX export of the streaming model and the torch-free runtime in recog_edge: the same text as
PyTorch, caches as explicit inputs/outputs, metadata, no torch import; `recog stream` / `recog export`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile
import soxr
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recog.audio import load_audio
from recog.checkpoint import save_checkpoint
from recog.cli import main
from recog.streaming import EndpointConfig, StreamingRecognizer
from recog_edge import EdgeModel
from tests.conftest import speak
from tests.helpers import cut_at, stream_through, tiny_line_recognizer, tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    """A random-weight streaming model (self-conditioned ctc + rnnt): checkpoint, `recog export` folder, wavs."""
    root = tmp_path_factory.mktemp("export")
    # Self-conditioned CTC, so the exported encoder step carries the intermediate conditioning too.
    model = tiny_recognizer([8, 3], heads={"ctc": {"inter_layers": [0]}, "rnnt": {"pred_dim": 32, "joint_dim": 32}})
    checkpoint = save_checkpoint(model, root / "model.ckpt")
    torch.set_num_threads(1)
    assert main(["export", "--model", str(checkpoint), "--out", str(root / "onnx"), "--streaming"]) == 0
    wavs = [speak("open the door please", root / "a.wav"), speak("blue sky", root / "b.wav", speed=170)]
    return checkpoint, root / "onnx", wavs


def test_export_writes_the_encoder_step_predictor_and_joiner_with_metadata(exported: tuple) -> None:
    _, folder, _ = exported
    assert sorted(p.name for p in folder.iterdir()) == ["encoder.onnx", "joiner.onnx", "predictor.onnx"]
    encoder = onnx.load(str(folder / "encoder.onnx"))
    names = [i.name for i in encoder.graph.input]
    assert names[:2] == ["chunk", "chunk_lengths"]
    assert {"cache_last_channel", "cache_last_time", "cache_length", "sub_cache_0", "sub_cache_1"} <= set(names)
    outputs = [o.name for o in encoder.graph.output]
    assert {"encoded", "encoded_lengths", "ctc_log_probs", "new_cache_last_channel"} <= set(outputs)
    meta = json.loads({p.key: p.value for p in encoder.metadata_props}["recog"])
    assert meta["chunk_frames"] == 4 and meta["chunk_features"] == 16 and meta["att_context"] == [8, 3]
    assert meta["sample_rate"] == 16000 and meta["features"]["n_mels"] == 80
    assert meta["vocabulary"][:3] == ["<blank>", "<unk>", "a"] and len(meta["vocabulary"]) == 30
    assert meta["cache"]["cache_last_channel"]["shape"][2] == 8  # left context frames


def test_an_int8_export_quantizes_the_encoder_and_keeps_the_per_step_graphs_float(exported: tuple,
                                                                                  tmp_path: Path) -> None:
    """The predictor is the LSTM cell written out (no ONNX LSTM operator, whose per-call set-up
    dominates one step); int8 quantizes the encoder step but not the predictor and joiner, which run
    on one row per step."""
    checkpoint, folder, wavs = exported
    assert main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "int8"), "--streaming", "--int8"]) == 0

    def ops(path: Path) -> set[str]:
        return {node.op_type for node in onnx.load(str(path)).graph.node}

    assert "LSTM" not in ops(folder / "predictor.onnx") and "Sigmoid" in ops(folder / "predictor.onnx")
    assert "MatMulInteger" in ops(tmp_path / "int8" / "encoder.onnx")
    for name in ("predictor.onnx", "joiner.onnx"):
        assert ops(tmp_path / "int8" / name) == ops(folder / name), name
        assert "DynamicQuantizeLinear" not in ops(tmp_path / "int8" / name)
    assert isinstance(EdgeModel(tmp_path / "int8", head="rnnt").transcribe(*soundfile.read(wavs[0], dtype="float32")),
                      str)


@pytest.mark.parametrize("head", ["ctc", "rnnt"])
def test_the_edge_runtime_reads_what_pytorch_streaming_reads(exported: tuple, head: str) -> None:
    checkpoint, folder, wavs = exported
    import recog

    model = recog.load(checkpoint)
    torch_stream = StreamingRecognizer(model, head=head, endpoint=EndpointConfig(enabled=False))
    edge = EdgeModel(folder, head=head, endpoint=EndpointConfig(enabled=False))
    for wav in wavs:
        samples = load_audio(wav)
        stream = torch_stream.create_stream()
        edge_stream = edge.create_stream()
        for start in range(0, len(samples), 2000):
            stream.accept_waveform(16000, samples[start: start + 2000])
            edge_stream.accept_waveform(16000, samples[start: start + 2000])
            torch_stream.decode(stream)
            edge.decode(edge_stream)
        stream.input_finished()
        edge_stream.input_finished()
        torch_stream.decode(stream)
        edge.decode(edge_stream)
        assert stream.result.text  # random weights say a lot: equal texts mean equal posteriors
        assert edge_stream.result == stream.result  # one result type, field for field


def test_the_edge_encoder_step_matches_pytorch_for_a_batch_of_unequal_lengths(exported: tuple) -> None:
    checkpoint, folder, _ = exported
    assert_encoder_step_matches_pytorch(checkpoint, folder)


def test_a_chunked_conv_encoder_step_matches_pytorch(tmp_path: Path) -> None:
    model = tiny_recognizer([8, 3], heads={"ctc": {}}, chunked_conv=True)
    checkpoint = save_checkpoint(model, tmp_path / "model.ckpt")
    assert main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "onnx"), "--streaming"]) == 0
    assert_encoder_step_matches_pytorch(checkpoint, tmp_path / "onnx")


def assert_encoder_step_matches_pytorch(checkpoint: Path, folder: Path) -> None:
    """Four chunks of a batch of three streams that end at different chunks, through encoder.onnx
    and through ``forward_chunk``: the same frames and lengths."""
    import onnxruntime as ort

    import recog

    encoder = recog.load(checkpoint).model.encoder
    session = ort.InferenceSession(str(folder / "encoder.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    cache = encoder.init_cache(3)
    feeds_cache = {"sub_cache_0": cache.subsampling[0], "sub_cache_1": cache.subsampling[1],
                   "cache_last_channel": cache.last_channel, "cache_last_time": cache.last_time,
                   "cache_length": cache.length}
    feeds_cache = {k: v.numpy() for k, v in feeds_cache.items()}
    generator = torch.Generator().manual_seed(1)
    for step in range(4):
        chunk = torch.randn(3, 16, 80, generator=generator)
        lengths = torch.tensor([16, 16 if step < 2 else 5, 16 if step < 3 else 0])
        with torch.no_grad():
            h, h_lengths, cache = encoder.forward_chunk(chunk, lengths, cache)
        out = dict(zip(names, session.run(None, {"chunk": chunk.numpy(), "chunk_lengths": lengths.numpy(),
                                                 **feeds_cache}), strict=True))
        feeds_cache = {k: out["new_" + k] for k in feeds_cache}
        assert out["encoded_lengths"].tolist() == h_lengths.tolist()
        for b, n in enumerate(h_lengths.tolist()):
            np.testing.assert_allclose(out["encoded"][b, :n], h[b, :n].numpy(), rtol=0, atol=1e-4)


def test_importing_and_running_the_edge_runtime_never_imports_torch(exported: tuple) -> None:
    _, folder, wavs = exported
    code = ("import sys, soundfile, recog_edge\n"
            f"samples, rate = soundfile.read({str(wavs[1])!r}, dtype='float32')\n"
            "import soxr\n"
            "samples = soxr.resample(samples, rate, 16000)\n"
            f"text = recog_edge.EdgeModel({str(folder)!r}).transcribe(samples, 16000)\n"
            "assert text, 'no text'\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_edge_runtime_refuses_a_missing_model_and_a_rate_change_mid_stream(exported: tuple,
                                                                               tmp_path: Path) -> None:
    _, folder, _ = exported
    with pytest.raises(FileNotFoundError, match="encoder.onnx nor offline.onnx"):
        EdgeModel(tmp_path)
    stream = EdgeModel(folder).create_stream()
    stream.accept_waveform(8000, np.zeros(100, dtype=np.float32))  # any one rate: resampled
    with pytest.raises(ValueError, match="changed mid-stream"):
        stream.accept_waveform(16000, np.zeros(100, dtype=np.float32))


@pytest.mark.parametrize("head", ["ctc", "rnnt"])
def test_both_runtimes_run_the_sherpa_loop_on_44k_audio_alike(exported: tuple, head: str) -> None:
    import recog

    checkpoint, folder, wavs = exported
    samples = soxr.resample(load_audio(wavs[0]), 16000, 44100).astype(np.float32)
    runtimes = [StreamingRecognizer(recog.load(checkpoint), head=head, endpoint=EndpointConfig(enabled=False)),
                EdgeModel(folder, head=head, endpoint=EndpointConfig(enabled=False))]
    results = []
    for runtime in runtimes:
        stream = sherpa_loop(runtime, samples, 44100)
        results.append((runtime.get_result(stream), stream.result))
    assert results[0][0] and results[0] == results[1]


def sherpa_loop(runtime, samples: np.ndarray, rate: int, closed: list[str] | None = None):  # noqa: ANN001, ANN201
    """sherpa-onnx's loop over ``samples`` in 0.1 s blocks with either runtime: decode each ready
    chunk and, where given ``closed``, close every utterance whose endpoint fired (its text
    appended to ``closed``); the finished stream."""
    stream, block = runtime.create_stream(), rate // 10
    for start in [*range(0, len(samples), block), None]:
        if start is None:
            stream.input_finished()
        else:
            stream.accept_waveform(rate, samples[start: start + block])
        while runtime.is_ready(stream):
            runtime.decode_stream(stream)
            if closed is not None and runtime.is_endpoint(stream):
                closed.append(runtime.get_result(stream))
                runtime.reset(stream)
    return stream


def test_recog_stream_prints_partials_and_the_offline_text(exported: tuple, capsys: pytest.CaptureFixture) -> None:
    checkpoint, _, wavs = exported
    import recog

    model = recog.load(checkpoint)
    wave = torch.from_numpy(load_audio(wavs[0]))[None]
    offline = model.model.recognize(wave, torch.tensor([wave.shape[1]]))[0].text
    assert main(["stream", str(wavs[0]), "--model", str(checkpoint), "--chunk-ms", "80", "--no-endpoint"]) == 0
    lines = capsys.readouterr().out.splitlines()
    partials = [line for line in lines if line.startswith("partial: ")]
    assert len(partials) > 1
    assert lines[-1] == f"text: {offline}"


def test_recog_stream_with_a_language_model_prints_the_offline_fused_text(exported: tuple, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    checkpoint, _, wavs = exported
    import recog
    from recog.lm import CharNgramLM

    lm_path = tmp_path / "lm.npz"
    CharNgramLM.train(["open the door", "a blue sky"], order=3).save(lm_path)
    model = recog.load(checkpoint, lm=lm_path)
    wave = torch.from_numpy(load_audio(wavs[0]))[None]
    offline = model.model.recognize(wave, torch.tensor([wave.shape[1]]), head="rnnt", beam=3, lm=model.lm,
                                    lm_weight=1.5, lm_bonus=0.5)[0].text
    assert offline != model.model.recognize(wave, torch.tensor([wave.shape[1]]), head="rnnt", beam=3)[0].text
    assert main(["stream", str(wavs[0]), "--model", str(checkpoint), "--head", "rnnt", "--beam", "3",
                 "--lm", str(lm_path), "--lm-weight", "1.5", "--lm-bonus", "0.5", "--no-endpoint"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"text: {offline}"
    assert main(["stream", str(wavs[0]), "--model", str(checkpoint), "--head", "ctc", "--lm", str(lm_path)]) == 2
    assert "rnnt head" in capsys.readouterr().err


def test_recog_stream_and_export_refuse_a_model_that_cannot_stream(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    from recog.model import Recognizer
    from recog.text import CharTokenizer

    encoder = {"name": "conformer", "feat_in": 80, "d_model": 16, "n_layers": 1, "n_heads": 2,
               "subsampling_channels": 4}
    checkpoint = save_checkpoint(Recognizer(CharTokenizer("ab"), encoder, {"ctc": {}}), tmp_path / "full.ckpt")
    wav = speak("hi", tmp_path / "hi.wav")
    assert main(["stream", str(wav), "--model", str(checkpoint)]) == 2
    assert "causal" in capsys.readouterr().err
    assert main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "x"), "--streaming"]) == 2
    assert not (tmp_path / "x").exists()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 5000), min_size=1, max_size=10), rate=st.sampled_from([8000, 16000, 22050]),
       int16=st.booleans())
def test_the_edge_runtime_takes_any_cutting_rate_and_sample_type_alike(exported: tuple, cuts: list[int], rate: int,
                                                                       int16: bool) -> None:
    _, folder, wavs = exported
    samples = soxr.resample(load_audio(wavs[0]), 16000, rate).astype(np.float32)
    if int16:
        samples = (samples * 32767).astype(np.int16)
    edge = EdgeModel(folder)
    assert stream_through(edge, cut_at(samples, cuts), rate) == stream_through(edge, [samples], rate)


@pytest.mark.parametrize(("index_positions", "width_scale"), [(False, 1.0), (True, 0.6)])
def test_a_text_line_model_exports_one_graph_that_the_edge_runtime_reads_like_pytorch(
        tmp_path: Path, capsys: pytest.CaptureFixture, index_positions: bool, width_scale: float) -> None:
    import torch
    from PIL import Image

    import recog
    from recog.checkpoint import save_model
    from recog_edge import EdgeLineModel

    parallel = {"max_len": 16, "layers": 2, "heads": 2, "index_positions": index_positions}
    model = tiny_line_recognizer({"ctc": {}, "parallel": parallel}, width_scale)
    with torch.no_grad():  # random weights that say something: CPPD's end made unlikely too
        model.heads["parallel"].order_out.bias[:2] -= 4.0  # end and unknown
    folder = save_model(model, tmp_path / "model")
    rng = np.random.default_rng(0)
    files = []
    for i, width in enumerate((40, 150, 700)):  # a square-ish size, a short and a long line
        files.append(tmp_path / f"line{i}.png")
        Image.fromarray((rng.random((30, width, 3)) * 255).astype(np.uint8)).save(files[-1])
    assert main(["export", "--model", str(folder), "--out", str(tmp_path / "onnx")]) == 0
    # CPPD decodes in a graph of its own: reading with CTC never runs it
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == ["lines.onnx", "parallel.onnx"]
    lines_outputs = onnx.load(str(tmp_path / "onnx" / "lines.onnx")).graph.output
    assert [o.name for o in lines_outputs] == ["encoded", "lengths", "ctc_log_probs"]
    torch_model = recog.load(folder)
    assert torch_model.model.frontend.config.width_scale == width_scale  # both read the long line squeezed
    for head in ("ctc", "parallel"):
        expected = torch_model.transcribe(files, head=head)
        edge = EdgeLineModel(tmp_path / "onnx", head=head).read(files)
        assert any(r.text for r in expected)  # random weights read something: equal texts mean equal outputs
        assert [(e.text, e.x_positions) for e in edge] == [(r.text, r.positions) for r in expected]
        assert [e.confidence for e in edge] == pytest.approx([r.confidence for r in expected], abs=1e-3)
    assert main(["export", "--model", str(folder), "--out", str(tmp_path / "x"), "--streaming"]) == 2
    capsys.readouterr()


def test_a_line_export_leaves_an_attention_head_behind_and_refuses_cppd_from_an_older_format(
        tmp_path: Path) -> None:
    """The edge readers decode CTC and CPPD only: an attention head neither adds its memory to
    lines.onnx nor becomes the export's head; a format-1 export (CPPD inside lines.onnx) asked
    for the parallel head says to export again, instead of missing a file."""
    from PIL import Image

    import recog
    from recog.checkpoint import save_model
    from recog_edge import EdgeLineModel

    model = tiny_line_recognizer({"attention": {"layers": 1, "heads": 2}, "ctc": {}})  # attention first: the default
    folder = save_model(model, tmp_path / "model")
    image = tmp_path / "line.png"
    Image.fromarray((np.random.default_rng(0).random((30, 150, 3)) * 255).astype(np.uint8)).save(image)
    assert main(["export", "--model", str(folder), "--out", str(tmp_path / "onnx")]) == 0
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == ["lines.onnx"]
    graph = onnx.load(str(tmp_path / "onnx" / "lines.onnx"))
    assert [o.name for o in graph.graph.output] == ["encoded", "lengths", "ctc_log_probs"]
    edge = EdgeLineModel(tmp_path / "onnx")
    assert edge.head == "ctc"
    expected = recog.load(folder).transcribe([image], head="ctc")[0].text
    assert expected and edge.read([image])[0].text == expected

    for prop in graph.metadata_props:  # the same export as format 1 wrote it
        if prop.key == "recog":
            prop.value = json.dumps({**json.loads(prop.value), "format": 1, "heads": ["ctc", "parallel"]})
    (tmp_path / "old").mkdir()
    onnx.save(graph, str(tmp_path / "old" / "lines.onnx"))
    with pytest.raises(ValueError, match=r"old/lines.onnx: export format 1 .*export the model again"):
        EdgeLineModel(tmp_path / "old", head="parallel")
    assert EdgeLineModel(tmp_path / "old", head="ctc").read([image])[0].text == expected


def test_the_edge_line_reader_reads_lines_side_by_side_on_its_threads(tmp_path: Path) -> None:
    """With threads=2, two lines are in onnxruntime at once (each on one thread), and the results,
    in input order, are those read one at a time."""
    import threading
    import time

    from recog.checkpoint import save_model
    from recog_edge import EdgeLineModel

    model = tiny_line_recognizer({"ctc": {}})
    assert main(["export", "--model", str(save_model(model, tmp_path / "model")), "--out", str(tmp_path / "onnx")]) == 0
    rng = np.random.default_rng(0)
    images = [(rng.random((30, width, 3)) * 255).astype(np.uint8) for width in (40, 90, 150, 300, 500, 700)]

    class Counting:  # the session, counting the runs in flight; each run lasts long enough to overlap
        def __init__(self, session: object) -> None:
            self.session, self.lock, self.running, self.most = session, threading.Lock(), 0, 0

        def run(self, *args: object) -> list:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(0.05)
            try:
                return self.session.run(*args)
            finally:
                with self.lock:
                    self.running -= 1

    alone = [r.to_json() for r in EdgeLineModel(tmp_path / "onnx").read(images)]
    assert any(r["text"] for r in alone)
    edge = EdgeLineModel(tmp_path / "onnx", threads=2)
    edge.session = counting = Counting(edge.session)
    assert [r.to_json() for r in edge.read(images)] == alone
    assert counting.most == 2

@pytest.mark.parametrize("head", ["ctc", "rnnt"])
@pytest.mark.parametrize("reset", [True, False])
def test_both_runtimes_endpoint_alike_on_the_same_audio(exported: tuple, head: str, reset: bool) -> None:
    """One endpoint rule (recog_edge.endpoint) closes the same utterances at the same frames in the
    PyTorch and the edge streams, closed by the stream itself or by the application (reset=False)."""
    import recog

    checkpoint, folder, wavs = exported
    silence = np.zeros(16000 * 2, dtype=np.float32)
    samples = np.concatenate([load_audio(wavs[0]), silence, load_audio(wavs[1]), silence])
    rule = EndpointConfig(reset=reset, trailing_silence=0.4, silence_before_speech=0.8, max_utterance=2.0)
    runtimes = [StreamingRecognizer(recog.load(checkpoint), head=head, endpoint=rule),
                EdgeModel(folder, head=head, endpoint=rule)]
    results = []
    for runtime in runtimes:
        closed: list[str] = []
        results.append((sherpa_loop(runtime, samples, 16000, closed).result, closed))
    assert len(results[0][0].segments) >= 2  # the rule fired: the audio became several utterances
    assert bool(results[0][1]) == (not reset)  # the application saw (and closed) them only with reset=False
    assert results[0] == results[1]
