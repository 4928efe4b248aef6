"""Models that ship inside the package: ``recog/models/<name>/`` holds ``config.json``,
``model.safetensors`` and ``MODEL_CARD.md`` (``recog.checkpoint`` reads the first two), and may
hold ``lm.npz``, a character language model for it (``--lm <name>``, ``resolve_lm``).

``recog.load("latin-lines")`` and ``--model latin-lines`` find a shipped model by name; with no
``--model`` a command takes its task's default. ``recog models`` lists what ships.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from recog.checkpoint import CONFIG_FILE, WEIGHTS_FILE
from recog_edge.models import DEFAULTS, LM_FILE, is_name  # noqa: F401 - one table, LM file name and test of a name
from recog_edge.models import resolve_lm as edge_resolve_lm

ROOT = Path(__file__).resolve().parent
CARD_FILE = "MODEL_CARD.md"


@dataclass(frozen=True)
class ShippedModel:
    """A model in the package: its folder, task ("speech" or "text-line"), size on disk and the
    first paragraph of its card."""

    name: str
    folder: Path
    task: str
    size_bytes: int
    summary: str


def shipped() -> list[ShippedModel]:
    """Every model folder in the package, by name."""
    models = []
    for folder in sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / CONFIG_FILE).is_file()):
        try:
            info = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")).get("info", {})
        except (OSError, ValueError):
            info = {}
        card = folder / CARD_FILE
        models.append(ShippedModel(folder.name, folder, str(info.get("task", "?")),
                                   sum(f.stat().st_size for f in folder.iterdir() if f.is_file()),
                                   _summary(card.read_text(encoding="utf-8")) if card.is_file() else ""))
    return models


def _summary(card: str) -> str:
    """The first paragraph of a model card below its title, on one line."""
    paragraphs = [p for p in card.split("\n\n") if p.strip() and not p.lstrip().startswith("#")]
    return " ".join(paragraphs[0].split()) if paragraphs else ""


def resolve(model: str | Path) -> Path:
    """A shipped model's folder for its name; anything else is a path, returned as it is."""
    if is_name(model):
        folder = ROOT / model
        if (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file():
            return folder
        names = [m.name for m in shipped()]
        raise FileNotFoundError(f"{model}: no such model file or folder, and no shipped model of that name "
                                f"(shipped: {', '.join(names) or 'none'})")
    return Path(model)


def resolve_lm(lm: str | Path) -> Path:
    """The LM file that ``--lm`` names: a shipped model's name or a model folder gives the
    ``lm.npz`` inside it (FileNotFoundError naming the model where it has none); anything
    else is the LM file's path, returned as it is (``recog_edge.models.resolve_lm`` in recog's models)."""
    return edge_resolve_lm(lm, ROOT, CONFIG_FILE)


def default_model(task: str) -> Path:
    """The folder of the model a ``task`` command uses without ``--model``."""
    name = DEFAULTS.get(task)
    if name is None or not (ROOT / name / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"no default {task} model ships with this recog; give --model (a checkpoint, a "
                                f"model folder or a shipped model name)")
    return ROOT / name
