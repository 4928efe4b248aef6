"""tools/compare_models.py: the table that chooses between the shipped model and candidates."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "compare_models.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("compare_models", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_counts_edits_over_all_sets_and_bootstraps_against_the_first(tool):
    refs = {"dev": [f"the cat sat {i}" for i in range(40)], "other": ["a b"] * 10}
    shipped = {"dev": [f"the hat sat {i}" for i in range(40)], "other": ["a"] * 10}  # 40 + 10 word edits
    better = {"dev": [f"the cat sat {i}" if i % 4 else f"the hat sat {i}" for i in range(40)], "other": ["a b"] * 10}
    lines = tool.compare(refs, {"shipped": shipped, "better": better, "same": shipped}, "word")
    rows = {line.split(" | ")[0].strip("| "): line.strip("| ").split(" | ")[1:] for line in lines[2:]}
    assert rows["dev, 40 (word error rate)"] == ["25.00 %", "6.25 %", "25.00 %"]  # 40 / 160, 10 / 160
    assert rows["other, 10 (word error rate)"] == ["50.00 %", "0.00 %", "50.00 %"]
    assert rows["word edits, all sets"] == ["50", "10", "50"]
    assert rows["fewer edits than shipped in"] == ["(to beat)", "100%", "0%"]
    chars = tool.compare(refs, {"shipped": shipped, "better": better}, "char")
    assert "| char edits, all sets | 60 | 10 |" in chars  # c->h: 1 each; " b": 2 each


def run(*args: str, manifest: Path = ROOT / "examples" / "lines.jsonl") -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(TOOL), "--manifest", str(manifest), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)


def write_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_reads_each_model_once_and_keeps_its_outputs(tool, tmp_path):
    shipped = tmp_path / "copy"  # the shipped model's files, which the test changes
    shutil.copytree(ROOT / "recog" / "models" / "latin-lines", shipped)
    outputs = tmp_path / "outputs"
    first = run("--models", "latin-lines", str(shipped), "--outputs", str(outputs))
    assert first.returncode == 0, first.stderr
    assert "| char edits, all sets | 0 | 0 |" in first.stdout  # the bundled lines read exactly
    kept = outputs / tool.output_name(str(shipped)) / "lines.jsonl"
    rows = [json.loads(line) for line in kept.read_text().splitlines()]
    assert len(rows) == 4 and all(r["text"] == r["reference"] for r in rows)
    rows[0]["text"] += "xy"  # a kept hypothesis is read back, not recomputed
    write_rows(kept, rows)
    again = run("--models", "latin-lines", str(shipped), "--outputs", str(outputs))
    assert "| char edits, all sets | 0 | 2 |" in again.stdout, again.stdout
    rows[0]["reference"] = "another line"  # kept for other references: read again
    write_rows(kept, rows)
    third = run("--models", "latin-lines", str(shipped), "--outputs", str(outputs))
    assert "| char edits, all sets | 0 | 0 |" in third.stdout, third.stdout
    rows = [json.loads(line) for line in kept.read_text().splitlines()]
    rows[0]["text"] += "xy"
    write_rows(kept, rows)
    config = shipped / "config.json"  # the model's files changed (a new version shipped): read again
    config.write_text(config.read_text() + "\n")
    fourth = run("--models", "latin-lines", str(shipped), "--outputs", str(outputs))
    assert "| char edits, all sets | 0 | 0 |" in fourth.stdout, fourth.stdout


def test_an_unreadable_input_is_named_not_kept_and_fails_the_run(tmp_path):
    rows = [json.loads(line) for line in (ROOT / "examples" / "lines.jsonl").read_text().splitlines()]
    for row in rows:
        row["image_filepath"] = str(ROOT / "examples" / row["image_filepath"])
    rows[1]["image_filepath"] = str(tmp_path / "missing.png")
    manifest = tmp_path / "lines.jsonl"
    write_rows(manifest, rows)
    proc = run("--models", "latin-lines", "--outputs", str(tmp_path / "outputs"), manifest=manifest)
    assert proc.returncode == 1 and "missing.png" in proc.stderr, proc.stderr
    assert not (tmp_path / "outputs" / "latin-lines" / "lines.jsonl").exists()


def test_refuses_a_model_given_twice_and_names_that_collide():
    proc = run("--models", "latin-lines", "latin-lines")
    assert proc.returncode == 2 and "a model given twice" in proc.stderr
    proc = run("--models", "latin-lines", "runs/avg/v1", "runs_avg/v1")
    assert proc.returncode == 2 and "folder names would be the same" in proc.stderr


def test_a_speech_model_on_text_lines_is_refused(tmp_path):
    proc = run("--models", "en-speech")
    assert proc.returncode == 2 and "reads audio_filepath rows" in proc.stderr, proc.stderr
