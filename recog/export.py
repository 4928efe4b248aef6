"""ONNX export of every model kind for the torch-free runtime in ``recog_edge``.

``export_offline`` writes, for a speech model, ``offline.onnx``: log-mel ``features`` (B, T, n_mels)
and ``feature_lengths`` (B,) -> the encoder's ``encoded`` (B, T', D) (with the attention context
the model decodes offline with: full for a unified model),
``encoded_lengths`` (B,) and every head's ``graph_outputs`` prefixed with its name (e.g.
``ctc_log_probs`` (B, T', V); the attention head's cross-attention ``memory_keys`` /
``memory_values``; CASS-NAT's ``ctc_log_probs``), batch and time dynamic, plus every head's own
graphs (``Head.export_parts``: ``predictor.onnx`` + ``joiner.onnx``, the attention decoder step
``decoder.onnx`` with its KV cache, ``cassnat.onnx``).

``export_streaming`` writes, into one folder:

- ``encoder.onnx``: one streaming step. Inputs ``chunk`` (B, chunk_features, n_mels),
  ``chunk_lengths`` (B,), the caches ``sub_cache_<i>``, ``cache_last_channel``,
  ``cache_last_time``, ``cache_length``; outputs ``encoded`` (B, chunk_frames, D),
  ``encoded_lengths``, ``<head>_log_probs`` (B, chunk_frames, V) for every head with per-frame
  outputs (``Head.frame_outputs``: the CTC head), and the new caches (``new_`` + input name).
- the own graphs (``Head.export_parts``) of every head that streams (``Head.stream_search``), e.g.
  for a transducer ``predictor.onnx`` (last tokens + state -> projected output + new state) and
  ``joiner.onnx`` (encoder frames + projected predictor output -> log-probs).

Every file carries the JSON metadata the runtime needs under the key ``recog`` (format, kind:
"offline", "streaming", "lines" or "detector", vocabulary, feature settings, sample rate,
subsampling, context, chunk and cache shapes), and every file is checked against PyTorch on real
inputs before it is written.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from recog.decoding.options import DecodingOptions
from recog.detection.model import TextDetector
from recog.heads.base import ExportPart
from recog.model import Recognizer
from recog_edge.boxes import DetectOptions
from recog_edge.files import atomic_path

TOLERANCE = 1e-4
# Opset 23: scaled dot-product attention exports as one ONNX Attention node, which onnxruntime runs
# as one kernel (lines: 16 % less time than the MatMul/Softmax/Where graph of opset 18, one thread).
OPSET = 23
AXES = {"frames": (1, 100_000), "past": (0, 4096), "tokens": (1, 4096)}  # ExportPart.axes names -> (min, max)


class EncoderStep(nn.Module):
    """``ConformerEncoder.forward_chunk`` (+ every head's per-frame outputs) with caches as flat tensors."""

    def __init__(self, model: Recognizer, framewise: list[str]) -> None:
        super().__init__()
        self.encoder = model.encoder
        self.heads = nn.ModuleList(model.heads[name] for name in framewise)
        self.n_sub = len(self.encoder.subsampling.stages)

    def forward(self, chunk: torch.Tensor, chunk_lengths: torch.Tensor, *caches: torch.Tensor) -> tuple:
        from recog.encoders.conformer import StreamingCache

        cache = StreamingCache(list(caches[: self.n_sub]), *caches[self.n_sub:])
        h, h_lengths, new = self.encoder.forward_chunk(chunk, chunk_lengths, cache)
        extra = tuple(head.frame_outputs(h) for head in self.heads)
        return (h, h_lengths, *extra, *new.subsampling, new.last_channel, new.last_time, new.length)


def frame_output_heads(model: Recognizer) -> list[str]:
    """The heads whose per-frame outputs the encoder graph carries."""
    probe = torch.zeros(1, 1, model.encoder.d_model)
    with torch.no_grad():
        return [name for name, head in model.heads.items() if head.frame_outputs(probe) is not None]


def _metadata(model: Recognizer, heads: list[str], kind: str) -> dict[str, Any]:
    """What the runtime needs; ``heads``: those it can decode with (per-frame outputs or own graphs);
    ``kind``: "streaming" or "offline"."""
    encoder = model.encoder
    tokenizer = model.tokenizer
    state = tokenizer.state()
    return {
        "format": 1,
        "kind": kind,
        "vocabulary": [tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size)],
        "tokenizer": state["kind"],
        "features": asdict(model.frontend.config),
        "sample_rate": model.frontend.config.sample_rate,
        "subsampling_factor": encoder.subsampling_factor,
        "frame_seconds": model.frame_seconds,
        "att_context": list(encoder.att_context),
        "d_model": encoder.d_model,
        "heads": heads,
        "default_head": model.default_head if model.default_head in heads else heads[0],
    }


