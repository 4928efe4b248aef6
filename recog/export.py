"""ONNX export of speech models for the torch-free runtime in ``recog_edge``.

``export_streaming`` writes, into one folder:

- ``encoder.onnx``: one streaming step. Inputs ``chunk`` (B, chunk_features, n_mels),
  ``chunk_lengths`` (B,), the caches ``sub_cache_<i>``, ``cache_last_channel``,
  ``cache_last_time``, ``cache_length``; outputs ``encoded`` (B, chunk_frames, D),
  ``encoded_lengths``, ``ctc_log_probs`` (B, chunk_frames, V) when the model has a CTC head, and
  the new caches (``new_`` + input name).
- for transducer models, ``predictor.onnx`` (last tokens + state -> projected output + new
  state) and ``joiner.onnx`` (encoder frames + projected predictor output -> log-probs).

Every file carries the JSON metadata the runtime needs under the key ``recog`` (vocabulary,
feature settings, sample rate, subsampling, context, chunk and cache shapes), and every file is
checked against PyTorch on real inputs before it is written.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from recog.model import Recognizer

TOLERANCE = 1e-4


class EncoderStep(nn.Module):
    """``ConformerEncoder.forward_chunk`` (+ CTC log-probs) with caches as flat tensors."""

    def __init__(self, model: Recognizer) -> None:
        super().__init__()
        self.encoder = model.encoder
        self.ctc = model.heads["ctc"] if "ctc" in model.heads else None
        self.n_sub = len(self.encoder.subsampling.stages)

    def forward(self, chunk: torch.Tensor, chunk_lengths: torch.Tensor, *caches: torch.Tensor) -> tuple:
        from recog.encoders.conformer import StreamingCache

        cache = StreamingCache(list(caches[: self.n_sub]), *caches[self.n_sub:])
        h, h_lengths, new = self.encoder.forward_chunk(chunk, chunk_lengths, cache)
        extra = (self.ctc(h),) if self.ctc is not None else ()
        return (h, h_lengths, *extra, *new.subsampling, new.last_channel, new.last_time, new.length)


class PredictorStep(nn.Module):
    """Transducer prediction network, one step: tokens (N,) + state -> (N, J) projected output + state."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, tokens: torch.Tensor, *state: torch.Tensor) -> tuple:
        out, new_state = self.head.predictor.step(tokens, tuple(state))
        return (self.head.pred_proj(out), *new_state)


