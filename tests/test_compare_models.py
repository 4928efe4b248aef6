"""tools/compare_models.py: the table that chooses between the shipped model and candidates."""

from __future__ import annotations

import importlib.util
import json
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


def run(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(TOOL), "--manifest", str(ROOT / "examples" / "lines.jsonl"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)


def test_reads_each_model_once_and_keeps_its_outputs(tmp_path):
    shipped = str(ROOT / "recog" / "models" / "latin-lines")
    first = run("--models", "latin-lines", shipped, "--outputs", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "| char edits, all sets | 0 | 0 |" in first.stdout  # the bundled lines read exactly
    kept = tmp_path / "latin-lines" / "lines.jsonl"
    rows = [json.loads(line) for line in kept.read_text().splitlines()]
    assert len(rows) == 4 and all(r["text"] == r["reference"] for r in rows)
    rows[0]["text"] += "xy"  # a kept hypothesis is read back, not recomputed
    kept.write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = run("--models", "latin-lines", shipped, "--outputs", str(tmp_path))
    assert "| char edits, all sets | 2 | 0 |" in again.stdout, again.stdout
    rows[0]["reference"] = "another line"  # kept for other references: read again
    kept.write_text("".join(json.dumps(r) + "\n" for r in rows))
    third = run("--models", "latin-lines", shipped, "--outputs", str(tmp_path))
    assert "| char edits, all sets | 0 | 0 |" in third.stdout, third.stdout


def test_refuses_a_model_given_twice():
    proc = run("--models", "latin-lines", "latin-lines")
    assert proc.returncode == 2 and "a model given twice" in proc.stderr
