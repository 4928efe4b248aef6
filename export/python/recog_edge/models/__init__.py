"""Edge models that ship inside recog-edge: ``recog_edge/models/<name>/`` holds the int8 ONNX
files ``recog export --int8`` wrote from recog's shipped model of the same name, ``edge.json``
(its task, the files and the recog weights they came from) and ``MODEL_CARD.md``.
``tools/ship_edge.py NAME`` writes a folder. ``resolve("latin-lines")`` finds one by name, and
``default_model(task)`` gives the one a ``recog-edge`` command takes without ``--model``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
INFO_FILE = "edge.json"
# task -> the model a command takes by default (one table: recog.models uses it too)
DEFAULTS = {"speech": "en-speech", "text-line": "latin-lines", "text-detection": "latin-det"}


def shipped() -> dict[str, dict[str, Any]]:
    """Every edge model in the package: name -> its ``edge.json`` (task, files, source)."""
    models = {}
    for folder in sorted(p for p in ROOT.iterdir() if (p / INFO_FILE).is_file()):
        models[folder.name] = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    return models


def resolve(model: str | Path) -> Path:
    """The folder of a shipped edge model for its name; anything else is an export folder's path,
    returned as it is."""
    if isinstance(model, str) and "/" not in model and not Path(model).exists():
        if (ROOT / model / INFO_FILE).is_file():
            return ROOT / model
        raise FileNotFoundError(f"{model}: no such export folder, and no shipped edge model of that name "
                                f"(shipped: {', '.join(shipped()) or 'none'})")
    return Path(model)


def default_model(task: str) -> Path:
    """The folder of the shipped model a ``task`` command uses without ``--model`` ("speech",
    "text-line" or "text-detection"); FileNotFoundError in one line where none ships."""
    name = DEFAULTS[task]
    if not (ROOT / name / INFO_FILE).is_file():
        shipping = ', '.join(shipped()) or 'none'
        raise FileNotFoundError(f"no {task} model ships with this recog-edge (shipped: {shipping})"
                                f"; give --model, a folder `recog export` wrote")
    return ROOT / name
