"""recog_edge: run models exported by ``recog export`` with numpy and onnxruntime only.

Importing this package never imports torch (a test checks it), so it runs where PyTorch is not
installed: ``EdgeModel(folder).transcribe(samples)``, the streaming API of ``runtime`` (with
``EndpointConfig``), ``EdgeLineModel`` for text lines and ``pages.EdgePageReader`` for pages.
"""

from recog_edge.endpoint import EndpointConfig
from recog_edge.lines import EdgeLineModel
from recog_edge.runtime import EdgeModel, EdgeStream

__all__ = ["EdgeLineModel", "EdgeModel", "EdgeStream", "EndpointConfig"]