def _export(module: nn.Module, args: tuple, names_in: list[str], names_out: list[str], batch_axes: dict[str, int],
            path: Path, metadata: dict[str, Any], fixed_args: int | None = None,
            axes: dict[str, dict[int, str]] | None = None, int8: bool = False) -> None:
    """Export with a dynamic batch axis (and the named dynamic ``axes``, see ``ExportPart``), check
    against PyTorch, then write ``path`` (``int8``: quantized, see ``_export_graph``).
    ``fixed_args``: how many leading arguments ``module.forward`` names before its ``*args``."""
    dims = {"batch": torch.export.Dim("batch", min=1, max=1024)}
    dims.update({name: torch.export.Dim(name, min=low, max=high) for name, (low, high) in AXES.items()})
    axes = axes or {}
    shapes = tuple({**({batch_axes[name]: dims["batch"]} if name in batch_axes else {}),
                    **{axis: dims[dim] for axis, dim in axes.get(name, {}).items()}} or None for name in names_in)
    if fixed_args is not None:
        shapes = (*shapes[:fixed_args], shapes[fixed_args:])
    _export_graph(module, args, names_in, names_out, shapes, path, metadata, int8)


def max_difference(want: np.ndarray, have: np.ndarray) -> float:
    """The largest absolute difference of two float arrays; equal infinities (a ruled-out class)
    differ by 0, not nan."""
    want, have = want.astype(np.float64), have.astype(np.float64)
    with np.errstate(invalid="ignore"):
        return float(np.max(np.where(want == have, 0.0, np.abs(want - have)), initial=0.0))


def _full_attention_masks(proto: onnx.ModelProto) -> None:
    """Expand every Attention node's mask to (..., L, S) in place. torch exports scaled dot-product
    attention as ONNX Attention (opset 23) with the mask as given, a key mask broadcast over the
    queries (..., 1, S); onnxruntime's kernel (1.32) refuses a mask whose second-last axis is not
    the query length."""
    from onnx import TensorProto, helper

    graph = proto.graph
    nodes = list(graph.node)
    del graph.node[:]
    for i, node in enumerate(nodes):
        if node.op_type == "Attention" and len(node.input) > 3 and node.input[3]:
            q, k, mask, n = node.input[0], node.input[1], node.input[3], f"attention_mask_{i}"
            graph.node.extend([
                helper.make_node("Shape", [q], [f"{n}_q"], start=-2, end=-1),  # (L,)
                helper.make_node("Shape", [k], [f"{n}_k"], start=-2, end=-1),  # (S,)
                helper.make_node("Constant", [], [f"{n}_ones"],
                                 value=helper.make_tensor(f"{n}_ones", TensorProto.INT64, [2], [1, 1])),
                helper.make_node("Concat", [f"{n}_ones", f"{n}_q", f"{n}_k"], [f"{n}_shape"], axis=0),
                helper.make_node("Expand", [mask, f"{n}_shape"], [n]),  # (B, H or 1, L, S)
            ])
            node.input[3] = n
        graph.node.append(node)


