"""``recog train``'s arguments before LightningCLI parses them: the ``--config`` files they name, and
nested keys of dict-valued options merged key by key.

jsonargparse merges a dict-valued option (``model.model``, ``model.tokenizer``) one level deep and
replaces whatever lies below: ``--model.model.encoder.n_layers 8`` after ``--config
configs/en_speech.yaml`` leaves an encoder of ``{"n_layers": 8}`` and nothing else, and the model
cannot be built. ``fold_dict_options`` sets such a flag's one key in place and hands LightningCLI
the whole value, so every key can be given on its own, as ``recog train --help`` promises, and
``--print_config`` shows what trains. What replaces stays as it was: a later config or
``--model.model.heads`` replaces the keys it names (a stacked config can drop a head).
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
    return [value for _, _, key, value in _flags(args) if key == "config"]


def read_config(path: str) -> Any:
    """A config file's YAML, or None where it cannot be read (LightningCLI reports that itself)."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


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


def lookup(tree: Any, dotted: str) -> tuple[bool, Any]:
    """Whether ``tree`` (nested dicts) has the ``dotted`` key path, and its value there."""
    for key in dotted.split("."):
        if not isinstance(tree, dict) or key not in tree:
            return False, None
        tree = tree[key]
    return True, tree


def fold_dict_options(args: list[str], options: dict[str, Any]) -> list[str]:
    """``args`` with the flags that reach below a key of a dict-valued option of ``options``
    (``{"model.model": default}``; e.g. ``--model.model.encoder.n_layers 8``) setting that value
    alone. Where any does, that option's flags are removed and one ``--option JSON`` flag is
    appended: its default, then in command-line order each config file and flag as jsonargparse
    merges them (a config, a whole value or ``--option.key`` replaces the keys it names), and each
    deeper flag set in place, keeping its siblings. Other arguments pass through unchanged; a file
    that cannot be read is left to LightningCLI to report."""
    flags = _flags(args)
    deep = {option for _, _, key, _ in flags for option in options
            if key.startswith(option + ".") and "." in key[len(option) + 1:]}
    if not deep:
        return list(args)
    merged: dict[str, Any] = {option: options[option] or {} for option in deep}
    drop: set[int] = set()
    for i, count, key, value in flags:
        if key == "config":
            content = read_config(value)
            for option in deep:
                found, part = lookup(content, option)
                if found and isinstance(part, dict):
                    merged[option] = {**merged[option], **part}
            continue
        for option in deep:
            if key != option and not key.startswith(option + "."):
                continue
            part = _yaml_value(value)
            keys = key[len(option) + 1:].split(".") if key != option else []
            if not keys:
                merged[option] = {**merged[option], **part} if isinstance(part, dict) else part
            else:
                merged[option] = _set_in(merged[option], keys, part)
            drop.update(range(i, i + count))
    kept = [a for i, a in enumerate(args) if i not in drop]
    return kept + [arg for option in sorted(deep) for arg in (f"--{option}", json.dumps(merged[option]))]


def _yaml_value(text: str) -> Any:
    """A flag's value as jsonargparse reads it: YAML, else the text itself."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _set_in(tree: Any, keys: list[str], value: Any) -> dict[str, Any]:
    """A copy of ``tree`` (a dict, or nothing yet) with ``value`` at the path ``keys``."""
    out = dict(tree) if isinstance(tree, dict) else {}
    out[keys[0]] = value if len(keys) == 1 else _set_in(out.get(keys[0]), keys[1:], value)
    return out
