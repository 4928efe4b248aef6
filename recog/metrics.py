"""Error rates (jiwer) and real-time factors."""

from __future__ import annotations

from collections.abc import Sequence

import jiwer

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


def exact_match_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Share of lines read exactly right."""
    return sum(r == h for r, h in zip(references, hypotheses, strict=True)) / max(len(references), 1)


def inverse_real_time_factor(audio_seconds: float, processing_seconds: float) -> float:
    """RTFx: seconds of audio processed per second of compute (higher is faster)."""
    return audio_seconds / max(processing_seconds, 1e-9)
