"""tools/lm_tune.py --write keeps the fusion setting already written unless the best pair of its grid
beats it measurably (paired bootstrap), and the bootstrap and edit counts it rests on."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recog.metrics import char_edits, paired_bootstrap, word_edits
from recog_edge.lm import fusion_setting_path, read_fusion_setting, write_fusion_setting

ROOT = Path(__file__).resolve().parents[1]
LM = ROOT / "recog" / "models" / "latin-lines" / "lm.npz"


def test_word_and_char_edits():
    assert word_edits("a b c", "a x c d") == 2 and word_edits("", "a b") == 2 and word_edits("a b", "a b") == 0
    assert char_edits("abc", "abd") == 1 and char_edits("", "ab") == 2


def test_paired_bootstrap_tells_a_steady_lead_from_noise():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, 400)
    better = a - (rng.random(400) < 0.2)  # one edit fewer on a fifth of the inputs, never more
    noisy = a + rng.permutation([1] * 100 + [-1] * 100 + [0] * 200)  # as many edits more as fewer
    assert paired_bootstrap(better, a) == 1.0 and paired_bootstrap(a, better) == 0.0
    assert 0.3 < paired_bootstrap(noisy, a) < 0.7
    assert paired_bootstrap(a, a) == 0.0  # a tie is no lead
    assert paired_bootstrap(noisy, a, seed=3) == paired_bootstrap(noisy, a, seed=3)
    with pytest.raises(ValueError):
        paired_bootstrap([1, 2], [1])


def tune(lm: Path, manifest: Path | list[Path], *flags: str) -> str:
    manifests = [str(m) for m in (manifest if isinstance(manifest, list) else [manifest])]
    cmd = [sys.executable, str(ROOT / "tools" / "lm_tune.py"), "--model", "latin-lines", "--lm", str(lm),
           "--manifest", *manifests, "--head", "ctc", "--beam", "4", "--threads", "1", "--write", *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def example_lines(path: Path, rows: slice = slice(None)) -> Path:
    """The example text lines (``rows`` of them) as a manifest at ``path``, with absolute image paths."""
    lines = (ROOT / "examples" / "lines.jsonl").read_text().splitlines()[rows]
    path.write_text("".join(json.dumps(r | {"image_filepath": str(ROOT / "examples" / r["image_filepath"])}) + "\n"
                            for r in map(json.loads, lines)))
    return path


def test_write_keeps_the_written_setting_unless_the_best_pair_beats_it_measurably(tmp_path):
    lm = tmp_path / "lm.npz"
    shutil.copyfile(LM, lm)
    manifest = example_lines(tmp_path / "lines.jsonl")
    # A sound setting against a grid of one LM weight so strong it rewrites the lines: kept.
    write_fusion_setting(lm, 0.5, 1.5, "by hand, for this test", head="ctc")
    out = tune(lm, manifest, "--weights", "8", "--bonuses", "0")
    assert "kept the setting written before (weight 0.5, bonus 1.5" in out
    assert read_fusion_setting(lm)["ctc"] == {"weight": 0.5, "bonus": 1.5}
    # The same grid with --confidence 0 always writes the grid's best.
    tune(lm, manifest, "--weights", "8", "--bonuses", "0", "--confidence", "0")
    assert read_fusion_setting(lm)["ctc"] == {"weight": 8.0, "bonus": 0.0}
    # Now the sound pair is in the grid and beats the written one on the lines: replaced.
    out = tune(lm, manifest, "--weights", "0.5", "--bonuses", "1.5", "--confidence", "0.5")
    assert "beats the setting written before" in out
    assert read_fusion_setting(lm)["ctc"] == {"weight": 0.5, "bonus": 1.5}


def test_several_manifests_are_tuned_on_as_one_set(tmp_path):
    lm = tmp_path / "lm.npz"
    shutil.copyfile(LM, lm)
    total = len((ROOT / "examples" / "lines.jsonl").read_text().splitlines())
    first = example_lines(tmp_path / "first.jsonl", slice(0, 2))
    rest = example_lines(tmp_path / "rest.jsonl", slice(2, None))
    out = tune(lm, [first, rest], "--weights", "0.5", "--bonuses", "1.5", "--confidence", "0")
    assert f"{first} + {rest}: {total} inputs;" in out
    setting = json.loads(fusion_setting_path(lm).read_text())["heads"]["ctc"]
    assert f"on {first} + {rest} ({total} inputs" in setting["tuned"]
    same = f"{first.parent}/./{first.name}"  # the same file by another path
    cmd = [sys.executable, str(ROOT / "tools" / "lm_tune.py"), "--model", "latin-lines", "--lm", str(lm),
           "--manifest", str(first), "--manifest", same]  # the flag twice extends the list
    twice = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert twice.returncode == 2 and "given twice" in twice.stderr
