"""Set-up shared by the scripts of benchmarks/ and tools/: their common flags, threads, manifests,
models, inputs and timing.

The scripts are files in folders, not packages, run from the repository root as
``python benchmarks/NAME.py`` or ``python tools/NAME.py``: each first puts the repository root on
``sys.path`` and imports this module as ``benchmarks.common`` (as the recipes import
``recipes.common``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

import recog
from recog.audio import SAMPLE_RATE, load_audio
from recog.data import AUDIO_KEY, Entry, read_manifest
from recog.image import ImageConfig, load_image, resize_line
from recog.inference import RecognitionModel
from recog.lm import CharNgramLM
from recog_edge.fusion import LM_BONUS_HELP, LM_WEIGHT_HELP, fusion_weights, tuned_setting

T = TypeVar("T")

# ---------------------------------------------------------------- command line


def floats(text: str) -> list[float]:
    """A comma-separated list of numbers (grid flags: ``--weights 0.2,0.4``)."""
    return [float(v) for v in text.split(",")]


def ints(text: str) -> list[int]:
    """A comma-separated list of integers (``--beams 4,8``)."""
    return [int(v) for v in text.split(",")]


def context_pair(text: str | None) -> tuple[int, int] | None:
    """A ``LEFT,RIGHT`` attention-context flag as a pair (None when the flag was not given)."""
    return tuple(int(v) for v in text.split(",")) if text else None  # type: ignore[return-value]


def add_model(parser: argparse.ArgumentParser, required: bool = True, help: str | None = None) -> None:
    """``--model``: a checkpoint of ``recog train``."""
    parser.add_argument("--model", required=required, help=help)


def add_manifest(parser: argparse.ArgumentParser, required: bool = True, help: str | None = None) -> None:
    """``--manifest``: a JSONL manifest with reference texts."""
    parser.add_argument("--manifest", required=required, help=help)


def add_threads(parser: argparse.ArgumentParser, default: int, help: str | None = None) -> None:
    """``--threads``: torch intra-op threads (set by :func:`parse_args`)."""
    parser.add_argument("--threads", type=int, default=default, help=help)


def add_limit(parser: argparse.ArgumentParser, flag: str = "--files", default: int | None = None,
              help: str | None = None) -> None:
    """``flag`` (``--files``, ``--lines`` or ``--limit``: each script keeps its own name): the first N
    manifest entries only; read with ``read_entries(manifest, args.<name>)``."""
    parser.add_argument(flag, type=int, default=default, help=help)


def add_context(parser: argparse.ArgumentParser, help: str) -> None:
    """``--context LEFT,RIGHT``: the attention context of a limited-context model (see :func:`load_model`)."""
    parser.add_argument("--context", help=help)


def add_lm_fusion(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--lm`` (a character LM from ``recog lm``), ``--lm-weight`` and ``--lm-bonus`` (its shallow-fusion
    weights, tuned with tools/lm_tune.py)."""
    parser.add_argument("--lm", help=help)
    parser.add_argument("--lm-weight", type=float, help=LM_WEIGHT_HELP)
    parser.add_argument("--lm-bonus", type=float, help=LM_BONUS_HELP)


def lm_setting(lm: CharNgramLM, head: str, weight: float | None, bonus: float | None) -> str:
    """How ``lm`` is fused into the search of ``head`` with the ``--lm-weight`` / ``--lm-bonus``
    given (None: not given), for a report's header: the pair the searches use, and where it comes from."""
    used = fusion_weights(lm, head, weight, bonus)
    settings = lm.fusion_settings or {}
    source = ("given" if None not in (weight, bonus) else f"the LM's pair tuned for {head}" if head in settings
              else "the LM's tuned pair" if tuned_setting(lm, head) else "the defaults")
    return f"weight {used[0]}, bonus {used[1]}: {source}"


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, then ``torch.set_num_threads(args.threads)`` where the parser has
    ``--threads``."""
    args = parser.parse_args(argv)
    if getattr(args, "threads", None) is not None:
        set_threads(args.threads)
    return args


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- manifests, models and inputs


def read_entries(manifest: str | Path, limit: int | None = None, check_files: bool = True) -> list[Entry]:
    """The manifest's entries (``recog.data.read_manifest``), the first ``limit`` only when given."""
    return read_manifest(manifest, check_files=check_files)[:limit]


