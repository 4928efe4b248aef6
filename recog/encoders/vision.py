"""SVTRv2-style text-line encoder (Du et al. 2025, "SVTRv2: CTC Beats Encoder-Decoder Models in
Scene Text Recognition"): conv patch embedding (4x down), three stages of local (depthwise
conv) and global (self-attention) mixing with height-only downsampling between stages, and a
Feature Rearrangement Module (FRM) that turns the 2-D map into a left-to-right sequence.

Images (B, 3, H, W) with valid widths (B,) -> (B, W/4, D) with lengths ceil(width/4). Heights
may differ between batches (multi-size resizing gives 64, 48, 40 or 32 px); the FRM's
vertical step pools any number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class VisionConfig:
    dims: list[int] = field(default_factory=lambda: [64, 128, 192])
    depths: list[int] = field(default_factory=lambda: [2, 4, 2])
    # Per stage, how many of its blocks (the first ones) mix locally; the rest attend globally.
    local_blocks: list[int] = field(default_factory=lambda: [2, 2, 0])
    n_heads: list[int] = field(default_factory=lambda: [2, 4, 6])
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    in_channels: int = 3


def column_mask(widths: torch.Tensor, columns: int, stride: int) -> torch.Tensor:
    """(B,) pixel widths -> (B, columns) True where a feature column covers valid pixels."""
    valid = torch.div(widths + stride - 1, stride, rounding_mode="floor")
    return torch.arange(columns, device=widths.device)[None, :] < valid[:, None]


class Mlp(nn.Sequential):
    def __init__(self, dim: int, ratio: float, dropout: float) -> None:
        hidden = int(dim * ratio)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim),
                         nn.Dropout(dropout))


class LocalBlock(nn.Module):
    """Depthwise 5x5 conv mixing + MLP, on (B, C, H, W)."""

    def __init__(self, dim: int, ratio: float, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(dim)
        self.mixer = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, ratio, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # mask: (B, 1, 1, W) valid columns; padded columns are zeroed before every conv.
        x = x + self.mixer(self.norm1(x) * mask)
        return x + self.mlp(self.norm2(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)


class GlobalBlock(nn.Module):
    """Multi-head self-attention over all H*W positions + MLP, on (B, C, H, W)."""

    def __init__(self, dim: int, heads: int, ratio: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, ratio, dropout)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, H*W, C)
        q, k, v = self.qkv(self.norm1(tokens)).view(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        key_mask = mask.expand(b, 1, h, w).reshape(b, 1, 1, h * w)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        tokens = tokens + self.proj(att.transpose(1, 2).reshape(b, h * w, c))
        tokens = tokens + self.mlp(self.norm2(tokens))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


class FeatureRearrangement(nn.Module):
    """FRM: (B, C, H, W) -> (B, W, C). Horizontal step: self-attention along each row, so each
    position can gather the strokes that belong to its column's character; vertical step: a
    learned selecting query attends over the H rows of each column, giving one vector per column."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm_h = nn.LayerNorm(dim)
        self.row_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_v = nn.LayerNorm(dim)
        self.select = nn.Parameter(torch.zeros(1, 1, dim))
        self.col_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(b * h, w, c)  # (B*H, W, C)
        pad = ~mask.reshape(b, 1, w).expand(b, h, w).reshape(b * h, w)
        normed = self.norm_h(rows)
        rows = rows + self.row_attention(normed, normed, normed, key_padding_mask=pad, need_weights=False)[0]
        cols = rows.reshape(b, h, w, c).permute(0, 2, 1, 3).reshape(b * w, h, c)  # (B*W, H, C)
        query = self.select.expand(b * w, 1, c)
        normed = self.norm_v(cols)
        out = self.col_attention(query, normed, normed, need_weights=False)[0]  # (B*W, 1, C)
        return self.norm_out(out.reshape(b, w, c))


class VisionEncoder(nn.Module):
    """Text-line images (B, 3, H, W), widths (B,) -> (B, W/4, D), lengths (B,)."""

    stride = 4  # pixels of input width per output frame

    def __init__(self, **config: object) -> None:
        super().__init__()
        self.config = c = VisionConfig(**config)  # type: ignore[arg-type]
        self.d_model = c.dims[-1]
        d0 = c.dims[0]
        self.patch_embed = nn.Sequential(
            nn.Conv2d(c.in_channels, d0 // 2, 3, stride=2, padding=1), nn.BatchNorm2d(d0 // 2), nn.GELU(),
            nn.Conv2d(d0 // 2, d0, 3, stride=2, padding=1), nn.BatchNorm2d(d0), nn.GELU())
        self.stages = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        for i, (dim, depth, local, heads) in enumerate(zip(c.dims, c.depths, c.local_blocks, c.n_heads, strict=True)):
            blocks = [LocalBlock(dim, c.mlp_ratio, c.dropout) if j < local
                      else GlobalBlock(dim, heads, c.mlp_ratio, c.dropout) for j in range(depth)]
            self.stages.append(nn.ModuleList(blocks))
            if i + 1 < len(c.dims):  # halve the height only, keep every column
                self.downsamples.append(nn.Sequential(
                    nn.Conv2d(dim, c.dims[i + 1], 3, stride=(2, 1), padding=1), nn.BatchNorm2d(c.dims[i + 1])))
        self.frm = FeatureRearrangement(self.d_model, c.n_heads[-1])

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        return torch.div(widths + self.stride - 1, self.stride, rounding_mode="floor")

    def forward(self, x: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Zero columns past each width before every stride-2 conv, so an image reads the same alone
        # or padded inside a batch of wider ones.
        x = x * column_mask(widths, x.shape[-1], 1)[:, None, None, :]
        x = self.patch_embed[:3](x)  # (B, C0/2, H/2, W/2)
        x = x * column_mask(widths, x.shape[-1], 2)[:, None, None, :]
        x = self.patch_embed[3:](x)  # (B, C0, H/4, W/4)
        mask = column_mask(widths, x.shape[-1], self.stride)[:, None, None, :]  # (B, 1, 1, W/4)
        for i, blocks in enumerate(self.stages):
            for block in blocks:
                x = block(x, mask)
            if i < len(self.downsamples):
                x = self.downsamples[i](x * mask)
        return self.frm(x, mask[:, 0, 0]), self.output_lengths(widths)
