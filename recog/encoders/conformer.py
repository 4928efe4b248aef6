"""FastConformer encoder (Rekesh et al. 2023): 8x depthwise-separable conv subsampling, then
Conformer blocks (macaron feed-forward, relative-position self-attention, conv module).

Masks always come from lengths. Every op that mixes frames (subsampling convs, depthwise conv,
attention) sees padded frames as zeros or masked keys, so a file's outputs are the same alone or
padded inside a batch. ``causal=True`` pads convolutions on the left only, for streaming.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool mask, True on valid frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class ConvSubsampling(nn.Module):
    """(B, T, F) -> (B, ceil(T/8), d_model): three stride-2 3x3 convs, the last two depthwise
    separable (NeMo's ``dw_striding``). Time steps past each length are zeroed between convs."""

    def __init__(self, feat_in: int, d_model: int, channels: int, causal: bool = False) -> None:
        super().__init__()
        self.causal = causal
        self.conv1 = nn.Conv2d(1, channels, 3, stride=2)
        self.dw2 = nn.Conv2d(channels, channels, 3, stride=2, groups=channels)
        self.pw2 = nn.Conv2d(channels, channels, 1)
        self.dw3 = nn.Conv2d(channels, channels, 3, stride=2, groups=channels)
        self.pw3 = nn.Conv2d(channels, channels, 1)
        freq = feat_in
        for _ in range(3):
            freq = (freq - 1) // 2 + 1
        self.out = nn.Linear(channels * freq, d_model)

    @staticmethod
    def conv_lengths(lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths - 1, 2, rounding_mode="floor") + 1

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        for _ in range(3):
            lengths = self.conv_lengths(lengths)
        return lengths

    def _stride(self, x: torch.Tensor, lengths: torch.Tensor, *convs: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        # x: (B, C, T, F); pad time (left-only when causal) and frequency symmetrically.
        x = F.pad(x, (1, 1, 2, 0) if self.causal else (1, 1, 1, 1))
        for conv in convs:
            x = conv(x)
        x = F.relu(x)
        lengths = self.conv_lengths(lengths)
        return x * lengths_to_mask(lengths, x.shape[2])[:, None, :, None], lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (x * lengths_to_mask(lengths, x.shape[1])[:, :, None]).unsqueeze(1)  # (B, 1, T, F)
        x, lengths = self._stride(x, lengths, self.conv1)
        x, lengths = self._stride(x, lengths, self.dw2, self.pw2)
        x, lengths = self._stride(x, lengths, self.dw3, self.pw3)
        b, c, t, f = x.shape
        return self.out(x.transpose(1, 2).reshape(b, t, c * f)), lengths  # (B, T/8, D)


def relative_positions(length: int, d_model: int, device: torch.device) -> torch.Tensor:
    """Sinusoidal encodings of relative distances length-1 ... -(length-1): (2*length-1, D)."""
    return sinusoids(torch.arange(length - 1, -length, -1, device=device), d_model)


def rel_shift(scores: torch.Tensor) -> torch.Tensor:
    """(B, H, T, 2T-1) scores over distances T-1..-(T-1) -> (B, H, T, T) with [i, j] = distance i-j
    (Transformer-XL's pad-and-reshape trick)."""
    b, h, t, p = scores.shape
    scores = F.pad(scores, (1, 0)).view(b, h, p + 1, t)
    return scores[:, :, 1:].reshape(b, h, t, p)[..., :t]


class RelPositionAttention(nn.Module):
    """Multi-head self-attention with Transformer-XL relative positions (u, v biases)."""

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

    def forward(self, x: torch.Tensor, pos_emb: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        # x: (B, T, D); pos_emb: (2T-1, D); key_mask: (B, T) True on valid frames.
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)  # (B, H, T, d)
        p = self.pos(pos_emb).view(-1, self.n_heads, self.d_head).transpose(0, 1)  # (H, 2T-1, d)
        q_u = q + self.pos_bias_u[:, None, :]
        q_v = q + self.pos_bias_v[:, None, :]
        position_scores = rel_shift(torch.matmul(q_v, p.transpose(-1, -2))) / math.sqrt(self.d_head)
        bias = position_scores.masked_fill(~key_mask[:, None, None, :], -1e4)  # (B, H, T, T)
        context = F.scaled_dot_product_attention(q_u, k, v, attn_mask=bias,
                                                 dropout_p=self.dropout if self.training else 0.0)
        return self.out(context.transpose(1, 2).reshape(b, t, -1))


class ConvModule(nn.Module):
    """Pointwise conv + GLU, depthwise conv (kernel k), norm, SiLU, pointwise conv."""

    def __init__(self, d_model: int, kernel: int, norm: str, causal: bool) -> None:
        super().__init__()
        self.kernel, self.causal = kernel, causal
        self.pointwise1 = nn.Linear(d_model, 2 * d_model)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, groups=d_model)
        if norm == "batch":
            self.norm: nn.Module = nn.BatchNorm1d(d_model)
        elif norm == "layer":
            self.norm = _ChannelLayerNorm(d_model)
        else:
            raise ValueError(f"conv_norm must be 'batch' or 'layer', got {norm!r}")
        self.pointwise2 = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x: (B, T, D); mask: (B, T) True on valid frames.
        x = F.glu(self.pointwise1(x), dim=-1) * mask[..., None]
        x = x.transpose(1, 2)  # (B, D, T)
        left = self.kernel - 1 if self.causal else (self.kernel - 1) // 2
        x = self.depthwise(F.pad(x, (left, self.kernel - 1 - left)))
        x = F.silu(self.norm(x))
        return self.pointwise2(x.transpose(1, 2))


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
        self.conv = ConvModule(c.d_model, c.conv_kernel, c.conv_norm, c.causal)
        self.ff2 = FeedForward(c.d_model, c.ff_expansion, c.dropout)
        self.norm_out = nn.LayerNorm(c.d_model)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, pos_emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.dropout(self.att(self.norm_att(x), pos_emb, mask))
        x = x + self.dropout(self.conv(self.norm_conv(x), mask))
        x = x + 0.5 * self.ff2(x)
        return self.norm_out(x)


class ConformerEncoder(nn.Module):
    """Features (B, T, F) with lengths (B,) -> encodings (B, T', D) with lengths (B,), T' = ceil(T/8)."""

    subsampling_factor = 8

    def __init__(self, **config: object) -> None:
        super().__init__()
        self.config = c = ConformerConfig(**config)  # type: ignore[arg-type]
        self.d_model = c.d_model
        self.subsampling = ConvSubsampling(c.feat_in, c.d_model, c.subsampling_channels, c.causal)
        self.dropout = nn.Dropout(c.dropout)
        self.layers = nn.ModuleList(ConformerBlock(c) for _ in range(c.n_layers))

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.subsampling.output_lengths(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self.subsampling(x, lengths)
        mask = lengths_to_mask(lengths, x.shape[1])
        pos_emb = self.dropout(relative_positions(x.shape[1], self.d_model, x.device))
        x = self.dropout(x)
        for layer in self.layers:
            x = layer(x, pos_emb, mask)
        return x, lengths
