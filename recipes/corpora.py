"""Code shared by the real-corpus recipes (librispeech, common_voice, text_lines): what was left
out of a manifest and why, reported the same way, and audio rows with durations read from the
files' headers.

The recipes are scripts in folders, not packages: a module that imports this one first puts the
repository root on ``sys.path``.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

SHOWN_SKIPS = 20  # skipped items listed by name; the rest are only counted


@dataclass(frozen=True)
class Skip:
    """An item left out of a manifest, and why: ``path`` is its file (or "LMDB_FOLDER key"),
    ``where`` the transcript, tsv or label file line it came from, if any."""

    reason: str
    path: str
    where: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Utterance:
    """One transcript entry to keep if its audio reads: the file, its text, where (file:line)."""

    audio: Path
    text: str
    where: str


def report_skips(name: str, skips: Sequence[Skip], unit: str = "item") -> None:
    """Counts per reason on stderr, then the first SHOWN_SKIPS skipped items with their source line."""
    if not skips:
        return
    counts = Counter(s.reason for s in skips)
    print(f"{name}: skipped {len(skips)} {unit}(s): "
          + ", ".join(f"{n} {reason}" for reason, n in counts.most_common()), file=sys.stderr)
    for s in skips[:SHOWN_SKIPS]:
        detail = f" ({s.detail})" if s.detail else ""
        where = f" [{s.where}]" if s.where else ""
        print(f"  {s.reason}: {s.path or '-'}{detail}{where}", file=sys.stderr)
    if len(skips) > SHOWN_SKIPS:
        print(f"  ... and {len(skips) - SHOWN_SKIPS} more", file=sys.stderr)


def probe_duration(path: Path) -> float | str:
    """Duration in seconds from the file's header (libsndfile: WAV, FLAC, OGG, MP3), or the
    reason the file cannot be used."""
    if not path.is_file():
        return "missing audio"
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as err:  # error_string: the reason without the path
        return f"unreadable audio: {getattr(err, 'error_string', '') or str(err).strip() or type(err).__name__}"
    if info.frames <= 0 or info.samplerate <= 0:
        return "unreadable audio: no samples"
    return info.frames / info.samplerate


def audio_rows(utterances: Sequence[Utterance], workers: int,
               max_duration: float | None) -> tuple[list[dict], list[Skip]]:
    """NeMo manifest rows (absolute ``audio_filepath``, ``duration``, ``text``) for the
    utterances whose audio reads and is at most ``max_duration`` seconds; the others as skips."""
    with ThreadPoolExecutor(workers) as pool:  # libsndfile releases the GIL while it reads
        durations = list(pool.map(probe_duration, (u.audio for u in utterances)))
    rows, skips = [], []
    for utt, duration in zip(utterances, durations, strict=True):
        if isinstance(duration, str):
            reason, _, detail = duration.partition(": ")
            skips.append(Skip(reason, str(utt.audio), utt.where, detail))
        elif max_duration is not None and duration > max_duration:
            skips.append(Skip(f"longer than {max_duration:g} s", str(utt.audio), utt.where, f"{duration:.2f} s"))
        else:
            rows.append({"audio_filepath": str(utt.audio), "duration": round(duration, 6), "text": utt.text})
    return rows, skips


def write_audio_manifest(path: Path, name: str, rows: list[dict], skips: Sequence[Skip], unit: str,
                         started: float) -> bool:
    """Write ``rows`` to ``path`` atomically and print its size and hours, then report ``skips``;
    False (nothing written) when no row is usable."""
    import time

    from recog.data import write_jsonl_atomic

    ok = bool(rows)
    if not ok:
        print(f"error: {name}: no usable {unit}s; {path} not written", file=sys.stderr)
    else:
        write_jsonl_atomic(path, rows)
        hours = sum(r["duration"] for r in rows) / 3600
        print(f"{path}: {len(rows)} {unit}s, {hours:.2f} h ({time.monotonic() - started:.1f} s)")
    report_skips(name, skips, unit)
    return ok
