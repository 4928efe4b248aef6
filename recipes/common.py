"""Code shared by the synthetic corpus recipes (synth_speech, synth_ocr).

Both build a corpus the same way: a prefix-stable pool of distinct texts carved into disjoint
test, dev and train splits; one job per file, drawn up front from (seed, split, index); a worker
pool that makes each file or reuses a valid one (atomic writes, so an interrupted run can simply
be restarted); a ``prepare_config.json`` that refuses to mix files made with other settings; and
one JSONL manifest per split.

The recipes are scripts in folders, not packages: a module that imports this one first puts the
repository root on ``sys.path``.

Results passed to ``run_jobs``, ``report`` and ``write_manifests`` are the recipes' own Result
dataclasses; all they need is ``split``, ``index``, ``rel_path``, ``text``, ``status`` ('made',
'reused' or 'failed') and ``error``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from recog_edge.files import atomic_path, write_text_atomic

SPLITS = ("train", "dev", "test")
# Part of every per-file seed so the three splits never share random streams.
SPLIT_CODES = {"train": 0, "dev": 1, "test": 2}
CONFIG_NAME = "prepare_config.json"

# ---------------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------------


def unique_texts(
    n: int,
    seed: int,
    generators: Sequence[tuple[Callable[[random.Random], str], int]],
    is_valid: Callable[[str], bool],
    what: str,
) -> list[str]:
    """``n`` distinct texts accepted by ``is_valid``, each from a generator picked by weight from
    ``generators`` ((function, weight) pairs) with its whitespace collapsed. Deterministic for
    ``seed`` and prefix-stable in ``n``; ``what`` names the texts in the error message."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    funcs, weights = zip(*generators, strict=True)
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:  # the generators can produce millions; this guards bugs only
            raise RuntimeError(f"could only make {len(out)} distinct {what} out of {n}")
        text = " ".join(rng.choices(funcs, weights=weights)[0](rng).split())
        if is_valid(text) and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def texts_fingerprint(make: Callable[[int, int], list[str]], seed: int) -> str:
    """SHA-256 of the first texts ``make`` gives for ``seed``: changes with the generator, whose
    new texts would not match reused files."""
    return hashlib.sha256("\n".join(make(64, seed)).encode()).hexdigest()


def split_texts(make: Callable[[int, int], list[str]], args: argparse.Namespace) -> dict[str, list[str]]:
    """Disjoint texts per split from one pool of distinct texts. Test and dev come first so they
    stay the same when --num-train changes (``make`` is prefix-stable)."""
    pool = make(args.num_test + args.num_dev + args.num_train, args.seed)
    return {
        "test": pool[: args.num_test],
        "dev": pool[args.num_test : args.num_test + args.num_dev],
        "train": pool[args.num_test + args.num_dev :],
    }


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def write_lm_text(path: Path, texts: list[str]) -> None:
    """Write a recipe's training texts, one per line, for ``recog lm --text`` (the ``--lm-text``
    of the recipes' ``texts.py``)."""
    write_text_atomic(path, "".join(t + "\n" for t in texts))


def pip_install(requirements: Sequence[str]) -> None:
    """pip install ``requirements`` (pip requirement strings) into the running interpreter; stops
    with a message naming them when pip fails. Nothing happens for an empty list."""
    if not requirements:
        return
    print("installing Python packages: " + " ".join(requirements), flush=True)
    if subprocess.run([sys.executable, "-m", "pip", "install", "-q", *requirements]).returncode:
        sys.exit(f"error: could not pip install {' '.join(requirements)}")


def check_config(out: Path, config: dict, later_keys: Iterable[str] = ()) -> None:
    """Refuse to reuse files made with different settings; record the settings otherwise.
    ``later_keys`` are settings added to the recipe since: a folder recorded without them still
    matches (and records them now)."""
    old = recorded_config(out)
    if old is not None:
        old = {**{k: config[k] for k in later_keys if k in config and k not in old}, **old}
        if old != config:
            diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            sys.exit(
                f"error: {out} was prepared with different settings ({', '.join(diff)}); "
                "use a new --out folder or delete it"
            )
    write_text_atomic(out / CONFIG_NAME, json.dumps(config, indent=1) + "\n")


def recorded_config(out: Path) -> dict | None:
    """The settings ``check_config`` recorded in ``out``; None where nothing was made there yet."""
    path = out / CONFIG_NAME
    return json.loads(path.read_text()) if path.is_file() else None


def write_manifests(out: Path, results: list[Any], row: Callable[[Any], dict],
                    splits: Sequence[str] = SPLITS) -> None:
    """Write OUT/{split}.jsonl for every split of ``splits``: the successful results in index
    order, each as ``row(result)``; prints the row counts."""
    for split in splits:
        path = out / f"{split}.jsonl"
        rows = sorted((r for r in results if r.split == split and r.status != "failed"), key=lambda r: r.index)
        with atomic_path(path) as part, part.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(row(r)) + "\n")
        print(f"{path}: {len(rows)} rows")


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------


def run_jobs(
    jobs: list[Any],
    process: Callable[[Any], Any],
    workers: int,
    min_step: int,
    chunksize: int,
    initializer: Callable[[], None] | None = None,
) -> list[Any]:
    """``process`` every job on a Pool of ``workers``, printing progress (files/s and failures)
    every ``min_step`` files or more; returns all results."""
    results: list[Any] = []
    step = max(min_step, len(jobs) // 20)  # about 20 progress lines for a big run
    start = time.monotonic()
    with multiprocessing.Pool(workers, initializer=initializer) as pool:
        for result in pool.imap_unordered(process, jobs, chunksize=chunksize):
            results.append(result)
            if len(results) % step == 0 or len(results) == len(jobs):
                rate = len(results) / max(time.monotonic() - start, 1e-9)
                failed = sum(r.status == "failed" for r in results)
                print(f"  {len(results)}/{len(jobs)} files, {rate:.1f} files/s, {failed} failed", flush=True)
    return results


def report(results: list[Any], elapsed: float, source: Callable[[Any], str]) -> None:
    """Print totals, speed and the failures, each with ``source(result)`` (its voice, its font)."""
    status = Counter(r.status for r in results)
    print(
        f"done: {status['made']} made, {status['reused']} reused, {status['failed']} failed "
        f"in {elapsed:.1f} s ({len(results) / max(elapsed, 1e-9):.1f} files/s)"
    )
    failures = [r for r in results if r.status == "failed"]
    for r in sorted(failures, key=lambda r: (r.split, r.index))[:20]:
        print(f"  failed {r.rel_path} [{source(r)}] {r.text!r}: {r.error}", file=sys.stderr)
    if len(failures) > 20:
        print(f"  ... and {len(failures) - 20} more failures", file=sys.stderr)
