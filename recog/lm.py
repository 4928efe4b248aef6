"""Character n-gram language model (interpolated Kneser-Ney), which beam searches fuse
(``recog.decoding.fusion``) as NeMo and WeNet users fuse KenLM.

The model is over characters, not tokens, so one LM serves every tokenizer of a corpus (a BPE
piece "▁the" is scored as the characters " the"), and it is built from manifest texts in seconds
with no external tool. Its file is gzip-compressed JSON of the count tables.

Kneser-Ney (Chen & Goodman, "An Empirical Study of Smoothing Techniques for Language
Modeling", 1998), interpolated, one discount per order estimated as D = n1 / (n1 + 2 n2) from the
counts-of-counts: the highest order uses raw counts, lower orders the number of distinct
characters seen before the n-gram (continuation counts), and the bottom is uniform over the
characters seen in training plus one for all unseen ones.

An optional lexicon (a closed word list, as the lexicon of a Kaldi/WFST or flashlight decoder)
restricts the model to texts of lexicon words separated by single spaces: a character that would
leave the lexicon gets ``FORBIDDEN`` (a finite floor, so a beam of nothing else still ranks), and
the Kneser-Ney probabilities of the characters still allowed after a context are renormalised.
Fused into beam search, this turns a character LM into a word-constrained one without a word
n-gram: every hypothesis spells known words.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

BOS = "\x02"  # pads the context at the start of a text
EOS = "\x03"  # ends every text
FORMAT = "recog-char-ngram-v1"
FORBIDDEN = -1.0e4  # log-probability of a character that leaves the lexicon


class CharNgramLM:
    """An interpolated Kneser-Ney character n-gram model.

    Args:
        order: n (context of n - 1 characters).
        tables: per order k = 1..n, context (k - 1 characters) -> {character: count}; raw counts
            at order n, continuation counts below (see ``train``).
        lexicon: optional closed word list (words without spaces) that every text must be made of.
        discounts: the per-order discounts ``train`` estimates from the tables, where a file
            stores them (computing them again takes a second on a large model).
    """

    def __init__(self, order: int, tables: Sequence[dict[str, dict[str, int]]],
                 lexicon: Iterable[str] | None = None, discounts: Sequence[float] | None = None) -> None:
        if order < 1 or len(tables) != order:
            raise ValueError(f"an order-{order} model needs {order} count tables, got {len(tables)}")
        self.lexicon = None if lexicon is None else frozenset(lexicon)
        if self.lexicon is not None and (not self.lexicon or any(not w or " " in w or EOS in w for w in self.lexicon)):
            raise ValueError("a lexicon must be a non-empty list of words without spaces")
        self.order = order
        self.tables = [dict(t) for t in tables]
        self.vocab = sorted(self.tables[0].get("", {}))  # order 1 counts every character of every higher order
        if discounts is not None and len(discounts) != order:
            raise ValueError(f"an order-{order} model needs {order} discounts, got {len(discounts)}")
        self.discounts = [float(d) for d in discounts] if discounts is not None else [_discount(t) for t in self.tables]
        self.uniform = 1.0 / (len(self.vocab) + 1)
        # a context's total count, summed once when first asked (not for every context at load)
        self._total = lru_cache(maxsize=1 << 20)(self._context_total)
        # characters of context that decide a probability: with a lexicon, also the word being spelt
        self.context_chars = self.order - 1
        if self.lexicon is None:
            self._cached_log_prob = lru_cache(maxsize=1 << 20)(self._log_prob)
        else:
            self.context_chars = max(self.context_chars, max(len(w) for w in self.lexicon) + 1)
            self._prefixes = frozenset(w[:i] for w in self.lexicon for i in range(1, len(w) + 1))
            self._candidates = sorted({c for w in self.lexicon for c in w} | {" ", EOS})
            self._distribution = lru_cache(maxsize=1 << 18)(self._lexicon_distribution)
            self._cached_log_prob = self._lexicon_log_prob

    def log_prob(self, context: str, char: str) -> float:
        """log P(char | the last ``context_chars`` characters of ``context``) (natural log); a
        context shorter than that is the start of a text."""
        keep = self.context_chars
        return self._cached_log_prob(context[len(context) - keep:] if len(context) > keep else context, char)

    def _allowed(self, context: str, char: str) -> bool:
        """Whether ``char`` after ``context`` keeps the text inside the lexicon."""
        word = context[context.rfind(" ") + 1:]
        if char == " " or char == EOS:
            return word in self.lexicon or (char == EOS and not context)  # EOS at the start: the empty text
        return word + char in self._prefixes

    def _lexicon_distribution(self, context: str) -> dict[str, float]:
        """log P of each character allowed after ``context``, renormalised over those (none after a
        context that has already left the lexicon)."""
        allowed = {c: self._log_prob(context, c) for c in self._candidates if self._allowed(context, c)}
        if not allowed:
            return {}
        norm = math.log(sum(math.exp(v) for v in allowed.values()))
        return {c: v - norm for c, v in allowed.items()}

    def _lexicon_log_prob(self, context: str, char: str) -> float:
        return self._distribution(context).get(char, FORBIDDEN)

    @classmethod
    def train(cls, texts: Iterable[str], order: int = 6, lexicon: Iterable[str] | None = None) -> CharNgramLM:
        """Count the n-grams of ``texts`` (each padded with BOS and ended with EOS); ``lexicon``
        as in the class."""
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        top: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for text in texts:
            s = BOS * (order - 1) + text + EOS
            for i in range(order - 1, len(s)):
                top[s[i - order + 1: i]][s[i]] += 1
        tables: list[dict[str, dict[str, int]]] = [top]
        for _ in range(order - 1):  # order k from order k + 1: distinct left extensions
            lower: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for h, counts in tables[0].items():
                for w in counts:
                    lower[h[1:]][w] += 1
            tables.insert(0, lower)
        if not top:
            raise ValueError("no text to train a language model on")
        return cls(order, [{h: dict(c) for h, c in t.items()} for t in tables], lexicon)

    def _context_total(self, k: int, context: str) -> int:
        """The total count after ``context`` in the order-``k`` table (cached as ``_total``)."""
        return sum(self.tables[k - 1][context].values())

    def _log_prob(self, context: str, char: str) -> float:
        context = (BOS * (self.order - 1) + context)[len(context):]  # exactly order - 1 characters
        p = self.uniform
        for k in range(1, self.order + 1):  # from unigrams up: each order interpolates the one below
            h = context[len(context) - (k - 1):] if k > 1 else ""
            counts = self.tables[k - 1].get(h)
            if counts is None:
                continue
            total, d = self._total(k, h), self.discounts[k - 1]  # the weight: total and distinct characters
            p = max(counts.get(char, 0) - d, 0.0) / total + d * len(counts) / total * p
        return math.log(p)

    def score(self, text: str, eos: bool = True) -> float:
        """log P(text), ended with EOS if ``eos``."""
        chars = text + EOS if eos else text
        return sum(self.log_prob(text[:i], c) for i, c in enumerate(chars))

    def save(self, path: str | Path) -> None:
        """Write the model as gzip-compressed JSON."""
        with gzip.open(path, "wt", encoding="utf-8") as f:
            data = {"format": FORMAT, "order": self.order, "discounts": self.discounts, "tables": self.tables}
            if self.lexicon is not None:
                data["lexicon"] = sorted(self.lexicon)
            json.dump(data, f)

    @classmethod
    def load(cls, path: str | Path) -> CharNgramLM:
        """Read a model written by ``save``; a clear error names the file otherwise."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such language model file")
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, EOFError, ValueError, UnicodeDecodeError, zlib.error) as err:
            raise ValueError(f"{path}: not a recog language model ({type(err).__name__})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a recog language model (format {FORMAT} expected)")
        try:
            return cls(int(data["order"]), data["tables"], data.get("lexicon"), data.get("discounts"))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{path}: a damaged recog language model ({type(err).__name__}: {err})") from None


def _discount(table: dict[str, dict[str, int]]) -> float:
    """Kneser-Ney discount n1 / (n1 + 2 n2) from the table's counts-of-counts, in (0, 1)."""
    n1 = sum(1 for counts in table.values() for c in counts.values() if c == 1)
    n2 = sum(1 for counts in table.values() for c in counts.values() if c == 2)
    if n1 == 0 or n2 == 0:
        return 0.5
    return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)


def read_texts(path: str | Path) -> list[str]:
    """The texts of a plain text file for training an LM: one per non-empty line, surrounding
    whitespace stripped and inner runs of it collapsed to one space. A file that cannot be read
    as UTF-8 text raises ValueError naming it."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read the texts ({type(err).__name__})") from None
    return [" ".join(line.split()) for line in lines if line.strip()]


def read_lexicon(path: str | Path) -> set[str]:
    """The words of a word list or pronunciation lexicon: the first column of each non-empty line.
    A file that cannot be read raises ValueError naming it."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read the lexicon ({type(err).__name__})") from None
    return {line.split()[0] for line in lines if line.strip()}
