"""onnxruntime sessions as every edge model opens them: CPU, ``threads`` intra-op threads, and
the export's metadata (JSON under the key ``recog``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def open_session(path: str | Path, threads: int = 1):  # noqa: ANN201 - an onnxruntime.InferenceSession
    """An onnxruntime CPU session of the ONNX file ``path``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_metadata(session: Any) -> dict[str, Any]:
    """The ``recog`` metadata an export carries (vocabulary, sizes, settings)."""
    return json.loads(session.get_modelmeta().custom_metadata_map["recog"])
