"""onnxruntime sessions as every edge model opens them: CPU, ``threads`` intra-op threads, and
the export's metadata (JSON under the key ``recog``), checked before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FORMAT = 2  # the newest export metadata format this runtime reads (2: CPPD in parallel.onnx)


def open_session(path: str | Path, threads: int = 1):  # noqa: ANN201 - an onnxruntime.InferenceSession
    """An onnxruntime CPU session of the ONNX file ``path``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_metadata(session: Any) -> dict[str, Any]:
    """The ``recog`` metadata an export carries (vocabulary, sizes, settings)."""
    return json.loads(session.get_modelmeta().custom_metadata_map["recog"])


def open_export(path: str | Path, kind: str | None = None, threads: int = 1) -> tuple[Any, dict[str, Any]]:
    """The session and metadata of one exported graph, refused with one line naming the file
    where it is missing, not a recog export, of a newer metadata format than this runtime reads,
    or (``kind`` given) of another kind of model ("streaming", "offline", "lines", "detector")."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the export folder (write it with `recog export`)")
    try:
        session = open_session(path, threads)
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own error types for unreadable files
        raise ValueError(f"{path}: not a readable ONNX file ({str(err).splitlines()[0]})") from None
    text = session.get_modelmeta().custom_metadata_map.get("recog")
    if text is None:
        raise ValueError(f"{path}: an ONNX file without recog metadata (not written by `recog export`)")
    meta = json.loads(text)
    if int(meta.get("format", 0)) > FORMAT:
        raise ValueError(f"{path}: export format {meta['format']} is newer than this runtime reads ({FORMAT}); "
                         f"update recog_edge")
    found = meta.get("kind", "streaming")  # streaming exports before format 1's "kind" carried none
    if kind is not None and found != kind:
        raise ValueError(f"{path}: an export of kind {found!r}, not {kind!r}")
    return session, meta
