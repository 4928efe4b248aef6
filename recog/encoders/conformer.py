"""FastConformer encoder (Rekesh et al. 2023): 8x depthwise-separable conv subsampling, then
Conformer blocks (macaron feed-forward, relative-position self-attention, conv module).

Masks always come from lengths. Every op that mixes frames (subsampling convs, depthwise conv,
attention) sees padded frames as zeros or masked keys, so a file's outputs are the same alone or
padded inside a batch.

Cache-aware streaming (Noroozi et al. 2024, "Stateful Conformer with Cache-based Inference"):
``causal=True`` pads every convolution on the left only, and ``att_context_size=[left, right]``
limits attention to chunks of ``right + 1`` frames that see ``left`` frames of the past
(chunked-limited masking). ``forward_chunk`` then runs one chunk with explicit, fixed-shape
caches and gives exactly the frames ``forward`` gives with the same context.

``chunked_conv=True`` (dynamic chunk convolution, Li et al. 2023, "Dynamic Chunk Convolution for
Unified Streaming and Non-streaming Conformer ASR") replaces the causal depthwise conv by a
centred one that sees the past and the rest of its own chunk, never the next chunk: a frame reads
the (k-1)/2 frames before it and those after it up to its chunk's end (zeros beyond). The chunk is
the attention's, so the conv looks ahead exactly as far as the attention does, and with full
context it is the ordinary centred conv.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from recog.positions import sinusoids


@dataclass(frozen=True)
class ConformerConfig:
    feat_in: int = 80
    d_model: int = 176
    n_layers: int = 16
    n_heads: int = 4
    ff_expansion: int = 4
    conv_kernel: int = 9
    conv_norm: str = "batch"  # "batch" or "layer" (layer for streaming: no batch statistics)
    subsampling_channels: int = 176
    dropout: float = 0.1
    dropout_att: float = 0.1
    causal: bool = False
    # Depthwise conv that sees the rest of its attention chunk (needs causal=True); see above.
    chunked_conv: bool = False
    subsampling_factor: int = 8  # 8 (FastConformer) or 4 (for character targets: ~2x frames per char)
    # [left, right] attention context in encoder frames ([-1, -1] = full), or a list of such
    # pairs to train one model for several look-aheads (one drawn per batch, with
    # att_context_probs); the first pair is the default at inference.
    att_context_size: tuple | list = (-1, -1)
    att_context_probs: tuple | list | None = None


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool mask, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def zero_past(x: torch.Tensor, lengths: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` (batch first) with every step at or past each item's length along ``dim`` zeroed.
    Without autograd (inference, outside export tracing) only the padded tails are written, in
    place, and ``x`` itself comes back: the subsampling's tensors are the encoder's largest, and a
    full mask multiply over them cost as much as a convolution. Otherwise ``x`` times a mask."""
    steps = x.shape[dim]
    if x.requires_grad or torch.is_grad_enabled() or torch.compiler.is_compiling() or torch.compiler.is_exporting():
        shape = [1] * x.dim()
        shape[0], shape[dim] = x.shape[0], steps
        return x * lengths_to_mask(lengths, steps).view(shape)
    for item, length in enumerate(lengths.tolist()):
        if length < steps:
            x[item].narrow(dim - 1, max(length, 0), steps - max(length, 0)).zero_()
    return x


