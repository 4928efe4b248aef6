"""Choose between models on fixed dev sets: does a candidate beat the shipped model?

    python tools/compare_models.py --models en-speech runs/en_speech_c55/checkpoints/best-epoch=0-step=3500.ckpt \
        runs/en_speech_avg/v14_c55 --manifest data/en_speech/dev.jsonl data/en_speech/dev_natural.jsonl \
        data/en_speech/dev_unseen.jsonl --outputs runs/compare --threads 1
    python tools/compare_models.py --models latin-lines runs/latin_lines_v38/checkpoints/last.ckpt \
        --manifest data/synth_ocr_v2/dev.jsonl data/synth_ocr_v2/dev_degraded.jsonl --outputs runs/compare

Every model reads every manifest with its default search (greedy, no LM), as ``recog eval`` does.
The table gives each model's error rate on each manifest and its edits summed over all of them
(word edits for speech, character edits for text lines; ``--units`` to choose), then, for every
model after the first, the share of paired bootstrap resamples of all the inputs together in which
it makes fewer edits than the first (``recog.metrics.paired_bootstrap``): the first is the model
to beat, the shipped one. A candidate that wins in 95 % of resamples has a lead that does not
depend on which inputs were drawn; one near 50 % is a tie whatever its total says.

``--outputs DIR`` keeps every model's hypotheses (``DIR/<model>/<manifest>.jsonl``, the rows of
``recog eval --output``) and reads them back on the next call, so the shipped model is read once
however many candidates follow. A kept file whose references differ from the manifest's is read again.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_threads, load_model, parse_args, read_entries  # noqa: E402
from recog.data import AUDIO_KEY, Entry, write_jsonl_atomic  # noqa: E402
from recog.metrics import char_edits, paired_bootstrap, word_edits  # noqa: E402

EDITS = {"word": word_edits, "char": char_edits}


def output_name(model: str) -> str:
    """A folder name for ``model`` (a shipped name or a path) under ``--outputs``."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", model.strip("/")).strip("_") or "model"


def read_kept(path: Path, entries: list[Entry]) -> list[str] | None:
    """The hypotheses kept in ``path`` where its references are the manifest's, else None."""
    if not path.is_file():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if [r.get("reference") for r in rows] != [e.text for e in entries]:
        return None
    return [r["text"] for r in rows]


def hypotheses(model: str, sets: dict[str, list[Entry]], outputs: Path | None) -> dict[str, list[str]]:
    """``model``'s greedy text for every input of every set: kept ones from ``outputs``, the rest read
    now (the model is loaded only when a set needs reading). An input that fails to read counts as
    an empty hypothesis."""
    hyps, loaded = {}, None
    for name, entries in sets.items():
        path = outputs / output_name(model) / f"{name}.jsonl" if outputs else None
        kept = read_kept(path, entries) if path else None
        if kept is not None:
            hyps[name] = kept
            continue
        loaded = loaded or load_model(model)
        rows = []
        for entry, (_, result) in zip(entries, loaded.transcribe_each(entries), strict=True):
            if isinstance(result, Exception):
                print(f"warning: {model} could not read {entry.path}: {result}", file=sys.stderr)
                rows.append({"path": str(entry.path), "text": "", "reference": entry.text})
            else:
                rows.append({**result.to_json(), "reference": entry.text})
        if path:
            write_jsonl_atomic(path, rows)
        hyps[name] = [r["text"] for r in rows]
    return hyps


def compare(sets: dict[str, list[str]], hyps: dict[str, dict[str, list[str]]], units: str) -> list[str]:
    """The table's lines: per model (columns, the first the one to beat), the error rate on each set
    (``sets``: references by set name), the edits over all sets, and the share of paired bootstrap
    resamples of all inputs in which the model makes fewer edits than the first."""
    edits = EDITS[units]
    names = list(hyps)
    per_input = {m: [edits(r, h) for s, refs in sets.items() for r, h in zip(refs, hyps[m][s], strict=True)]
                 for m in names}
    lengths = {s: sum(len(r.split()) if units == "word" else len(r) for r in refs) for s, refs in sets.items()}
    lines = ["| set | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    start = 0
    for s, refs in sets.items():
        cells = [f"{100 * sum(per_input[m][start:start + len(refs)]) / max(lengths[s], 1):.2f} %" for m in names]
        lines.append(f"| {s}, {len(refs)} ({units} error rate) | " + " | ".join(cells) + " |")
        start += len(refs)
    lines.append(f"| {units} edits, all sets | " + " | ".join(str(sum(per_input[m])) for m in names) + " |")
    wins = ["(to beat)"] + [f"{paired_bootstrap(per_input[m], per_input[names[0]]):.0%}" for m in names[1:]]
    lines.append(f"| fewer edits than {names[0]} in | " + " | ".join(wins) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True,
                        help="shipped names, model folders or checkpoints; the first is the one to beat")
    parser.add_argument("--manifest", nargs="+", required=True, help="the fixed dev manifests that choose")
    parser.add_argument("--units", choices=tuple(EDITS), default=None,
                        help="edits counted (default: word for speech, char for text lines)")
    parser.add_argument("--outputs", type=Path, default=None,
                        help="keep each model's hypotheses here and read them back on the next call")
    add_threads(parser, default=1)
    args = parse_args(parser)
    stems = [Path(m).stem for m in args.manifest]
    if len(set(stems)) < len(stems):
        parser.error("--manifest: two manifests share a file name; their kept outputs would collide")
    if len(set(args.models)) < len(args.models):
        parser.error("--models: a model given twice")
    sets = {stem: read_entries(m) for stem, m in zip(stems, args.manifest, strict=True)}
    kinds = {e.key for entries in sets.values() for e in entries}
    if len(kinds) != 1:
        parser.error("--manifest: give audio manifests or image manifests, not both")
    units = args.units or ("word" if kinds == {AUDIO_KEY} else "char")
    hyps = {m: hypotheses(m, sets, args.outputs) for m in args.models}
    refs = {s: [e.text for e in entries] for s, entries in sets.items()}
    print("\n".join(compare(refs, hyps, units)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
