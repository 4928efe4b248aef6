"""Edge models that ship inside recog-edge: ``recog_edge/models/<name>/`` holds the int8 ONNX
files ``recog export --int8`` wrote from recog's shipped model of the same name, ``edge.json``
(its task, the files and the recog weights they came from) and ``MODEL_CARD.md``; a text-line
model also its character LM, ``lm.npz`` (``--lm <name>``, ``resolve_lm``).
``tools/ship_edge.py NAME`` writes a folder. ``resolve("latin-lines")`` finds one by name, and
``default_model(task)`` gives the one a ``recog-edge`` command takes without ``--model``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
INFO_FILE = "edge.json"
LM_FILE = "lm.npz"  # a model's character LM (``recog lm``), which ``--lm <name>`` finds in its folder
# task -> the model a command takes by default (one table: recog.models uses it too)
DEFAULTS = {"speech": "en-speech", "text-line": "latin-lines", "text-detection": "latin-det"}


def shipped() -> dict[str, dict[str, Any]]:
    """Every edge model in the package: name -> its ``edge.json`` (task, files, source)."""
    models = {}
    for folder in sorted(p for p in ROOT.iterdir() if (p / INFO_FILE).is_file()):
        models[folder.name] = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    return models


def is_name(model: str | Path) -> bool:
    """Whether ``model`` is a shipped model's name rather than a path: a string without a slash
    that names nothing on disk (recog's models are named the same way)."""
    return isinstance(model, str) and "/" not in model and not Path(model).exists()


def resolve(model: str | Path) -> Path:
    """The folder of a shipped edge model for its name; anything else is an export folder's path,
    returned as it is."""
    if is_name(model):
        if (ROOT / model / INFO_FILE).is_file():
            return ROOT / model
        raise FileNotFoundError(f"{model}: no such export folder, and no shipped edge model of that name "
                                f"(shipped: {', '.join(shipped()) or 'none'})")
    return Path(model)


def resolve_lm(lm: str | Path, root: Path = ROOT, marker: str = INFO_FILE) -> Path:
    """The LM file that ``--lm`` names: the name of a model in ``root`` (a folder holding
    ``marker``: the shipped edge models, or recog's with its config file), or a model folder, gives
    the ``lm.npz`` inside it (FileNotFoundError naming it where it has none); anything else is the
    LM file's path, returned as it is."""
    if is_name(lm):
        folder = root / lm
        if not (folder / marker).is_file():
            raise FileNotFoundError(f"{lm}: no such language model file, and no shipped model of that name")
    else:
        folder = Path(lm)
        if not folder.is_dir():
            return folder
    if not (folder / LM_FILE).is_file():
        raise FileNotFoundError(f"{lm}: this model ships no language model ({LM_FILE})")
    return folder / LM_FILE


def default_model(task: str) -> Path:
    """The folder of the shipped model a ``task`` command uses without ``--model`` ("speech",
    "text-line" or "text-detection"); FileNotFoundError in one line where none ships."""
    name = DEFAULTS[task]
    if not (ROOT / name / INFO_FILE).is_file():
        shipping = ', '.join(shipped()) or 'none'
        raise FileNotFoundError(f"no {task} model ships with this recog-edge (shipped: {shipping})"
                                f"; give --model, a folder `recog export` wrote")
    return ROOT / name
