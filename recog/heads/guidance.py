"""Semantic Guidance Module (SVTRv2's SGM), a training-only head.

For every target character c_i, the ``window`` characters before it (and, separately, after it)
are embedded and encoded into a query; the query attends over the encoder output and must
predict c_i. The encoder thus learns features that carry linguistic context, which helps the
CTC head that reads the same features. The SGM is never called at inference (it has no
``decode``), so a model trained with it runs exactly as fast as one without.

It is a head rather than part of the vision encoder so that any encoder giving (B, T, D) can
use it, and so that the encoder's forward stays the same in training and inference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from recog.heads.base import Head


def context_windows(targets: torch.Tensor, target_lengths: torch.Tensor, window: int, pad_id: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, U) ids -> left and right contexts (B, U, window): for position i, ids i-window..i-1
    and i+1..i+window, with ``pad_id`` outside the text."""
    batch, length = targets.shape
    valid = torch.arange(length, device=targets.device)[None, :] < target_lengths[:, None]
    ids = torch.where(valid, targets, torch.full_like(targets, pad_id))
    padded = F.pad(ids, (window, window), value=pad_id)  # (B, U + 2w)
    index = torch.arange(length, device=targets.device)[:, None]
    offsets = torch.arange(window, device=targets.device)[None, :]
    left = padded[:, index + offsets]  # positions i-w .. i-1
    right = padded[:, index + window + 1 + offsets]  # positions i+1 .. i+w
    return left, right


class SemanticGuidanceHead(Head):
    """Training-only SGM. Args: window: context characters on each side; heads: attention heads."""

    searches = ()

    def __init__(self, d_model: int, vocab_size: int, window: int = 5, heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.window, self.pad_id = window, vocab_size
        self.embed = nn.Embedding(vocab_size + 1, d_model)
        self.position = nn.Parameter(torch.randn(window, d_model) * 0.02)
        self.context = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True,
                                                  norm_first=True)
        self.attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, vocab_size)

    def _query(self, context: torch.Tensor) -> torch.Tensor:
        b, u, w = context.shape
        x = self.embed(context.reshape(b * u, w)) + self.position  # (B*U, w, D)
        return self.context(x).mean(dim=1).reshape(b, u, -1)  # (B, U, D)

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Mean cross-entropy of predicting each character from its left and its right context."""
        if not bool((target_lengths > 0).any()):
            return h.sum() * 0.0  # nothing to predict; keep the graph connected for distributed training
        left, right = context_windows(targets, target_lengths, self.window, self.pad_id)
        pad = torch.arange(h.shape[1], device=h.device)[None, :] >= h_lengths[:, None]
        valid = torch.arange(targets.shape[1], device=h.device)[None, :] < target_lengths[:, None]
        labels = torch.where(valid, targets, torch.full_like(targets, -100))
        total = h.new_zeros(())
        for context in (left, right):
            query = self._query(context)
            attended = self.attention(query, h, h, key_padding_mask=pad, need_weights=False)[0]
            logits = self.out(self.norm(attended))
            total = total + F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=-100)
        return total / 2
