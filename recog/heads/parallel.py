"""CPPD head (Du et al. 2023, "Context Perception Parallel Decoder for Scene Text Recognition"):
all characters predicted in one pass, no autoregression.

Queries are character nodes (one per vocabulary entry) and position nodes (one per output slot,
``max_len`` + 1 for the end). Both self-attend (so positions see which characters are present),
then cross-attend to the encoder output. Training has two tasks:
- character counting (CC): each character node predicts how often its character occurs;
- character ordering (CO): each position node predicts the character at its position, id 0
  (the blank) standing for "end of text".
At inference only CO is read: argmax per position, cut at the first end.

Finding "the k-th character" by absolute frame position works for short words resized to one
width, as in the paper, but drifts along long lines of varying character widths. With
``index_positions`` the head instead gives each encoder frame its token index, counted by a
continuous integrate-and-fire weigher as in Paraformer (Gao et al. 2022): a weight in (0, 1) per
frame, trained so the weights of a line sum to its token count (the quantity loss); the running sum
of the weights, at the frame's centre, is the index of the token the frame belongs to. Position
node k then looks for index k + 1/2 with the same sinusoidal encoding on both sides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions
from recog.heads.attention import attend
from recog.heads.base import ExportPart, Head
from recog.positions import sinusoids, with_positions

IGNORE = -100


def counting_targets(targets: torch.Tensor, target_lengths: torch.Tensor, vocab_size: int,
                     max_count: int) -> torch.Tensor:
    """(B, U) padded ids -> (B, V) occurrence counts of each id, capped at ``max_count``;
    the end id 0 counts once."""
    valid = torch.arange(targets.shape[1], device=targets.device)[None, :] < target_lengths[:, None]
    counts = torch.zeros(targets.shape[0], vocab_size, dtype=torch.long, device=targets.device)
    counts.scatter_add_(1, targets * valid, valid.long())
    counts[:, 0] = 1
    return counts.clamp(max=max_count)


def ordering_targets(targets: torch.Tensor, target_lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, U) padded ids -> (B, max_len + 1): the ids, then 0 (end) at each length, then IGNORE."""
    batch = targets.shape[0]
    out = torch.full((batch, max_len + 1), IGNORE, dtype=torch.long, device=targets.device)
    u = min(targets.shape[1], max_len)
    positions = torch.arange(max_len + 1, device=targets.device)[None, :]
    out[:, :u] = targets[:, :u]
    out = torch.where(positions == target_lengths[:, None], torch.zeros_like(out), out)
    return torch.where(positions > target_lengths[:, None], torch.full_like(out, IGNORE), out)


