"""Heads: ``loss(h, h_lengths, targets, target_lengths)`` and ``decode(h, h_lengths, **options)``,
built by name from config; each takes any (B, T, D) encoder output."""

from torch import nn

from recog.heads.attention import AttentionHead
from recog.heads.ctc import CTCHead
from recog.heads.guidance import SemanticGuidanceHead
from recog.heads.parallel import ParallelHead
from recog.heads.transducer import TransducerHead

HEADS: dict[str, type[nn.Module]] = {
    "ctc": CTCHead,
    "rnnt": TransducerHead,
    "parallel": ParallelHead,
    "sgm": SemanticGuidanceHead,
    "attention": AttentionHead,
}


def build_head(name: str, d_model: int, vocab_size: int, **config: object) -> nn.Module:
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; choose from {sorted(HEADS)}")
    return HEADS[name](d_model=d_model, vocab_size=vocab_size, **config)
