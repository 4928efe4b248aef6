"""Training speed of this checkout against another git revision, side by side: the same config,
manifest and batches, one process with one thread, ``recog train`` run from each (a temporary
worktree for the revision), the two alternating round by round.

    python benchmarks/train_speed.py --config configs/en_speech.yaml \
        --manifest data/en_speech/train.jsonl --against ba225d4 --steps 25 --rounds 2
    python benchmarks/train_speed.py --config configs/latin_lines.yaml --manifest M --against HEAD \
        --set model.model.heads.parallel.dropout=0.0       # a config option against the config as it is

Each run is ``benchmarks/ddp_step_time.py``'s timed child (no logger, checkpoint or validation;
``StepTimes`` as its only callback), with a fresh model from the config. Prints, per run, the
median step time over the steps after the first ``--skip``, then this checkout's time as a ratio
of the revision's. Needs a quiet machine: a second job spoils the figures.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_manifest, parse_args  # noqa: E402
from benchmarks.ddp_step_time import REPO, timed_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="a training config (its model and data sections)")
    add_manifest(parser, help="the training manifest to time")
    parser.add_argument("--against", required=True, help="the git revision to compare with")
    parser.add_argument("--steps", type=int, default=25, help="training steps per run")
    parser.add_argument("--skip", type=int, default=5, help="first steps left out of the figures")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternating")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config entry changed for this checkout's runs only (dotted path, YAML value)")
    args = parse_args(parser)
    config = yaml.safe_load(Path(args.config).read_text())
    configs = {"this checkout": with_settings(config, args.set), args.against: config}
    medians: dict[str, list[float]] = {"this checkout": [], args.against: []}
    with tempfile.TemporaryDirectory(prefix="recog_rev_") as tmp:
        worktree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.against],
                       check=True, capture_output=True)
        try:
            for round_ in range(args.rounds):
                order = [("this checkout", REPO), (args.against, worktree)]
                for name, checkout in order if round_ % 2 == 0 else order[::-1]:
                    steps = timed_run(configs[name], args.manifest, 1, 1, args.steps, checkout)[args.skip:]
                    medians[name].append(statistics.median(s["seconds"] for s in steps))
                    print(f"round {round_ + 1}, {name:14s} median step {medians[name][-1]:6.3f} s", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
    mine, theirs = (statistics.median(medians[n]) for n in medians)
    print(f"{args.config}{''.join(f' --set {s}' for s in args.set)}, {args.manifest}, {args.steps} steps "
          f"({args.skip} skipped), {args.rounds} rounds, "
          f"one thread: this checkout {mine:.3f} s a step, {args.against} {theirs:.3f} s: "
          f"{mine / theirs:.2f}x the time ({theirs / mine:.2f}x as fast)")


def with_settings(config: dict, settings: list[str]) -> dict:
    """A copy of ``config`` with each "a.b.c=value" set (the value read as YAML); SystemExit naming
    a setting without "=" or whose path runs through something other than a mapping."""
    config = copy.deepcopy(config)
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --set {setting!r}: expected KEY=VALUE")
        *path, last = key.split(".")
        node = config
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SystemExit(f"error: --set {setting!r}: {part} is not a mapping in the config")
        node[last] = yaml.safe_load(value)
    return config


if __name__ == "__main__":
    main()
