"""Rescoring with two heads: WeNet's attention rescoring (an aligning head's beam search n-best,
reranked by a scoring head) and joint rescoring (that n-best and the scoring head's own beam
search n-best pooled, each hypothesis ranked by both heads). The aligning head is the CTC head,
the scoring head the attention decoder (``recog.heads.base.Head``: ``aligns`` / ``scores``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from recog.decoding.fusion import PrefixFusion
from recog.decoding.hypothesis import Hypothesis, rank
from recog.decoding.options import DecodingOptions


@torch.no_grad()
def rescore(aligner: object, scorer: object, h: torch.Tensor, h_lengths: torch.Tensor, options: DecodingOptions,
            fusion: PrefixFusion | None = None) -> list[Hypothesis]:
    """``options.search`` "rescore": the aligner's n-best (``fusion`` fused into its beam search),
    reranked by scorer log-prob + ctc_weight * its own score. "joint": that n-best and the
    scorer's beam search n-best pooled, each ranked by scorer log-prob + ctc_weight * the
    aligner's log-likelihood of it."""
    candidates = aligner.nbest(h, h_lengths, options, fusion)
    if options.search == "rescore":
        return rerank(scorer, h, h_lengths, candidates, options)
    beams = scorer.decode(h, h_lengths, replace(options, search="beam", groups=1, nbest=options.beam))
    pooled = []
    for nbest, beam in zip(candidates, beams, strict=True):
        unique = {tuple(hyp.tokens): hyp for hyp in [*(beam.nbest or [beam]), *nbest]}
        pooled.append(list(unique.values()))  # an aligner hypothesis keeps its timestamps
    owner = [b for b, hyps in enumerate(pooled) for _ in hyps]
    aligner_scores = aligner.log_likelihood(h, h_lengths, owner, [hyp.tokens for hyps in pooled for hyp in hyps])
    return rerank(scorer, h, h_lengths, pooled, options, aligner_scores)


def rerank(scorer: object, h: torch.Tensor, h_lengths: torch.Tensor, candidates: list[list[Hypothesis]],
           options: DecodingOptions, aligner_scores: list[float] | None = None) -> list[Hypothesis]:
    """Score each input's ``candidates`` with the scoring head in one teacher-forced batch and keep
    the best by its log-prob + ctc_weight * the candidate's score (``aligner_scores``, one per
    candidate in order, replace the candidates' own scores; -inf where a sequence cannot be aligned).

    A result keeps its aligner timestamps; its token confidences and confidence are the scorer's.
    """
    owner = [b for b, hyps in enumerate(candidates) for _ in hyps]
    token_lps = iter(scorer.score_sequences(h, h_lengths, owner, [hyp.tokens for hyps in candidates for hyp in hyps]))
    scores = iter(aligner_scores if aligner_scores is not None else [hyp.score for hyps in candidates for hyp in hyps])
    results = []
    for hyps in candidates:
        rescored = []
        for hyp in hyps:
            lps = next(token_lps)  # the tokens', then the end's
            scorer_score, aligner_score = sum(lps), next(scores)
            weighted = options.ctc_weight * aligner_score if options.ctc_weight else 0.0  # never 0 * -inf
            rescored.append(Hypothesis(
                tokens=list(hyp.tokens), score=scorer_score + weighted,
                confidence=math.exp(scorer_score / len(lps)), timestamps=list(hyp.timestamps),
                token_confidences=[math.exp(lp) for lp in lps[:-1]]))
        results.append(rank(rescored, lambda hyp: hyp.score, options.nbest))
    return results
