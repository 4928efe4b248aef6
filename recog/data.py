"""Manifests, datasets, collation and the length-bucketing batch sampler.

Manifests are JSONL in NeMo's format: one object per line with ``audio_filepath``, ``duration``
(seconds) and ``text``; relative paths resolve against the manifest's folder.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from recog.audio import load_audio
from recog.text import Tokenizer

AUDIO_KEY = "audio_filepath"


class ManifestError(ValueError):
    """A manifest line that cannot be used; the message names the manifest and line number."""


@dataclass(frozen=True)
class Entry:
    """One manifest row; ``path`` is absolute, ``line`` is 1-based."""

    path: str
    duration: float
    text: str
    line: int


def read_manifest(manifest: str | Path, require_text: bool = True, check_files: bool = True) -> list[Entry]:
    """Parse a JSONL manifest. Raises ManifestError naming the line for bad JSON, a missing
    field, a non-positive duration or (with ``check_files``) a missing audio file."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise ManifestError(f"{manifest}: no such manifest")
    root = manifest.parent
    entries = []
    with manifest.open("rb") as f:
        for number, raw_bytes in enumerate(f, start=1):
            where = f"{manifest}:{number}"
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError:
                raise ManifestError(f"{where}: not UTF-8 text") from None
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as err:
                raise ManifestError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise ManifestError(f"{where}: expected a JSON object")
            required = [AUDIO_KEY, "duration"] + (["text"] if require_text else [])
            missing = [k for k in required if k not in row]
            if missing:
                raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
            if not isinstance(row[AUDIO_KEY], str) or not row[AUDIO_KEY]:
                raise ManifestError(f"{where}: {AUDIO_KEY} must be a non-empty string, got {row[AUDIO_KEY]!r}")
            text = row.get("text", "")
            if not isinstance(text, str):
                raise ManifestError(f"{where}: text must be a string, got {text!r}")
            path = Path(row[AUDIO_KEY])
            path = path if path.is_absolute() else root / path
            if check_files and not path.is_file():
                raise ManifestError(f"{where}: audio file {path} does not exist")
            try:
                duration = float(row["duration"])
            except (TypeError, ValueError):
                raise ManifestError(f"{where}: duration {row['duration']!r} is not a number") from None
            if not (duration > 0 and math.isfinite(duration)):
                raise ManifestError(f"{where}: duration must be a positive finite number, got {duration}")
            entries.append(Entry(str(path), duration, text, number))
    if not entries:
        raise ManifestError(f"{manifest}: manifest has no entries")
    return entries


class AudioDataset(Dataset):
    """Manifest entries -> dicts of waveform (N,) float32 and token ids (U,) int64."""

    def __init__(self, entries: Sequence[Entry], tokenizer: Tokenizer) -> None:
        self.entries = list(entries)
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        entry = self.entries[index]
        waveform = torch.from_numpy(load_audio(entry.path))
        tokens = torch.tensor(self.tokenizer.encode(entry.text), dtype=torch.long)
        return {"waveform": waveform, "tokens": tokens, "text": entry.text, "path": entry.path}


def pad_sequences(items: Sequence[torch.Tensor], value: float = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad 1-D tensors into (B, max_len) and return them with their lengths (B,)."""
    lengths = torch.tensor([len(x) for x in items], dtype=torch.long)
    out = items[0].new_full((len(items), int(lengths.max())), value)
    for i, x in enumerate(items):
        out[i, : len(x)] = x
    return out, lengths


def collate_audio(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch AudioDataset items: padded waveforms and targets, each with lengths."""
    waveforms, wave_lengths = pad_sequences([it["waveform"] for it in items])
    targets, target_lengths = pad_sequences([it["tokens"] for it in items])
    return {"waveforms": waveforms, "wave_lengths": wave_lengths, "targets": targets,
            "target_lengths": target_lengths, "texts": [it["text"] for it in items],
            "paths": [it["path"] for it in items]}


def padding_fraction(lengths: Sequence[float] | torch.Tensor) -> float:
    """Share of a padded batch that is padding: 1 - sum(lengths) / (B * max(lengths))."""
    lengths = [float(x) for x in lengths]
    return 1.0 - sum(lengths) / (len(lengths) * max(lengths))


class BucketingBatchSampler(Sampler[list[int]]):
    """Dynamic batches of similar-length items under a budget of ``max_frames`` padded frames
    (lhotse-style): each batch holds as many items as fit ``len(batch) * longest <= max_frames``.

    Every epoch, items are sorted by length with a small random jitter (so batches differ
    between epochs), cut into batches greedily, and the batch order is shuffled. Under
    distributed training each rank takes every ``world_size``-th batch.
    """

    def __init__(self, lengths: Sequence[float], max_frames: float, shuffle: bool = True,
                 seed: int = 0, jitter: float = 0.05, max_batch_size: int | None = None,
                 rank: int = 0, world_size: int = 1) -> None:
        if max_frames < max(lengths):
            raise ValueError(f"max_frames={max_frames} is smaller than the longest item ({max(lengths)})")
        self.lengths = [float(x) for x in lengths]
        self.max_frames = max_frames
        self.shuffle = shuffle
        self.seed = seed
        self.jitter = jitter
        self.max_batch_size = max_batch_size
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        if self.shuffle:
            keys = [n * (1 + rng.uniform(-self.jitter, self.jitter)) for n in self.lengths]
        else:
            keys = self.lengths
        order = sorted(range(len(self.lengths)), key=keys.__getitem__)
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0.0
        for index in order:
            longest_if_added = max(longest, self.lengths[index])
            full = self.max_batch_size is not None and len(current) >= self.max_batch_size
            if current and (longest_if_added * (len(current) + 1) > self.max_frames or full):
                batches.append(current)
                current, longest_if_added = [], self.lengths[index]
            current.append(index)
            longest = longest_if_added
        if current:
            batches.append(current)
        if self.shuffle:
            rng.shuffle(batches)
        if self.world_size > 1:
            usable = len(batches) - len(batches) % self.world_size
            batches = batches[self.rank:usable:self.world_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()
        self.epoch += 1

    def __len__(self) -> int:
        return len(self.batches())


def seconds_to_frames(seconds: float, hop_ms: float = 10.0) -> int:
    return int(math.ceil(seconds * 1000 / hop_ms))
