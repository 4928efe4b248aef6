"""Where a model loses characters or words: the errors of a ``recog eval --output`` run grouped by
the manifest's own fields (a line's font, look or degradation; an utterance's voice or source).

    recog eval --manifest data/synth_ocr_v2/test.jsonl --model latin-lines --output test_out.jsonl
    python benchmarks/line_errors.py test_out.jsonl --manifest data/synth_ocr_v2/test.jsonl --by font,look
    recog eval --manifest data/en_speech/test.jsonl --model en-speech --output speech_out.jsonl
    python benchmarks/line_errors.py speech_out.jsonl --manifest data/en_speech/test.jsonl --by voice --cut +

For each field, every value's rows (micro-averaged, texts compared as ``recog eval`` compares them):
rows, CER, WER, and its share of all character edits, largest share first. ``--cut C`` groups a
value by what comes before its first ``C`` (``Lobster Two/Bold`` by family with ``/``, the default;
``espeak:en-us+m4`` by accent with ``+``). A row whose field is a list counts under each item
(``ops: ["jpeg", "scan"]``), so those shares add up to more than 100 %. A field missing from a row
counts as ``-``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for recog
from recog.metrics import char_edits, word_error_rate  # noqa: E402

PATH_KEYS = ("image_filepath", "audio_filepath")
NOT_GROUPS = {"text", "duration", "offset", *PATH_KEYS}


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file, one per non-empty line."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def row_path(row: dict[str, Any], root: Path) -> str:
    """A row's file, resolved (relative paths from ``root``)."""
    key = next(k for k in PATH_KEYS if k in row)
    return str((root / row[key]).resolve())


class Read(NamedTuple):
    """One output row's reference and hypothesis, and the character edits between them."""

    reference: str
    text: str
    edits: int


def join(outputs: list[dict[str, Any]], manifest: str | Path) -> list[tuple[dict[str, Any], Read]]:
    """(manifest row, its Read) pairs, matched by file (in order where a file has several rows);
    outputs without a manifest row (or reference) are refused, manifest rows without output left out."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read_jsonl(manifest):
        rows[row_path(row, Path(manifest).parent)].append(row)
    pairs = []
    for out in outputs:
        match = rows.get(row_path(out, Path.cwd()))
        if not match or "reference" not in out:
            raise ValueError(f"{out.get('image_filepath') or out.get('audio_filepath')}: no manifest row or reference")
        pairs.append((match.pop(0), Read(out["reference"], out["text"], char_edits(out["reference"], out["text"]))))
    return pairs


def group_values(row: dict[str, Any], field: str, cut: str) -> list[str]:
    """The groups a row's ``field`` puts it in: its value (cut at ``cut``), or each item of a list
    (``ops: ["jpeg", "scan"]``: both; an empty list: ``none``)."""
    value = row.get(field, "-")
    items = (value or ["none"]) if isinstance(value, list) else [value]
    texts = [json.dumps(v) if isinstance(v, (bool, dict)) else str(v) for v in items]
    return [t.split(cut)[0] if cut else t for t in texts]


def summary(reads: list[Read]) -> dict[str, Any]:
    """rows, cer, wer and (character) edits of some Reads."""
    refs, hyps = [r.reference for r in reads], [r.text for r in reads]
    edits = sum(r.edits for r in reads)
    return {"rows": len(reads), "cer": edits / max(sum(map(len, refs)), 1), "edits": edits,
            "wer": word_error_rate(refs, hyps) if any(r.split() for r in refs) else 0.0}


def breakdown(pairs: list[tuple[dict[str, Any], Read]], field: str, cut: str) -> list[dict[str, Any]]:
    """Per value of ``field``: its ``summary`` and share of all character edits, most edits first
    (shares of a list field's items add up to more than 1)."""
    groups: dict[str, list[Read]] = defaultdict(list)
    for row, read in pairs:
        for value in group_values(row, field, cut):
            groups[value].append(read)
    total = sum(read.edits for _, read in pairs)
    result = [{"value": value} | summary(reads) for value, reads in groups.items()]
    for g in result:
        g["share"] = g["edits"] / total if total else 0.0
    return sorted(result, key=lambda g: (-g["edits"], g["value"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", help="the --output JSONL of recog eval")
    parser.add_argument("--manifest", required=True, help="the manifest it evaluated (the fields come from here)")
    parser.add_argument("--by", help="comma-separated fields (default: every field but text, paths and duration)")
    parser.add_argument("--cut", default="/", help="group a value by what comes before this (default '/'; '' for none)")
    parser.add_argument("--top", type=int, default=15, help="values shown per field (default 15)")
    args = parser.parse_args(argv)
    try:
        pairs = join(read_jsonl(args.output), args.manifest)
    except (OSError, ValueError, StopIteration) as err:
        print(f"error: {args.output}: {err or 'a row without image_filepath or audio_filepath'}", file=sys.stderr)
        return 2
    if not pairs:
        print(f"error: {args.output}: no rows", file=sys.stderr)
        return 2
    fields = args.by.split(",") if args.by else sorted({k for row, _ in pairs for k in row} - NOT_GROUPS)
    every = summary([read for _, read in pairs])
    print(f"{len(pairs)} rows: CER {100 * every['cer']:.2f} %, WER {100 * every['wer']:.2f} %, "
          f"{every['edits']:.0f} character edits")
    for field in fields:
        print(f"\n{field:<32} {'rows':>5} {'CER':>8} {'WER':>8} {'edits':>6} {'share':>6}")
        for g in breakdown(pairs, field, args.cut)[:args.top]:
            print(f"{g['value'][:32]:<32} {g['rows']:>5} {100 * g['cer']:>7.2f}% {100 * g['wer']:>7.2f}% "
                  f"{g['edits']:>6.0f} {100 * g['share']:>5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
