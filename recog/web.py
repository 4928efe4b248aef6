"""``recog serve-web``: the browser page (export/web/) and exported model folders over HTTP.

The page runs the models itself (onnxruntime-web); this server only hands out files: the page
under ``/``, and each model folder under ``/models/<name>/`` (speech, lines, det), which is where
the page looks unless its URL names other folders (``?speech=...&lines=...&det=...``). A slot not
given serves the edge model recog-edge ships for its task (``served_models``). Any static
server does the same job (``python -m http.server`` in export/web/ with the folders copied or linked
under models/).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

WEB_ROOT = Path(__file__).resolve().parents[1] / "export" / "web"
MODEL_NAMES = ("speech", "lines", "det")


class PageHandler(SimpleHTTPRequestHandler):
    """Files of the page's folder, and of ``models`` (name -> folder) under /models/<name>/."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".mjs": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream"}

    def __init__(self, *args, models: Mapping[str, Path], **kwargs) -> None:  # noqa: ANN002, ANN003 - the base's
        self.models = models
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        parts = unquote(urlsplit(path).path).split("/")
        if len(parts) > 3 and parts[1] == "models" and parts[2] in self.models:
            folder = self.models[parts[2]].resolve()
            target = folder.joinpath(*[p for p in parts[3:] if p not in ("", ".", "..")]).resolve()
            return str(target) if target.is_relative_to(folder) else str(folder / "-missing-")
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)


def check_page(root: Path = WEB_ROOT) -> None:
    """FileNotFoundError saying what is missing when the page cannot be served from ``root``."""
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"{root}: no index.html (serve-web runs from a source checkout of recog)")
    if not (root / "node_modules" / "onnxruntime-web").is_dir():
        raise FileNotFoundError(f"{root}/node_modules: missing; run `npm ci` in {root} (or `make web`)")


SLOT_TASKS = {"speech": "speech", "lines": "text-line", "det": "text-detection"}


def served_models(speech: str | None = None, lines: str | None = None, det: str | None = None) -> dict[str, Path]:
    """The folder for each of the page's model slots: the folder or shipped edge model name given,
    else the edge model recog-edge ships for that task (``recog_edge.models``), else none."""
    from recog_edge.models import default_model, resolve

    folders = {}
    for slot, given in (("speech", speech), ("lines", lines), ("det", det)):
        try:
            folders[slot] = resolve(given) if given else default_model(SLOT_TASKS[slot])
        except FileNotFoundError:
            if given:
                raise
    return folders


def make_server(models: Mapping[str, str | Path], host: str = "127.0.0.1", port: int = 8000,
                root: Path = WEB_ROOT, verbose: bool = False) -> ThreadingHTTPServer:
    """A server of the page at ``root`` and the model folders ``models`` (speech, lines, det -> folder);
    port 0 picks a free port (``server.server_address``)."""
    check_page(root)
    folders = {name: Path(folder) for name, folder in models.items() if folder is not None}
    for name, folder in folders.items():
        if name not in MODEL_NAMES:
            raise ValueError(f"unknown model slot {name!r} (one of {', '.join(MODEL_NAMES)})")
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such model folder (write one with `recog export`)")
    handler = functools.partial(PageHandler, models=folders, directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    server.verbose = verbose  # type: ignore[attr-defined]
    return server
