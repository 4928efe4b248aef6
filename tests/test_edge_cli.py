"""The ``recog-edge`` command (``recog_edge.cli``): the JSON lines of ``recog-edge transcribe`` and
``ocr`` have ``recog``'s fields and values, ``stream`` ends on ``recog stream``'s text, the
shipped edge models are read without ``--model``, and missing models and bad files are one line."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import recog_edge.models
from recog.checkpoint import save_checkpoint
from recog.cli import main as recog_main
from recog.models import ROOT as RECOG_MODELS
from recog.models import shipped
from recog_edge.cli import main as edge_main
from recog_edge.lm import write_fusion_setting
from tests.conftest import speak
from tests.helpers import tiny_recognizer, transparent_ink

pytestmark = pytest.mark.usefixtures("one_thread")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEADS = ["ctc", "rnnt", "attention", "cassnat"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    """A random-weight limited-context speech model with every decoding head, exported offline and
    streaming into one folder: checkpoint, folder, wavs."""
    root = tmp_path_factory.mktemp("edge-cli")
    model = tiny_recognizer([8, 3], heads={"ctc": {}, "rnnt": {"pred_dim": 32, "joint_dim": 32},
                                           "attention": {"layers": 1, "heads": 2}, "cassnat": {"heads": 2}})
    with torch.no_grad():  # random weights that say something: the CTC blanks made less likely
        model.heads["ctc"].proj.bias[0] -= 3.0
        model.heads["cassnat"].ctc.bias[0] -= 3.0
    checkpoint = save_checkpoint(model, root / "model.ckpt")
    for streaming in ([], ["--streaming"]):
        assert recog_main(["export", "--model", str(checkpoint), "--out", str(root / "onnx"), *streaming]) == 0
    wavs = [speak("open the door please", root / "a.wav"), speak("blue sky", root / "b.wav", speed=170)]
    return checkpoint, root / "onnx", wavs


def json_rows(main, argv: list[str], capsys: pytest.CaptureFixture) -> list[dict]:  # noqa: ANN001
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def assert_same_rows(got: list[dict], want: list[dict], numbers: float) -> None:
    """Same fields in the same order, same texts, tokens and positions; scores and confidences
    within ``numbers`` (ONNX against PyTorch arithmetic)."""
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert list(a) == list(b)
        for key in a:
            if key in ("confidence", "score"):
                assert a[key] == pytest.approx(b[key], abs=numbers, rel=numbers), key
            elif key == "token_confidences":
                assert a[key] == pytest.approx(b[key], abs=numbers), key
            else:
                assert a[key] == b[key], key


@pytest.mark.parametrize("head", HEADS)
def test_transcribe_json_lines_equal_recogs_field_for_field(speech: tuple, head: str,
                                                            capsys: pytest.CaptureFixture) -> None:
    checkpoint, folder, wavs = speech
    files = [str(w) for w in wavs]
    want = json_rows(recog_main, ["transcribe", *files, "--model", str(checkpoint), "--head", head, "--output", "-"],
                     capsys)
    got = json_rows(edge_main, ["transcribe", *files, "--model", str(folder), "--head", head, "--output", "-"],
                    capsys)
    assert all(row["text"] for row in want)
    assert_same_rows(got, want, numbers=2e-3)


@pytest.mark.parametrize("head", ["ctc", "rnnt"])
def test_transcribe_writes_recogs_subtitle_and_text_files(speech: tuple, head: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """--output-dir: every format, a file each named after the input, the same as recog's (times to
    the millisecond; a word's confidence to ONNX's arithmetic); --format without it prints them."""
    checkpoint, folder, wavs = speech
    files = [str(w) for w in wavs]
    assert recog_main(["transcribe", *files, "--model", str(checkpoint), "--head", head, "--output-dir",
                       str(tmp_path / "recog"), "--quiet"]) == 0
    assert edge_main(["transcribe", *files, "--model", str(folder), "--head", head, "--output-dir",
                      str(tmp_path / "edge")]) == 0
    assert "wrote 2 result(s) as txt, srt, vtt, tsv, json to" in capsys.readouterr().err
    names = sorted(p.name for p in (tmp_path / "recog").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "edge").iterdir()) and len(names) == 10
    for name in names:
        want, got = ((tmp_path / side / name).read_text() for side in ("recog", "edge"))
        if name.endswith(".json"):
            want, got = json.loads(want), json.loads(got)
            want_words, got_words = ([w for s in row.pop("segments") for w in s["words"]] for row in (want, got))
            assert_same_rows([got], [want], numbers=2e-3)
            assert [[w["text"], w["start"], w["end"]] for w in got_words] == \
                [[w["text"], w["start"], w["end"]] for w in want_words] and want_words
            assert [w["confidence"] for w in got_words] == pytest.approx([w["confidence"] for w in want_words],
                                                                         abs=2e-3)
        else:
            assert got == want, name
    srt = (tmp_path / "edge" / "a.srt").read_text()
    assert " --> " in srt and (tmp_path / "edge" / "a.txt").read_text().strip()
    assert edge_main(["transcribe", files[0], "--model", str(folder), "--head", head, "--format", "srt"]) == 0
    assert capsys.readouterr().out == srt


def test_stream_ends_on_recog_streams_text(speech: tuple, capsys: pytest.CaptureFixture) -> None:
    checkpoint, folder, wavs = speech
    flags = ["--chunk-ms", "80", "--no-endpoint", "--head", "rnnt"]
    assert recog_main(["stream", str(wavs[0]), "--model", str(checkpoint), *flags]) == 0
    want = capsys.readouterr().out.splitlines()
    assert edge_main(["stream", str(wavs[0]), "--model", str(folder), *flags]) == 0
    got = capsys.readouterr().out.splitlines()
    assert got[-1] == want[-1] and got[-1] != "text: "
    assert len([line for line in got if line.startswith("partial: ")]) > 1


def test_stream_from_the_microphone_reads_what_the_file_reads_in_both_runtimes(
        capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """--mic through a stand-in for sounddevice that plays examples/weather.flac and then is stopped
    (Ctrl-C): the same lines as streaming the file, in recog and recog-edge; without sounddevice
    one line says what the microphone needs."""
    import types

    import numpy as np
    import soundfile

    weather = EXAMPLES / "weather.flac"
    samples, rate = soundfile.read(str(weather), dtype="float32")
    assert rate == 16000

    class InputStream:  # sounddevice.InputStream's calls that recog_edge.stream_feed makes
        def __init__(self, samplerate: int, channels: int, dtype: str, blocksize: int) -> None:
            assert (samplerate, channels, dtype) == (16000, 1, "float32")
            self.played = 0

        def __enter__(self) -> InputStream:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def read(self, frames: int) -> tuple[np.ndarray, bool]:
            if self.played >= len(samples):
                raise KeyboardInterrupt  # the user stops it
            block = samples[self.played: self.played + frames]
            self.played += frames
            return block[:, None], False

    for main in (recog_main, edge_main):
        assert main(["stream", str(weather)]) == 0
        from_file = capsys.readouterr().out
        monkeypatch.setitem(sys.modules, "sounddevice", types.SimpleNamespace(InputStream=InputStream))
        assert main(["stream", "--mic"]) == 0
        out, err = capsys.readouterr()
        assert out == from_file and out.endswith("text: the weather will be sunny with a light breeze\n")
        assert "listening; Ctrl-C to stop" in err
        monkeypatch.setitem(sys.modules, "sounddevice", None)
        assert main(["stream", "--mic"]) == 2
        assert capsys.readouterr().err.strip().endswith("the microphone needs the optional package sounddevice "
                                                       "(pip install sounddevice)")
        for argv in (["stream"], ["stream", str(weather), "--mic"]):
            assert main(argv) == 2
            assert capsys.readouterr().err == "error: give an audio FILE or --mic, not both\n"


def test_realtime_streaming_feeds_each_block_when_its_audio_would_have_arrived(
        capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """--realtime: block i (of --chunk-ms) waits until i x chunk seconds after the start; the clock
    stands still here, so the waits are exactly those; without the flag nothing waits."""
    import types

    import recog_edge.stream_feed

    waits: list[float] = []  # stream_feed's clock alone, not the time module everyone shares
    monkeypatch.setattr(recog_edge.stream_feed, "time", types.SimpleNamespace(perf_counter=lambda: 100.0,
                                                                              sleep=waits.append))
    weather = EXAMPLES / "weather.flac"
    assert edge_main(["stream", str(weather), "--chunk-ms", "500"]) == 0
    assert waits == []
    assert edge_main(["stream", str(weather), "--chunk-ms", "500", "--realtime"]) == 0
    assert waits == pytest.approx([0.5 * i for i in range(6)])  # 2.6 s of audio: 6 blocks
    assert capsys.readouterr().out.endswith("text: the weather will be sunny with a light breeze\n")


@pytest.fixture(scope="module")
def speech_lm(speech: tuple, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A character LM of the words the test wavs say (and others), for fusion."""
    root = tmp_path_factory.mktemp("edge-lm")
    (root / "texts.txt").write_text("open the door please\nblue sky\nthe blue door\nplease open the sky\n")
    assert recog_main(["lm", "--text", str(root / "texts.txt"), "--order", "4", "--out", str(root / "lm.npz")]) == 0
    return root / "lm.npz"


