"""Shallow fusion: a score for every token prefix, added where beam searches rank hypotheses.

``LMFusion`` fuses a character n-gram (``recog_edge.lm.CharNgramLM``) into CTC prefix beam search
(``recog_edge.search.prefix_beam_search``) and recog's transducer beam search;
``recog.decoding.internal_lm.InternalLMFusion`` fuses a hybrid model's own prediction network.
Both follow ``PrefixFusion``. numpy-free: recog and the edge runtime share it.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from typing import Protocol

from recog_edge.lm import ANY_HEAD, EOS, CharNgramLM

# fusing a character LM, unless told otherwise (recog's DecodingOptions and CLIs, recog-edge's)
# and unless the LM carries a tuned setting (``fusion_weights``):
LM_BEAM = 8  # the prefix beam width
LM_WEIGHT = 0.5  # the LM log-probability's weight
LM_BONUS = 1.0  # the bonus per token
LM_WEIGHT_HELP = (f"with --lm: its weight (default: the setting tuned for it and the head, its .fusion.json, "
                  f"else {LM_WEIGHT})")
LM_BONUS_HELP = (f"with --lm: a bonus per token (default: the setting tuned for it and the head, its .fusion.json, "
                 f"else {LM_BONUS})")
ILME_WEIGHT_HELP = ("with --lm on a transducer head: subtract this weight times the model's internal LM (its "
                    "prediction network), whose place the LM takes (internal LM estimation; default: the setting "
                    "tuned for the LM and the head, its .fusion.json, else 0)")
ILME_WITHOUT_LM = "--ilme-weight goes with --lm (it subtracts the transducer's internal LM where an LM is fused)"
SILENT_PIECES = ("<blank>", "<unk>")  # the pieces of every recog vocabulary that carry no text (ids 0 and 1)


def cached_start(prefix: tuple[int, ...], cache: Container[tuple[int, ...]]) -> int:
    """Length of the longest start of ``prefix`` (itself included) that ``cache`` holds, -1 if
    none: where a prefix-cached scorer resumes (beams share parents, so usually at the parent)."""
    known = len(prefix)
    while known >= 0 and prefix[:known] not in cache:
        known -= 1
    return known


class PrefixFusion(Protocol):
    """What beam searches fuse: a score for each token prefix (``LMFusion`` for a character
    n-gram, ``recog.decoding.internal_lm.InternalLMFusion`` for a hybrid's own predictor)."""

    def prefix_score(self, prefix: tuple[int, ...]) -> float:
        """Score of an unfinished prefix."""

    def final_score(self, prefix: tuple[int, ...]) -> float:
        """Score of a prefix that ends the output."""

    def prepare(self, prefixes: Iterable[tuple[int, ...]]) -> None:
        """The search's beams after a frame: their extensions are scored next (a neural LM
        runs their steps as one batch here)."""


def tuned_setting(lm: CharNgramLM, head: str) -> dict[str, float]:
    """The fusion setting tuned for ``lm`` in the search of ``head`` ({"weight", "bonus"[,
    "ilme_weight"]}; ``CharNgramLM.fusion_settings``): the head's own, else one for every head,
    else none ({}): a pair tuned for a transducer's search is not used for a CTC search."""
    settings = lm.fusion_settings or {}
    return settings.get(head, settings.get(ANY_HEAD, {}))


def fusion_weights(lm: CharNgramLM, head: str, weight: float | None = None,
                   bonus: float | None = None) -> tuple[float, float]:
    """The (weight, bonus) to fuse ``lm`` into the search of ``head`` with: each given one, else the
    setting tuned for it (``tuned_setting``), else ``LM_WEIGHT`` / ``LM_BONUS``."""
    tuned = tuned_setting(lm, head)
    return (tuned.get("weight", LM_WEIGHT) if weight is None else weight,
            tuned.get("bonus", LM_BONUS) if bonus is None else bonus)


def ilme_weight(lm: CharNgramLM, head: str, weight: float | None = None) -> float:
    """The weight of a transducer's internal LM to subtract where ``lm`` is fused into the search of
    ``head``: ``weight`` where given, else the setting tuned for them (``tuned_setting``'s
    ``ilme_weight``), else 0."""
    if weight is None:
        weight = tuned_setting(lm, head).get("ilme_weight", 0.0)
    if not weight >= 0:
        raise ValueError(f"ilme_weight must be non-negative, got {weight}")
    return weight


class NextTokenFusion:
    """Shallow fusion of a model that gives next-token log-probabilities: a prefix scores, token by
    token, ``weight * log P(token | the tokens before) + bonus``, with no end-of-text term. The
    prefix scores are cached here; a subclass gives ``_next_log_probs`` (cached as it likes) and
    starts ``_scores`` over with its own cache. The internal LM of a transducer is one, in recog
    (``recog.decoding.internal_lm.InternalLMFusion``) and in the edge runtime
    (``recog_edge.search.TransducerInternalLM``)."""

    def __init__(self, weight: float, bonus: float) -> None:
        self.weight, self.bonus = weight, bonus
        self._scores: dict[tuple[int, ...], float] = {(): 0.0}  # prefix -> fusion score

    def _next_log_probs(self, prefix: tuple[int, ...]) -> Sequence[float]:
        """(V,) log P(next token | prefix)."""
        raise NotImplementedError

    def prefix_score(self, prefix: tuple[int, ...]) -> float:
        """Fusion score of an unfinished prefix, built on its longest cached start."""
        known = cached_start(prefix, self._scores)  # always holds ()
        score = self._scores[prefix[:known]]
        for end in range(known + 1, len(prefix) + 1):
            score += self.weight * float(self._next_log_probs(prefix[: end - 1])[prefix[end - 1]]) + self.bonus
            self._scores[prefix[:end]] = score
        return score

    def final_score(self, prefix: tuple[int, ...]) -> float:
        """Fusion score of a finished prefix: as unfinished (no end-of-text token)."""
        return self.prefix_score(prefix)

    def prepare(self, prefixes: Iterable[tuple[int, ...]]) -> None:
        """Nothing ahead of time unless a subclass batches its steps."""


class FusionSum:
    """Fusions added together: a prefix scores the sum of their scores (an LM, less a
    transducer's internal LM)."""

    def __init__(self, *parts: PrefixFusion) -> None:
        self.parts = parts

    def prefix_score(self, prefix: tuple[int, ...]) -> float:
        return sum(part.prefix_score(prefix) for part in self.parts)

    def final_score(self, prefix: tuple[int, ...]) -> float:
        return sum(part.final_score(prefix) for part in self.parts)

    def prepare(self, prefixes: Iterable[tuple[int, ...]]) -> None:
        prefixes = list(prefixes)
        for part in self.parts:
            part.prepare(prefixes)


class LMFusion:
    """Shallow fusion for CTC prefix beam search and transducer beam search: a token prefix scores
    ``weight * log P_LM(its text) + bonus * len(prefix)`` on top of its CTC (or transducer)
    log-probability.

    Args:
        lm: the character model.
        pieces: text of each token id (the tokenizer's ``id_to_piece``; "▁" is a space; blank and
            unknown, ``SILENT_PIECES``, carry no text).
        weight: LM weight (alpha); bonus: per-token insertion bonus (beta), which offsets the LM's
            pull towards shorter outputs. None: the LM's setting tuned for ``head``, else the
            defaults (``fusion_weights``).
        head: the head whose search it fuses into ("ctc", "rnnt"), whose tuned setting it takes.
    """

    CACHE_TOKENS = 4_000_000  # the prefix cache starts over beyond this many key tokens (tens of MB)

    def __init__(self, lm: CharNgramLM, pieces: Sequence[str], weight: float | None = None,
                 bonus: float | None = None, *, head: str) -> None:
        self.lm = lm
        self.weight, self.bonus = fusion_weights(lm, head, weight, bonus)
        self.pieces = ["" if p in SILENT_PIECES else p.replace("\u2581", " ") for p in pieces]
        self.keep = max(lm.context_chars, 1)
        self._cache: dict[tuple[int, ...], tuple[str, float]] = {(): ("", 0.0)}  # prefix -> (text tail, score)
        self._cached_tokens = 0  # summed key lengths: a long stream's prefixes are long

    def _state(self, prefix: tuple[int, ...]) -> tuple[str, float]:
        """(the end of its text, fusion score) of a prefix, built on its longest cached ancestor (beams share
        parents, so usually its parent); iterative, so any length works."""
        cache = self._cache  # one read: another thread may start the cache over meanwhile
        known = cached_start(prefix, cache)  # the cache always holds ()
        text, score = cache[prefix[:known]]
        for end in range(known + 1, len(prefix) + 1):
            piece = self.pieces[prefix[end - 1]]
            if not text:
                piece = piece.lstrip(" ")
            for c in piece:
                score += self.weight * self.lm.log_prob(text, c)
                text = (text + c)[-self.keep:]  # the LM reads only the last context_chars characters
            score += self.bonus
            if self._cached_tokens > self.CACHE_TOKENS:  # a long search: start over (the LM's own cache stays)
                self._cache, self._cached_tokens = {(): ("", 0.0)}, 0
            self._cache[prefix[:end]] = (text, score)
            self._cached_tokens += end
        return text, score

    def prefix_score(self, prefix: tuple[int, ...]) -> float:
        """Fusion score of an unfinished prefix."""
        return self._state(prefix)[1]

    def prepare(self, prefixes: Iterable[tuple[int, ...]]) -> None:
        """Nothing to prepare: the n-gram scores each character as it is asked."""

    def final_score(self, prefix: tuple[int, ...]) -> float:
        """Fusion score of a finished prefix: its text must also end here (EOS)."""
        text, score = self._state(prefix)
        return score + self.weight * self.lm.log_prob(text, EOS)
