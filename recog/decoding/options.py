"""How to search: one frozen ``DecodingOptions``, checked once where it is made.

Its fields are the ``recog transcribe`` flags of the same names; every search (``recog.decoding``)
and every head's ``decode`` take it whole.
"""

from __future__ import annotations

from dataclasses import dataclass

SEARCHES = ("greedy", "beam", "diverse", "rescore", "joint")
RESCORING = ("rescore", "joint")  # searches that combine an aligning head (CTC) and a scoring head (attention)


@dataclass(frozen=True)
class DecodingOptions:
    """How to search.

    Args:
        search: "greedy"; "beam"; "diverse" (diverse beam search); "rescore" (CTC prefix beam
            search, its n-best rescored by the attention decoder); "joint" (the CTC prefix beam search
            n-best and the attention beam search n-best pooled, each hypothesis ranked by its
            attention log-prob + ctc_weight * its CTC log-likelihood). None: "beam" if beam > 1,
            else "greedy".
        beam: beam width, all groups together. None: 1 for greedy search, 4 otherwise.
        groups: diverse beam search groups; the beam splits evenly into them. None: 2 for diverse
            beam search, 1 otherwise.
        diversity: Hamming diversity penalty (lambda): a token already chosen at this step by an
            earlier group costs this much log-probability per choice.
        nbest: hypotheses kept in ``Hypothesis.nbest`` (at most the beam); 1 keeps none.
        length_penalty: beams rank by score / (tokens + 1) ** length_penalty; 0 ranks by score.
        ctc_weight: rescoring and joint rescoring rank by attention log-prob + ctc_weight * CTC
            log-prob.
        lm_weight, lm_bonus: shallow fusion of a language model into CTC prefix beam search or
            transducer beam search (where the model has one, see ``recog.lm``): weight of its
            log-probability, and a bonus per token. None: the setting tuned for the LM (its
            ``.fusion.json``), else 0.5 and 1.0 (``recog_edge.fusion.fusion_weights``).
        ilm_weight, ilm_bonus: shallow fusion of the model's own RNN-T prediction network, as an
            internal LM (``recog.decoding.internal_lm``), into the CTC head's prefix beam search in a
            hybrid CTC/RNN-T model; weight 0 leaves it out.
        ilme_weight: with a language model fused into a transducer head's beam search, subtract
            this weight times the head's own internal LM (its prediction network, as
            ``ilm_weight`` reads it), which learnt the training transcripts' language: internal LM
            estimation (Meng et al. 2021), so the external LM takes its place rather than adding to
            it. None: the setting tuned for the LM (its ``.fusion.json``), else 0.
        max_len: longest attention output in tokens; None: the input's number of encoder frames.
    """

    search: str | None = None
    beam: int | None = None
    groups: int | None = None
    diversity: float = 0.5
    nbest: int = 1
    length_penalty: float = 1.0
    ctc_weight: float = 0.3
    lm_weight: float | None = None
    lm_bonus: float | None = None
    ilm_weight: float = 0.0
    ilm_bonus: float = 1.0
    ilme_weight: float | None = None
    max_len: int | None = None

    def __post_init__(self) -> None:
        search = self.search or ("beam" if (self.beam or 1) > 1 else "greedy")
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {search!r}")
        beam = self.beam if self.beam is not None else (1 if search == "greedy" else 4)
        groups = self.groups if self.groups is not None else (2 if search == "diverse" else 1)
        if beam < 1 or groups < 1 or self.nbest < 1:
            raise ValueError("beam, groups and nbest must be at least 1")
        if search == "greedy" and beam > 1:
            raise ValueError(f"greedy search has no beam (got beam {beam}); use search 'beam'")
        if groups > 1 and search != "diverse":
            raise ValueError(f"groups ({groups}) are for diverse beam search, not {search!r}")
        if beam % groups:
            raise ValueError(f"the beam ({beam}) must split evenly into {groups} groups")
        if self.nbest > beam:
            raise ValueError(f"an n-best list of {self.nbest} needs a beam of at least {self.nbest} (got {beam})")
        if self.ilm_weight < 0 or (self.ilme_weight is not None and not self.ilme_weight >= 0):
            raise ValueError(f"ilm_weight and ilme_weight must be non-negative, got {self.ilm_weight}, "
                             f"{self.ilme_weight}")
        if self.max_len is not None and self.max_len < 0:
            raise ValueError("max_len must be non-negative")
        object.__setattr__(self, "search", search)  # frozen: fill the resolved defaults in once
        object.__setattr__(self, "beam", beam)
        object.__setattr__(self, "groups", groups)
