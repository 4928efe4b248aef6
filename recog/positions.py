"""Sinusoidal position encodings ("Attention Is All You Need"), shared by encoders and heads."""

from __future__ import annotations

import math

import torch


def sinusoids(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Positions of any shape (...), absolute or relative, any sign, whole or fractional -> (..., dim)
    interleaved sin/cos encodings."""
    inv_freq = torch.exp(torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32)
                         * (-math.log(10000.0) / dim))
    angles = positions.float()[..., None] * inv_freq
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(-2)[..., :dim]


def with_positions(h: torch.Tensor) -> torch.Tensor:
    """Frames (B, T, D) plus each one's absolute sinusoidal position: for a decoder attending over an
    encoder (convolutions, relative attention) that need not carry where a frame is."""
    return h + sinusoids(torch.arange(h.shape[1], device=h.device), h.shape[2]).to(h.dtype)
