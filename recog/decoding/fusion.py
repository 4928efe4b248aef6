"""Shallow fusion: a score for every token prefix, added where beam searches rank hypotheses.

``LMFusion`` (a character n-gram over a tokenizer's pieces) and the ``PrefixFusion`` protocol live
in ``recog_edge.fusion``, shared with the edge runtime;
``recog.decoding.internal_lm.InternalLMFusion`` fuses a hybrid model's own prediction network.
"""

from __future__ import annotations

from recog_edge.fusion import FusionSum, LMFusion, NextTokenFusion, PrefixFusion, cached_start, ilme_weight

__all__ = ["FusionSum", "LMFusion", "NextTokenFusion", "PrefixFusion", "cached_start", "ilme_weight"]
