"""Choose between models on fixed dev sets: does a candidate beat the shipped model?

    python tools/compare_models.py --models en-speech runs/en_speech_c55/checkpoints/best-epoch=0-step=1500.ckpt \
        runs/en_speech_avg/v14_c55 --manifest data/en_speech/dev.jsonl data/en_speech/dev_natural.jsonl \
        data/en_speech/dev_unseen.jsonl --outputs runs/compare --threads 1
    python tools/compare_models.py --models latin-lines runs/latin_lines_v38/checkpoints/best-epoch=0-step=2000.ckpt \
        --manifest data/synth_ocr_v2/dev.jsonl data/synth_ocr_v2/dev_degraded.jsonl --outputs runs/compare

Every model reads every manifest with its default search (greedy, no LM), as ``recog eval`` does.
The table gives each model's error rate on each manifest (``recog eval``'s WER or CER) and its edits
summed over all of them (word edits for speech, character edits for text lines; ``--units`` to
choose), then, for every model after the first, the share of paired bootstrap resamples of all the
inputs together in which it makes fewer edits than the first (``recog.metrics.paired_bootstrap``):
the first is the model to beat, the shipped one. A candidate that wins in 95 % of resamples has a
lead that does not depend on which inputs were drawn; a lead that is noise wins in about half, and a
model identical to the first in none (a tie is not a win).

``--outputs DIR`` keeps every model's hypotheses (``DIR/<model>/<manifest>.jsonl``, the rows of
``recog eval --output``, beside ``model.json``, the SHA-256 of the model's files) and reads them back
on the next call, so the shipped model is read once however many candidates follow. Kept outputs
are read again where the model's files have changed (a new version shipped, a checkpoint
overwritten) or a kept row's input or reference differs from the manifest's; delete DIR when a
corpus is rendered anew under the same names. An input that cannot be read is named, counts as
an empty hypothesis, keeps its set from being kept, and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_threads, load_model, parse_args, read_entries  # noqa: E402
from recog.data import AUDIO_KEY, Entry, write_jsonl_atomic  # noqa: E402
from recog.metrics import char_error_rate, edits_per_input, paired_bootstrap, word_error_rate  # noqa: E402
from recog.models import CONFIG_FILE, WEIGHTS_FILE, resolve  # noqa: E402
from recog_edge.files import write_text_atomic  # noqa: E402

RATES = {"word": word_error_rate, "char": char_error_rate}


def output_name(model: str) -> str:
    """A folder name for ``model`` (a shipped name or a path) under ``--outputs``."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", model).strip("._") or "model"


def model_digest(model: str) -> str:
    """SHA-256 of the model's files: a checkpoint, or a model folder's config and weights."""
    path = resolve(model)
    files = [path / CONFIG_FILE, path / WEIGHTS_FILE] if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def read_kept(path: Path, entries: list[Entry]) -> list[str] | None:
    """The hypotheses kept in ``path`` where its rows are the manifest's inputs and references, else None."""
    if not path.is_file():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(rows) != len(entries) or any((r.get(e.key), r.get("reference")) != (str(e.path), e.text)
                                        for r, e in zip(rows, entries, strict=True)):
        return None
    return [r["text"] for r in rows]


