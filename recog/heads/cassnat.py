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

Error-based sampling: with ``beam`` N, N candidate alignments (the greedy one and alternatives at
its least certain frames) are decoded together and the best kept (``search``); they are the n-best.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from recog.decoding.ctc import ctc_forced_align
from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis, rank
from recog.decoding.options import DecodingOptions
from recog.heads.base import ExportPart, Head
from recog.positions import sinusoids
from recog_edge.search import path_segments  # one implementation, shared with the edge runtime


def trigger_mask(last: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, U) last frame of each token (-1: no token) -> (B, U, T) True where token u may NOT look:
    outside (previous token's last frame, its own last frame]."""
    previous = F.pad(last[:, :-1], (1, 0), value=-1)  # (B, U)
    t = torch.arange(frames, device=last.device)[None, None, :]
    inside = (t > previous[:, :, None]) & (t <= last[:, :, None])
    return ~inside | (last[:, :, None] < 0)


def candidate_paths(log_probs: torch.Tensor, count: int) -> list[list[int]]:
    """Error-based sampling, made deterministic: the greedy CTC path of one input's (T, V)
    log-probabilities, then ``count - 1`` paths that each change one of its least certain frames
    (smallest margin between the two best ids) to that frame's second-best id."""
    top2_lp, top2 = log_probs.topk(min(2, log_probs.shape[1]), dim=-1)  # (T, 2)
    greedy = top2[:, 0].tolist()
    paths = [greedy]
    if top2.shape[1] > 1 and count > 1:
        margins = (top2_lp[:, 0] - top2_lp[:, 1]).tolist()
        for t in sorted(range(len(greedy)), key=margins.__getitem__)[: count - 1]:
            path = list(greedy)
            path[t] = int(top2[t, 1])
            paths.append(path)
    return paths


def padded(rows: list[list[int]]) -> torch.Tensor:
    """Rows of frame indices -> (N, U) padded with -1."""
    u_max = max((len(r) for r in rows), default=0)
    return torch.tensor([r + [-1] * (u_max - len(r)) for r in rows], dtype=torch.long).reshape(len(rows), u_max)


class CASSNATHead(Head):
    """CASS-NAT on any (B, T, D) encoder output.

    Args:
        layers: self-attention decoder layers over the token embeddings; mixed_layers: layers that
            also attend to the encoder frames. heads: attention heads. ctc_weight: weight of the
            head's own CTC loss (its alignments come from it).
    """

    searches = ("greedy", "beam")  # beam N: N candidate alignments (error-based sampling), the best kept

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

    def token_log_probs(self, h: torch.Tensor, h_lengths: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """``token_logits`` as log-probabilities with the blank ruled out (it is never a token): (B, U, V)."""
        logits = self.token_logits(h, h_lengths, last).float()
        logits[..., 0] = float("-inf")
        return F.log_softmax(logits, dim=-1)

    def graph_outputs(self, h: torch.Tensor, h_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """The offline graph carries the head's CTC log-probs (B, T, V): the runtime takes the greedy
        path's segments from them, outside the graph (they depend on the data)."""
        return {"ctc_log_probs": self.ctc_log_probs(h)}

    def export_parts(self) -> list[ExportPart]:
        """``cassnat.onnx``: encoder frames (N, T, D), lengths (N,) and each token's last frame
        (N, U; -1 pads) -> every token's log-probs (N, U, V) in one pass."""
        generator = torch.Generator().manual_seed(0)
        h = torch.randn(3, 12, self.ctc.in_features, generator=generator)
        lengths = torch.tensor([12, 7, 3])
        last = torch.tensor([[1, 4, 8, 11], [2, 6, -1, -1], [2, -1, -1, -1]])
        return [ExportPart("cassnat", CASSNATDecoder(self).eval(), (h, lengths, last),
                           ["encoded", "encoded_lengths", "last_frames"], ["log_probs"],
                           {"encoded": 0, "encoded_lengths": 0, "last_frames": 0}, None, {},
                           {"encoded": {1: "frames"}, "last_frames": {1: "tokens"}})]

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
        """All tokens in one pass from the segments of a CTC alignment: the greedy one, or with
        ``beam`` N the greedy one and N - 1 alternatives at its least certain frames
        (``candidate_paths``), all decoded as one batch, the best by decoder log-probability plus
        the alignment's CTC log-probability; the others make the n-best."""
        log_probs = self.ctc_log_probs(h)  # (B, T, V)
        owners, paths = [], []
        for b, n in enumerate(h_lengths.tolist()):
            for path in candidate_paths(log_probs[b, : int(n)], options.beam):
                owners.append(b)
                paths.append(path)
        segments = [path_segments(path) for path in paths]
        index = torch.tensor(owners, dtype=torch.long, device=h.device)
        token_lp = self.token_log_probs(h[index], h_lengths[index], padded([s[2] for s in segments]))  # (N, U, V)
        pools: list[list[Hypothesis]] = [[] for _ in range(h.shape[0])]
        for i, ((ids, first, _), path) in enumerate(zip(segments, paths, strict=True)):
            b = owners[i]
            best_lp, best = token_lp[i, : len(ids)].max(dim=-1)
            decoder_score = float(best_lp.sum())
            alignment_score = float(log_probs[b, torch.arange(len(path)), torch.tensor(path, dtype=torch.long)].sum())
            pools[b].append(Hypothesis(tokens=[int(t) for t in best.tolist()], score=decoder_score + alignment_score,
                                       confidence=math.exp(decoder_score / max(len(ids), 1)), timestamps=list(first),
                                       token_confidences=best_lp.exp().tolist()))
        return [rank(pool, lambda hyp: hyp.score, options.nbest if options.beam > 1 else 1) for pool in pools]


class CASSNATDecoder(nn.Module):
    """``CASSNATHead.token_log_probs`` as a module (the exported ``cassnat.onnx``)."""

    def __init__(self, head: CASSNATHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, encoded: torch.Tensor, encoded_lengths: torch.Tensor, last_frames: torch.Tensor) -> torch.Tensor:
        return self.head.token_log_probs(encoded, encoded_lengths, last_frames)
