"""Offline speech export (`recog export` without --streaming) and recog_edge's offline decoding:
offline.onnx (full-context encoder + per-head outputs), the transducer's predictor/joiner, the
attention decoder step with its KV cache and the CASS-NAT decoder; the same text as
`recog.load(...).transcribe` for every head, from the Python API and `python -m recog_edge`;
bad export folders refused with one line naming the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile
import torch

from recog.audio import load_audio
from recog.checkpoint import save_checkpoint
from recog.cli import main
from recog_edge import EdgeModel
from recog_edge.sessions import FORMAT
from tests.conftest import speak
from tests.helpers import tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")

HEADS = ["ctc", "rnnt", "attention", "cassnat"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    """A random-weight speech model with every decoding head (self-conditioned CTC, RNN-T, attention,
    CASS-NAT): checkpoint, `recog export` folder, wavs."""
    root = tmp_path_factory.mktemp("offline")
    model = tiny_recognizer([8, 3], heads={"ctc": {"inter_layers": [0]}, "rnnt": {"pred_dim": 32, "joint_dim": 32},
                                           "attention": {"layers": 2, "heads": 2}, "cassnat": {"heads": 2}})
    with torch.no_grad():  # random weights that say something: the CTC blanks made less likely
        model.heads["ctc"].proj.bias[0] -= 3.0
        model.heads["cassnat"].ctc.bias[0] -= 3.0
    checkpoint = save_checkpoint(model, root / "model.ckpt")
    torch.set_num_threads(1)
    assert main(["export", "--model", str(checkpoint), "--out", str(root / "onnx")]) == 0
    wavs = [speak("open the door please", root / "a.wav"), speak("blue sky", root / "b.wav", speed=170)]
    return checkpoint, root / "onnx", wavs


def metadata(path: Path) -> dict:
    return json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["recog"])


def test_the_offline_export_writes_one_graph_and_every_heads_decoder(exported: tuple) -> None:
    _, folder, _ = exported
    assert sorted(p.name for p in folder.iterdir()) == ["cassnat.onnx", "decoder.onnx", "joiner.onnx",
                                                        "offline.onnx", "predictor.onnx"]
    graph = onnx.load(str(folder / "offline.onnx"))
    assert [i.name for i in graph.graph.input] == ["features", "feature_lengths"]
    assert [o.name for o in graph.graph.output] == ["encoded", "encoded_lengths", "ctc_log_probs",
                                                    "attention_memory_keys", "attention_memory_values",
                                                    "cassnat_ctc_log_probs"]
    meta = metadata(folder / "offline.onnx")
    assert meta["kind"] == "offline" and meta["heads"] == HEADS and meta["default_head"] == "ctc"
    assert meta["decoder"]["cache"]["shape"] == [2, 2, 1, 2, 0, 16]  # layers, keys/values, N, H, no past, d_head
    decoder = onnx.load(str(folder / "decoder.onnx"))
    assert [i.name for i in decoder.graph.input] == ["tokens", "memory_keys", "memory_values", "encoded_lengths",
                                                     "cache"]
    assert [o.name for o in decoder.graph.output] == ["log_probs", "frames", "new_cache"]


def test_the_offline_graph_is_the_pytorch_encoder_for_a_batch_of_unequal_lengths(exported: tuple) -> None:
    import onnxruntime as ort

    import recog

    checkpoint, folder, _ = exported
    model = recog.load(checkpoint).model
    session = ort.InferenceSession(str(folder / "offline.onnx"), providers=["CPUExecutionProvider"])
    features = torch.randn(3, 333, 80, generator=torch.Generator().manual_seed(3))  # a length never exported with
    lengths = torch.tensor([333, 120, 41])
    encoded, encoded_lengths, ctc, *_ = session.run(None, {"features": features.numpy(),
                                                           "feature_lengths": lengths.numpy()})
    with torch.no_grad():
        h, h_lengths = model.encoder(features, lengths)
        log_probs = model.heads["ctc"](h)
    assert encoded_lengths.tolist() == h_lengths.tolist()
    for b, n in enumerate(h_lengths.tolist()):
        np.testing.assert_allclose(encoded[b, :n], h[b, :n].numpy(), rtol=0, atol=1e-4)
        np.testing.assert_allclose(ctc[b, :n], log_probs[b, :n].numpy(), rtol=0, atol=1e-4)


@pytest.mark.parametrize("head", HEADS)
def test_the_edge_runtime_transcribes_offline_what_pytorch_transcribes(exported: tuple, head: str) -> None:
    import recog

    checkpoint, folder, wavs = exported
    expected = [r.text for r in recog.load(checkpoint).transcribe(wavs, head=head)]
    edge = EdgeModel(folder, head=head)
    got = [edge.transcribe(*soundfile.read(wav, dtype="float32")) for wav in wavs]  # 22.05 kHz files: resampled
    assert all(expected)  # random weights say something: equal texts mean equal posteriors
    assert got == expected


def test_python_m_recog_edge_transcribes_an_offline_export(exported: tuple) -> None:
    import recog

    checkpoint, folder, wavs = exported
    model = recog.load(checkpoint)
    for head in ("ctc", "attention"):
        out = subprocess.run([sys.executable, "-m", "recog_edge", "transcribe", *map(str, wavs), "--model", str(folder),
                              "--head", head], capture_output=True, text=True, check=True)
        expected = [f"{r.path}\t{r.text}" for r in model.transcribe(wavs, head=head)]
        assert out.stdout.splitlines() == expected


def test_the_offline_runtime_never_imports_torch(exported: tuple) -> None:
    _, folder, wavs = exported
    code = ("import sys, soundfile, recog_edge\n"
            f"samples, rate = soundfile.read({str(wavs[1])!r}, dtype='float32')\n"
            f"for head in {HEADS!r}:\n"
            f"    assert recog_edge.EdgeModel({str(folder)!r}, head=head).transcribe(samples, rate), head\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_offline_export_refuses_streaming_and_bad_folders_name_the_file(exported: tuple, tmp_path: Path) -> None:
    _, folder, _ = exported
    with pytest.raises(ValueError, match=r"encoder.onnx: missing: streaming needs `recog export --streaming`"):
        EdgeModel(folder).create_stream()
    with pytest.raises(ValueError, match=r"empty audio"):
        EdgeModel(folder).transcribe(np.zeros(0, dtype=np.float32), 16000)
    broken = tmp_path / "no-decoder"
    shutil.copytree(folder, broken)
    (broken / "decoder.onnx").unlink()
    EdgeModel(broken, head="ctc")  # a head that needs no decoder graph still loads
    with pytest.raises(FileNotFoundError, match=r"no-decoder/decoder.onnx: missing"):
        EdgeModel(broken, head="attention")
    with pytest.raises(ValueError, match=r"no 'parallel' head exported"):
        EdgeModel(folder, head="parallel")
    newer = tmp_path / "newer"
    newer.mkdir()
    proto = onnx.load(str(folder / "offline.onnx"))
    for prop in proto.metadata_props:
        prop.value = json.dumps({**json.loads(prop.value), "format": FORMAT + 1})
    onnx.save(proto, str(newer / "offline.onnx"))
    with pytest.raises(ValueError, match=rf"newer/offline.onnx: export format {FORMAT + 1} is newer than this runtime"):
        EdgeModel(newer)
    other = tmp_path / "other"
    other.mkdir()
    for prop in proto.metadata_props:
        prop.value = json.dumps({**json.loads(prop.value), "format": 1, "kind": "lines"})
    onnx.save(proto, str(other / "offline.onnx"))
    with pytest.raises(ValueError, match=r"other/offline.onnx: an export of kind 'lines', not 'offline'"):
        EdgeModel(other)
    (other / "offline.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValueError, match=r"other/offline.onnx: not a readable ONNX file"):
        EdgeModel(other)
    bad = subprocess.run([sys.executable, "-m", "recog_edge", "transcribe", "x.wav", "--model", str(newer)],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and f"newer/offline.onnx: export format {FORMAT + 1}" in bad.stderr


def test_a_full_context_model_exports_offline_and_reads_like_pytorch(tmp_path: Path) -> None:
    import recog
    from recog.model import Recognizer
    from recog.text import CharTokenizer

    torch.manual_seed(0)
    encoder = {"name": "conformer", "feat_in": 80, "d_model": 16, "n_layers": 1, "n_heads": 2,
               "subsampling_channels": 4}  # not causal, unlimited context: it cannot stream
    model = Recognizer(CharTokenizer("abcdefgh"), encoder, {"ctc": {}}).eval()
    with torch.no_grad():
        model.heads["ctc"].proj.bias[:2] -= 8.0  # blank and unknown
    checkpoint = save_checkpoint(model, tmp_path / "full.ckpt")
    wav = speak("hello there", tmp_path / "hi.wav")
    assert main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "onnx"), "--int8"]) == 0
    assert metadata(tmp_path / "onnx" / "offline.onnx")["int8"] is True
    float_export = main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "fp32")])
    assert float_export == 0
    expected = recog.load(checkpoint).transcribe([wav])[0].text
    assert expected and EdgeModel(tmp_path / "fp32").transcribe(*soundfile.read(wav, dtype="float32")) == expected
    assert EdgeModel(tmp_path / "onnx").transcribe(*soundfile.read(wav, dtype="float32"))  # int8 reads too


def test_one_folder_holds_both_exports_and_streams_only_the_heads_that_stream(exported: tuple,
                                                                              tmp_path: Path) -> None:
    from recog_edge import EndpointConfig

    checkpoint, folder, wavs = exported
    both = tmp_path / "both"
    shutil.copytree(folder, both)
    assert main(["export", "--model", str(checkpoint), "--out", str(both), "--streaming"]) == 0
    assert metadata(both / "encoder.onnx")["heads"] == ["ctc", "rnnt"]  # attention and CASS-NAT do not stream
    with pytest.raises(ValueError, match=r"encoder.onnx: the 'attention' head does not stream"):
        EdgeModel(both, head="attention").create_stream()
    samples, rate = load_audio(wavs[0]), 16000  # resampled once: streams and whole signals read the same samples
    for head in ("ctc", "rnnt"):
        model = EdgeModel(both, head=head, endpoint=EndpointConfig(enabled=False))
        stream = model.create_stream()
        stream.accept_waveform(rate, samples)
        stream.input_finished()
        model.decode(stream)
        # The same attention context offline and chunk by chunk: the same text.
        assert stream.result.text == model.transcribe(samples, rate) == EdgeModel(folder, head=head).transcribe(
            samples, rate)


class CountingSession:
    """An onnxruntime session that counts its calls."""

    def __init__(self, session: object) -> None:
        self.session, self.calls = session, 0

    def run(self, names: object, feeds: dict) -> list:
        self.calls += 1
        return self.session.run(names, feeds)


def test_the_transducer_search_reads_blank_frames_in_one_joiner_call_and_finds_the_per_frame_result() -> None:
    """The edge greedy transducer search reads up to ``window`` frames per joiner call: the same
    result, bit for bit, as one call per frame (offline and chunk by chunk), in fewer calls."""
    from dataclasses import astuple

    from recog_edge.models import resolve
    from recog_edge.search import TransducerGreedy

    model = EdgeModel(resolve("en-speech"))
    samples, rate = soundfile.read(str(Path(__file__).resolve().parents[1] / "examples" / "weather.flac"),
                                   dtype="float32")
    features = model.features(samples, rate)
    out = model.offline.run(["encoded", "encoded_lengths"], {"features": features[None],
                                                             "feature_lengths": np.array([len(features)])})
    encoded = out[0][0, : int(out[1][0])]  # (T, D)

    def search(window: int, chunk: int) -> tuple[tuple, int]:
        joiner = CountingSession(model.parts["joiner"])
        greedy = TransducerGreedy(model.parts["predictor"], joiner, model.meta["predictor"], window=window)
        for start in range(0, len(encoded), chunk):
            greedy.advance(encoded[start: start + chunk])
        return astuple(greedy.result()), joiner.calls

    per_frame, per_frame_calls = search(1, len(encoded))
    tokens = len(per_frame[0])
    assert tokens > 10
    assert per_frame_calls == len(encoded) + tokens  # a call per frame, and one more per token
    for chunk in (len(encoded), 5):
        result, calls = search(8, chunk)
        assert result == per_frame
        assert calls < tokens + len(encoded) // 2


class FakeJoiner:
    """A joiner under which a frame emits token 2 while the predictor's token count (``pred[0, 0]``)
    is below the number the frame carries (``encoded[:, 0]``), and blank otherwise."""

    def run(self, names: object, feeds: dict) -> list[np.ndarray]:
        frames, count = feeds["encoded"][:, 0], feeds["pred"][0, 0]
        out = np.full((len(frames), 4), -3.0, dtype=np.float32)
        out[:, 0] = -0.1
        emitting = frames > count  # a frame emits while fewer tokens than its value have come
        out[emitting, 2] = -0.05
        out[emitting, 0] = -2.0
        return [out]


class FakePredictor:
    """A predictor whose output counts the tokens it has been given."""

    def run(self, names: object, feeds: dict) -> list[np.ndarray]:
        state = feeds["state_0"] + (feeds["tokens"][0] != 0)
        return [state.reshape(1, 1).astype(np.float32), state]


@pytest.mark.parametrize("chunk", [1, 3, 20])
def test_the_windowed_transducer_search_keeps_the_per_frame_cap_on_tokens(chunk: int) -> None:
    """Frames that would emit more than ``max_symbols`` tokens stop at the cap, within and at the
    end of a chunk, as the per-frame search stops."""
    from dataclasses import astuple

    from recog_edge.search import TransducerGreedy

    meta = {"max_symbols": 2, "state": [{"shape": [1, 1, 1], "batch_axis": 1, "dtype": "float32"}]}
    # the token count each frame wants to reach (it emits while the count is below it)
    wants = np.array([0, 0, 3, 3, 3, 9, 9, 10, 10, 10, 10, 30, 30, 30, 31, 31, 31, 31, 40, 40], np.float32)
    encoded = np.stack([wants, np.zeros_like(wants)], axis=1)  # (T, 2)

    def search(window: int) -> tuple:
        greedy = TransducerGreedy(FakePredictor(), FakeJoiner(), meta, window=window)
        for start in range(0, len(encoded), chunk):
            greedy.advance(encoded[start: start + chunk])
        return astuple(greedy.result())

    per_frame = search(1)
    stamps = per_frame[1]
    assert max(stamps.count(t) for t in set(stamps)) == 2  # the cap is reached
    assert search(8) == per_frame
    with pytest.raises(ValueError, match="at least 1"):
        TransducerGreedy(FakePredictor(), FakeJoiner(), meta, window=0)
