"""Words and segments from a result's tokens, and the subtitle and text formats Whisper's CLI
writes (txt, srt, vtt, tsv, json): one implementation for ``recog transcribe`` and ``recog-edge
transcribe`` (torch-free; it imports no numpy itself).

A word is the run of tokens between word boundaries (a SentencePiece piece starting with "▁", or
a space token of a character tokenizer). It starts where its first token was emitted (the CTC
alignment's frame, the transducer's emission frame, converted to seconds) and ends where the next
word (or the space after it) starts; the last word ends one encoder frame after its last token.
Segments are runs of words split at pauses and at a length limit, as subtitles need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recog_edge.files import write_text_atomic

SPACE = "\u2581"  # SentencePiece's word-boundary mark
FORMATS = ("txt", "srt", "vtt", "tsv", "json")


@dataclass
class Word:
    """One word: its text, start and end (seconds for speech), and the mean confidence of its tokens."""

    text: str
    start: float
    end: float
    confidence: float


@dataclass
class Segment:
    """A run of words (a subtitle): start and end, text, and the words."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


def words_of(pieces: Sequence[str], starts: Sequence[float], confidences: Sequence[float], step: float
             ) -> list[Word]:
    """Words of a hypothesis: its token ``pieces`` (the tokenizer's), their ``starts`` and
    ``confidences``; ``step``: one encoder frame in the starts' unit (the last word's end)."""
    words: list[Word] = []
    text, first, probs = "", 0.0, []

    def close(end: float) -> None:
        nonlocal text, probs
        if text:
            words.append(Word(text, first, round(max(end, first), 3), round(sum(probs) / len(probs), 4)))
        text, probs = "", []

    for piece, start, confidence in zip(pieces, starts, confidences, strict=True):
        new_word = piece.startswith((SPACE, " "))
        piece = piece.replace(SPACE, " ")
        if new_word:
            close(start)
        body = piece.strip()
        if body:
            if not text:
                first = start
            text += body
            probs.append(confidence)
    close(starts[-1] + step if starts else 0.0)
    return words


def add_piece(words: list[Word], breaks: dict[int, float], piece: Sequence[Word], onset: float) -> None:
    """Append the ``piece`` words of one piece of a long recording (cut at a pause,
    ``recog_edge.vad``) to ``words``, and its ``onset`` (where its speech starts, in the file's
    seconds) to ``breaks`` at its first word: its segment starts there. Its words keep the model's
    times, but none starts before that speech (a model may emit in the silence kept before it)."""
    if not piece:
        return
    first = piece[0]
    first.start = max(first.start, onset)
    first.end = max(first.end, first.start)
    breaks[len(words)] = onset
    words.extend(piece)


def segments_of(words: Sequence[Word], max_gap: float = 0.8, max_seconds: float = 8.0, max_chars: int = 84,
                breaks: Mapping[int, float] | None = None) -> list[Segment]:
    """Words grouped into segments: a new one after a pause of ``max_gap`` seconds between words,
    at each word index in ``breaks`` (pauses a voice-activity cut found; the segment starts at the
    time given, where the speech starts, unless its first word starts earlier), or before a
    segment would pass ``max_seconds`` or ``max_chars`` characters."""
    breaks = breaks or {}
    segments: list[Segment] = []
    for index, word in enumerate(words):
        current = segments[-1] if segments else None
        if (current is None or index in breaks or word.start - current.end > max_gap
                or word.end - current.start > max_seconds or len(current.text) + 1 + len(word.text) > max_chars):
            segments.append(Segment(min(word.start, breaks.get(index, word.start)), word.end, word.text, [word]))
        else:
            current.words.append(word)
            current.end, current.text = word.end, f"{current.text} {word.text}"
    return segments


def _clock(seconds: float, separator: str) -> str:
    millis = int(round(max(seconds, 0.0) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render(fmt: str, segments: Sequence[Segment], text: str, row: dict[str, Any] | None = None) -> str:
    """One input's result in format ``fmt`` (one of FORMATS): plain text, SubRip, WebVTT, TSV
    (start and end in integer milliseconds, as Whisper writes it), or the JSON row with its segments."""
    if fmt == "txt":
        return "".join(f"{s.text}\n" for s in segments) if segments else (f"{text}\n" if text else "")
    if fmt == "srt":
        return "\n".join(f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n"
                         for i, s in enumerate(segments, start=1))
    if fmt == "vtt":
        return "WEBVTT\n\n" + "\n".join(f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n"
                                        for s in segments)
    if fmt == "tsv":
        return "start\tend\ttext\n" + "".join(
            f"{int(round(s.start * 1000))}\t{int(round(s.end * 1000))}\t{s.text}\n" for s in segments)
    if fmt == "json":
        return json.dumps({**(row or {"text": text}), "segments": [asdict(s) for s in segments]},
                          ensure_ascii=False) + "\n"
    raise ValueError(f"format must be one of {FORMATS} or 'all', got {fmt!r}")


def unique_stem(path: str, offset: float | None, names: set[str]) -> str:
    """The file name stem of an input's output files: the stem of its ``path`` (and ``@offset``
    for a manifest segment), with -2, -3, ... where ``names`` holds it already; added to ``names``."""
    stem = Path(path).stem + (f"@{offset:g}" if offset is not None else "")
    name, n = stem, 1
    while name in names:
        n += 1
        name = f"{stem}-{n}"
    names.add(name)
    return name


def write_formats(formats: Sequence[str], segments: Sequence[Segment], text: str, row: dict[str, Any], name: str,
                  output_dir: str | Path | None) -> None:
    """One input's result (its ``segments``, ``text`` and JSON ``row``) in each of ``formats``:
    files ``<output_dir>/<name>.<format>``, or printed where there is no ``output_dir``."""
    for fmt in formats:
        content = render(fmt, segments, text, row)
        if output_dir is None:
            print(content, end="", flush=True)
        else:
            write_text_atomic(Path(output_dir) / f"{name}.{fmt}", content)
