"""Manifests, datasets, collation and the length-bucketing batch sampler.

Manifests are JSONL, one object per line, relative paths resolving against the manifest's
folder. Speech rows follow NeMo: ``audio_filepath``, ``duration`` (seconds), ``text``. Text-line
rows have ``image_filepath`` and ``text``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from recog.audio import SAMPLE_RATE, change_speed, load_audio
from recog.image import ImageConfig, ImageError, load_image, target_size
from recog.noise import COLOURS, coloured_noise, mix_at_snr
from recog.text import UNK, Tokenizer
from recog_edge.files import atomic_path

AUDIO_KEY = "audio_filepath"
IMAGE_KEY = "image_filepath"


class ManifestError(ValueError):
    """A manifest line that cannot be used; the message names the manifest and line number."""


@dataclass(frozen=True)
class Entry:
    """One manifest row; ``path`` is absolute, ``line`` is 1-based, ``duration`` is None for images.
    ``offset`` (seconds) is set where the row names a segment of its file (NeMo's ``offset``): the
    entry is then the ``duration`` seconds from there, not the whole file."""

    path: str
    duration: float | None
    text: str
    line: int
    key: str = AUDIO_KEY  # which path field the row had: AUDIO_KEY or IMAGE_KEY
    offset: float | None = None

    def load_audio(self) -> np.ndarray:
        """The entry's samples: its segment where it has an offset, else the whole file."""
        if self.offset is None:
            return load_audio(self.path)
        return load_audio(self.path, offset=self.offset, duration=self.duration)


def read_manifest(manifest: str | Path, require_text: bool = True, check_files: bool = True,
                  require_duration: bool = True) -> list[Entry]:
    """Parse a JSONL manifest of audio or image rows (not mixed). Raises ManifestError naming
    the line for bad JSON, a missing field, a non-positive duration or (with ``check_files``) a
    missing file. Without ``require_duration`` (inference) an audio row may leave its duration
    out: the whole file, or from its offset to the end."""
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
            key = IMAGE_KEY if IMAGE_KEY in row and AUDIO_KEY not in row else AUDIO_KEY
            if entries and key != entries[0].key:
                raise ManifestError(f"{where}: has {key} but earlier lines have {entries[0].key}")
            needs_duration = key == AUDIO_KEY and require_duration
            required = [key] + (["duration"] if needs_duration else []) + (["text"] if require_text else [])
            missing = [k for k in required if k not in row]
            if missing:
                if key not in row:
                    missing[0] = f"{AUDIO_KEY} (or {IMAGE_KEY})"
                raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
            if not isinstance(row[key], str) or not row[key]:
                raise ManifestError(f"{where}: {key} must be a non-empty string, got {row[key]!r}")
            text = row.get("text", "")
            if not isinstance(text, str):
                raise ManifestError(f"{where}: text must be a string, got {text!r}")
            path = Path(row[key])
            path = path if path.is_absolute() else root / path
            if check_files and not path.is_file():
                raise ManifestError(f"{where}: {'audio' if key == AUDIO_KEY else 'image'} file {path} does not exist")
            if key == IMAGE_KEY:
                entries.append(Entry(str(path), None, text, number, key))
                continue
            duration = _seconds(row, "duration", where, positive=True)
            offset = _seconds(row, "offset", where, positive=False)
            entries.append(Entry(str(path), duration, text, number, key, offset))
    if not entries:
        raise ManifestError(f"{manifest}: manifest has no entries")
    return entries


def _seconds(row: dict[str, Any], key: str, where: str, positive: bool) -> float | None:
    """A row's ``key`` as seconds (None where absent): a finite number, positive or non-negative."""
    if key not in row:
        return None
    try:
        value = float(row[key])
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: {key} {row[key]!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise ManifestError(f"{where}: {key} must be a {kind} finite number, got {value}")
    return value


class AudioDataset(Dataset):
    """Manifest entries -> dicts of waveform "input" (N,) float32 and token ids (U,) int64.

    ``speed_perturb=(low, high)``: play each item at a speed drawn uniformly from [low, high]
    (training augmentation against unseen speakers: shifts pitch and formants), drawn from a
    generator seeded by (seed, index, call count), so runs repeat.
    ``leading_silence=(low, high)``: put a silence of a length drawn uniformly from [low, high]
    seconds before each item (after the speed change), so that a model (a limited-context
    streaming one above all) also learns speech that does not begin where its input begins, as in
    a live stream or a recording with a quiet start; ``leading_silence_prob``: the share of items
    that get one (the others start as recorded).
    ``join_prob``: the share of items that are two utterances in one: another entry (drawn once
    per dataset from ``seed``), a silence of ``join_gap=(low, high)`` seconds (drawn per call),
    then the item, with the texts joined by a space (by nothing where the tokenizer has no space,
    as for Chinese characters); so a limited-context streaming model learns
    speech whose left context holds the end of the previous utterance, as in a long stream. An
    item whose pair would be longer than ``max_seconds`` (the batch budget) stays single.
    ``noise_prob``: the share of items that get additive noise, drawn afresh at every call: a
    colour of ``noise_colours`` (``recog.noise.COLOURS``) at an SNR drawn uniformly from
    ``noise_snr=(low, high)`` dB, measured on the speech frames (``recog.noise.mix_at_snr``), over
    the whole input, leading silence included, as a noisy room or line would add it.
    The order is: join, speed change (which stretches the gap too), leading silence, noise.
    """

    def __init__(self, entries: Sequence[Entry], tokenizer: Tokenizer,
                 speed_perturb: tuple[float, float] | None = None, seed: int = 0,
                 leading_silence: tuple[float, float] | None = None, leading_silence_prob: float = 1.0,
                 join_prob: float = 0.0, join_gap: tuple[float, float] = (0.0, 1.0),
                 max_seconds: float = float("inf"), noise_prob: float = 0.0,
                 noise_snr: tuple[float, float] = (0.0, 30.0),
                 noise_colours: Sequence[str] = tuple(COLOURS)) -> None:
        if speed_perturb is not None and not 0 < speed_perturb[0] <= speed_perturb[1]:
            raise ValueError(f"speed_perturb must be (low, high) with 0 < low <= high, got {speed_perturb}")
        for name, seconds in (("leading_silence", leading_silence), ("join_gap", join_gap)):
            if seconds is not None and not 0 <= seconds[0] <= seconds[1]:
                raise ValueError(f"{name} must be (low, high) seconds with 0 <= low <= high, got {seconds}")
        for name, share in (("leading_silence_prob", leading_silence_prob), ("join_prob", join_prob),
                            ("noise_prob", noise_prob)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {share}")
        if not noise_snr[0] <= noise_snr[1]:
            raise ValueError(f"noise_snr must be (low, high) dB with low <= high, got {noise_snr}")
        unknown = [c for c in noise_colours if c not in COLOURS]
        if unknown or not noise_colours:
            raise ValueError(f"noise_colours must name some of {', '.join(COLOURS)}, got {list(noise_colours)}")
        self.entries = list(entries)
        self.join_gap = join_gap
        self.separator = "" if any(tokenizer.id_to_piece(i) == UNK for i in tokenizer.encode(" ")) else " "
        self.partner = self._partners([e.duration + join_gap[1] for e in self.entries], join_prob, seed, max_seconds)
        self.tokenizer = tokenizer
        self.speed_perturb = speed_perturb
        self.leading_silence = leading_silence
        self.leading_silence_prob = leading_silence_prob
        self.noise_prob, self.noise_snr, self.noise_colours = noise_prob, noise_snr, tuple(noise_colours)
        self.seed = seed
        self._calls = 0

    def __len__(self) -> int:
        return len(self.entries)

    @staticmethod
    def _partners(seconds: list[float], join_prob: float, seed: int, limit: float) -> list[int | None]:
        """Per item: the index of the entry joined before it, or None; never the item itself, and
        never a pair whose ``seconds`` (duration + longest gap each) sum past ``limit``."""
        count = len(seconds)
        if join_prob == 0.0 or count < 2:
            return [None] * count

        rng = np.random.default_rng((seed, count, 1))
        joined = rng.random(count) < join_prob
        other = rng.integers(0, count - 1, count)  # (count,) in [0, count - 2]; shifted past the item
        partners = [int(o + (o >= i)) if j else None for i, (j, o) in enumerate(zip(joined, other, strict=True))]
        return [p if p is not None and seconds[i] + seconds[p] <= limit else None for i, p in enumerate(partners)]

    def batch_lengths(self) -> tuple[list[float], None]:
        """Per item: 10 ms feature frames for the bucketing budget (with the joined entry and the
        longest gap, and the longest leading silence, if any); no size groups."""
        extra = self.leading_silence[1] if self.leading_silence is not None else 0.0
        lengths = []
        for entry, partner in zip(self.entries, self.partner, strict=True):
            joined = 0.0 if partner is None else self.entries[partner].duration + self.join_gap[1]
            lengths.append((entry.duration + joined + extra) * 100)
        return lengths, None

    def __getitem__(self, index: int) -> dict[str, Any]:
        entry, partner = self.entries[index], self.partner[index]
        samples, text = entry.load_audio(), entry.text
        if (self.speed_perturb is not None or self.leading_silence is not None or partner is not None
                or self.noise_prob > 0):
            self._calls += 1
            rng = np.random.default_rng((self.seed, index, self._calls))
            if partner is not None:  # its own generator: the speed and silence draws stay those of a single item
                before = self.entries[partner]
                seconds = float(np.random.default_rng((self.seed, index, self._calls, 1)).uniform(*self.join_gap))
                gap = np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=samples.dtype)
                samples = np.concatenate([before.load_audio(), gap, samples])
                text = self.separator.join(t for t in (before.text, text) if t)
            if self.speed_perturb is not None:
                samples = change_speed(samples, float(rng.uniform(*self.speed_perturb)))
            if self.leading_silence is not None:
                seconds = float(rng.uniform(*self.leading_silence))  # drawn always: the draws stay aligned
                pad = int(round(seconds * SAMPLE_RATE)) if rng.random() < self.leading_silence_prob else 0
                samples = np.concatenate([np.zeros(pad, dtype=samples.dtype), samples])
            noise_rng = np.random.default_rng((self.seed, index, self._calls, 2))  # the other draws stay as they were
            if noise_rng.random() < self.noise_prob:
                colour = self.noise_colours[int(noise_rng.integers(len(self.noise_colours)))]
                snr = float(noise_rng.uniform(*self.noise_snr))
                samples = mix_at_snr(samples, coloured_noise(colour, len(samples), noise_rng), snr)
        waveform = torch.from_numpy(samples)
        tokens = torch.tensor(self.tokenizer.encode(text), dtype=torch.long)
        return {"input": waveform, "tokens": tokens, "text": text, "path": entry.path}


class ImageDataset(Dataset):
    """Manifest entries -> dicts of uint8 image "input" (H, W, 3) at the item's multi-size
    target (decided from the file's own size, so augmentation never moves it to another batch
    group) and token ids (U,) int64. ``augment(image, rng)`` is applied before resizing."""

    def __init__(self, entries: Sequence[Entry], tokenizer: Tokenizer, config: ImageConfig | None = None,
                 augment: Any = None, seed: int = 0) -> None:
        from PIL import Image

        self.entries = list(entries)
        self.tokenizer = tokenizer
        self.config = config or ImageConfig()
        self.augment = augment
        self.seed = seed
        self.sizes = []
        for entry in self.entries:  # headers only: PIL reads the size without decoding pixels
            try:
                with Image.open(entry.path) as img:
                    width, height = img.size
                    if img.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientation: turned 90 degrees
                        width, height = height, width
                    self.sizes.append(target_size(width, height, self.config))
            except Exception as err:
                raise ImageError(f"{entry.path}: not readable as an image ({err})") from None
        self._calls = 0

    def __len__(self) -> int:
        return len(self.entries)

    def batch_lengths(self) -> tuple[list[float], list[tuple[int, int]]]:
        """Per item: pixels for the batch budget, and its (W, H) size group."""
        return [float(w * h) for w, h in self.sizes], self.sizes

    def __getitem__(self, index: int) -> dict[str, Any]:
        import cv2

        entry = self.entries[index]
        image = load_image(entry.path)
        if self.augment is not None:
            self._calls += 1
            image = self.augment(image, np.random.default_rng((self.seed, index, self._calls)))
        width, height = self.sizes[index]
        interpolation = cv2.INTER_AREA if height < image.shape[0] else cv2.INTER_CUBIC
        image = cv2.resize(image, (width, height), interpolation=interpolation)
        tokens = torch.tensor(self.tokenizer.encode(entry.text), dtype=torch.long)
        return {"input": torch.from_numpy(np.ascontiguousarray(image)), "tokens": tokens, "text": entry.text,
                "path": entry.path}


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict]) -> None:
    """JSON lines, written whole or not at all (``recog_edge.files.atomic_path``)."""
    with atomic_path(path) as temporary, temporary.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def pad_sequences(items: Sequence[torch.Tensor], value: float = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad 1-D tensors into (B, max_len) and return them with their lengths (B,)."""
    lengths = torch.tensor([len(x) for x in items], dtype=torch.long)
    out = items[0].new_full((len(items), int(lengths.max())), value)
    for i, x in enumerate(items):
        out[i, : len(x)] = x
    return out, lengths


def pad_images(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (H, W, 3) images of one height -> (B, H, max W, 3) right-padded, widths (B,)."""
    heights = {int(x.shape[0]) for x in items}
    if len(heights) != 1:
        raise ValueError(f"a batch of images must share one height, got {sorted(heights)}")
    widths = torch.tensor([int(x.shape[1]) for x in items], dtype=torch.long)
    out = items[0].new_zeros((len(items), heights.pop(), int(widths.max()), items[0].shape[2]))
    for i, x in enumerate(items):
        out[i, :, : x.shape[1]] = x
    return out, widths


def collate(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch dataset items (audio or images): padded inputs and targets, each with lengths."""
    pad = pad_sequences if items[0]["input"].dim() == 1 else pad_images
    inputs, input_lengths = pad([it["input"] for it in items])
    targets, target_lengths = pad_sequences([it["tokens"] for it in items])
    return {"inputs": inputs, "input_lengths": input_lengths, "targets": targets,
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
    between epochs), cut into batches greedily, and the batch order is shuffled. With
    ``groups`` (e.g. image sizes), a batch never mixes two groups. Under distributed training
    each rank takes every ``world_size``-th batch.

    When shuffling, every epoch has the same number of batches, ``len(sampler)``: Lightning reads
    the length once and validates after that many batches, so an epoch one batch short would skip
    its validation (the jittered cut varies by a batch or two). The count is the largest of the
    first four epochs' cuts plus 0.5 % (rounded); an epoch whose cut is shorter splits its fullest
    batches in two, one whose cut is longer (rare) leaves out its smallest batches' items for that
    epoch. Without shuffling (evaluation) every item is kept and the count is that of the plain cut.
    """

    def __init__(self, lengths: Sequence[float], max_frames: float, shuffle: bool = True,
                 seed: int = 0, jitter: float = 0.05, max_batch_size: int | None = None,
                 rank: int = 0, world_size: int = 1, groups: Sequence[Any] | None = None) -> None:
        if max_frames < max(lengths):
            raise ValueError(f"max_frames={max_frames} is smaller than the longest item ({max(lengths)})")
        self.lengths = [float(x) for x in lengths]
        self.groups = list(groups) if groups is not None else [0] * len(self.lengths)
        self.max_frames = max_frames
        self.shuffle = shuffle
        self.seed = seed
        self.jitter = jitter
        self.max_batch_size = max_batch_size
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.drawing = 0  # the epoch of the iteration begun last (a checkpoint's resume point)
        self._count: int | None = None
        self._skip = 0
        self._progress: Callable[[], tuple[int, int]] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resume_at(self, epoch: int, batches_done: int, progress: Callable[[], tuple[int, int]] | None = None,
                  saved_world_size: int | None = None) -> None:
        """Make the next iteration epoch ``epoch`` less the ``batches_done`` batches (each rank's) a
        resumed run trained before it stopped (``len`` stays the whole epoch's count, as Lightning
        expects). ``saved_world_size``: the ranks that trained them, where other than now: the
        skip covers as many of the epoch's batches (up to ``world_size`` - 1 again).

        ``progress``, asked as the iteration begins (the trainer's own count may not be reset for
        the epoch yet): (batches the trainer counts as done in the epoch it goes on with, 0 for a
        fresh one; batches it takes an epoch). The iteration yields what the trainer will train:
        the rest of an epoch it goes on with, up to its count (none where that epoch is done:
        Lightning restarted from a checkpoint written at an epoch's end by ``max_steps`` still
        draws a batch); for a fresh one, the next epoch whole where ``batches_done`` had finished
        ``epoch``."""
        batches_done = rescaled_batches_done(batches_done, saved_world_size, self.world_size)
        self.epoch, self._skip, self._progress = epoch, max(0, batches_done), progress
        self.drawing = epoch  # a checkpoint before the first draw resumes here too

    def batches(self, epoch: int | None = None) -> list[list[int]]:
        """The batches of ``epoch`` (default: the next one), this rank's share under DDP."""
        rng = random.Random(self.seed + (self.epoch if epoch is None else epoch))
        batches = self._cut(rng)
        if self.shuffle:
            batches = self._to_count(batches, self._fixed_count())
            rng.shuffle(batches)
        if self.world_size > 1:
            # training: every rank the same number of steps (gradients are averaged each step), so up to
            # world_size - 1 batches an epoch are left out; otherwise every batch, on one rank each
            usable = len(batches) - len(batches) % self.world_size if self.shuffle else len(batches)
            batches = batches[self.rank:usable:self.world_size]
        return batches

    def _fixed_count(self) -> int:
        if self._count is None:
            most = max(len(self._cut(random.Random(self.seed + epoch))) for epoch in range(4))
            self._count = most + round(0.005 * most)
        return self._count

    @staticmethod
    def _to_count(batches: list[list[int]], count: int) -> list[list[int]]:
        """Split the fullest batches in two (each half fits the budget) or drop the smallest until
        there are ``count``."""
        batches = list(batches)
        while len(batches) < count and max(len(b) for b in batches) > 1:
            fullest = max(range(len(batches)), key=lambda i: len(batches[i]))
            batch = batches[fullest]
            batches[fullest:fullest + 1] = [batch[: len(batch) // 2], batch[len(batch) // 2:]]
        while len(batches) > count:
            del batches[min(range(len(batches)), key=lambda i: len(batches[i]))]
        return batches

    def _cut(self, rng: random.Random) -> list[list[int]]:
        """Items sorted by (group, jittered length when shuffling), cut greedily under the budget."""
        if self.shuffle:
            keys = [n * (1 + rng.uniform(-self.jitter, self.jitter)) for n in self.lengths]
        else:
            keys = self.lengths
        order = sorted(range(len(self.lengths)), key=lambda i: (self.groups[i], keys[i]))
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0.0
        for index in order:
            longest_if_added = max(longest, self.lengths[index])
            full = self.max_batch_size is not None and len(current) >= self.max_batch_size
            new_group = bool(current) and self.groups[index] != self.groups[current[-1]]
            if current and (longest_if_added * (len(current) + 1) > self.max_frames or full or new_group):
                batches.append(current)
                current, longest_if_added = [], self.lengths[index]
            current.append(index)
            longest = longest_if_added
        if current:
            batches.append(current)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        # The epoch moves on when an iteration begins, not when it is used up: Lightning stops
        # drawing after len(self) batches without exhausting the iterator, and its set_epoch does
        # not reach a batch sampler.
        skip, self._skip, progress, self._progress = self._skip, 0, self._progress, None
        end = None
        if progress is not None:
            counted, per_epoch = progress()
            if counted:
                end = skip + max(0, per_epoch - counted)
            elif skip >= per_epoch:
                self.epoch, skip = self.epoch + 1, 0
        self.drawing, self.epoch = self.epoch, self.epoch + 1
        yield from self.batches(self.drawing)[skip:end]

    def __len__(self) -> int:
        return len(self.batches())


def rescaled_batches_done(done: int, saved_world_size: int | None, world_size: int) -> int:
    """Each rank's batches of an epoch that ``saved_world_size`` ranks had trained ``done`` of
    each, counted on ``world_size`` ranks (as many of the epoch's batches; None: the same ranks)."""
    if saved_world_size is None or saved_world_size == world_size:
        return done
    return done * saved_world_size // world_size


def seconds_to_frames(seconds: float, hop_ms: float = 10.0) -> int:
    return int(math.ceil(seconds * 1000 / hop_ms))
