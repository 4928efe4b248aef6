"""Error rates (jiwer) and real-time factors."""

from __future__ import annotations

from collections.abc import Sequence

import jiwer
import numpy as np

_NORMALISE = jiwer.Compose([
    jiwer.ToLowerCase(),
    jiwer.SubstituteRegexes({r"[\u2018\u2019\u02bc]": "'", r"(?<=\w)-(?=\w)": " "}),  # curly apostrophes; hyphens
    jiwer.RemovePunctuation(),
    jiwer.RemoveMultipleSpaces(),
    jiwer.Strip(),
])


def normalise(text: str) -> str:
    """The text as ``recog eval --normalise`` compares it: lower-case, curly apostrophes made
    straight, hyphens between words made spaces, punctuation (Unicode P* characters, apostrophes
    included) removed, whitespace collapsed. Built on jiwer's transforms; numbers and spellings are
    left as they are (unlike Whisper's English normaliser, which also rewrites them)."""
    return _NORMALISE(text)


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: word edits / reference words (an empty hypothesis counts as all deletions)."""
    return float(jiwer.wer(list(references), list(hypotheses)))


def char_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus CER: character edits / reference characters."""
    return float(jiwer.cer(list(references), list(hypotheses)))


def char_edits(reference: str, hypothesis: str) -> int:
    """Character edits between two texts (an empty reference: the hypothesis's length)."""
    if not reference:
        return len(hypothesis)
    counts = jiwer.process_characters(reference, hypothesis)
    return counts.substitutions + counts.deletions + counts.insertions


def word_edits(reference: str, hypothesis: str) -> int:
    """Word edits between two texts (an empty reference: the hypothesis's word count)."""
    if not reference.split():
        return len(hypothesis.split())
    counts = jiwer.process_words(reference, hypothesis)
    return counts.substitutions + counts.deletions + counts.insertions


def edits_per_input(references: Sequence[str], hypotheses: Sequence[str], unit: str) -> list[int]:
    """Each input's edits, ``unit`` "word" (:func:`word_edits`) or "char" (:func:`char_edits`): the
    lists :func:`paired_bootstrap` compares."""
    edits = {"word": word_edits, "char": char_edits}[unit]
    return [edits(r, h) for r, h in zip(references, hypotheses, strict=True)]


def paired_bootstrap(edits_a: Sequence[int], edits_b: Sequence[int], resamples: int = 2000, seed: int = 0) -> float:
    """Share of bootstrap resamples of the inputs (drawn with replacement, the same draw for both
    systems) in which system A makes fewer edits in all than system B (Koehn 2004's paired
    bootstrap): near 1 where A's lead over B holds whichever inputs were drawn, near 0.5 where it
    is noise. ``edits_a[i]`` and ``edits_b[i]`` are the two systems' edits on input ``i``."""
    a, b = np.asarray(edits_a, dtype=np.int64), np.asarray(edits_b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"need two equal, non-empty lists of edits, got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    diff = a - b
    wins = 0
    for start in range(0, resamples, 500):  # 500 resamples at a time: (500, n) indices
        draws = rng.integers(0, len(diff), size=(min(500, resamples - start), len(diff)))
        wins += int((diff[draws].sum(axis=1) < 0).sum())
    return wins / resamples


def exact_match_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Share of lines read exactly right."""
    return sum(r == h for r, h in zip(references, hypotheses, strict=True)) / max(len(references), 1)


def inverse_real_time_factor(audio_seconds: float, processing_seconds: float) -> float:
    """RTFx: seconds of audio processed per second of compute (higher is faster)."""
    return audio_seconds / max(processing_seconds, 1e-9)