def _export_graph(module: nn.Module, args: tuple, names_in: list[str], names_out: list[str], shapes: tuple,
                  path: Path, metadata: dict[str, Any], int8: bool = False) -> None:
    """Export with the given dynamic shapes, check every output against PyTorch on ``args``, then
    write ``path`` (atomically) with ``metadata`` under the key ``recog``. ``int8``: write the
    graph quantized (``int8_graph``) and print, for every float output, its largest difference
    from the float32 graph on the same check inputs."""
    import onnxruntime as ort

    program = torch.onnx.export(module, args, input_names=names_in, output_names=names_out, dynamo=True,
                                dynamic_shapes=shapes, external_data=False, verbose=False, opset_version=OPSET)
    proto = program.model_proto
    _full_attention_masks(proto)
    proto.metadata_props.add(key="recog", value=json.dumps(metadata))
    feed = {n: a.detach().numpy() for n, a in zip(names_in, args, strict=True)}
    got = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)
    with torch.no_grad():
        expected = module(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for name, want, have in zip(names_out, expected, got, strict=True):
        error = max_difference(want.numpy(), have)
        if error > TOLERANCE:
            raise RuntimeError(f"ONNX export of {path.name}: output {name} differs from PyTorch by {error:.2e}")
    if int8:
        proto = int8_graph(proto)
        quantized = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)
        errors = [f"{name} {max_difference(a, b):.3g}" for name, a, b in zip(names_out, got, quantized, strict=True)
                  if a.dtype.kind == "f"]
        print(f"{path.name}: int8 against float32 on the check inputs, largest difference: {', '.join(errors)}",
              file=sys.stderr)
    with atomic_path(path) as tmp:
        onnx.save(proto, str(tmp))


