"""The one save/load of recog's model format, used by training, inference and tests.

A model is its configuration, its tokenizer and its weights: a Recognizer (with a tokenizer) or a
text detector (``{"detector": {...}}``, no tokenizer). Two containers hold it:

- a training checkpoint (``recog train``'s ``*.ckpt``): Lightning's file, read with
  ``torch.load(weights_only=True)`` (never unpickling code), whose ``recog`` section holds
  ``{"model": Recognizer options, "tokenizer": tokenizer state}`` and whose ``state_dict`` keys
  carry the training system's ``model.`` prefix;
- a model folder (what ships and what ``save_model`` writes): ``config.json`` (``format``,
  ``model``, ``tokenizer``, and free-form ``info``) beside ``model.safetensors`` (the weights,
  float16 or float32; loaded as float32).

``load_recognizer`` and ``load_detector`` read either; ``read_model`` gives the parts without
building the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import torch

from recog.detection.model import TextDetector
from recog.model import Recognizer
from recog.text import tokenizer_from_state
from recog_edge.files import atomic_path, write_text_atomic

FORMAT_VERSION = 1  # of config.json: a newer one is refused with a clear message
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PREFIX = "model."  # the training system's attribute holding the Recognizer


class ModelFormatError(ValueError):
    """A file or folder that is not a recog model this version can read; the message names it."""


class ModelParts(NamedTuple):
    """What a saved model holds: Recognizer options, tokenizer state, weights and free-form info."""

    model: dict[str, Any]
    tokenizer: dict[str, Any] | None  # None for a text detector
    weights: dict[str, torch.Tensor]
    info: dict[str, Any]


def checkpoint_section(model: Recognizer | TextDetector) -> dict[str, Any]:
    """The ``recog`` section a training checkpoint carries (plain types, loadable with weights_only)."""
    tokenizer = getattr(model, "tokenizer", None)  # a detector has none
    return {"model": model.config, "tokenizer": tokenizer.state() if tokenizer is not None else None}


def is_detector(parts: ModelParts) -> bool:
    """Whether saved model parts are a text detector's (else a recogniser's)."""
    return "detector" in parts.model


def recognizer_weights(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The Recognizer's weights inside a training checkpoint's state dict (its keys carry ``model.``)."""
    return {k.removeprefix(PREFIX): v for k, v in state_dict.items() if k.startswith(PREFIX)}


def save_checkpoint(model: Recognizer | TextDetector, path: str | Path) -> Path:
    """A training-checkpoint file holding ``model``, as far as ``load_recognizer`` reads one (tests,
    conversions); ``recog train`` writes the full Lightning checkpoint itself."""
    path = Path(path)
    state = {f"{PREFIX}{k}": v for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"recog": checkpoint_section(model), "state_dict": state}, tmp)
    return path


def save_model(model: Recognizer | TextDetector, folder: str | Path, half: bool = False,
               info: dict[str, Any] | None = None) -> Path:
    """Write ``model`` as a model folder (config.json + model.safetensors); ``half``: float16
    weights on disk (half the size). ``info``: extra JSON (e.g. a name, the attention context)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    weights = {k: (v.half() if half and v.is_floating_point() else v).contiguous().cpu()
               for k, v in model.state_dict().items()}
    config = {"format": FORMAT_VERSION, **checkpoint_section(model), "info": info or {}}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(weights, str(tmp))
    write_text_atomic(folder / CONFIG_FILE, json.dumps(config, indent=1) + "\n")
    return folder


def read_model(path: str | Path, device: str | torch.device = "cpu") -> ModelParts:
    """The parts of a training checkpoint file or a model folder (or its config.json or
    model.safetensors); ModelFormatError (naming the path) where it is neither."""
    path = Path(path)
    if path.is_file() and path.name in (CONFIG_FILE, WEIGHTS_FILE):
        path = path.parent
    if path.is_dir():
        return _read_folder(path, device)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or folder")
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to read means "not a checkpoint"
        raise ModelFormatError(f"{path}: not a readable recog checkpoint ({type(err).__name__}; a model is a "
                               f"training checkpoint or a folder with {CONFIG_FILE} and {WEIGHTS_FILE})") from None
    if not isinstance(checkpoint, dict) or "recog" not in checkpoint or "state_dict" not in checkpoint:
        raise ModelFormatError(f"{path}: not a recog checkpoint (no 'recog' section)")
    section = checkpoint["recog"]
    parts = ModelParts(section["model"], section["tokenizer"], recognizer_weights(checkpoint["state_dict"]),
                       {"source": str(path)})
    boxes = (checkpoint.get("hyper_parameters") or {}).get("val_boxes")
    if is_detector(parts) and boxes:
        # a detector reads with the box settings its validation chose this checkpoint by
        # (configs/latin_det.yaml's val_boxes), as the model shipped from it will (info "detect")
        parts.info["detect"] = dict(boxes)
    return parts


def _read_folder(folder: Path, device: str | torch.device) -> ModelParts:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise ModelFormatError(f"{folder}: not a recog model folder (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ModelFormatError(f"{config_path}: not a readable model config ({type(err).__name__})") from None
    version = config.get("format") if isinstance(config, dict) else None
    if not isinstance(version, int) or not {"model", "tokenizer"} <= set(config):
        raise ModelFormatError(f"{config_path}: not a recog model config (needs format, model, tokenizer)")
    if version > FORMAT_VERSION:
        raise ModelFormatError(f"{config_path}: model format {version} is newer than this recog reads "
                               f"({FORMAT_VERSION}); upgrade recog")
    try:
        weights = load_file(str(weights_path), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFormatError(f"{weights_path}: not readable safetensors weights ({err})") from None
    weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    return ModelParts(config["model"], config["tokenizer"], weights, {**config.get("info", {}), "source": str(folder)})


def build_model(parts: ModelParts, path: str | Path = "model") -> Recognizer | TextDetector:
    """The model (in eval mode) that saved ``parts`` hold: a Recognizer or a TextDetector;
    ModelFormatError naming ``path`` where the weights do not fit the config."""
    if is_detector(parts):
        model: Recognizer | TextDetector = TextDetector.from_config(parts.model)
    else:
        model = Recognizer(tokenizer_from_state(parts.tokenizer), **parts.model)
    try:
        model.load_state_dict(parts.weights)
    except RuntimeError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelFormatError(f"{path}: weights do not fit the model's config ({first})") from None
    return model.eval()


def load_recognizer(path: str | Path, device: str | torch.device = "cpu") -> tuple[Recognizer, dict[str, Any]]:
    """The Recognizer saved at ``path`` (checkpoint file or model folder), in eval mode on
    ``device``, and the model's info."""
    parts = read_model(path, device)
    if is_detector(parts):
        raise ModelFormatError(f"{path}: a text detector, not a recogniser (recog.load gives a page reader for it)")
    return build_model(parts, path).to(device), parts.info


def load_detector(path: str | Path, device: str | torch.device = "cpu") -> tuple[TextDetector, dict[str, Any]]:
    """The TextDetector saved at ``path`` (checkpoint file or model folder), in eval mode, and its info."""
    parts = read_model(path, device)
    if not is_detector(parts):
        raise ModelFormatError(f"{path}: a recogniser, not a text detector")
    return build_model(parts, path).to(device), parts.info