def hypotheses(model: str, sets: dict[str, list[Entry]], outputs: Path | None,
               failures: list[str]) -> dict[str, list[str]]:
    """``model``'s greedy text for every input of every set: kept ones from ``outputs``, the rest read
    now (the model is loaded only when a set needs reading). An input that cannot be read is an
    empty hypothesis, appended to ``failures``, and its set is not kept."""
    folder = outputs / output_name(model) if outputs else None
    digest = model_digest(model) if folder else ""
    fresh = folder is not None and (folder / "model.json").is_file() and json.loads(
        (folder / "model.json").read_text()).get("sha256") == digest
    if folder is not None and not fresh:  # another model's outputs, or none: none of them may be read back
        for stale in folder.glob("*.jsonl"):
            stale.unlink()
    hyps, loaded = {}, None
    for name, entries in sets.items():
        kept = read_kept(folder / f"{name}.jsonl", entries) if fresh else None
        if kept is not None:
            hyps[name] = kept
            continue
        if loaded is None:
            loaded = load_model(model)
            if loaded.input.path_key != entries[0].key:
                print(f"error: {model} reads {loaded.input.path_key} rows; the manifests have {entries[0].key} rows",
                      file=sys.stderr)
                raise SystemExit(2)
        rows, failed = [], False
        for entry, (_, result) in zip(entries, loaded.transcribe_each(entries), strict=True):
            if isinstance(result, Exception):
                failures.append(f"{model}: {entry.path}: {result}")
                failed = True
                rows.append({entry.key: str(entry.path), "text": "", "reference": entry.text})
            else:
                rows.append({**result.to_json(), entry.key: str(entry.path), "reference": entry.text})
        if folder and not failed:
            write_jsonl_atomic(folder / f"{name}.jsonl", rows)
            write_text_atomic(folder / "model.json", json.dumps({"model": model, "sha256": digest}) + "\n")
        hyps[name] = [r["text"] for r in rows]
    return hyps


def compare(sets: dict[str, list[str]], hyps: dict[str, dict[str, list[str]]], units: str) -> list[str]:
    """The table's lines: per model (columns, the first the one to beat), the error rate on each set
    (``sets``: references by set name), the edits over all sets, and the share of paired bootstrap
    resamples of all inputs in which the model makes fewer edits than the first."""
    names = list(hyps)
    per_input = {m: [n for s, refs in sets.items() for n in edits_per_input(refs, hyps[m][s], units)] for m in names}
    lines = ["| set | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for s, refs in sets.items():
        cells = [f"{100 * RATES[units](refs, hyps[m][s]):.2f} %" for m in names]
        lines.append(f"| {s}, {len(refs)} ({units} error rate) | " + " | ".join(cells) + " |")
    lines.append(f"| {units} edits, all sets | " + " | ".join(str(sum(per_input[m])) for m in names) + " |")
    wins = ["(to beat)"] + [f"{paired_bootstrap(per_input[m], per_input[names[0]]):.0%}" for m in names[1:]]
    lines.append(f"| fewer edits than {names[0]} in | " + " | ".join(wins) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True,
                        help="shipped names, model folders or checkpoints; the first is the one to beat")
    parser.add_argument("--manifest", nargs="+", required=True, help="the fixed dev manifests that choose")
    parser.add_argument("--units", choices=tuple(RATES), default=None,
                        help="edits counted (default: word for speech, char for text lines)")
    parser.add_argument("--outputs", type=Path, default=None,
                        help="keep each model's hypotheses here and read them back on the next call")
    add_threads(parser, default=1)
    args = parse_args(parser)
    stems = [Path(m).stem for m in args.manifest]
    if len(set(stems)) < len(stems):
        parser.error("--manifest: two manifests share a file name; their kept outputs would collide")
    if len({output_name(m) for m in args.models}) < len(args.models):
        parser.error("--models: a model given twice, or two whose --outputs folder names would be the same "
                     f"({', '.join(output_name(m) for m in args.models)})")
    try:
        sets = {stem: read_entries(m, check_files=False) for stem, m in zip(stems, args.manifest, strict=True)}
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    kinds = {e.key for entries in sets.values() for e in entries}
    if len(kinds) != 1 or not all(sets.values()):
        parser.error("--manifest: give non-empty audio manifests or image manifests, not both")
    units = args.units or ("word" if kinds == {AUDIO_KEY} else "char")
    failures: list[str] = []
    hyps = {m: hypotheses(m, sets, args.outputs, failures) for m in args.models}
    refs = {s: [e.text for e in entries] for s, entries in sets.items()}
    print("\n".join(compare(refs, hyps, units)))
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} inputs could not be read (counted as empty hypotheses)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
