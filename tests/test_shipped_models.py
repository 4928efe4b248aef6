"""The models that ship in recog/models/ load by name and read the bundled examples exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import recog
from recog.cli import main
from recog.inputs import KINDS, InputKind
from recog.models import DEFAULTS, LM_FILE, shipped

pytestmark = pytest.mark.usefixtures("one_thread")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MANIFESTS = {"speech": "speech.jsonl", "text-line": "lines.jsonl", "text-detection": "pages.jsonl"}
SHORT_SECONDS = 30  # the long recording is read by the long-form tests, not here


def examples(task: str) -> list[dict]:
    rows = [json.loads(line) for line in (EXAMPLES / MANIFESTS[task]).read_text().splitlines()]
    return [r for r in rows if r.get("duration", 0) < SHORT_SECONDS]


def kind_of(task: str) -> type[InputKind]:
    """The input kind of a task: its CLI command and its manifests' path key."""
    return next(kind for kind in KINDS.values() if kind.name == task)


def info(model) -> dict:  # noqa: ANN001 - a ShippedModel
    """The model's info (config.json): what its card says it reads."""
    return json.loads((model.folder / "config.json").read_text())["info"]


def exact_examples(model) -> list[str]:  # noqa: ANN001 - a ShippedModel
    """The bundled examples the model's card says it reads exactly."""
    return info(model).get("exact_examples", [])


def example_cer(model) -> dict[str, float]:  # noqa: ANN001 - a ShippedModel
    """The CER on bundled examples its card records, where it reads none of them exactly yet."""
    return info(model).get("example_cer", {})


RECOGNISERS = [m for m in shipped() if m.task != "text-detection"]
DETECTORS = [m for m in shipped() if m.task == "text-detection"]


@pytest.mark.parametrize("model", RECOGNISERS, ids=lambda m: m.name)
def test_a_shipped_model_reads_its_examples_and_the_ones_its_card_names_exactly(model) -> None:  # noqa: ANN001
    loaded = recog.load(model.name)
    assert loaded.input.name == model.task
    rows = examples(model.task)
    key = kind_of(model.task).path_key
    results = loaded.transcribe([EXAMPLES / r[key] for r in rows])
    assert all(0 < r.confidence <= 1 and len(r.positions) == len(r.tokens) for r in results)
    exact = exact_examples(model)
    bounds = example_cer(model)
    assert exact or bounds, "a shipped model reads a bundled example exactly, or its card records its CER on them"
    read = {Path(r.path).name: r.text for r in results}
    assert {name: read[name] for name in exact} == {r[key]: r["text"] for r in rows if r[key] in exact}
    from recog.metrics import char_error_rate

    for row in (r for r in rows if r[key] in bounds):  # no worse than the card says (random weights: ~100 %)
        assert char_error_rate([row["text"]], [read[row[key]]]) <= bounds[row[key]] + 1e-6, row[key]


@pytest.mark.parametrize("model", DETECTORS, ids=lambda m: m.name)
def test_a_shipped_detector_finds_every_line_of_the_pages_its_card_names(model) -> None:  # noqa: ANN001
    import numpy as np

    from recog.detection.metrics import DetectionCounts

    reader = recog.load(model.name)
    exact = exact_examples(model)
    assert exact, "a shipped detector finds every line of at least one bundled page"
    for row in (r for r in examples(model.task) if r["image_filepath"] in exact):
        page = reader.read(EXAMPLES / row["image_filepath"])
        counts = DetectionCounts()
        counts.add([np.array(line.box) for line in page.lines], [np.array(line["points"]) for line in row["lines"]])
        assert counts.hmean == 1.0, row["image_filepath"]