def manifest_rows(manifest: str | Path, entries: list[Entry]) -> list[dict[str, Any]]:
    """The JSON rows of ``entries`` as written in the manifest, every field kept (``read_manifest``
    keeps only the ones recog needs), in the order of ``entries``."""
    rows = {}
    with open(manifest, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip():
                rows[number] = json.loads(raw)
    return [rows[e.line] for e in entries]


def group_rows(manifest: str | Path, entries: list[Entry], field: str) -> dict[str, list[int]]:
    """Entry indices by the part before the first ':' of each manifest row's ``field`` (a recipe's
    ``voice`` "espeak:ACCENT+VARIANT" groups as "espeak"), groups in sorted order."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(manifest_rows(manifest, entries)):
        groups[str(row.get(field, "?")).split(":")[0]].append(i)
    return dict(sorted(groups.items()))


def load_model(path: str | Path, context: str | None = None, lm: str | Path | CharNgramLM | None = None,
               device: str = "cpu") -> RecognitionModel:
    """``recog.load(path)``, with the ``LEFT,RIGHT`` value of a ``--context`` flag (None: the model's
    default context) and a character LM for beam search fusion (its file or the loaded LM)."""
    return recog.load(path, device=device, att_context=context_pair(context), lm=lm)


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def load_audio_entries(entries: list[Entry], leading_silence: float = 0.0) -> list[np.ndarray]:
    """Every entry's audio (16 kHz mono float32), after ``leading_silence`` seconds of digital silence."""
    if not leading_silence:
        return [load_audio(e.path) for e in entries]
    silence = np.zeros(int(round(leading_silence * SAMPLE_RATE)), dtype=np.float32)
    return [np.concatenate([silence, load_audio(e.path)]) for e in entries]


def load_line_images(entries: list[Entry], config: ImageConfig) -> tuple[list[np.ndarray], list[int]]:
    """Every entry's text-line image resized for a model's frontend ``config``, and the original widths."""
    lines, widths = [], []
    for e in entries:
        image = load_image(e.path)
        lines.append(resize_line(image, config))
        widths.append(image.shape[1])
    return lines, widths


def load_inputs(entries: list[Entry], config: ImageConfig | None = None) -> dict[int, np.ndarray]:
    """Every entry's model input by entry index, as ``RecognitionModel.plan_batches`` takes them: audio
    for a speech manifest, line images resized for the frontend ``config`` for a text-line manifest."""
    if entries and entries[0].key == AUDIO_KEY:
        return dict(enumerate(load_audio_entries(entries)))
    return dict(enumerate(load_line_images(entries, config)[0]))


def audio_seconds(audio: Iterable[np.ndarray]) -> float:
    """Total duration of 16 kHz signals."""
    return sum(len(a) for a in audio) / SAMPLE_RATE


def encode_manifest(model: RecognitionModel, entries: list[Entry]
                    ) -> list[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """Read every input of a manifest (speech or text lines) and encode it once, batched as recog
    batches: (entry indices, h (B, T, D), h_lengths (B,)) per batch."""
    inputs = load_inputs(entries, model.model.frontend.config)
    return [(batch, *model.encode_arrays([inputs[i] for i in batch])) for batch in model.plan_batches(inputs, None)]


def distinct_ngram_ratio(nbest_lists: list[list[list[str]]], n: int) -> float:
    """Distinct n-grams / all n-grams over each input's n-best token lists, averaged over inputs."""
    ratios = []
    for hyps in nbest_lists:
        grams = [tuple(tokens[i: i + n]) for tokens in hyps for i in range(len(tokens) - n + 1)]
        if grams:
            ratios.append(len(set(grams)) / len(grams))
    return statistics.mean(ratios) if ratios else float("nan")


# ---------------------------------------------------------------- timing


class Stopwatch:
    """Wall time of a block: ``with Stopwatch() as watch: ...``, then ``watch.seconds``."""

    seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()`` and the wall seconds it took."""
    with Stopwatch() as watch:
        result = fn()
    return result, watch.seconds


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` calls of ``fn``, in seconds."""
    return min(timed(fn)[1] for _ in range(repeats))


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """The median of ``repeats`` calls of ``fn``, in seconds."""
    return statistics.median(timed(fn)[1] for _ in range(repeats))


def resident_bytes() -> int:
    """This process's resident memory (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