class Joiner(nn.Module):
    """Transducer joiner: encoder frames (N, D) + projected predictor output (N, J) -> log-probs (N, V)."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, encoded: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.head.joint(self.head.enc_proj(encoded), pred), dim=-1)


def _metadata(model: Recognizer) -> dict[str, Any]:
    encoder = model.encoder
    tokenizer = model.tokenizer
    state = tokenizer.state()
    return {
        "format": 1,
        "vocabulary": [tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size)],
        "tokenizer": state["kind"],
        "features": asdict(model.frontend.config),
        "sample_rate": model.frontend.config.sample_rate,
        "subsampling_factor": encoder.subsampling_factor,
        "frame_seconds": model.frame_seconds,
        "att_context": list(encoder.att_context),
        "chunk_frames": encoder.chunk_frames,
        "chunk_features": encoder.chunk_features,
        "d_model": encoder.d_model,
        "heads": [h for h in ("ctc", "rnnt") if h in model.heads],
        "default_head": model.default_head if model.default_head in ("ctc", "rnnt") else "ctc",
    }


def _export(module: nn.Module, args: tuple, names_in: list[str], names_out: list[str], batch_axes: dict[str, int],
            path: Path, metadata: dict[str, Any], fixed_args: int | None = None) -> None:
    """Export with a dynamic batch axis, check against PyTorch, then write ``path``.
    ``fixed_args``: how many leading arguments ``module.forward`` names before its ``*args``."""
    import onnxruntime as ort

    batch = torch.export.Dim("batch", min=1, max=1024)
    shapes = tuple({batch_axes[name]: batch} if name in batch_axes else None for name in names_in)
    if fixed_args is not None:
        shapes = (*shapes[:fixed_args], shapes[fixed_args:])
    program = torch.onnx.export(module, args, input_names=names_in, output_names=names_out, dynamo=True,
                                dynamic_shapes=shapes, external_data=False, verbose=False)
    proto = program.model_proto
    proto.metadata_props.add(key="recog", value=json.dumps(metadata))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {n: a.detach().numpy() for n, a in zip(names_in, args, strict=True)})
    with torch.no_grad():
        expected = module(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for name, want, have in zip(names_out, expected, got, strict=True):
        error = float(np.max(np.abs(want.numpy().astype(np.float64) - have.astype(np.float64)), initial=0.0))
        if error > TOLERANCE:
            raise RuntimeError(f"ONNX export of {path.name}: output {name} differs from PyTorch by {error:.2e}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    onnx.save(proto, str(tmp))
    tmp.replace(path)


def export_streaming(model: Recognizer, out_dir: str | Path, att_context: tuple[int, int] | None = None,
                     example: torch.Tensor | None = None) -> list[Path]:
    """Write the streaming encoder step (and transducer parts) of ``model`` to ``out_dir``.

    ``example``: log-mel features (B, T, n_mels) to check the export on (default: random);
    returns the written files.
    """
    model = model.eval()
    if model.kind != "logmel":
        raise ValueError("streaming export is for speech models")
    encoder = model.encoder
    if att_context is not None:
        encoder.set_att_context(*att_context)
    encoder.init_cache(1)  # raises a clear error if this encoder cannot stream
    out_dir = Path(out_dir)
    meta = _metadata(model)
    n_feat = encoder.chunk_features
    generator = torch.Generator().manual_seed(0)
    if example is None:
        example = torch.randn(2, 3 * n_feat, model.frontend.config.n_mels, generator=generator)
    # Check the step after two chunks, so the caches hold real values.
    step = EncoderStep(model)
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
    names_out = ["encoded", "encoded_lengths", *(["ctc_log_probs"] if "ctc" in model.heads else []),
                 *[f"new_{n}" for n in cache_names]]
    batch_axes = {"chunk": 0, "chunk_lengths": 0, "cache_length": 0, "cache_last_channel": 1, "cache_last_time": 1,
                  **{f"sub_cache_{i}": 0 for i in range(len(cache.subsampling))}}
    meta["cache"] = {name: {"shape": list(t.shape), "batch_axis": batch_axes[name], "dtype": str(t.dtype)[6:]}
                     for name, t in zip(cache_names, caches, strict=True)}
    if "rnnt" in model.heads:
        head = model.heads["rnnt"]
        tokens = torch.tensor([0, 1, 2]) % head.vocab_size
        with torch.no_grad():  # a non-trivial state to check on
            state = head.predictor.step(tokens, head.predictor.initial_state(3, torch.device("cpu")))[1]
        state_names = [f"state_{i}" for i in range(len(state))]
        state_axes = {name: (1 if s.dim() == 3 else 0) for name, s in zip(state_names, state, strict=True)}
        meta["predictor"] = {"state": [{"shape": list(s.shape), "batch_axis": state_axes[n], "dtype": str(s.dtype)[6:]}
                                       for n, s in zip(state_names, state, strict=True)],
                             "max_symbols": head.max_symbols, "joint_dim": head.pred_proj.out_features}
    written = [out_dir / "encoder.onnx"]
    _export(step, (chunk, chunk_lengths, *caches), names_in, names_out, batch_axes, written[0], meta, 2)
    if "rnnt" in model.heads:
        written.append(out_dir / "predictor.onnx")
        _export(PredictorStep(head), (tokens, *state), ["tokens", *state_names],
                ["pred", *[f"new_{n}" for n in state_names]], {"tokens": 0, **state_axes}, written[-1], meta, 1)
        encoded = torch.randn(3, encoder.d_model, generator=generator)
        pred = torch.randn(3, head.pred_proj.out_features, generator=generator)
        written.append(out_dir / "joiner.onnx")
        _export(Joiner(head), (encoded, pred), ["encoded", "pred"], ["log_probs"], {"encoded": 0, "pred": 0},
                written[-1], meta)
    return written