class ConvSubsampling(nn.Module):
    """(B, T, F) -> (B, ceil(T/factor), d_model), factor 4 or 8: stride-2 3x3 convs, all but the
    first depthwise separable (NeMo's ``dw_striding``). Time steps past each length are zeroed
    between convs."""

    def __init__(self, feat_in: int, d_model: int, channels: int, causal: bool = False, factor: int = 8) -> None:
        super().__init__()
        if factor not in (4, 8):
            raise ValueError(f"subsampling factor must be 4 or 8, got {factor}")
        self.causal = causal
        self._feat_in = feat_in
        self.n_stages = int(math.log2(factor))
        self.stages = nn.ModuleList([nn.Conv2d(1, channels, 3, stride=2)])
        for _ in range(self.n_stages - 1):
            self.stages.append(nn.Sequential(nn.Conv2d(channels, channels, 3, stride=2, groups=channels),
                                             nn.Conv2d(channels, channels, 1)))
        freq = feat_in
        for _ in range(self.n_stages):
            freq = (freq - 1) // 2 + 1
        self.out = nn.Linear(channels * freq, d_model)

    @staticmethod
    def conv_lengths(lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths - 1, 2, rounding_mode="floor") + 1

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        for _ in range(self.n_stages):
            lengths = self.conv_lengths(lengths)
        return lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (x * lengths_to_mask(lengths, x.shape[1])[:, :, None]).unsqueeze(1)  # (B, 1, T, F)
        for i in range(self.n_stages):
            lengths = self.conv_lengths(lengths)
            # Pad time (left-only when causal) and frequency symmetrically.
            x = self._stage(i, F.pad(x, (1, 1, 2, 0) if self.causal else (1, 1, 1, 1)), lengths)
        return self._project(x), lengths

    def _stage(self, i: int, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Stage ``i``'s convolutions and ReLU on its padded input (B, C, T, F) -> (B, C', T', F'),
        the steps at or past the output ``lengths`` (B,) zeroed. The first (one input channel) runs
        as one matmul over the 3x3 patches, about 1.7x faster than oneDNN's convolution on one core,
        and gives its output channels-last, where the depthwise convolutions that follow run 3-8x
        faster than in NCHW. Export and compilation trace the plain convolution (the same function)."""
        stage = self.stages[i]
        if i == 0 and not (torch.compiler.is_compiling() or torch.compiler.is_exporting()):
            patches = x[:, 0].unfold(1, 3, 2).unfold(2, 3, 2)  # (B, T', F', 3, 3)
            b, t, f = patches.shape[:3]
            # The weight as a contiguous (9, C) matrix: backward then forms its gradient as
            # patches^T @ grad, 10x faster on one core than F.linear's grad^T @ patches.
            x = torch.addmm(stage.bias, patches.reshape(-1, 9), stage.weight.flatten(1).t().contiguous())
            # ReLU and the length mask on the contiguous product: their backward then reads contiguous
            # tensors (on the permuted view, 1.7x the subsampling's training time)
            return zero_past(x.relu_().view(b, t, f, -1), lengths, 1).permute(0, 3, 1, 2)
        return zero_past(F.relu(stage(x), inplace=True), lengths, 2)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, f = x.shape
        return self.out(x.transpose(1, 2).reshape(b, t, c * f))  # (B, T/factor, D)

    def cache_shapes(self, batch: int) -> list[tuple[int, ...]]:
        """Shapes of the per-stage caches: the last 2 input frames of every stride-2 conv."""
        shapes, freq = [], self._feat_in
        for i, stage in enumerate(self.stages):
            in_channels = stage.in_channels if i == 0 else stage[0].in_channels
            shapes.append((batch, in_channels, 2, freq))
            freq = (freq - 1) // 2 + 1
        return shapes

    def forward_chunk(self, x: torch.Tensor, lengths: torch.Tensor, caches: list[torch.Tensor]
                      ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """One chunk of ``factor * n`` feature frames (B, factor*n, F) with valid lengths (B,) and
        the per-stage caches -> (B, n, D), lengths (B,), new caches. Each stage sees its cached 2
        frames where the offline forward sees left padding (zeros at the start), so chunk by
        chunk equals ``forward`` exactly (needs ``causal=True``)."""
        x = (x * lengths_to_mask(lengths, x.shape[1])[:, :, None]).unsqueeze(1)  # (B, 1, T, F)
        new_caches = []
        for i, cache in zip(range(self.n_stages), caches, strict=True):
            x = torch.cat([cache, x], dim=2)  # (B, C, 2 + T, F)
            new_caches.append(x[:, :, x.shape[2] - 2:])
            lengths = self.conv_lengths(lengths).clamp(min=0)
            x = self._stage(i, F.pad(x, (1, 1, 0, 0)), lengths)
        return self._project(x), lengths, new_caches


def relative_positions(keys: int, d_model: int, device: torch.device, queries: int | None = None) -> torch.Tensor:
    """Sinusoidal encodings of the relative distances ``keys-1 ... -(queries-1)``, shape
    (keys + queries - 1, D); ``queries`` defaults to ``keys`` (self-attention without a cache)."""
    queries = keys if queries is None else queries
    return sinusoids(torch.arange(keys - 1, -queries, -1, device=device), d_model)


def rel_shift(scores: torch.Tensor) -> torch.Tensor:
    """(B, H, Q, K+Q-1) scores over distances K-1..-(Q-1) -> (B, H, Q, K) with [i, j] = distance
    (K-Q+i) - j: query i sits at key position K-Q+i, after K-Q cached keys (Transformer-XL's
    pad-and-reshape trick)."""
    b, h, q, p = scores.shape
    scores = F.pad(scores, (1, 0)).view(b, h, p + 1, q)
    return scores[:, :, 1:].reshape(b, h, q, p)[..., : p - q + 1]


def context_mask(frames: int, left: int, right: int, device: torch.device) -> torch.Tensor | None:
    """(T, T) bool, True where query i may attend key j under chunked-limited context: chunks of
    ``right + 1`` frames see themselves and ``left`` frames before; None for full context."""
    if left < 0 and right < 0:
        return None
    chunk = torch.arange(frames, device=device) // (right + 1)
    diff = chunk[:, None] - chunk[None, :]
    allowed = diff >= 0
    if left >= 0:
        allowed &= diff <= left // (right + 1)
    return allowed


class RelPositionAttention(nn.Module):
    """Multi-head self-attention with Transformer-XL relative positions (u, v biases); keys may
    start with cached frames of earlier chunks."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be divisible by n_heads"
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(n_heads, self.d_head))
        self.pos_bias_v = nn.Parameter(torch.zeros(n_heads, self.d_head))
        self.out = nn.Linear(d_model, d_model)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, pos_emb: torch.Tensor, allowed: torch.Tensor,
                cache: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, Q, D) queries (and keys); cache: (B, C, D) earlier keys or None; pos_emb:
        (K+Q-1, D) for K = C + Q keys; allowed: (B, Q, K) True where attention may look."""
        b, q_len, d = x.shape
        keys = x if cache is None else torch.cat([cache, x], dim=1)  # (B, K, D)
        k_len = keys.shape[1]
        weight, bias = self.qkv.weight, self.qkv.bias
        q = F.linear(x, weight[:d], bias[:d]).view(b, q_len, self.n_heads, self.d_head).transpose(1, 2)
        k, v = F.linear(keys, weight[d:], bias[d:]).view(b, k_len, 2, self.n_heads, self.d_head).permute(
            2, 0, 3, 1, 4)  # (B, H, K, d) each
        p = self.pos(pos_emb).view(-1, self.n_heads, self.d_head).transpose(0, 1)  # (H, K+Q-1, d)
        q_u = q + self.pos_bias_u[:, None, :]
        q_v = q + self.pos_bias_v[:, None, :]
        scores = (torch.matmul(q_u, k.transpose(-1, -2)) + rel_shift(torch.matmul(q_v, p.transpose(-1, -2)))
                  ) / math.sqrt(self.d_head)  # (B, H, Q, K)
        # Written out rather than F.scaled_dot_product_attention: as fast on CPU at these sizes,
        # and torch.export mis-tracks the strides of SDPA's output (ONNX export fails).
        weights = F.dropout(torch.softmax(scores.masked_fill(~allowed[:, None], -1e4), dim=-1),
                            self.dropout, self.training)
        context = torch.matmul(weights, v)  # (B, H, Q, d)
        return self.out(context.transpose(1, 2).reshape(b, q_len, -1))


class ConvModule(nn.Module):
    """Pointwise conv + GLU, depthwise conv (kernel k), norm, SiLU, pointwise conv.

    The depthwise conv is centred, causal (k-1 past frames), or chunked (``chunked=True``: (k-1)/2
    past frames and the future only inside the frame's attention chunk)."""

    def __init__(self, d_model: int, kernel: int, norm: str, causal: bool, chunked: bool = False) -> None:
        super().__init__()
        if chunked and kernel % 2 == 0:
            raise ValueError(f"chunked_conv needs an odd conv_kernel, got {kernel}")
        self.kernel, self.causal, self.chunked = kernel, causal, chunked
        self.pointwise1 = nn.Linear(d_model, 2 * d_model)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, groups=d_model)
        if norm == "batch":
            self.norm: nn.Module = nn.BatchNorm1d(d_model)
        elif norm == "layer":
            self.norm = _ChannelLayerNorm(d_model)
        else:
            raise ValueError(f"conv_norm must be 'batch' or 'layer', got {norm!r}")
        self.pointwise2 = nn.Linear(d_model, d_model)

    @property
    def cache_frames(self) -> int:
        """Past depthwise-conv inputs a stream must keep between chunks."""
        return (self.kernel - 1) // 2 if self.chunked else self.kernel - 1

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: torch.Tensor | None = None,
                chunk: int | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D); mask: (B, T) True on valid frames; chunk: the attention chunk in frames
        (None for full context), used by the chunked conv. With ``cache`` (B, D, cache_frames),
        the depthwise conv's last inputs from the previous chunk (x is then one whole chunk),
        returns the output and the new cache."""
        x = F.glu(self.pointwise1(x), dim=-1) * mask[..., None]
        x = x.transpose(1, 2)  # (B, D, T)
        half = (self.kernel - 1) // 2
        if cache is not None:
            x = torch.cat([cache, x], dim=2)  # (B, D, cache_frames + T)
            cache = x[:, :, x.shape[2] - self.cache_frames:]
            x = self.depthwise(F.pad(x, (0, half)) if self.chunked else x)
        elif self.chunked and chunk is not None:
            x = self._chunked_depthwise(x, chunk)
        else:
            left = self.kernel - 1 if self.causal and not self.chunked else half
            x = self.depthwise(F.pad(x, (left, self.kernel - 1 - left)))
        x = self.pointwise2(F.silu(self.norm(x)).transpose(1, 2))
        return x if cache is None else (x, cache)

    def _chunked_depthwise(self, x: torch.Tensor, chunk: int) -> torch.Tensor:
        """Centred depthwise conv of x (B, D, T) where frame t reads no input past the end of
        its chunk of ``chunk`` frames -> (B, D, T)."""
        half = (self.kernel - 1) // 2
        windows = F.pad(x, (half, half)).unfold(2, self.kernel, 1)  # (B, D, T, k)
        position = torch.arange(x.shape[2], device=x.device) % chunk  # (T,)
        offset = torch.arange(self.kernel, device=x.device) - half  # (k,)
        inside = (position[:, None] + offset[None, :] < chunk).to(x.dtype)  # (T, k)
        weight = self.depthwise.weight[:, 0]  # (D, k)
        return torch.einsum("bdtk,tk,dk->bdt", windows, inside, weight) + self.depthwise.bias[None, :, None]


class _ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over channels of (B, D, T) input: normalises each frame on its own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class FeedForward(nn.Sequential):
    def __init__(self, d_model: int, expansion: int, dropout: float) -> None:
        super().__init__(nn.LayerNorm(d_model), nn.Linear(d_model, expansion * d_model), nn.SiLU(),
                         nn.Dropout(dropout), nn.Linear(expansion * d_model, d_model), nn.Dropout(dropout))


class ConformerBlock(nn.Module):
    """x + FF/2 -> x + MHSA -> x + Conv -> x + FF/2 -> LayerNorm."""

    def __init__(self, c: ConformerConfig) -> None:
        super().__init__()
        self.ff1 = FeedForward(c.d_model, c.ff_expansion, c.dropout)
        self.norm_att = nn.LayerNorm(c.d_model)
        self.att = RelPositionAttention(c.d_model, c.n_heads, c.dropout_att)
        self.norm_conv = nn.LayerNorm(c.d_model)
        self.conv = ConvModule(c.d_model, c.conv_kernel, c.conv_norm, c.causal, c.chunked_conv)
        self.ff2 = FeedForward(c.d_model, c.ff_expansion, c.dropout)
        self.norm_out = nn.LayerNorm(c.d_model)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, pos_emb: torch.Tensor, allowed: torch.Tensor, mask: torch.Tensor,
                chunk: int | None = None) -> torch.Tensor:
        """x: (B, T, D); allowed: (B, T, T) attention mask; mask: (B, T) valid frames; chunk: the
        attention chunk in frames (None = full context)."""
        x = x + 0.5 * self.ff1(x)
        x = x + self.dropout(self.att(self.norm_att(x), pos_emb, allowed))
        x = x + self.dropout(self.conv(self.norm_conv(x), mask, chunk=chunk))
        x = x + 0.5 * self.ff2(x)
        return self.norm_out(x)

    def forward_chunk(self, x: torch.Tensor, pos_emb: torch.Tensor, allowed: torch.Tensor, mask: torch.Tensor,
                      att_cache: torch.Tensor, conv_cache: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One chunk x: (B, Q, D) with caches att_cache (B, left, D) and conv_cache (B, D,
        conv.cache_frames) -> output, new att_cache, new conv_cache."""
        x = x + 0.5 * self.ff1(x)
        att_in = self.norm_att(x)
        x = x + self.att(att_in, pos_emb, allowed, cache=att_cache)
        keep = att_cache.shape[1]
        att_cache = torch.cat([att_cache, att_in], dim=1)
        att_cache = att_cache[:, att_cache.shape[1] - keep:]
        conv_out, conv_cache = self.conv(self.norm_conv(x), mask, cache=conv_cache)
        x = x + conv_out
        x = x + 0.5 * self.ff2(x)
        return self.norm_out(x), att_cache, conv_cache


