"""Helpers shared by several test modules."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace


@contextmanager
def recipe_modules(folder: Path, *names: str) -> Iterator[SimpleNamespace]:
    """The recipe's modules ``names``; they are scripts in a folder, not a package, so import them
    from it and undo the sys.path and sys.modules changes afterwards."""
    sys.path.insert(0, str(folder))
    try:
        yield SimpleNamespace(**{name: importlib.import_module(name) for name in names})
    finally:
        sys.path.remove(str(folder))
        for name in names:
            sys.modules.pop(name, None)


def check_prefix_stable(make: Callable[..., list[str]], n: int, prefix: int) -> list[str]:
    """Assert that ``make(n, seed=7)`` is deterministic, depends on the seed, is prefix-stable and
    holds distinct texts; returns it."""
    first = make(n, seed=7)
    assert first == make(n, seed=7)
    assert first != make(n, seed=8)
    assert make(prefix, seed=7) == first[:prefix]  # prefix-stable, so splits carved from it stay fixed
    assert len(set(first)) == len(first)
    return first


def save_checkpoint(model, path: Path) -> Path:  # noqa: ANN001 (a recog.model.Recognizer; torch imported lazily)
    """What `recog train` writes, as far as recog.load reads it."""
    import torch

    torch.save({"recog": {"model": model.config, "tokenizer": model.tokenizer.state()},
                "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}, path)
    return path