def token_indices(weights: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Integrate-and-fire weights (B, T), zero on padded frames, and the token count of each line
    (B,) -> each frame's token index (B, T): the weights are scaled to sum to the count, and a
    frame's index is the running sum at its centre (a frame whose weight completes token k has
    index k + 1/2 when it holds all of that weight)."""
    scaled = weights * (counts.to(weights.dtype) / weights.sum(dim=1).clamp(min=1e-4))[:, None]
    return scaled.cumsum(dim=1) - scaled / 2


class DecoderLayer(nn.Module):
    """Pre-norm self-attention, cross-attention (weights returned), feed-forward."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim))

    def forward(self, q: torch.Tensor, memory: torch.Tensor, memory_pad: torch.Tensor, first: int = 0,
                need_weights: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Queries q (B or 1, Q, D) over memory (B, T, D) -> the updated queries ``first:``
        (B, Q - first, D) (all queries still serve as keys) and, with ``need_weights``, their
        cross-attention weights (B, Q - first, T). Queries of batch 1 serve every input: their
        self-attention and cross-attention query projection are computed once."""
        x = self.norm1(q)
        q = q[:, first:] + self.self_attention(x[:, first:], x, x, need_weights=False)[0]
        attended, weights = self._cross_attend(self.norm2(q), memory, memory_pad, need_weights)
        q = q + attended
        return q + self.ff(self.norm3(q)), weights  # weights: (B, Q, T) averaged over heads

    def _cross_attend(self, x: torch.Tensor, memory: torch.Tensor, memory_pad: torch.Tensor, need_weights: bool
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``cross_attention`` (its weights) with queries x (B or 1, Q, D) broadcast over memory
        (B, T, D), which nn.MultiheadAttention cannot do. -> (B, Q, D), weights (B, Q, T) or None."""
        attention = self.cross_attention
        w_q, w_k, w_v = attention.in_proj_weight.chunk(3)
        b_q, b_k, b_v = attention.in_proj_bias.chunk(3)

        def split(y: torch.Tensor) -> torch.Tensor:  # (N, L, D) -> (N, H, L, D / H)
            return y.unflatten(-1, (attention.num_heads, -1)).transpose(1, 2)

        mask = torch.zeros(memory_pad.shape, dtype=x.dtype, device=x.device).masked_fill(memory_pad, float("-inf"))
        attended, weights = attend(split(F.linear(x, w_q, b_q)), split(F.linear(memory, w_k, b_k)),
                                   split(F.linear(memory, w_v, b_v)), mask[:, None, None, :],
                                   need_weights=need_weights, dropout=attention.dropout if self.training else 0.0)
        return attention.out_proj(attended.transpose(1, 2).flatten(2)), weights


class ParallelHead(Head):
    """CPPD on any (B, T, D) encoder output.

    Args:
        max_len: longest text it can output (tokens). max_count: counting classes 0..max_count.
        layers, heads: decoder size. count_weight: weight of the counting loss.
        index_positions: frames carry their integrate-and-fire token index instead of their
        absolute position (module docstring). quantity_weight: weight of its quantity loss.
    """

    def __init__(self, d_model: int, vocab_size: int, max_len: int = 64, max_count: int = 8, layers: int = 2,
                 heads: int = 4, dropout: float = 0.1, count_weight: float = 0.5, index_positions: bool = False,
                 quantity_weight: float = 1.0) -> None:
        super().__init__()
        self.vocab_size, self.max_len, self.max_count = vocab_size, max_len, max_count
        self.count_weight, self.quantity_weight = count_weight, quantity_weight
        self.weigher = nn.Conv1d(d_model, d_model, 3, padding=1) if index_positions else None
        self.weigher_out = nn.Linear(d_model, 1) if index_positions else None
        self.char_nodes = nn.Parameter(torch.randn(vocab_size, d_model) * 0.02)
        self.position_nodes = nn.Parameter(torch.randn(max_len + 1, d_model) * 0.02)
        self.layers = nn.ModuleList(DecoderLayer(d_model, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.count_out = nn.Linear(d_model, max_count + 1)
        self.order_out = nn.Linear(d_model, vocab_size)

    def fire_weights(self, h: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Encoder frames (B, T, D) and their padding (B, T) -> integrate-and-fire weights (B, T)
        in (0, 1), zero on padded frames (which the convolution never reads)."""
        x = self.weigher(h.masked_fill(pad[..., None], 0.0).transpose(1, 2)).transpose(1, 2)  # (B, T, D)
        return torch.sigmoid(self.weigher_out(F.relu(x))).squeeze(-1).masked_fill(pad, 0.0)

    def forward(self, h: torch.Tensor, h_lengths: torch.Tensor, count: bool = True,
                target_lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """-> count logits (B, V, max_count+1) (None with ``count=False``: then the last layer
        updates only the position nodes, which is all decoding reads), order logits
        (B, max_len+1, V), the last layer's cross-attention of each position node over encoder
        frames (B, max_len+1, T), and with ``index_positions`` the fire weights (B, T) (else None).
        Frame indices count to ``target_lengths`` in training, to the rounded weight sum otherwise."""
        batch = h.shape[0]
        nodes = self.position_nodes
        pad = torch.arange(h.shape[1], device=h.device)[None, :] >= h_lengths[:, None]
        fire = None
        if self.weigher is None:
            # Position nodes must find "the k-th character": give every encoder frame its absolute
            # position, which encoders built for CTC (conv + relative attention) need not carry.
            h = with_positions(h)
        else:
            fire = self.fire_weights(h, pad)
            counts = target_lengths if target_lengths is not None else fire.detach().sum(dim=1).round()
            # float32: a bf16 running sum over hundreds of frames drifts by up to half a token
            h = h + sinusoids(token_indices(fire.float(), counts), h.shape[2]).to(h.dtype)
            centres = torch.arange(self.max_len + 1, device=h.device) + 0.5
            nodes = nodes + sinusoids(centres, h.shape[2]).to(nodes.dtype)
        queries = torch.cat([self.char_nodes, nodes])[None]  # (1, V + max_len + 1, D), the same for every input
        if self.training:
            queries = queries.expand(batch, -1, -1)  # dropout draws its own mask for every input
        weights = None
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            queries, weights = layer(queries, h, pad, first=self.vocab_size if last and not count else 0,
                                     need_weights=last)
        queries = self.norm(queries)
        positions = queries[:, queries.shape[1] - (self.max_len + 1):]
        counts = self.count_out(queries[:, : self.vocab_size]) if count else None
        return counts, self.order_out(positions), weights[:, weights.shape[1] - (self.max_len + 1):], fire

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Ordering cross-entropy + count_weight * counting cross-entropy (per-token means), and with
        ``index_positions`` + quantity_weight * |fire weight sum - token count| (mean per line)."""
        count_logits, order_logits, _, fire = self(h, h_lengths, target_lengths=target_lengths)
        order = ordering_targets(targets, target_lengths, self.max_len)
        counts = counting_targets(targets, target_lengths, self.vocab_size, self.max_count)
        order_loss = F.cross_entropy(order_logits.flatten(0, 1).float(), order.flatten(), ignore_index=IGNORE)
        count_loss = F.cross_entropy(count_logits.flatten(0, 1).float(), counts.flatten())
        loss = order_loss + self.count_weight * count_loss
        if fire is not None:
            loss = loss + self.quantity_weight * (fire.float().sum(dim=1) - target_lengths).abs().mean()
        return loss

    def export_parts(self) -> list[ExportPart]:
        """``parallel.onnx``: encoder frames (N, T, D) and lengths (N,) -> every position's
        log-probabilities (N, max_len + 1, V) and the frame it attends to most (N, max_len + 1),
        what ``search`` reads. A graph of its own, so a runtime reading with another head never
        runs this decoder."""
        generator = torch.Generator().manual_seed(0)
        h = torch.randn(3, 12, self.order_out.in_features, generator=generator)
        return [ExportPart("parallel", ParallelDecoder(self).eval(), (h, torch.tensor([12, 7, 3])),
                           ["encoded", "encoded_lengths"], ["log_probs", "frames"],
                           {"encoded": 0, "encoded_lengths": 0}, None, {}, {"encoded": {1: "frames"}})]

    @torch.no_grad()
    def search(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
               fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        """Argmax at every position in one pass; the text ends at the first end id (0). A token's
        timestamp is the encoder frame its position node attends to most."""
        _, order_logits, weights, _ = self(h, h_lengths, count=False)
        log_probs = F.log_softmax(order_logits.float(), dim=-1)
        best_lp, best = log_probs.max(dim=-1)  # (B, L+1)
        frames = weights.argmax(dim=-1)  # (B, L+1)
        hyps = []
        for b in range(h.shape[0]):
            ids = best[b].tolist()
            ended = 0 in ids
            n = ids.index(0) if ended else self.max_len  # the last slot only ever holds the end
            terms = n + 1 if ended else n
            score = float(best_lp[b, :terms].sum())
            hyps.append(Hypothesis(tokens=ids[:n], score=score, confidence=math.exp(score / max(terms, 1)),
                                   timestamps=frames[b, :n].tolist(),
                                   token_confidences=best_lp[b, :n].exp().tolist()))
        return hyps


class ParallelDecoder(nn.Module):
    """The CPPD decoder as one graph (``ParallelHead.export_parts``)."""

    def __init__(self, head: ParallelHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, encoded: torch.Tensor, encoded_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, order_logits, weights, _ = self.head(encoded, encoded_lengths, count=False)
        return F.log_softmax(order_logits.float(), dim=-1), weights.argmax(dim=-1)