@pytest.mark.parametrize("head", ["rnnt", "ctc"])
def test_transcribe_with_beam_search_and_an_lm_equals_recogs_field_for_field(speech: tuple, speech_lm: Path, head: str,
                                                                             capsys: pytest.CaptureFixture) -> None:
    """--lm: the LM fused into the transducer's modified beam search or CTC prefix beam search, as
    recog fuses it; the fused search reads otherwise than greedy search (the random weights follow
    the LM)."""
    checkpoint, folder, wavs = speech
    files = [str(w) for w in wavs]
    fused = ["--head", head, "--beam", "4", "--lm", str(speech_lm), "--lm-weight", "3", "--output", "-"]
    want = json_rows(recog_main, ["transcribe", *files, "--model", str(checkpoint), *fused], capsys)
    got = json_rows(edge_main, ["transcribe", *files, "--model", str(folder), *fused], capsys)
    greedy = json_rows(edge_main, ["transcribe", *files, "--model", str(folder), "--head", head, "--output", "-"],
                       capsys)
    assert [row["text"] for row in want] != [row["text"] for row in greedy]
    assert_same_rows(got, want, numbers=2e-3)


def test_stream_with_an_lm_ends_on_recog_streams_text(speech: tuple, speech_lm: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    checkpoint, folder, wavs = speech
    flags = ["--chunk-ms", "80", "--no-endpoint", "--head", "rnnt", "--lm", str(speech_lm), "--lm-weight", "3"]
    assert recog_main(["stream", str(wavs[0]), "--model", str(checkpoint), *flags]) == 0
    want = capsys.readouterr().out.splitlines()
    assert edge_main(["stream", str(wavs[0]), "--model", str(folder), *flags]) == 0
    got = capsys.readouterr().out.splitlines()
    assert edge_main(["stream", str(wavs[0]), "--model", str(folder), *flags[:5]]) == 0
    greedy = capsys.readouterr().out.splitlines()
    assert got[-1] == want[-1] != greedy[-1]


@pytest.mark.parametrize("runtime", ["recog", "recog-edge"])
def test_an_lms_tuned_fusion_setting_is_used_unless_the_flags_say_otherwise(speech: tuple, speech_lm: Path,
                                                                          runtime: str, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    """An LM file with a fusion setting beside it (``tools/lm_tune.py --write``): ``--lm`` alone fuses
    it with that weight and bonus, as the flags would; flags given still win."""
    checkpoint, folder, wavs = speech
    main, model = (recog_main, checkpoint) if runtime == "recog" else (edge_main, folder)
    tuned = tmp_path / "tuned.npz"
    shutil.copyfile(speech_lm, tuned)
    write_fusion_setting(tuned, 3.0, 0.5, "by hand, for this test")
    base = ["transcribe", *map(str, wavs), "--model", str(model), "--head", "rnnt", "--output", "-"]
    by_setting = json_rows(main, [*base, "--lm", str(tuned)], capsys)
    by_flags = json_rows(main, [*base, "--lm", str(speech_lm), "--lm-weight", "3", "--lm-bonus", "0.5"], capsys)
    by_default = json_rows(main, [*base, "--lm", str(speech_lm)], capsys)
    overridden = json_rows(main, [*base, "--lm", str(tuned), "--lm-weight", "0.5", "--lm-bonus", "1"], capsys)
    assert by_setting == by_flags
    assert [row["text"] for row in by_setting] != [row["text"] for row in by_default]
    assert overridden == by_default
    stream = ["stream", str(wavs[0]), "--model", str(model), "--chunk-ms", "80", "--no-endpoint", "--head", "rnnt"]
    streamed = {}
    for name, flags in (("setting", ["--lm", str(tuned)]), ("flags", ["--lm", str(speech_lm), "--lm-weight", "3",
                                                                       "--lm-bonus", "0.5"]),
                        ("default", ["--lm", str(speech_lm)])):
        assert main([*stream, *flags]) == 0
        streamed[name] = capsys.readouterr().out.splitlines()
    assert streamed["setting"] == streamed["flags"] != streamed["default"]


def test_transcribe_with_the_shipped_lm_reads_what_recog_reads_with_it(capsys: pytest.CaptureFixture) -> None:
    """--lm en-speech: the LM that ships beside the edge model (recog's file) makes the int8 export
    read the example its card names exactly, as recog does with it, and reads the longest example
    (a talk of a few minutes) with fewer errors than greedy search."""
    from recog.metrics import char_error_rate

    exact = json.loads((RECOG_MODELS / "en-speech" / "config.json").read_text())["info"]["lm_exact_examples"]
    rows = [json.loads(line) for line in (EXAMPLES / "speech.jsonl").read_text().splitlines()]

    def read(row: dict, *flags: str) -> str:
        assert edge_main(["transcribe", str(EXAMPLES / row["audio_filepath"]), *flags]) == 0
        return capsys.readouterr().out.rstrip("\n").split("\t")[1]

    row = next(r for r in rows if r["audio_filepath"] == exact[0])
    assert read(row, "--lm", "en-speech") == row["text"]
    talk = max(rows, key=lambda r: r["duration"])
    errors = {name: char_error_rate([talk["text"]], [read(talk, *flags)])
              for name, flags in (("lm", ("--lm", "en-speech")), ("greedy", ()))}
    assert errors["lm"] < errors["greedy"]
    shipped_lm = RECOG_MODELS / "en-speech" / "lm.npz"
    assert recog_edge.models.resolve_lm("en-speech").read_bytes() == shipped_lm.read_bytes()


def test_a_long_recording_is_read_in_pieces_cut_at_pauses_as_recog_reads_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped edge model reads the talk (over LONG_SECONDS) piece by piece, cut where recog
    cuts it: the file's result is its pieces' texts joined, with times in the file; read in one pass
    it is another text."""
    import soundfile

    import recog
    from recog_edge import EdgeModel

    model = EdgeModel(recog_edge.models.resolve("en-speech"))
    talk = EXAMPLES / "talk.ogg"
    samples, rate = soundfile.read(str(talk), dtype="float32")
    assert len(samples) > model.LONG_SECONDS * rate
    pieces = model.pieces(samples, rate)
    assert len(pieces) >= 5 and all(b[0] > a[0] for a, b in zip(pieces, pieces[1:], strict=False))
    # recog's breaks: where each piece's speech starts (its silence trimmed whole; a piece keeps 0.15 s,
    # to one 20 ms frame); the edge result's subtitles break there too
    want = recog.load("en-speech").transcribe([talk])[0]
    breaks = sorted(want.breaks.values())
    assert len(breaks) == len(pieces)
    assert all(0 <= onset - start <= 0.15 + 0.02 + 1e-6 for (start, _, _), onset in zip(pieces, breaks, strict=True))
    result = model.transcribe_file(talk)
    assert [onset for _, onset, _ in pieces] == breaks == sorted(result.breaks.values())
    assert {s.start for s in result.segments()} >= set(breaks)
    # each word starts at its first token's time, or where its piece's speech starts; together they are the text
    assert all(w.start in set(result.timestamps) | set(breaks) for w in result.words)
    assert " ".join(w.text for w in result.words) == result.text
    assert result.text == " ".join(model.detokenize(d.tokens) for *_, d in pieces)
    assert result.timestamps == sorted(result.timestamps) and 100 < result.timestamps[-1] < len(samples) / rate
    monkeypatch.setattr(EdgeModel, "LONG_SECONDS", 1e9)
    assert model.transcribe_file(talk).text != result.text


def test_every_edge_model_carries_its_recog_models_card_summary_and_lm_files() -> None:
    """tools/ship_edge.py copies the card's summary and the LM files when it runs: a recog model
    shipped, or its card or LM pair changed, without running it again leaves the edge copy behind."""
    recog_models = {m.name: m for m in shipped()}
    assert recog_edge.models.shipped()
    for name in recog_edge.models.shipped():
        edge = recog_edge.models.ROOT / name
        assert recog_models[name].summary in (edge / "MODEL_CARD.md").read_text(encoding="utf-8"), name
        for file in ("lm.npz", "lm.fusion.json"):
            if (RECOG_MODELS / name / file).is_file():
                assert (edge / file).read_bytes() == (RECOG_MODELS / name / file).read_bytes(), (name, file)


def test_ship_edge_card_only_rewrites_each_edge_card_from_recogs_summary_and_nothing_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """``tools/ship_edge.py --card-only`` (a recog card's summary changed, its weights did not): the
    edge card takes the new summary, no model is exported and no other file is written; for today's
    summaries it writes the committed edge cards byte for byte."""
    from dataclasses import replace

    from tools import ship_edge

    recog_models = {m.name: m for m in shipped()}
    for name in recog_edge.models.shipped():
        folder = recog_edge.models.ROOT / name
        sizes = json.loads((folder / "edge.json").read_text(encoding="utf-8"))["files"]
        written = ship_edge.write_card(tmp_path, name, recog_models[name].task, recog_models[name].summary, sizes)
        assert written.read_bytes() == (folder / "MODEL_CARD.md").read_bytes(), name

    edge = tmp_path / "edge"
    (edge / "latin-lines").mkdir(parents=True)
    shutil.copy(recog_edge.models.ROOT / "latin-lines" / "edge.json", edge / "latin-lines")
    monkeypatch.setattr(ship_edge, "EDGE_ROOT", edge)
    monkeypatch.setattr(ship_edge, "shipped", lambda: [replace(m, summary="A new summary.") for m in shipped()])
    monkeypatch.setattr(ship_edge, "export_model", lambda *args, **kwargs: pytest.fail("--card-only exported"))
    monkeypatch.setattr(sys, "argv", ["ship_edge.py", "latin-lines", "--card-only"])
    assert ship_edge.main() == 0
    assert sorted(p.name for p in (edge / "latin-lines").iterdir()) == ["MODEL_CARD.md", "edge.json"]
    shipped_info = recog_edge.models.ROOT / "latin-lines" / "edge.json"
    assert (edge / "latin-lines" / "edge.json").read_bytes() == shipped_info.read_bytes()
    card = (edge / "latin-lines" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.split("\n")[2] == "A new summary." and "- `lines.onnx`: " in card
    monkeypatch.setattr(ship_edge, "shipped", lambda: [replace(m, summary="Another.") for m in shipped()])
    monkeypatch.setattr(sys, "argv", ["ship_edge.py", "latin-lines", "latin-det", "--card-only"])  # no latin-det
    assert ship_edge.main() == 2
    assert "latin-det: no edge model in" in capsys.readouterr().err
    assert (edge / "latin-lines" / "MODEL_CARD.md").read_text(encoding="utf-8") == card  # refused before writing
    info = json.loads((edge / "latin-lines" / "edge.json").read_text(encoding="utf-8"))
    info["source"]["weights_sha256"] = "0" * 64  # written from other weights: export it again instead
    (edge / "latin-lines" / "edge.json").write_text(json.dumps(info), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["ship_edge.py", "latin-lines", "--card-only"])
    assert ship_edge.main() == 2
    assert "latin-lines: the edge model was written from other weights" in capsys.readouterr().err


def test_a_stream_with_an_lm_and_endpoints_follows_recogs_stream_chunk_by_chunk(speech: tuple, speech_lm: Path) -> None:
    """Beam search with the LM fused, endpoints that fire within the file: after every 80 ms, the
    edge stream's text, stable text (shorter than the text at times), timestamps and finished
    segments are recog's."""
    import numpy as np
    import soundfile

    import recog
    from recog.lm import CharNgramLM
    from recog.streaming import StreamingRecognizer
    from recog_edge.endpoint import EndpointConfig
    from recog_edge.runtime import EdgeModel

    checkpoint, folder, wavs = speech
    rule = EndpointConfig(silence_before_speech=0.5, trailing_silence=0.3, max_utterance=0.9)
    lm = CharNgramLM.load(speech_lm)
    torch_side = StreamingRecognizer(recog.load(checkpoint), head="rnnt", beam=4, endpoint=rule, lm=lm, lm_weight=3.0)
    edge_side = EdgeModel(folder, head="rnnt", beam=4, endpoint=rule, lm=lm, lm_weight=3.0)
    samples, rate = soundfile.read(str(wavs[0]), dtype="float32")
    samples = np.concatenate([samples, np.zeros(rate, np.float32)])
    runs = []
    for side in (torch_side, edge_side):
        stream, seen = side.create_stream(), []
        block = int(rate * 0.08)
        for start in range(0, len(samples) + block, block):
            piece = samples[start: start + block]
            if len(piece):
                stream.accept_waveform(rate, piece)
            else:
                stream.input_finished()
            side.decode(stream)
            r = stream.result
            seen.append((r.text, r.stable_text, r.timestamps, list(r.segments)))
        runs.append(seen)
    assert runs[0] == runs[1]
    assert len(runs[1][-1][3]) >= 2 and any(text != stable for text, stable, *_ in runs[1])


@pytest.mark.parametrize(("command", "flags", "message"), [
    ("stream", ["--head", "ctc", "--beam", "4"], "CTC streams greedily"),
    ("transcribe", ["--lm-weight", "1"], "--lm-weight and --lm-bonus go with --lm"),
    ("transcribe", ["--head", "attention", "--beam", "4"], "runs on the ctc and rnnt heads, not 'attention'"),
    ("transcribe", ["--lm", "latin-det"], "latin-det: this model ships no language model (lm.npz)"),
    ("transcribe", ["--lm", "latin-lines", "--beam", "1"], "fused into beam search: a beam above 1"),
    ("ocr", ["--beam", "4"], "--beam goes with --lm"),
    ("ocr", ["--lm-bonus", "2"], "--lm-weight and --lm-bonus go with --lm"),
    ("ocr", ["--lm", "latin-lines", "--head", "parallel"], "not the parallel head"),
    ("ocr", ["--lm", "latin-det"], "latin-det: this model ships no language model (lm.npz)"),
    ("ocr", ["--lm", "missing.npz"], "missing.npz: no such language model file, and no shipped model of that name"),
])
def test_search_and_lm_flags_that_cannot_work_are_one_line(command: str, flags: list[str], message: str,
                                                           request: pytest.FixtureRequest,
                                                           capsys: pytest.CaptureFixture) -> None:
    if command == "ocr":
        inputs = [str(EXAMPLES / "price.png")]
    else:
        _, folder, wavs = request.getfixturevalue("speech")
        inputs = [str(wavs[0]), "--model", str(folder)]
        capsys.readouterr()  # the fixture's export logs, when it is made here
    assert edge_main([command, *inputs, *flags]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_bad_audio_file_is_one_line_and_the_batch_goes_on(speech: tuple, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    _, folder, wavs = speech
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    assert edge_main(["transcribe", str(bad), str(wavs[1]), "--model", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{wavs[1]}\t")
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0] == "1 file(s) failed:"
    assert lines[1].startswith(f"  {bad}: not readable as audio")


def page_height(path: str) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return image.height


def test_ocr_json_lines_have_recogs_fields_and_texts_with_the_shipped_models(capsys: pytest.CaptureFixture) -> None:
    """No --model: the shipped int8 latin-lines and latin-det; recog reads the float models, so the
    numbers differ a little (int8 weights), the texts not on these files."""
    files = [str(EXAMPLES / "sentence.jpg"), str(EXAMPLES / "memo.png")]  # a text line, a page
    want = json_rows(recog_main, ["ocr", *files, "--output", "-"], capsys)
    got = json_rows(edge_main, ["ocr", *files, "--output", "-"], capsys)
    assert [list(row) for row in got] == [list(row) for row in want]
    assert [row["text"] for row in got] == [row["text"] for row in want]
    line, page = got[0], got[1]
    assert line["tokens"] == want[0]["tokens"] and len(line["token_confidences"]) == len(line["tokens"])
    frame = 4 * page_height(files[0]) / 32  # one CTC frame in pixels: stride 4 at line height 32
    assert max(abs(a - b) for a, b in zip(line["x_positions"], want[0]["x_positions"], strict=True)) <= frame + 0.5
    assert (page["width"], page["height"]) == (want[1]["width"], want[1]["height"])
    assert [list(x) for x in page["lines"]] == [list(x) for x in want[1]["lines"]]
    assert [x["text"] for x in page["lines"]] == [x["text"] for x in want[1]["lines"]]


def test_ocr_with_the_shipped_lm_reads_as_recog_does_with_it(capsys: pytest.CaptureFixture) -> None:
    """--lm latin-lines: the LM that ships beside the edge model (the same file as recog's), fused
    into CTC prefix beam search; texts as recog's with its LM, and scores that hold its bonuses."""
    files = [str(EXAMPLES / name) for name in ("sentence.jpg", "price.png", "invoice.png", "memo.png")]
    flags = ["--lm", "latin-lines", "--output", "-"]
    want = json_rows(recog_main, ["ocr", *files, *flags], capsys)
    got = json_rows(edge_main, ["ocr", *files, *flags], capsys)
    more_bonus = json_rows(edge_main, ["ocr", *files, *flags, "--lm-bonus", "3"], capsys)
    tuned = json.loads((RECOG_MODELS / "latin-lines" / "lm.fusion.json").read_text())["heads"]["ctc"]["bonus"]
    assert [list(row) for row in got] == [list(row) for row in want]
    assert [row["text"] for row in got] == [row["text"] for row in want]
    assert [x["text"] for x in got[-1]["lines"]] == [x["text"] for x in want[-1]["lines"]]
    for fused, recog_fused, bonus in zip(got[:-1], want[:-1], more_bonus[:-1], strict=True):
        assert fused["tokens"] == recog_fused["tokens"] == bonus["tokens"]
        assert fused["score"] == pytest.approx(recog_fused["score"], abs=0.05)  # int8 against float weights
        # the tuned bonus -> 3: the difference per token (beams that keep other prefixes sum the paths
        # a little differently)
        assert bonus["score"] == pytest.approx(fused["score"] + (3.0 - tuned) * len(fused["tokens"]), abs=0.02)
    edge_lm = recog_edge.models.resolve_lm("latin-lines")
    for name in ("lm.npz", "lm.fusion.json"):  # the edge model's LM and its pair are recog's
        assert (edge_lm.parent / name).read_bytes() == (RECOG_MODELS / "latin-lines" / name).read_bytes()


def test_a_bad_image_is_one_line_and_the_batch_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    missing = tmp_path / "missing.png"
    good = str(EXAMPLES / "price.png")
    assert edge_main(["ocr", str(broken), good, str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{good}\tTotal: $1,249.50 (incl. VAT)"]
    assert err.splitlines() == ["2 file(s) failed:", f"  {broken}: not readable as an image (cannot identify "
                                f"image file '{broken}')", f"  {missing}: no such file"]
    assert recog_main(["ocr", str(broken), good, str(missing)]) == 1
    assert capsys.readouterr() == (out, err)  # recog's lines: one reader for both


def test_format_json_prints_every_result_as_json_and_lines_mode_refuses_a_pdf_alike(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from PIL import Image

    files = [str(EXAMPLES / "memo.png"), str(EXAMPLES / "price.png")]  # a page, a line
    texts = []
    for main in (recog_main, edge_main):
        assert main(["ocr", *files, "--format", "json"]) == 0
        texts.append([json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()])
    assert texts[0] == texts[1] and len(texts[0]) == 2 and texts[0][1] == "Total: $1,249.50 (incl. VAT)"

    pdf = tmp_path / "doc.pdf"
    Image.open(EXAMPLES / "price.png").convert("RGB").save(pdf)
    errors = []
    for main in (recog_main, edge_main):
        assert main(["ocr", "--lines", str(pdf)]) == 1
        errors.append(capsys.readouterr().err.splitlines())
    assert errors[0] == errors[1] == ["1 file(s) failed:", f"  {pdf}: a PDF, not an image (its pages are read as "
                                      "pages, not as text lines)"]


def test_both_runtimes_find_and_read_avif_jpeg2000_and_netpbm_lines_in_a_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from PIL import Image, features

    suffixes = [".jp2", ".ppm", ".pgm"] + ([".avif"] if features.check("avif") else [])
    with Image.open(EXAMPLES / "price.png") as price:
        for suffix in suffixes:
            (price.convert("L") if suffix == ".pgm" else price).save(tmp_path / f"price{suffix}", lossless=True)
    for main in (edge_main, recog_main):
        assert main(["ocr", str(tmp_path)]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out == [f"{tmp_path / f'price{s}'}\tTotal: $1,249.50 (incl. VAT)" for s in sorted(suffixes)]


def test_recog_edge_reads_pdf_pages_as_recog_does(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Every page of a PDF rendered at --dpi and read as a page, numbered, with recog's lines and JSON;
    a corrupt PDF is one line naming it; without pypdfium2 one line says what reads PDFs."""
    from PIL import Image

    pdf = tmp_path / "doc.pdf"
    with Image.open(EXAMPLES / "memo.png") as memo, Image.open(EXAMPLES / "invoice.png") as invoice:
        memo.convert("RGB").save(pdf, save_all=True, append_images=[invoice.convert("RGB")], resolution=150)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    price = EXAMPLES / "price.png"  # a line waiting in its batch comes out before the PDF's pages
    argv = ["ocr", str(price), str(pdf), str(broken), str(price)]
    assert recog_main([*argv, "--quiet"]) == 1
    want = capsys.readouterr()
    assert edge_main(argv) == 1
    got = capsys.readouterr()
    assert got == want and got.out.startswith(f"{price}\t") and f"==> {pdf} (page 2) <==" in got.out
    assert "Quarterly Report" in got.out and got.out.endswith(f"{price}\tTotal: $1,249.50 (incl. VAT)\n")
    assert got.err.splitlines()[1].startswith(f"  {broken}: not a readable PDF")
    memo = EXAMPLES / "memo.png"  # a page image: its text alone, no form feed
    txt = [*argv, str(memo), "--format", "txt"]  # the text alone, each PDF page ended by \f
    assert recog_main([*txt, "--quiet"]) == 1
    want = capsys.readouterr()
    assert edge_main(txt) == 1
    got = capsys.readouterr()
    assert got.out == want.out and got.out.count("\f") == 2 and "==>" not in got.out
    assert got.out.count("Quarterly Report") == 2 and got.out.endswith("South 980 1,112\n")
    for side, main in (("recog", recog_main), ("edge", edge_main)):  # --format prints beside --output FILE
        assert main([*txt, "--output", str(tmp_path / f"{side}.jsonl"), *(["--quiet"] if side == "recog" else [])]) == 1
        assert capsys.readouterr().out == want.out
    rows = [[json.loads(line) for line in (tmp_path / f"{side}.jsonl").read_text().splitlines()]
            for side in ("recog", "edge")]
    assert [r["text"] for r in rows[0]] == [r["text"] for r in rows[1]] and len(rows[0]) == 5
    for dpi in ("150", "75"):  # rendered at half the resolution, every width and height halves
        rows = json_rows(edge_main, ["ocr", str(pdf), "--output", "-", "--dpi", dpi], capsys)
        want_rows = json_rows(recog_main, ["ocr", str(pdf), "--output", "-", "--dpi", dpi, "--quiet"], capsys)
        fields = [[(r["page"], r["width"], r["text"]) for r in rs] for rs in (rows, want_rows)]
        assert fields[0] == fields[1] and [r["page"] for r in rows] == [1, 2]
    assert abs(rows[0]["width"] * 2 - Image.open(EXAMPLES / "memo.png").width) <= 2
    assert edge_main(["ocr", str(pdf), "--format", "txt", "--dpi", "75"]) == 0  # text only: pages end in a form feed
    assert capsys.readouterr().out.split("\f\n") == [rows[0]["text"], rows[1]["text"], ""]

    monkeypatch.setitem(sys.modules, "pypdfium2", None)  # not installed: import fails
    assert edge_main(["ocr", str(pdf)]) == 1
    message = f"  {pdf}: reading PDF pages needs pypdfium2 (pip install pypdfium2, or recog-edge[pdf])"
    assert capsys.readouterr().err.splitlines()[1] == message


def test_both_runtimes_read_black_ink_on_a_transparent_background_as_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A line whose ink is all alpha (a logo, a design tool's export) is composited on white, as
    recog_edge.image_file reads it: without that, its transparent black reads as black on black."""
    price = EXAMPLES / "price.png"
    transparent = transparent_ink(price, tmp_path / "price_transparent.png")
    for main in (edge_main, recog_main):
        assert main(["ocr", str(transparent), str(price)]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out == [f"{transparent}\tTotal: $1,249.50 (incl. VAT)", f"{price}\tTotal: $1,249.50 (incl. VAT)"]


def test_without_a_shipped_model_a_command_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(recog_edge.models, "ROOT", tmp_path)  # a recog-edge that ships nothing
    assert edge_main(["transcribe", str(EXAMPLES / "hello.wav")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: no speech model ships with this recog-edge (shipped: none); give --model, a folder "
                   "`recog export` wrote"]
    assert edge_main(["ocr", str(EXAMPLES / "price.png"), "--model", "no-such-model"]) == 2
    assert capsys.readouterr().err.startswith("error: no-such-model: no such export folder, and no shipped edge")


def test_the_shipped_edge_models_are_int8_exports_of_the_shipped_recog_weights() -> None:
    models = recog_edge.models.shipped()
    assert {"latin-lines", "latin-det"} <= set(models)
    for name, info in models.items():
        folder = recog_edge.models.ROOT / name
        weights = hashlib.sha256((RECOG_MODELS / name / "model.safetensors").read_bytes()).hexdigest()
        assert info["source"]["weights_sha256"] == weights, f"{name}: run python tools/ship_edge.py {name}"
        assert info["int8"] and info["files"]
        for file, size in info["files"].items():
            assert (folder / file).stat().st_size == size <= 15_000_000
        assert (folder / "MODEL_CARD.md").is_file()


def test_recog_edge_reads_a_page_without_importing_torch() -> None:
    code = ("import sys\nfrom recog_edge.cli import main\n"
            f"assert main(['ocr', {str(EXAMPLES / 'memo.png')!r}, '--output', '-']) == 0\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[0])["text"].startswith("Quarterly Report")
    assert out.stdout.splitlines()[-1] == "False"


def test_ocr_reads_line_images_together_on_its_threads_in_input_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture) -> None:
    """With --threads 2 the line images up to a page or a bad file are read in one call (so two run
    side by side); rows come in input order, as with one thread."""
    from recog_edge.lines import EdgeLineModel

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    files = [str(EXAMPLES / name) for name in ("sentence.jpg", "price.png", "invoice.png")]
    files += [str(broken), str(EXAMPLES / "memo.png"), str(EXAMPLES / "price.png")]
    assert edge_main(["ocr", *files, "--output", "-"]) == 1
    one = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    groups: list[int] = []
    read = EdgeLineModel.read
    monkeypatch.setattr(EdgeLineModel, "read", lambda self, images: groups.append(len(images)) or read(self, images))
    assert edge_main(["ocr", *files, "--output", "-", "--threads", "2"]) == 1
    out, err = capsys.readouterr()
    two = [json.loads(line) for line in out.splitlines()]
    assert two == one
    assert [row["image_filepath"] for row in two] == [*files[:3], *files[4:]]
    assert groups[0] == 3 and groups[-1] == 1  # the page's own reads come between
    assert f"{broken}: not readable as an image" in err
