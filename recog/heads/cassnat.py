"""CASS-NAT (Fan et al., "CASS-NAT: CTC Alignment-based Single Step Non-autoregressive Transformer
for Speech Recognition", 2021): every token at once, each read from the frames a CTC alignment
gives it.

The head has its own CTC projection. A CTC alignment -- the reference's forced alignment
(Viterbi) in training, the greedy CTC path at inference -- gives each token u a segment of encoder
frames: from the frame after the previous token's last one to its own last frame (the trigger
mask). A token-level acoustic embedding is an attention over its segment, queried by the token's
position; a self-attention decoder reads the embeddings together, a mixed-attention decoder adds
attention over all encoder frames, and a linear layer gives every token's distribution in one
pass. The loss is the cross-entropy of the reference tokens plus ``ctc_weight`` times the CTC loss.
A token's timestamp is the first frame of its segment's run in the alignment.

Error-based sampling (alternative alignments where the CTC posterior is uncertain) is not in this
version: one candidate, the greedy alignment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.ctc import ctc_forced_align
from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions
from recog.heads.base import Head
from recog.positions import sinusoids


def trigger_mask(last: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, U) last frame of each token (-1: no token) -> (B, U, T) True where token u may NOT look:
    outside (previous token's last frame, its own last frame]."""
    previous = F.pad(last[:, :-1], (1, 0), value=-1)  # (B, U)
    t = torch.arange(frames, device=last.device)[None, None, :]
    inside = (t > previous[:, :, None]) & (t <= last[:, :, None])
    return ~inside | (last[:, :, None] < 0)


def greedy_alignment(log_probs: torch.Tensor, lengths: torch.Tensor) -> tuple[list[list[int]], torch.Tensor,
                                                                              torch.Tensor]:
    """The greedy CTC path: per input its tokens, and the first and last frame of each (B, U)."""
    best = log_probs.argmax(dim=-1).cpu()  # (B, T)
    tokens, firsts, lasts = [], [], []
    for b, n in enumerate(lengths.tolist()):
        ids, first, last = [], [], []
        for t in range(int(n)):
            c = int(best[b, t])
            if c != 0 and (t == 0 or int(best[b, t - 1]) != c):
                ids.append(c)
                first.append(t)
                last.append(t)
            elif c != 0:
                last[-1] = t
        tokens.append(ids)
        firsts.append(first)
        lasts.append(last)
    u_max = max((len(ids) for ids in tokens), default=0)

    def padded(rows: list[list[int]]) -> torch.Tensor:
        return torch.tensor([r + [-1] * (u_max - len(r)) for r in rows], dtype=torch.long).reshape(len(rows), u_max)

    return tokens, padded(firsts), padded(lasts)


class CASSNATHead(Head):
    """CASS-NAT on any (B, T, D) encoder output.

    Args:
        layers: self-attention decoder layers over the token embeddings; mixed_layers: layers that
            also attend to the encoder frames. heads: attention heads. ctc_weight: weight of the
            head's own CTC loss (its alignments come from it).
    """

    searches = ("greedy",)

    def __init__(self, d_model: int, vocab_size: int, layers: int = 1, mixed_layers: int = 2, heads: int = 4,
                 dropout: float = 0.1, ctc_weight: float = 0.5) -> None:
        super().__init__()
        self.vocab_size, self.heads, self.ctc_weight = vocab_size, heads, ctc_weight
        self.ctc = nn.Linear(d_model, vocab_size)
        self.extract = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.self_decoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout, batch_first=True, norm_first=True),
            layers, enable_nested_tensor=False)
        self.mixed_decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, heads, 4 * d_model, dropout, batch_first=True, norm_first=True),
            mixed_layers)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, vocab_size)

    def ctc_log_probs(self, h: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.ctc(h).float(), dim=-1)  # (B, T, V)

    def token_logits(self, h: torch.Tensor, h_lengths: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Encodings (B, T, D), lengths (B,) and each token's last frame (B, U) -> logits (B, U, V)."""
        batch, u_max = last.shape
        if u_max == 0:
            return h.new_zeros(batch, 0, self.vocab_size)
        positions = sinusoids(torch.arange(u_max, device=h.device), h.shape[2]).to(h.dtype)[None].expand(batch, -1, -1)
        blocked = trigger_mask(last.to(h.device), h.shape[1])  # (B, U, T)
        empty = blocked.all(dim=-1, keepdim=True)  # padding tokens: let them look anywhere (masked later)
        blocked = blocked & ~empty
        embedded, _ = self.extract(positions, h, h, attn_mask=blocked.repeat_interleave(self.heads, dim=0),
                                   need_weights=False)  # (B, U, D)
        token_pad = last.to(h.device) < 0  # (B, U)
        frame_pad = torch.arange(h.shape[1], device=h.device)[None, :] >= h_lengths[:, None]
        x = self.self_decoder(embedded + positions, src_key_padding_mask=token_pad)
        x = self.mixed_decoder(x, h, tgt_key_padding_mask=token_pad, memory_key_padding_mask=frame_pad)
        return self.out(self.norm(x))

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Cross-entropy of the reference tokens, each read from its forced-alignment segment, plus
        ``ctc_weight`` times the CTC loss (per utterance, batch mean)."""
        u_max = int(target_lengths.max()) if len(target_lengths) else 0
        targets = targets[:, :u_max]
        log_probs = self.ctc_log_probs(h)
        ctc = F.ctc_loss(log_probs.transpose(0, 1), targets, h_lengths, target_lengths, blank=0, reduction="sum",
                         zero_infinity=True) / h.shape[0]
        _, last = ctc_forced_align(log_probs.detach(), h_lengths, targets, target_lengths)
        logits = self.token_logits(h, h_lengths, last)  # (B, U, V)
        valid = torch.arange(u_max, device=h.device)[None, :] < target_lengths[:, None]
        labels = torch.where(valid, targets, torch.full_like(targets, -100))
        ce = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=-100, reduction="sum")
        return ce / h.shape[0] + self.ctc_weight * ctc

    @torch.no_grad()
    def search(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
               fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        """All tokens in one pass from the greedy CTC alignment's segments."""
        log_probs = self.ctc_log_probs(h)
        tokens, first, last = greedy_alignment(log_probs, h_lengths)
        logits = self.token_logits(h, h_lengths, last).float()
        logits[..., 0] = float("-inf")  # the blank is never a token
        token_lp = F.log_softmax(logits, dim=-1)  # (B, U, V)
        hyps = []
        for b, ids in enumerate(tokens):
            best_lp, best = token_lp[b, : len(ids)].max(dim=-1) if ids else (torch.zeros(0), torch.zeros(0))
            score = float(best_lp.sum())
            hyps.append(Hypothesis(tokens=[int(t) for t in best.tolist()], score=score,
                                   confidence=math.exp(score / max(len(ids), 1)),
                                   timestamps=first[b, : len(ids)].tolist(),
                                   token_confidences=best_lp.exp().tolist()))
        return hyps