@pytest.mark.parametrize("task", sorted({m.task for m in RECOGNISERS if DEFAULTS.get(m.task) == m.name}))
def test_commands_without_model_use_the_shipped_default(task: str, capsys: pytest.CaptureFixture) -> None:
    model = next(m for m in shipped() if m.name == DEFAULTS[task])
    command = kind_of(task).command
    key = kind_of(task).path_key
    exact = exact_examples(model)
    row = next(r for r in examples(task) if r[key] in exact or r[key] in example_cer(model))
    assert main([command, str(EXAMPLES / row[key])]) == 0
    text = capsys.readouterr().out.rstrip("\n").split("\t")[1]  # the text as printed, spaces and all
    assert text == row["text"] if row[key] in exact else text == recog.load(model.name).transcribe(
        [EXAMPLES / row[key]])[0].text


def test_recog_models_lists_every_shipped_model(capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    listed = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines() if "\t" in line]
    assert listed == [m.name for m in shipped()]
    for m in shipped():
        assert (m.folder / "MODEL_CARD.md").is_file() and m.summary
        assert all(f.stat().st_size <= 15_000_000 for f in m.folder.iterdir())  # weights, LM: each at most 15 MB


LM_MODELS = [m for m in RECOGNISERS if (m.folder / LM_FILE).is_file() or "lm_exact_examples" in info(m)]


@pytest.mark.parametrize("model", LM_MODELS, ids=lambda m: m.name)
def test_a_shipped_lm_reads_the_examples_its_card_names_exactly(model, capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    exact = info(model).get("lm_exact_examples", [])
    assert exact, "a shipped LM makes the model read at least one bundled example exactly"
    assert (model.folder / LM_FILE).is_file(), "its info names what its LM reads: the LM ships"
    key = kind_of(model.task).path_key
    rows = [r for r in examples(model.task) if r[key] in exact]
    fused = recog.load(model.name, lm=model.name).transcribe([EXAMPLES / r[key] for r in rows], beam=8)
    assert [r.text for r in fused] == [r["text"] for r in rows]
    command = kind_of(model.task).command
    assert main([command, str(EXAMPLES / rows[0][key]), "--model", model.name, "--lm", model.name]) == 0
    assert capsys.readouterr().out.rstrip("\n").split("\t")[1] == rows[0]["text"]


def test_lm_of_a_model_that_ships_none_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = RECOGNISERS[0]
    row = examples(model.task)[0]
    command = kind_of(model.task).command
    key = kind_of(model.task).path_key
    bare = tmp_path / "bare"  # a model folder without lm.npz
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((model.folder / name).read_bytes())
    for lm in (DETECTORS[0].name, str(bare)):  # a shipped model's name, a model folder
        assert main([command, str(EXAMPLES / row[key]), "--model", model.name, "--lm", lm]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and lm in err and "no language model" in err


@pytest.mark.parametrize("model", [m for m in RECOGNISERS if m.task == "speech"], ids=lambda m: m.name)
def test_a_joined_recording_gives_one_segment_inside_each_utterance(model, tmp_path: Path,  # noqa: ANN001
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled utterances joined with 0.5 s pauses (under the 0.8 s that splits a segment's
    words) and read as one long recording: each utterance gives one segment, and every word lies
    inside the utterance it came from (none lost into, or doubled across, a cut)."""
    import numpy as np
    import soundfile

    from recog.audio import load_audio
    from recog.inference import RecognitionModel

    loaded = recog.load(model.name)
    waves = [load_audio(EXAMPLES / r["audio_filepath"]) for r in examples("speech")]
    gap = np.zeros(8000, dtype=np.float32)
    spans, position = [], 0.0
    for wave in waves:
        spans.append((position, position + len(wave) / 16000))
        position += (len(wave) + len(gap)) / 16000
    soundfile.write(tmp_path / "joined.wav", np.concatenate([x for w in waves for x in (w, gap)]), 16000,
                    subtype="FLOAT")
    monkeypatch.setattr(RecognitionModel, "LONG_SECONDS", 5.0)
    [joined] = loaded.transcribe([tmp_path / "joined.wav"])
    segments = joined.segments(max_seconds=30.0, max_chars=500)
    assert len(segments) == len(waves)
    for segment, (start, end) in zip(segments, spans, strict=True):
        assert start - 0.05 <= segment.start and segment.end <= end + 0.1, (segment, start, end)
        assert segment.words and all(start - 0.05 <= w.start <= end for w in segment.words)
