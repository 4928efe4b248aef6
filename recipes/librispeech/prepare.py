"""NeMo manifests for LibriSpeech, pointing at the corpus's own FLAC files (nothing is copied).

Reads SUBSET/SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt (lines "UTTERANCE-ID WORD WORD ...") and
takes each utterance's audio from SUBSET/SPEAKER/CHAPTER/UTTERANCE-ID.flac, its duration from the
FLAC header. Writes OUT/<subset>.jsonl per subset, one row per utterance:

    {"audio_filepath": "/abs/path/LibriSpeech/dev-clean/84/121123/84-121123-0000.flac",
     "duration": 1.465, "text": "go do you hear"}

A transcript line whose FLAC is missing or unreadable is skipped and reported (file and line);
a missing subset folder is an error.

    python recipes/librispeech/prepare.py --root /data/LibriSpeech --out data/librispeech \
        --subsets train-clean-100 dev-clean test-clean test-other
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recog when not installed
from recipes.corpora import Skip, Utterance, audio_rows, write_audio_manifest  # noqa: E402

DEFAULT_SUBSETS = ("train-clean-100", "dev-clean", "test-clean", "test-other")


def read_transcripts(subset_dir: Path) -> tuple[list[Utterance], list[Skip]]:
    """Every transcript line under ``subset_dir`` in path order; lines without words are skipped."""
    files = sorted(subset_dir.glob("*/*/*.trans.txt"))
    if not files:
        sys.exit(f"error: {subset_dir}: no SPEAKER/CHAPTER/*.trans.txt files (is this a LibriSpeech subset folder?)")
    utterances, skips = [], []
    for trans in files:
        with trans.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                utt_id, _, words = line.strip().partition(" ")
                where = f"{trans}:{number}"
                audio = trans.parent / f"{utt_id}.flac"
                text = " ".join(words.lower().split())
                if not text:
                    skips.append(Skip("empty transcript", str(audio), where))
                    continue
                utterances.append(Utterance(audio, text, where))
    return utterances, skips


def prepare_subset(subset_dir: Path, workers: int, max_duration: float | None) -> tuple[list[dict], list[Skip]]:
    """Manifest rows and skipped utterances of one subset."""
    utterances, skips = read_transcripts(subset_dir)
    rows, unusable = audio_rows(utterances, workers, max_duration)
    return rows, skips + unusable


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="the LibriSpeech folder (holding train-clean-100/, dev-clean/, ...)")
    p.add_argument("--out", required=True, help="output folder for <subset>.jsonl")
    p.add_argument("--subsets", nargs="+", default=list(DEFAULT_SUBSETS), help="subset folder names")
    p.add_argument("--max-duration", type=float, help="drop longer utterances (seconds) from train-* subsets; "
                   "dev and test subsets are always kept whole so their WER stays comparable")
    p.add_argument("--workers", type=int, default=8, help="threads reading FLAC headers")
    args = p.parse_args(argv)
    if args.workers < 1 or (args.max_duration is not None and args.max_duration <= 0):
        p.error("--workers must be >= 1 and --max-duration > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Check every subset folder exists, then write one manifest per subset."""
    args = parse_args(argv)
    root, out = Path(args.root).resolve(), Path(args.out)
    for subset in args.subsets:
        if not (root / subset).is_dir():
            hint = ""
            if (root / "LibriSpeech" / subset).is_dir():
                hint = f" (it is in {root / 'LibriSpeech'}: pass that as --root)"
            sys.exit(f"error: subset folder {root / subset} not found{hint}")
    status = 0
    for subset in args.subsets:
        start = time.monotonic()
        limit = args.max_duration if subset.startswith("train") else None
        rows, skips = prepare_subset(root / subset, args.workers, limit)
        if not write_audio_manifest(out / f"{subset}.jsonl", subset, rows, skips, "utterance", start):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
