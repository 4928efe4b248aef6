"""Attention encoder-decoder head: a Transformer decoder with cross-attention over any (B, T, D)
encoder output, trained with label-smoothed cross-entropy, decoded step by step with a cache.

Token ids are the tokenizer's 0..V-1 (0 = the CTC blank, never a target nor an output) plus one id
V that both starts (sos) and ends (eos) every sequence, as in ESPnet and WeNet; the output layer
has V + 1 classes. Padded target positions are ignored by the loss.

Decoding state is explicit (the torchaudio Emformer way): ``memory(h, h_lengths)`` computes every
layer's cross-attention keys and values once per utterance, and ``step(tokens, memory, cache)``
feeds one new token per hypothesis and returns the cache grown by that token's self-attention
keys and values, so a step computes one token whatever the prefix length. The searches that
drive it live in ``recog.decoding.attention``; rescoring in ``recog.decoding.rescoring``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.attention import beam_search, greedy_search
from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis
from recog.decoding.options import DecodingOptions
from recog.heads.base import ExportPart, Head
from recog.positions import sinusoids, with_positions

IGNORE = -100


@dataclass(frozen=True)
class Memory:
    """Cross-attention keys and values of every layer, (layers, N, H, T, d_head) each, and the
    frame mask (N, 1, 1, T), True on real (unpadded) encoder frames."""

    keys: torch.Tensor
    values: torch.Tensor
    mask: torch.Tensor

    def select(self, index: torch.Tensor) -> Memory:
        """Rows ``index`` (N',): e.g. each utterance repeated once per beam or per candidate."""
        return Memory(self.keys[:, index], self.values[:, index], self.mask[index])

    def repeat(self, times: int) -> Memory:
        """Every row ``times`` times in a row (row b becomes rows b*times .. b*times + times-1)."""
        return self.select(torch.arange(self.mask.shape[0], device=self.mask.device).repeat_interleave(times))


def attend(q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor | None = None,
           causal: bool = False, need_weights: bool = False, dropout: float = 0.0
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Scaled dot-product attention of queries q (N or 1, H, L, d_head) over keys/values
    (N, H, S, d_head); a query batch of 1 serves every row (queries that do not depend on the
    input are projected once). mask (N, 1, 1, S): True where a key may be seen, or added to the
    scores (0 or -inf; SDPA then skips its checks of a boolean mask).
    -> (N, H, L, d_head) and, if asked (not with ``causal``), the head-mean weights (N, L, S)."""
    if causal and need_weights:
        raise ValueError("attend: causal attention returns no weights")
    if not need_weights:
        q = q.expand(keys.shape[0], -1, -1, -1)  # a view; ONNX's Attention op does not broadcast the batch
        attended = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, is_causal=causal, dropout_p=dropout)
        return attended, None
    scores = q @ keys.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (N, H, L, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = scores.softmax(dim=-1)
    if dropout:
        weights = F.dropout(weights, dropout)
    return weights @ values, weights.mean(dim=1)


class MultiHeadAttention(nn.Module):
    """Attention with the key/value projection apart from the query's, so keys and values can be
    computed once (encoder memory) or one token at a time (self-attention cache)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention dim {dim} is not divisible by {heads} heads")
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # (N, L, dim) -> (N, H, L, d_head)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, S, dim) -> keys, values (N, H, S, d_head) each."""
        keys, values = self.key_value(x).chunk(2, dim=-1)
        return self._split(keys), self._split(values)

    def forward(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor | None = None,
                causal: bool = False, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Queries from x (N, L, dim) over keys/values (N, H, S, d_head); mask (N, 1, 1, S) True where
        a key may be seen. -> (N, L, dim) and, if asked, the head-mean weights (N, L, S)."""
        q = self._split(self.query(x))  # (N, H, L, d_head)
        attended, weights = attend(q, keys, values, mask, causal=causal, need_weights=need_weights,
                                   dropout=self.dropout if self.training else 0.0)
        return self.out(attended.transpose(1, 2).flatten(2)), weights


class DecoderLayer(nn.Module):
    """Pre-norm causal self-attention, cross-attention over the encoder memory, feed-forward."""

    def __init__(self, dim: int, heads: int, ff_expansion: int, dropout: float) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(dim)
        self.self_attention = MultiHeadAttention(dim, heads, dropout)
        self.norm_cross = nn.LayerNorm(dim)
        self.cross_attention = MultiHeadAttention(dim, heads, dropout)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_expansion * dim), nn.ReLU(), nn.Dropout(dropout),
                                nn.Linear(ff_expansion * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None, memory_keys: torch.Tensor,
                memory_values: torch.Tensor, memory_mask: torch.Tensor, need_weights: bool = False
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor | None]:
        """x (N, L, dim): the whole sequence (past None, causal) or the new token (L = 1) after the
        cached ``past`` keys/values (N, H, P, d_head). -> x, the keys/values of every position so
        far (N, H, P + L, d_head), cross-attention weights (N, L, T) if asked."""
        y = self.norm_self(x)
        keys, values = self.self_attention.keys_values(y)
        if past is not None:
            keys, values = torch.cat([past[0], keys], dim=2), torch.cat([past[1], values], dim=2)
        x = x + self.dropout(self.self_attention(y, keys, values, causal=past is None)[0])
        attended, weights = self.cross_attention(self.norm_cross(x), memory_keys, memory_values, memory_mask,
                                                 need_weights=need_weights)
        x = x + self.dropout(attended)
        return x + self.dropout(self.ff(self.norm_ff(x))), (keys, values), weights


class AttentionHead(Head):
    """Transformer decoder on any (B, T, D) encoder output.

    Args:
        layers, heads: decoder depth and attention heads. dim: decoder width (default d_model; the
            encoder output is projected to it). ff_expansion: feed-forward width / dim.
        dropout: dropout in the decoder. label_smoothing: epsilon of the label-smoothed loss.
        memory_positions: add each encoder frame's absolute (sinusoidal) position to the memory, as
            the CPPD head does: encoders built for CTC (convolutions, relative or no positional
            attention) need not carry where a frame is, and without it the decoder loses its place
            in a text line and repeats words. Off by default, so models trained without it decode
            as they were trained.
    """

    searches = ("greedy", "beam", "diverse")
    scores = True

    def __init__(self, d_model: int, vocab_size: int, layers: int = 3, heads: int = 4, dim: int | None = None,
                 ff_expansion: int = 4, dropout: float = 0.1, label_smoothing: float = 0.1,
                 memory_positions: bool = False) -> None:
        super().__init__()
        dim = dim or d_model
        self.memory_positions = memory_positions
        self.d_model, self.vocab_size, self.dim, self.label_smoothing = d_model, vocab_size, dim, label_smoothing
        self.sos = self.eos = vocab_size
        self.classes = vocab_size + 1
        self.embed = nn.Embedding(self.classes, dim)
        nn.init.normal_(self.embed.weight, std=dim ** -0.5)  # unit scale after the sqrt(dim) factor
        self.memory_proj: nn.Module = nn.Linear(d_model, dim) if dim != d_model else nn.Identity()
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, ff_expansion, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, self.classes)
        self.dropout = nn.Dropout(dropout)

    # ------------------------------------------------------------ the decoder

    def memory(self, h: torch.Tensor, h_lengths: torch.Tensor) -> Memory:
        """Encoder output (N, T, D), lengths (N,) -> every layer's cross-attention keys/values."""
        if self.memory_positions:
            h = with_positions(h)
        projected = self.memory_proj(h)  # (N, T, dim)
        keys_values = [layer.cross_attention.keys_values(projected) for layer in self.layers]
        mask = torch.arange(h.shape[1], device=h.device)[None, :] < h_lengths[:, None]  # (N, T)
        return Memory(torch.stack([k for k, _ in keys_values]), torch.stack([v for _, v in keys_values]),
                      mask[:, None, None, :])

    def _embed(self, tokens: torch.Tensor, start: int) -> torch.Tensor:
        """(N, L) ids at positions start.. -> (N, L, dim)."""
        positions = sinusoids(torch.arange(start, start + tokens.shape[1], device=tokens.device), self.dim)
        return self.dropout(self.embed(tokens) * math.sqrt(self.dim) + positions.to(self.embed.weight.dtype))

    def forward(self, tokens: torch.Tensor, memory: Memory) -> torch.Tensor:
        """Teacher forcing, no cache: (N, L) ids starting with sos -> logits (N, L, V + 1)."""
        x = self._embed(tokens, 0)
        for i, layer in enumerate(self.layers):
            x, _, _ = layer(x, None, memory.keys[i], memory.values[i], memory.mask)
        return self.out(self.norm(x))

    def initial_cache(self, rows: int, device: torch.device) -> torch.Tensor:
        """The empty self-attention cache, (layers, 2, rows, H, 0, d_head)."""
        heads = self.layers[0].self_attention.heads
        return torch.zeros(len(self.layers), 2, rows, heads, 0, self.dim // heads, device=device,
                           dtype=self.embed.weight.dtype)

    @staticmethod
    def reorder_cache(cache: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The cache rows ``index`` (N',): beams that survive a search step."""
        return cache[:, :, index]

    def step(self, tokens: torch.Tensor, memory: Memory, cache: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decoding step. tokens (N,): the last token of each hypothesis; cache
        (layers, 2, N, H, P, d_head) from the P tokens before it. -> log-probabilities of the next
        token (N, V + 1), the encoder frame the last layer attends to most (N,), and the cache
        (layers, 2, N, H, P + 1, d_head)."""
        x = self._embed(tokens[:, None], cache.shape[-2])  # (N, 1, dim)
        grown, weights = [], None
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x, (keys, values), weights = layer(x, (cache[i, 0], cache[i, 1]), memory.keys[i], memory.values[i],
                                               memory.mask, need_weights=i == last)
            grown.append(torch.stack([keys, values]))
        log_probs = F.log_softmax(self.out(self.norm(x[:, 0])).float(), dim=-1)  # (N, V + 1)
        return log_probs, weights[:, 0].argmax(dim=-1), torch.stack(grown)

    # ------------------------------------------------------------ export

    def graph_outputs(self, h: torch.Tensor, h_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """The offline graph carries the cross-attention keys and values (``memory``), computed once
        per input; ``decoder.onnx`` steps over them."""
        memory = self.memory(h, h_lengths)
        return {"memory_keys": memory.keys, "memory_values": memory.values}

    def export_parts(self) -> list[ExportPart]:
        """``decoder.onnx``: one ``step`` with the self-attention cache as input and output:
        tokens (N,), memory keys/values (layers, N, H, T, d_head), encoder lengths (N,), cache
        (layers, 2, N, H, P, d_head) -> log-probs (N, V + 1), attended frame (N,), cache with P + 1."""
        generator = torch.Generator().manual_seed(0)
        h = torch.randn(3, 12, self.d_model, generator=generator)
        lengths = torch.tensor([12, 7, 3])
        step = AttentionStep(self).eval()
        with torch.no_grad():  # check on a cache that holds two real steps
            memory = self.memory(h, lengths)
            cache = self.initial_cache(3, h.device)
            tokens = torch.full((3,), self.sos, dtype=torch.long)
            for _ in range(2):
                log_probs, _, cache = step(tokens, memory.keys, memory.values, lengths, cache)
                tokens = log_probs[:, 1:self.eos].argmax(dim=-1) + 1
        cache_shape = [*cache.shape[:4], 0, cache.shape[5]]
        cache_shape[2] = 1
        meta = {"sos": self.sos, "eos": self.eos, "cache": {"shape": cache_shape, "dtype": str(cache.dtype)[6:]}}
        return [ExportPart("decoder", step, (tokens, memory.keys, memory.values, lengths, cache),
                           ["tokens", "memory_keys", "memory_values", "encoded_lengths", "cache"],
                           ["log_probs", "frames", "new_cache"],
                           {"tokens": 0, "memory_keys": 1, "memory_values": 1, "encoded_lengths": 0, "cache": 2},
                           None, meta, {"memory_keys": {3: "frames"}, "memory_values": {3: "frames"},
                                        "cache": {4: "past"}})]

    # ------------------------------------------------------------ training and scoring

    def _teacher_forcing(self, targets: torch.Tensor, target_lengths: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, U) padded targets -> decoder inputs sos + targets (B, U + 1) and labels targets + eos
        with IGNORE after the eos (B, U + 1)."""
        batch, u_max = targets.shape[0], int(target_lengths.max()) if len(target_lengths) else 0
        targets = targets[:, :u_max]
        sos = torch.full((batch, 1), self.sos, dtype=torch.long, device=targets.device)
        inputs = torch.cat([sos, targets], dim=1)
        positions = torch.arange(u_max + 1, device=targets.device)[None, :]
        labels = torch.cat([targets, torch.full_like(sos, IGNORE)], dim=1)
        labels = torch.where(positions == target_lengths[:, None], torch.full_like(labels, self.eos), labels)
        labels = torch.where(positions > target_lengths[:, None], torch.full_like(labels, IGNORE), labels)
        # Past the end the inputs are ignored (causal attention), but must be valid ids.
        inputs = torch.where(positions > target_lengths[:, None], torch.full_like(inputs, self.eos), inputs)
        return inputs, labels

    def loss(self, h: torch.Tensor, h_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
             intermediate: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """Label-smoothed cross-entropy of every target token and the eos, summed per utterance and
        averaged over the batch (the scale of the CTC and transducer losses, for joint weights)."""
        inputs, labels = self._teacher_forcing(targets, target_lengths)
        logits = self(inputs, self.memory(h, h_lengths))  # (B, U + 1, V + 1)
        total = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE,
                                label_smoothing=self.label_smoothing, reduction="sum")
        return total / h.shape[0]

    @torch.no_grad()
    def score_sequences(self, h: torch.Tensor, h_lengths: torch.Tensor, owner: list[int],
                        sequences: list[list[int]]) -> list[list[float]]:
        """Teacher-forced log-probability of each token of each sequence, then of its eos; sequence
        i is scored against input ``owner[i]``."""
        index = torch.tensor(owner, dtype=torch.long, device=h.device)
        return self.token_log_probs(self.memory(h, h_lengths).select(index), sequences)

    @torch.no_grad()
    def token_log_probs(self, memory: Memory, sequences: list[list[int]]) -> list[list[float]]:
        """Teacher-forced log-probability of each token of each sequence, then of its eos; one
        memory row per sequence."""
        lengths = torch.tensor([len(s) for s in sequences], device=memory.mask.device)
        longest = max((len(s) for s in sequences), default=0)
        targets = torch.tensor([s + [0] * (longest - len(s)) for s in sequences], dtype=torch.long,
                               device=memory.mask.device).reshape(len(sequences), longest)
        inputs, labels = self._teacher_forcing(targets, lengths)
        log_probs = F.log_softmax(self(inputs, memory).float(), dim=-1)  # (N, U + 1, V + 1)
        picked = log_probs.gather(2, labels.clamp(min=0)[:, :, None])[:, :, 0]
        return [picked[i, : n + 1].tolist() for i, n in enumerate(lengths.tolist())]

    @torch.no_grad()
    def search(self, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
               fusion: PrefixFusion | None = None) -> list[Hypothesis]:
        """Greedy, beam or diverse beam search."""
        if options.search == "greedy":
            return greedy_search(self, h, h_lengths, options)
        return beam_search(self, h, h_lengths, options)


class AttentionStep(nn.Module):
    """``AttentionHead.step`` on flat tensors (the exported ``decoder.onnx``)."""

    def __init__(self, head: AttentionHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, tokens: torch.Tensor, memory_keys: torch.Tensor, memory_values: torch.Tensor,
                encoded_lengths: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        frames = torch.arange(memory_keys.shape[3], device=tokens.device)
        mask = (frames[None, :] < encoded_lengths[:, None])[:, None, None, :]  # (N, 1, 1, T)
        return self.head.step(tokens, Memory(memory_keys, memory_values, mask), cache)
