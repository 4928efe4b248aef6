"""Join JSONL manifests (audio or image rows, not mixed) into one training manifest, each row's
file path rewritten relative to the new manifest's folder, so corpora from several recipes train
together without copying a file:

    python tools/mix_manifests.py data/synth_ocr_v2/train.jsonl data/synth_pages/lines_train.jsonl \
        --out data/latin_lines_mix/train.jsonl

Rows keep every other field, in the order given (the training loader shuffles). A manifest that
``recog.data.read_manifest`` refuses (a bad row, a missing file) stops it with that line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recog when not installed
from recog.data import ManifestError, read_manifest  # noqa: E402
from recog_edge.files import write_text_atomic  # noqa: E402


def mix(manifests: list[Path], out: Path) -> int:
    """Write the rows of ``manifests`` to ``out`` with paths relative to its folder; the row count."""
    rows, keys = [], set()
    for manifest in manifests:
        lines = manifest.read_bytes().split(b"\n")
        for entry in read_manifest(manifest, require_duration=False):
            keys.add(entry.key)
            if len(keys) > 1:
                raise ManifestError(f"{manifest}:{entry.line}: {entry.key} rows after rows of the other kind")
            row = json.loads(lines[entry.line - 1])
            row[entry.key] = os.path.relpath(Path(entry.path).resolve(), out.parent.resolve())
            rows.append(row)
    write_text_atomic(out, "".join(json.dumps(row) + "\n" for row in rows))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifests", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="the joined manifest to write")
    args = parser.parse_args(argv)
    try:
        count = mix(args.manifests, args.out)
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: {count} rows from {len(args.manifests)} manifests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
