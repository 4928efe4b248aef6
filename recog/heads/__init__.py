"""The head registry: config names -> classes. Every head follows ``recog.heads.base.Head``, so a
new head is one module and one line here; the Recognizer, streaming and export ask it what it can
do."""

from recog.heads.attention import AttentionHead
from recog.heads.base import Head
from recog.heads.cassnat import CASSNATHead
from recog.heads.ctc import CTCHead
from recog.heads.guidance import SemanticGuidanceHead
from recog.heads.parallel import ParallelHead
from recog.heads.transducer import TransducerHead

HEADS: dict[str, type[Head]] = {
    "ctc": CTCHead,
    "rnnt": TransducerHead,
    "parallel": ParallelHead,
    "sgm": SemanticGuidanceHead,
    "attention": AttentionHead,
    "cassnat": CASSNATHead,
}


def build_head(name: str, d_model: int, vocab_size: int, **config: object) -> Head:
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; choose from {sorted(HEADS)}")
    return HEADS[name](d_model=d_model, vocab_size=vocab_size, **config)