class StreamingCache(NamedTuple):
    """Fixed-shape state of a stream (one row per stream in the batch).

    subsampling: per stride-2 stage, its last 2 input frames, (B, C_s, 2, F_s);
    last_channel: per layer, the last ``left`` attention inputs, (L, B, left, D);
    last_time: per layer, the last depthwise-conv inputs, (L, B, D, kernel-1), or (kernel-1)/2
        with ``chunked_conv``;
    length: encoder frames seen so far, capped at ``left``, (B,) int64.
    """

    subsampling: list[torch.Tensor]
    last_channel: torch.Tensor
    last_time: torch.Tensor
    length: torch.Tensor


def _context_pairs(value: object) -> list[tuple[int, int]]:
    """[l, r] or [[l, r], ...] -> list of (l, r) pairs, checked."""
    pairs = [value] if len(value) == 2 and all(isinstance(v, int) for v in value) else list(value)
    out = []
    for pair in pairs:
        left, right = (int(v) for v in pair)
        if left < -1 or right < -1 or (right == -1 and left != -1):
            raise ValueError(f"att_context_size pair must be [left >= -1, right >= 0] or [-1, -1], got {pair}")
        if left > 0 and left % (right + 1):
            raise ValueError(f"att_context_size {pair}: left ({left}) must be a multiple of the chunk "
                             f"right + 1 = {right + 1}")
        out.append((left, right))
    return out