def export_streaming(model: Recognizer, out_dir: str | Path, att_context: tuple[int, int] | None = None,
                     example: torch.Tensor | None = None, int8: bool = False) -> list[Path]:
    """Write the streaming encoder step (and transducer parts) of ``model`` to ``out_dir``.

    ``example``: log-mel features (B, T, n_mels) to check the export on (default: random);
    ``int8``: quantized graphs (``int8_graph``); returns the written files.
    """
    model = model.eval()
    if not hasattr(model.encoder, "init_cache"):
        raise ValueError("streaming export is for speech models with a cache-aware encoder")
    encoder = model.encoder
    if att_context is not None:
        encoder.set_att_context(*att_context)
    else:
        encoder.use_streaming_context()
    encoder.init_cache(1)  # raises a clear error if this encoder cannot stream
    out_dir = Path(out_dir)
    streams = [name for name, head in model.heads.items() if head.stream_search(DecodingOptions()) is not None]
    parts = {name: model.heads[name].export_parts() for name in streams}
    framewise = [name for name in frame_output_heads(model) if name in streams]
    exported = [name for name in streams if name in framewise or parts[name]]
    if not exported:
        raise ValueError(f"no head of this model ({list(model.heads)}) exports for streaming")
    meta = _metadata(model, exported, "streaming")
    meta.update(chunk_frames=encoder.chunk_frames, chunk_features=encoder.chunk_features)
    n_feat = encoder.chunk_features
    generator = torch.Generator().manual_seed(0)
    if example is None:
        example = torch.randn(2, 3 * n_feat, model.frontend.config.n_mels, generator=generator)
    # Check the step after two chunks, so the caches hold real values.
    step = EncoderStep(model, framewise).eval()
    cache = encoder.init_cache(example.shape[0])
    lengths = torch.full((example.shape[0],), n_feat, dtype=torch.long)
    with torch.no_grad():
        for i in range(2):
            _, _, cache = encoder.forward_chunk(example[:, i * n_feat: (i + 1) * n_feat], lengths, cache)
    chunk = example[:, 2 * n_feat: 3 * n_feat]
    chunk_lengths = torch.tensor([n_feat] + [n_feat // 2] * (example.shape[0] - 1))
    caches = (*cache.subsampling, cache.last_channel, cache.last_time, cache.length)
    cache_names = [f"sub_cache_{i}" for i in range(len(cache.subsampling))] + [
        "cache_last_channel", "cache_last_time", "cache_length"]
    names_in = ["chunk", "chunk_lengths", *cache_names]
    names_out = ["encoded", "encoded_lengths", *[f"{name}_log_probs" for name in framewise],
                 *[f"new_{n}" for n in cache_names]]
    batch_axes = {"chunk": 0, "chunk_lengths": 0, "cache_length": 0, "cache_last_channel": 1, "cache_last_time": 1,
                  **{f"sub_cache_{i}": 0 for i in range(len(cache.subsampling))}}
    meta["cache"] = {name: {"shape": list(t.shape), "batch_axis": batch_axes[name], "dtype": str(t.dtype)[6:]}
                     for name, t in zip(cache_names, caches, strict=True)}
    meta.update({part.name: part.metadata for head_parts in parts.values() for part in head_parts if part.metadata})
    written = [out_dir / "encoder.onnx"]
    _export(step, (chunk, chunk_lengths, *caches), names_in, names_out, batch_axes, written[0], meta, 2, int8=int8)
    return written + _export_parts(parts, out_dir, meta, int8)


def _export_parts(parts: dict[str, list], out_dir: Path, meta: dict[str, Any], int8: bool = False) -> list[Path]:
    """Every head's own graphs (``Head.export_parts``), each as ``<part name>.onnx`` (``int8``:
    quantized, where the part allows it)."""
    written = []
    for part in (part for head_parts in parts.values() for part in head_parts):
        written.append(out_dir / f"{part.name}.onnx")
        _export(part.module, part.args, part.inputs, part.outputs, part.batch_axes, written[-1], meta, part.fixed_args,
                part.axes, int8 and part.int8)
    return written


class OfflineGraph(nn.Module):
    """A model in one graph: speech log-mel features (B, T, n_mels) with lengths (B,), or uint8
    text-line images (B, H, W, 3) with widths (B,) and the image frontend inside the graph ->
    encoder frames (B, T', D), their lengths (B,), and every head's ``graph_outputs`` (prefixed
    with its name in the exported graph)."""

    def __init__(self, model: Recognizer, heads: list[str]) -> None:
        super().__init__()
        self.model, self.names = model, heads

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> tuple:
        image = self.model.kind == "image"
        h, h_lengths = self.model.encode(inputs, lengths) if image else self.model.encoder(inputs, lengths)
        outputs = [t for name in self.names for t in self.model.heads[name].graph_outputs(h, h_lengths).values()]
        return h, h_lengths, *outputs


def _exported_heads(model: Recognizer, only: tuple[str, ...] | None = None,
                    ) -> tuple[dict[str, list[str]], dict[str, list[ExportPart]], list[str]]:
    """Of the model's decoding heads (``only`` these names, if given): the names of each one's
    outputs in the main graph (``graph_outputs``), each one's own graphs (``export_parts``), and
    the heads that export."""
    probe = torch.zeros(1, 4, model.encoder.d_model), torch.tensor([4])
    decoding = [name for name, head in model.heads.items() if head.decodes and (only is None or name in only)]
    with torch.no_grad():
        named = {name: list(model.heads[name].graph_outputs(*probe)) for name in decoding}
    parts = {name: model.heads[name].export_parts() for name in decoding}
    heads = [name for name in decoding if named[name] or parts[name]]
    if not heads:
        wanted = f" of {', '.join(only)}" if only is not None else ""
        raise ValueError(f"no head{wanted} of this model ({list(model.heads)}) exports as a graph")
    return named, parts, heads


def export_offline(model: Recognizer, out_dir: str | Path, example: torch.Tensor | None = None,
                   int8: bool = False) -> list[Path]:
    """Write ``offline.onnx`` (the full-context encoder and every head's graph outputs, dynamic in
    batch and time) and every decoding head's own graphs for a speech model, each checked against
    PyTorch on a batch of unequal lengths; the encoder keeps the attention context it has (the
    model's offline one). ``example``: log-mel features (B, T, n_mels) to check on (default:
    random); ``int8``: quantized graphs (``int8_graph``). Returns the written files."""
    model = model.eval()
    if model.kind != "logmel":
        raise ValueError("export_offline is for speech models; a text-line model exports with export_lines")
    named, parts, heads = _exported_heads(model)
    meta = _metadata(model, heads, "offline")
    meta.update({part.name: part.metadata for head_parts in parts.values() for part in head_parts if part.metadata})
    if example is None:
        example = torch.randn(2, 200, model.frontend.config.n_mels, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([example.shape[1]] + [example.shape[1] // 2] * (example.shape[0] - 1))
    names_out = ["encoded", "encoded_lengths", *[f"{name}_{key}" for name in heads for key in named[name]]]
    path = Path(out_dir) / "offline.onnx"
    batch, frames = torch.export.Dim("batch", min=1, max=1024), torch.export.Dim("time", min=8, max=400_000)
    _export_graph(OfflineGraph(model, heads).eval(), (example, lengths), ["features", "feature_lengths"], names_out,
                  ({0: batch, 1: frames}, {0: batch}), path, meta, int8)
    return [path, *_export_parts(parts, Path(out_dir), meta, int8)]


LINE_HEADS = ("ctc", "parallel")  # the heads the edge line readers (recog_edge, the web page) decode


def export_lines(model: Recognizer, out_dir: str | Path, example: torch.Tensor | None = None,
                 int8: bool = False) -> list[Path]:
    """Write ``lines.onnx`` for a text-line model: uint8 ``images`` (B, H, W, 3) and ``widths``
    (B,) -> the vision encoder's ``encoded`` (B, T, D), their ``lengths`` (B,) and the CTC head's
    ``ctc_log_probs``, dynamic in batch and width, checked against PyTorch on real widths; plus the
    CPPD head's own graph (``parallel.onnx``). Only the heads the edge readers decode export
    (``LINE_HEADS``); an attention head stays behind.
    ``example``: images to check on (default: random); ``int8``: quantized (``int8_graph``).
    Returns the written files."""
    model = model.eval()
    if model.kind != "image":
        raise ValueError("export_lines is for text-line models; speech models export with export_offline")
    named, parts, heads = _exported_heads(model, LINE_HEADS)
    height = model.frontend.config.height
    if example is None:
        example = torch.randint(0, 256, (2, height, 8 * height, 3), generator=torch.Generator().manual_seed(0),
                                dtype=torch.uint8)
    widths = torch.tensor([example.shape[2]] + [example.shape[2] // 2] * (example.shape[0] - 1))
    tokenizer = model.tokenizer
    meta = {"format": 2, "kind": "lines", "vocabulary": [tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size)],
            "tokenizer": tokenizer.state()["kind"], "image": asdict(model.frontend.config),
            "stride": model.encoder.stride, "heads": heads,
            "default_head": model.default_head if model.default_head in heads else heads[0]}
    names_out = ["encoded", "lengths", *[f"{name}_{key}" for name in heads for key in named[name]]]
    path = Path(out_dir) / "lines.onnx"
    batch, width = torch.export.Dim("batch", min=1, max=1024), torch.export.Dim("width", min=16, max=8192)
    height = torch.export.Dim("height", min=16, max=256)  # the multi-size shapes differ in height too
    _export_graph(OfflineGraph(model, heads).eval(), (example, widths), ["images", "widths"], names_out,
                  ({0: batch, 1: height, 2: width}, {0: batch}), path, meta, int8)
    return [path, *_export_parts(parts, Path(out_dir), meta, int8)]


class DetectorGraph(nn.Module):
    """A text detector in one graph: uint8 RGB pages (B, H, W, 3), sides multiples of 32 ->
    the text probability map (B, 1, H, W)."""

    def __init__(self, model: TextDetector) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images.permute(0, 3, 1, 2).float() / 255)["prob"]


def export_detector(model: TextDetector, out_dir: str | Path, options: DetectOptions | None = None,
                    example: torch.Tensor | None = None, int8: bool = False) -> list[Path]:
    """Write ``det.onnx`` for a text detector, dynamic in batch, height and width, checked against
    PyTorch; its metadata carries the detection size and box settings (``options``) the edge
    runtime (``recog_edge.pages.EdgeDetector``) uses. ``example``: uint8 pages (B, H, W, 3);
    ``int8``: quantized (``int8_graph``)."""
    model = model.eval()
    options = options or DetectOptions()
    if example is None:
        example = torch.randint(0, 256, (2, 160, 224, 3), generator=torch.Generator().manual_seed(0),
                                dtype=torch.uint8)
    meta = {"format": 1, "kind": "detector", "stride": model.STRIDE, "max_side": options.max_side,
            "min_side": options.min_side, "boxes": asdict(options.boxes)}
    batch = torch.export.Dim("batch", min=1, max=64)
    height, width = (torch.export.Dim(name, min=2, max=256) for name in ("rows", "cols"))  # in strides
    path = Path(out_dir) / "det.onnx"
    shapes = ({0: batch, 1: model.STRIDE * height, 2: model.STRIDE * width},)
    _export_graph(DetectorGraph(model).eval(), (example,), ["images"], ["prob"], shapes, path, meta, int8)
    return [path]


INT8_OPS = ["MatMul", "Gemm"]  # ConvInteger runs slower than float Conv in onnxruntime (docs/results.md)


def int8_graph(proto: onnx.ModelProto) -> onnx.ModelProto:
    """``proto`` with the weights of its MatMul and Gemm nodes quantized to int8, one scale per
    weight (per tensor: onnxruntime's kernels ran faster than with a scale per output channel, at
    the same error; docs/results.md), and activations quantized on the fly (onnxruntime's dynamic
    quantization, no calibration data), after onnxruntime's graph optimisation (which folds constant weight
    transposes into initializers, so more MatMuls quantize). Convolutions stay float: onnxruntime's
    ConvInteger is slower than its float Conv. The metadata is kept, with ``int8`` set in it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="recog_int8_") as tmp:
        source, optimised, quantized = (Path(tmp) / f"{name}.onnx" for name in ("float", "optimised", "int8"))
        onnx.save(proto, str(source))
        quant_pre_process(source, optimised, skip_symbolic_shape=True)
        graph = onnx.load(str(optimised)).graph
        weights = {tensor.name: len(tensor.dims) for tensor in graph.initializer}
        # weights only: a constant of more than two dimensions (a streaming step's positional
        # table) stays float
        others = [node.name for node in graph.node
                  if node.op_type in INT8_OPS and weights.get(node.input[1], 2) != 2]
        quantize_dynamic(optimised, quantized, weight_type=QuantType.QInt8, op_types_to_quantize=INT8_OPS,
                         per_channel=False, nodes_to_exclude=others)
        result = onnx.load(str(quantized))
    del result.metadata_props[:]
    for prop in proto.metadata_props:
        value = json.dumps({**json.loads(prop.value), "int8": True}) if prop.key == "recog" else prop.value
        result.metadata_props.add(key=prop.key, value=value)
    return result


def quantize_int8(paths: list[Path]) -> list[Path]:
    """Replace each written ONNX graph by its int8 version (``int8_graph``), keeping its name, so
    the edge runtime loads it unchanged; for graphs already exported (``export_*(int8=True)``
    quantizes while exporting and prints the difference)."""
    for path in paths:
        graph = int8_graph(onnx.load(str(path)))
        with atomic_path(path) as tmp:
            onnx.save(graph, str(tmp))
    return paths
