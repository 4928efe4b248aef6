"""Shallow fusion: a score for every token prefix, added where beam searches rank hypotheses.

``LMFusion`` (a character n-gram) and the ``PrefixFusion`` protocol live in ``recog_edge.fusion``,
shared with the edge runtime; ``lm_fusion`` builds one over a recog tokenizer's pieces, and
``recog.decoding.internal_lm.InternalLMFusion`` fuses a hybrid model's own prediction network.
"""

from __future__ import annotations

from collections.abc import Sequence

from recog.text import BLANK, UNK
from recog_edge.fusion import LMFusion, PrefixFusion, cached_start
from recog_edge.lm import CharNgramLM

__all__ = ["LMFusion", "PrefixFusion", "cached_start", "lm_fusion"]


def lm_fusion(lm: CharNgramLM, pieces: Sequence[str], weight: float, bonus: float) -> LMFusion:
    """Shallow fusion of ``lm`` over a tokenizer's pieces (id order); blank and unknown carry no text."""
    return LMFusion(lm, ["" if piece in (BLANK, UNK) else piece for piece in pieces], weight, bonus)
