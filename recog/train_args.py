"""``recog train``'s arguments before LightningCLI parses them: the ``--config`` files they name, and
nested keys of dict-valued options merged key by key.

jsonargparse merges a dict-valued option (``model.model``, ``model.tokenizer``) one level deep and
replaces whatever lies below: ``--model.model.encoder.n_layers 8`` after ``--config
configs/en_speech.yaml`` leaves an encoder of ``{"n_layers": 8}`` and nothing else. The same holds
for a later ``--config`` that sets one key of the encoder. ``fold_dict_options`` deep-merges every
source of such an option in command-line order (the class default, each config file, each flag,
dotted or whole) and appends the result as one last flag, so every key can be given on its own, as
``recog train --help`` promises, and ``--print_config`` shows what trains.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

import yaml


def config_files(args: list[str]) -> list[str]:
    """The ``--config`` files of ``args``, in order (``--config F`` and ``--config=F``)."""
    files = []
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            files.append(args[i + 1])
        elif arg.startswith("--config="):
            files.append(arg.split("=", 1)[1])
    return files


def dict_options(cls: type, group: str) -> dict[str, Any]:
    """``{"group.name": default}`` for each ``__init__`` parameter of ``cls`` typed as a dict (or an
    optional dict); the default is None where it has none."""
    hints = typing.get_type_hints(cls.__init__)
    options = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        hint = hints.get(name)
        kinds = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        if any(k is dict or typing.get_origin(k) is dict for k in kinds):
            default = None if param.default is inspect.Parameter.empty else param.default
            options[f"{group}.{name}"] = default
    return options


def deep_merge(base: Any, update: Any) -> Any:
    """``update`` over ``base``: dicts merge key by key at every depth; anything else replaces."""
    if isinstance(base, dict) and isinstance(update, dict):
        merged = dict(base)
        for key, value in update.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return update


def _flags(args: list[str]) -> list[tuple[int, int, str, str]]:
    """Each ``--key value`` / ``--key=value`` of ``args``: (first index, count of items, key, value)."""
    flags, i = [], 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--") and "=" in arg:
            key, value = arg[2:].split("=", 1)
            flags.append((i, 1, key, value))
            i += 1
        elif arg.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            flags.append((i, 2, arg[2:], args[i + 1]))
            i += 2
        else:
            i += 1
    return flags


def _lookup(tree: Any, dotted: str) -> tuple[bool, Any]:
    for key in dotted.split("."):
        if not isinstance(tree, dict) or key not in tree:
            return False, None
        tree = tree[key]
    return True, tree


def _nest(keys: list[str], value: Any) -> Any:
    for key in reversed(keys):
        value = {key: value}
    return value


def fold_dict_options(args: list[str], options: dict[str, Any]) -> list[str]:
    """``args`` with every flag below a dict-valued option of ``options`` (``{"model.model":
    default}``) removed and, per option that any config or flag sets, one ``--option JSON`` flag
    appended: the deep merge of its default, the config files and the flags, in their order. A
    file that cannot be read is left to LightningCLI to report."""
    flags = _flags(args)
    merged: dict[str, Any] = {}
    drop: set[int] = set()
    for i, count, key, value in flags:
        if key == "config":
            try:
                content = yaml.safe_load(Path(value).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                continue
            for option, default in options.items():
                found, part = _lookup(content, option)
                if found:
                    merged[option] = deep_merge(merged.get(option, default), part)
            continue
        for option, default in options.items():
            if key == option or key.startswith(option + "."):
                part = yaml.safe_load(value)
                nested = _nest(key[len(option) + 1:].split("."), part) if key != option else part
                merged[option] = deep_merge(merged.get(option, default), nested)
                drop.update(range(i, i + count))
    kept = [a for i, a in enumerate(args) if i not in drop]
    return kept + [arg for option, value in merged.items() for arg in (f"--{option}", json.dumps(value))]
