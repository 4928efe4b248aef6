"""NeMo manifests for a Mozilla Common Voice language folder, pointing at its own MP3 clips.

Reads ROOT/<split>.tsv (tab-separated with a header; only the columns ``path`` and ``sentence``
are used) and takes each row's audio from ROOT/clips/<path>, its duration from the MP3 (via
libsndfile). The sentence is normalised (see ``normalise``). Writes OUT/<split>.jsonl per split:

    {"audio_filepath": "/abs/path/cv-corpus-17.0/en/clips/common_voice_en_1.mp3",
     "duration": 4.32, "text": "the boy's bike is red"}

Rows with a missing or unreadable clip, or no text left after normalising, are skipped and
reported with the reason; a missing tsv or clips folder is an error.

    python recipes/common_voice/prepare.py --root /data/cv-corpus-17.0-2024-03-15/en \
        --out data/common_voice --splits train dev test
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recog when not installed
from recipes.corpora import Skip, Utterance, audio_rows, write_audio_manifest  # noqa: E402

DEFAULT_SPLITS = ("train", "dev", "test")
# Apostrophe look-alikes mapped to ' before anything else (NFKC leaves them alone).
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})
NOT_KEPT = re.compile(r"[^\w' ]|_")  # \w: letters and digits of any script (and _, dropped too)


def normalise(text: str) -> str:
    """Lowercase, NFKC, apostrophe look-alikes to ', everything but letters, digits, apostrophes
    and spaces to a space, apostrophes kept only inside words ("don't", not quote marks around
    'words'), whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(APOSTROPHES).lower()
    words = (word.strip("'") for word in NOT_KEPT.sub(" ", text).split())
    return " ".join(word for word in words if word)


def read_tsv(tsv: Path, clips: Path) -> tuple[list[Utterance], list[Skip]]:
    """Rows of ``tsv`` with their clip path and normalised text; rows without a path or text are
    skipped. QUOTE_NONE: sentences contain quote marks that are not csv quoting."""
    rows, skips = [], []
    with tsv.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in ("path", "sentence") if c not in (reader.fieldnames or [])]
        if missing:
            sys.exit(f"error: {tsv}: no column(s) {', '.join(missing)} in the header {reader.fieldnames}")
        for record in reader:
            where = f"{tsv}:{reader.line_num}"
            name = (record.get("path") or "").strip()
            if not name:
                skips.append(Skip("no clip path", "", where))
                continue
            audio = clips / name
            if not audio.suffix and not audio.is_file():  # the oldest releases list clips without ".mp3"
                audio = audio.with_name(f"{name}.mp3")
            text = normalise(record.get("sentence") or "")
            if not text:
                skips.append(Skip("empty text after normalising", str(audio), where, repr(record.get("sentence"))))
                continue
            rows.append(Utterance(audio, text, where))
    return rows, skips


def prepare_split(root: Path, split: str, workers: int, max_duration: float | None) -> tuple[list[dict], list[Skip]]:
    """Manifest rows and skipped rows of one split."""
    rows, skips = read_tsv(root / f"{split}.tsv", root / "clips")
    out, unusable = audio_rows(rows, workers, max_duration)
    return out, skips + unusable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="the language folder (holding clips/ and train.tsv, dev.tsv, ...)")
    p.add_argument("--out", required=True, help="output folder for <split>.jsonl")
    p.add_argument("--splits", nargs="+", default=list(DEFAULT_SPLITS),
                   help="tsv names without .tsv (train, dev, test; also validated, other, ...)")
    p.add_argument("--max-duration", type=float, help="drop longer clips (seconds) from the train split; "
                   "other splits are kept whole so their WER stays comparable")
    p.add_argument("--workers", type=int, default=8, help="threads reading the MP3 files")
    args = p.parse_args(argv)
    if args.workers < 1 or (args.max_duration is not None and args.max_duration <= 0):
        p.error("--workers must be >= 1 and --max-duration > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Check the tsv files and clips folder exist, then write one manifest per split."""
    args = parse_args(argv)
    root, out = Path(args.root).resolve(), Path(args.out)
    for needed in [root / "clips", *(root / f"{split}.tsv" for split in args.splits)]:
        if not needed.exists():
            sys.exit(f"error: {needed} not found "
                     "(--root must be a Common Voice language folder, e.g. cv-corpus-17.0/en)")
    status = 0
    for split in args.splits:
        start = time.monotonic()
        rows, skips = prepare_split(root, split, args.workers, args.max_duration if split == "train" else None)
        if not write_audio_manifest(out / f"{split}.jsonl", split, rows, skips, "clip", start):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