class ConformerEncoder(nn.Module):
    """Features (B, T, F) with lengths (B,) -> encodings (B, T', D) with lengths (B,),
    T' = ceil(T / subsampling_factor)."""

    def __init__(self, **config: object) -> None:
        super().__init__()
        self.config = c = ConformerConfig(**config)  # type: ignore[arg-type]
        if c.chunked_conv and not c.causal:
            raise ValueError("chunked_conv needs causal=True (it is the streaming encoder's conv)")
        self.d_model = c.d_model
        self.subsampling_factor = c.subsampling_factor
        self.subsampling = ConvSubsampling(c.feat_in, c.d_model, c.subsampling_channels, c.causal,
                                           c.subsampling_factor)
        self.dropout = nn.Dropout(c.dropout)
        self.layers = nn.ModuleList(ConformerBlock(c) for _ in range(c.n_layers))
        self.att_contexts = _context_pairs(c.att_context_size)
        probs = c.att_context_probs or [1.0] * len(self.att_contexts)
        if len(probs) != len(self.att_contexts):
            raise ValueError("att_context_probs needs one probability per att_context_size pair")
        self.att_context_probs = torch.tensor(probs, dtype=torch.float)
        self.att_context = self.att_contexts[0]
        self.intermediate_layers: tuple[int, ...] = ()  # whose outputs forward_intermediate returns
        self.condition: Callable[[torch.Tensor], torch.Tensor] | None = None  # applied after those layers

    def set_intermediate(self, layers: Sequence[int], condition: Callable[[torch.Tensor], torch.Tensor] | None
                         ) -> None:
        """Intermediate outputs: ``forward_intermediate`` returns the outputs (B, T', D) of ``layers``
        (0-based, below the last), and ``condition`` (B, T', D) -> (B, T', D), if given, replaces
        each of them before the next layer reads it (self-conditioned CTC), in every forward."""
        layers = tuple(int(i) for i in layers)
        if not all(0 <= i < len(self.layers) - 1 for i in layers):
            raise ValueError(f"intermediate layers {list(layers)} must name layers below the last of this "
                             f"encoder (it has {len(self.layers)} layers, indices from 0)")
        self.intermediate_layers, self.condition = layers, condition

    def set_att_context(self, left: int, right: int) -> None:
        """Choose the attention context used outside training (e.g. at load time)."""
        self.att_context = _context_pairs([int(left), int(right)])[0]

    def use_streaming_context(self) -> None:
        """Where the current context is unlimited (a unified offline/streaming model decoding offline),
        switch to the first limited context the encoder was trained with, if any: what a stream uses
        unless told otherwise."""
        if self.att_context[0] < 0 or self.att_context[1] < 0:
            limited = [pair for pair in self.att_contexts if pair[0] >= 0 and pair[1] >= 0]
            if limited:
                self.att_context = limited[0]

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.subsampling.output_lengths(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, h_lengths, _ = self.forward_intermediate(x, lengths)
        return h, h_lengths

    def forward_intermediate(self, x: torch.Tensor, lengths: torch.Tensor
                             ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """``forward``, plus the outputs (B, T', D) of the ``intermediate_layers``, before conditioning."""
        x, lengths = self.subsampling(x, lengths)
        mask = lengths_to_mask(lengths, x.shape[1])  # (B, T')
        context = self.att_context
        if self.training and len(self.att_contexts) > 1:
            context = self.att_contexts[int(torch.multinomial(self.att_context_probs, 1))]
        allowed = mask[:, None, :].expand(-1, x.shape[1], -1)  # (B, T', T')
        limit = context_mask(x.shape[1], *context, x.device)
        if limit is not None:
            allowed = allowed & limit
        pos_emb = self.dropout(relative_positions(x.shape[1], self.d_model, x.device))
        x = self.dropout(x)
        chunk = None if context[1] < 0 else context[1] + 1
        intermediate = []
        for i, layer in enumerate(self.layers):
            x = layer(x, pos_emb, allowed, mask, chunk)
            if i in self.intermediate_layers:
                intermediate.append(x)
                x = self.condition(x) if self.condition is not None else x
        return x, lengths, intermediate

    # ------------------------------------------------------------------ streaming

    @property
    def chunk_frames(self) -> int:
        """Encoder frames per streaming chunk under the current context (right + 1)."""
        return self.att_context[1] + 1

    @property
    def chunk_features(self) -> int:
        """Feature frames per streaming chunk."""
        return self.chunk_frames * self.subsampling_factor

    def _check_streamable(self) -> None:
        left, right = self.att_context
        if not self.config.causal or left < 0 or right < 0:
            raise ValueError("streaming needs causal=True and a limited context [left>=0, right>=0]; this "
                             f"encoder has causal={self.config.causal}, att_context={list(self.att_context)}")

    def init_cache(self, batch: int = 1, device: torch.device | str = "cpu") -> StreamingCache:
        """Zero caches for ``batch`` new streams (zeros = the offline forward's left padding)."""
        self._check_streamable()
        c, left = self.config, self.att_context[0]
        return StreamingCache(
            subsampling=[torch.zeros(shape, device=device) for shape in self.subsampling.cache_shapes(batch)],
            last_channel=torch.zeros(c.n_layers, batch, left, c.d_model, device=device),
            last_time=torch.zeros(c.n_layers, batch, c.d_model, self.layers[0].conv.cache_frames, device=device),
            length=torch.zeros(batch, dtype=torch.long, device=device),
        )

    def forward_chunk(self, chunk: torch.Tensor, chunk_lengths: torch.Tensor, cache: StreamingCache
                      ) -> tuple[torch.Tensor, torch.Tensor, StreamingCache]:
        """One chunk of features (B, chunk_features, F) with valid lengths (B,) -> encodings
        (B, chunk_frames, D), valid lengths (B,), new cache. Feeding a stream chunk by chunk gives
        the frames ``forward`` gives on the whole input with the same context (eval mode)."""
        x, lengths, sub_cache = self.subsampling.forward_chunk(chunk, chunk_lengths, list(cache.subsampling))
        left = cache.last_channel.shape[2]
        q_len = x.shape[1]
        mask = lengths_to_mask(lengths, q_len)  # (B, Q)
        # Cache slot s holds the frame ``left - s`` before this chunk: valid once that many were seen.
        cached = torch.arange(left, device=x.device)[None, :] >= (left - cache.length)[:, None]  # (B, left)
        allowed = torch.cat([cached, mask], dim=1)[:, None, :].expand(-1, q_len, -1)  # (B, Q, left + Q)
        pos_emb = relative_positions(left + q_len, self.d_model, x.device, queries=q_len)
        last_channel, last_time = [], []
        for i, layer in enumerate(self.layers):
            x, att_cache, conv_cache = layer.forward_chunk(x, pos_emb, allowed, mask,
                                                           cache.last_channel[i], cache.last_time[i])
            if self.condition is not None and i in self.intermediate_layers:
                x = self.condition(x)
            last_channel.append(att_cache)
            last_time.append(conv_cache)
        new_cache = StreamingCache(sub_cache, torch.stack(last_channel), torch.stack(last_time),
                                   torch.clamp(cache.length + lengths, max=left))
        return x, lengths, new_cache

    def forward_streaming(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A whole input (B, T, F) fed through ``forward_chunk`` chunk by chunk, as a stream sees
        it -> (B, T', D), lengths (B,): what ``forward`` gives with the same context."""
        n, cache, outputs = self.chunk_features, self.init_cache(x.shape[0], device=x.device), []
        for start in range(0, x.shape[1], n):
            chunk = F.pad(x[:, start: start + n], (0, 0, 0, max(0, start + n - x.shape[1])))
            h, _, cache = self.forward_chunk(chunk, (lengths - start).clamp(0, n), cache)
            outputs.append(h)
        return torch.cat(outputs, dim=1), self.output_lengths(lengths)
