"""Character n-gram language model (interpolated Kneser-Ney), which beam searches fuse
(``recog.decoding.fusion``) as NeMo and WeNet users fuse KenLM.

The model is over characters, not tokens, so one LM serves every tokenizer of a corpus (a BPE
piece "▁the" is scored as the characters " the"), and it is built from manifest texts in seconds
with no external tool. Its file (``.npz``, no pickle) holds the count tables as packed arrays that
load in a fraction of a second; the gzip-compressed JSON of the first format is still read.

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

A file may have its fusion settings beside it: ``lm.npz`` -> ``lm.fusion.json``, the weight and
bonus tuned on a dev set for each head they fuse into (``tools/lm_tune.py --write``: a CTC prefix
search and a transducer's beam search want different ones), which searches use where they are not
given others (``recog_edge.fusion.fusion_weights``).
"""

from __future__ import annotations

import gzip
import json
import math
import zipfile
import zlib
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from recog_edge.files import write_text_atomic

BOS = "\x02"  # pads the context at the start of a text
EOS = "\x03"  # ends every text
FORMAT = "recog-char-ngram-v2"  # .npz of packed tables
FORMAT_V1 = "recog-char-ngram-v1"  # gzip JSON of dict tables, still read
FORBIDDEN = -1.0e4  # log-probability of a character that leaves the lexicon
FUSION_SUFFIX = ".fusion.json"  # the tuned fusion setting beside an LM file (lm.npz -> lm.fusion.json)
ANY_HEAD = "*"  # the key of a setting for every head: a file of one setting, not one per head


class LanguageModelFileError(ValueError):
    """A file that is not a recog language model; the message names it."""


class _Table:
    """One order's counts, packed. Contexts are sorted by key; context ``i`` is followed by the
    characters ``chars[starts[i]:starts[i + 1]]``, seen ``counts[starts[i]:starts[i + 1]]`` times.

    A context's key is the index of its suffix (all but its oldest character) in the order below,
    times the alphabet size, plus the alphabet code of its oldest character. Kneser-Ney's lower
    orders hold every suffix of a higher order's contexts, so the keys chain from order 1 (the
    empty context, key 0) upwards, and a lookup is one bisection per order.
    """

    __slots__ = ("keys", "starts", "counts", "chars", "totals", "_keys", "_starts", "_counts")

    def __init__(self, keys: np.ndarray, starts: np.ndarray, codes: np.ndarray, counts: np.ndarray,
                 points: np.ndarray) -> None:
        self.keys, self.starts = keys, starts  # (n,) int64 increasing; (n + 1,) int64
        self.counts = counts  # (m,) int64; ``codes`` (m,) int64 are alphabet indices, kept as characters:
        self.chars = points[codes].astype("<u4").tobytes().decode("utf-32-le")  # (m,)
        self.totals = memoryview(np.add.reduceat(counts, starts[:-1]))  # (n,) each context's total
        self._keys, self._starts, self._counts = memoryview(keys), memoryview(starts), memoryview(counts)

    def find(self, key: int) -> int:
        """The index of the context with ``key``, or -1."""
        i = bisect_left(self._keys, key)
        return i if i < len(self._keys) and self._keys[i] == key else -1

    def successors(self, i: int, char: str) -> tuple[int, int, int]:
        """(count of ``char`` after context ``i``, its distinct successors, its total count)."""
        s, e = self._starts[i], self._starts[i + 1]
        j = self.chars.find(char, s, e)
        return (self._counts[j] if j >= 0 else 0), e - s, self.totals[i]


class CharNgramLM:
    """An interpolated Kneser-Ney character n-gram model. Build one with ``train`` or ``load``.

    Args:
        order: n (context of n - 1 characters).
        alphabet: every character of the tables, sorted (BOS and EOS among them).
        tables: per order k = 1..n, the packed counts (``_Table``): raw counts at order n,
            continuation counts below (see ``train``).
        lexicon: optional closed word list (words without spaces) that every text must be made of.
        discounts: the per-order discounts, where a file stores them (else estimated from the
            tables' counts-of-counts).
    """

    def __init__(self, order: int, alphabet: str, tables: Sequence[_Table],
                 lexicon: Iterable[str] | None = None, discounts: Sequence[float] | None = None) -> None:
        if order < 1 or len(tables) != order:
            raise ValueError(f"an order-{order} model needs {order} count tables, got {len(tables)}")
        self.lexicon = None if lexicon is None else frozenset(lexicon)
        if self.lexicon is not None and (not self.lexicon or any(not w or " " in w or EOS in w for w in self.lexicon)):
            raise ValueError("a lexicon must be a non-empty list of words without spaces")
        self.order = order
        self.alphabet = alphabet
        self._code = {c: i for i, c in enumerate(alphabet)}
        self._tables = list(tables)
        self.vocab = sorted(self._tables[0].chars)  # order 1 counts every character of every higher order
        if discounts is not None and len(discounts) != order:
            raise ValueError(f"an order-{order} model needs {order} discounts, got {len(discounts)}")
        self.discounts = ([float(d) for d in discounts] if discounts is not None
                          else [_discount(t.counts) for t in self._tables])
        self.uniform = 1.0 / (len(self.vocab) + 1)
        # the weight and bonus tuned for fusing it into each head's search ({head: {"weight": w,
        # "bonus": b}}, ``read_fusion_setting``), read from beside its file by ``load``; None: defaults
        self.fusion_settings: dict[str, dict[str, float]] | None = None
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

    @property
    def num_contexts(self) -> int:
        """Contexts over all orders."""
        return sum(len(t.keys) for t in self._tables)

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
        return cls.from_counts(order, tables, lexicon)

    @classmethod
    def from_counts(cls, order: int, tables: Sequence[dict[str, dict[str, int]]],
                    lexicon: Iterable[str] | None = None, discounts: Sequence[float] | None = None) -> CharNgramLM:
        """A model from count tables: per order k = 1..n, context (k - 1 characters) ->
        {character: count}, every context's suffix in the order below (as ``train`` counts them)."""
        if order < 1 or len(tables) != order:
            raise ValueError(f"an order-{order} model needs {order} count tables, got {len(tables)}")
        alphabet = "".join(sorted({c for t in tables for h, cs in t.items() for c in h + "".join(cs)}))
        code = {c: i for i, c in enumerate(alphabet)}
        index: dict[str, int] = {}
        arrays: list[tuple[np.ndarray, ...]] = []
        for k, table in enumerate(tables, 1):
            if k == 1 and list(table) != [""]:
                raise ValueError("order 1 needs exactly the empty context")
            keyed = sorted((index[h[1:]] * len(alphabet) + code[h[0]] if h else 0, h) for h in table)
            index = {h: i for i, (_, h) in enumerate(keyed)}
            after = [table[h] for _, h in keyed]
            sizes = np.array([len(a) for a in after], np.int64)
            arrays.append((np.array([key for key, _ in keyed], np.int64), sizes,
                           np.array([code[c] for a in after for c in a], np.int64),
                           np.array([n for a in after for n in a.values()], np.int64)))
        return cls(order, alphabet, _tables(alphabet, arrays), lexicon, discounts)

    def _log_prob(self, context: str, char: str) -> float:
        context = (BOS * (self.order - 1) + context)[len(context):]  # exactly order - 1 characters
        p, i = self.uniform, 0
        for k, table in enumerate(self._tables, 1):  # from unigrams up: each order interpolates the one below
            if k > 1:  # the context one character longer, found from its suffix's index
                code = self._code.get(context[-(k - 1)])
                i = -1 if code is None else table.find(i * len(self.alphabet) + code)
                if i < 0:  # unseen: so are all longer contexts
                    break
            count, distinct, total = table.successors(i, char)
            d = self.discounts[k - 1]
            p = max(count - d, 0.0) / total + d * distinct / total * p
        return math.log(p)

    def score(self, text: str, eos: bool = True) -> float:
        """log P(text), ended with EOS if ``eos``."""
        chars = text + EOS if eos else text
        return sum(self.log_prob(text[:i], c) for i, c in enumerate(chars))

    def save(self, path: str | Path) -> Path | None:
        """Write the model as a compressed ``.npz`` of its packed tables (no pickle). A fusion setting
        beside ``path``, tuned for the LM that was there, is removed (tune this one anew): its path,
        None where there was none."""
        meta = {"format": FORMAT, "order": self.order, "alphabet": self.alphabet, "discounts": self.discounts}
        if self.lexicon is not None:
            meta["lexicon"] = sorted(self.lexicon)
        base = len(self.alphabet)
        points = np.array([ord(c) for c in self.alphabet], np.uint32)
        order = np.argsort(points)  # code of a character: order[searchsorted(points[order], it)]
        arrays = {"meta": np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)}
        for k, t in enumerate(self._tables, 1):
            codes = order[np.searchsorted(points[order], np.frombuffer(t.chars.encode("utf-32-le"), "<u4"))]
            arrays |= {f"parent{k}": _compact(t.keys // base), f"first{k}": _compact(t.keys % base),
                       f"sizes{k}": _compact(np.diff(t.starts)), f"codes{k}": _compact(codes),
                       f"counts{k}": _compact(t.counts)}
        with open(path, "wb") as f:  # a file object: numpy would otherwise append ".npz" to the name
            np.savez_compressed(f, **arrays)
        stale = fusion_setting_path(path)
        if not stale.is_file():
            return None
        stale.unlink()
        return stale

    @classmethod
    def load(cls, path: str | Path) -> CharNgramLM:
        """Read a model written by ``save`` (or the gzip JSON of the first format); a clear error
        names the file otherwise."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such language model file")
        try:
            with open(path, "rb") as f:
                magic = f.read(2)
            if magic == b"\x1f\x8b":
                lm = _load_v1(path)
            elif magic != b"PK":  # .npz is a zip archive
                raise LanguageModelFileError(f"{path}: not a recog language model (not an .npz or gzip file)")
            else:
                with np.load(path, allow_pickle=False) as z:
                    meta = json.loads(bytes(z["meta"]).decode("utf-8"))
                    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                        raise LanguageModelFileError(f"{path}: not a recog language model (format {FORMAT} expected)")
                    order, alphabet = int(meta["order"]), str(meta["alphabet"])
                    arrays = [(z[f"parent{k}"].astype(np.int64) * len(alphabet) + z[f"first{k}"], z[f"sizes{k}"],
                               z[f"codes{k}"], z[f"counts{k}"]) for k in range(1, order + 1)]
                lm = cls(order, alphabet, _tables(alphabet, arrays), meta.get("lexicon"), meta.get("discounts"))
        except (OSError, EOFError, UnicodeDecodeError, zlib.error, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: not a recog language model ({type(err).__name__})") from None
        except LanguageModelFileError:
            raise
        except ValueError as err:
            raise ValueError(f"{path}: a damaged recog language model ({err})") from None
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"{path}: a damaged recog language model ({type(err).__name__}: {err})") from None
        lm.fusion_settings = read_fusion_setting(path)
        return lm


def fusion_setting_path(path: str | Path) -> Path:
    """Where an LM file's tuned fusion setting lives: ``lm.npz`` -> ``lm.fusion.json`` (another
    name keeps its whole name: ``lm.v2`` -> ``lm.v2.fusion.json``)."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".npz") + FUSION_SUFFIX)


def read_fusion_setting(path: str | Path) -> dict[str, dict[str, float]] | None:
    """The fusion settings beside the LM file ``path``, None where it has none: for each head they
    were tuned with ({"rnnt": {...}, "ctc": {...}}; a file of one flat setting gives it for every
    head, ``ANY_HEAD``), its "weight" and "bonus", and "ilme_weight" where it was tuned with a
    transducer's internal LM subtracted. A clear error names a malformed file."""
    setting = fusion_setting_path(path)
    if not setting.is_file():
        return None
    try:
        data = json.loads(setting.read_text(encoding="utf-8"))
        if "heads" in data and ({"weight", "bonus"} & data.keys() or not isinstance(data["heads"], dict)):
            raise ValueError("both one setting and one per head")
        entries = data["heads"] if "heads" in data else {ANY_HEAD: data}
        settings = {str(head): _fusion_entry(entry) for head, entry in entries.items()}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"{setting}: not an LM fusion setting ({{\"weight\": W, \"bonus\": B}}, or "
                         f"{{\"heads\": {{HEAD: {{...}}}}}}: {type(err).__name__})") from None
    for fusion in settings.values():
        if (not all(math.isfinite(v) for v in fusion.values()) or fusion["weight"] < 0
                or fusion.get("ilme_weight", 0) < 0):
            raise ValueError(f"{setting}: the fusion weight and ilme_weight must be finite and non-negative, the "
                             f"bonus finite")
    return settings


def _fusion_entry(entry: dict[str, Any]) -> dict[str, float]:
    """One head's setting of a fusion file: its numbers (the "tuned" note is for people)."""
    fusion = {"weight": float(entry["weight"]), "bonus": float(entry["bonus"])}
    if "ilme_weight" in entry:
        fusion["ilme_weight"] = float(entry["ilme_weight"])
    return fusion


def write_fusion_setting(path: str | Path, weight: float, bonus: float, tuned: str, ilme_weight: float = 0.0,
                         head: str = ANY_HEAD) -> Path:
    """Write the fusion setting of the LM file ``path`` for the ``head`` it was tuned with, keeping
    the other heads' (a flat setting there before stays as ``ANY_HEAD``'s, for the heads without
    their own; ``head`` ``ANY_HEAD``: one setting for every head, replacing all). ``tuned``: on what
    and with which model, for people reading it; ``ilme_weight`` is written only where above 0.
    Returns the setting's path."""
    setting = fusion_setting_path(path)  # written whole or not at all: a torn file would stop load
    fusion = {"weight": weight, "bonus": bonus, **({"ilme_weight": ilme_weight} if ilme_weight > 0 else {}),
              "tuned": tuned}
    if head != ANY_HEAD:
        try:
            old = json.loads(setting.read_text(encoding="utf-8")) if setting.is_file() else {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            old = {}  # a damaged file is replaced
        old = old if isinstance(old, dict) else {}
        # the other heads' settings stay; a flat one, which served every head, serves the others
        kept = old.get("heads") if "heads" in old else ({ANY_HEAD: old} if "weight" in old else {})
        kept = kept if isinstance(kept, dict) else {}
        fusion = {"heads": {**{h: kept[h] for h in sorted(kept) if h != head}, head: fusion}}
    write_text_atomic(setting, json.dumps(fusion, indent=1) + "\n")
    return setting


def copy_fusion_setting(source: str | Path, target: str | Path) -> Path | None:
    """Give the LM file ``target`` the fusion setting of the LM file ``source``: the setting's new
    path, or None where ``source`` has none (then any ``target`` had, tuned for another LM, is removed)."""
    source, target = fusion_setting_path(source), fusion_setting_path(target)
    if not source.is_file():
        target.unlink(missing_ok=True)
        return None
    write_text_atomic(target, source.read_text(encoding="utf-8"))
    return target


def _load_v1(path: Path) -> CharNgramLM:
    """A model of the first format: gzip JSON of the dict tables."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or data.get("format") != FORMAT_V1:
        raise LanguageModelFileError(f"{path}: not a recog language model (format {FORMAT} expected)")
    return CharNgramLM.from_counts(int(data["order"]), data["tables"], data.get("lexicon"), data.get("discounts"))


def _tables(alphabet: str, arrays: Sequence[tuple[np.ndarray, ...]]) -> list[_Table]:
    """Packed tables from (keys, sizes, codes, counts) per order, checked to chain as ``_Table``
    describes; ValueError says what does not."""
    points = np.array([ord(c) for c in alphabet], np.int64)
    tables: list[_Table] = []
    below = 1  # contexts of the order below: order 1's keys are [0]
    for k, (keys, sizes, codes, counts) in enumerate(arrays, 1):
        keys, sizes = np.asarray(keys, np.int64), np.asarray(sizes, np.int64)
        codes, counts = np.asarray(codes, np.int64), np.asarray(counts, np.int64)
        if k == 1 and keys.tolist() != [0]:
            raise ValueError("order 1 needs exactly the empty context")
        if (keys.ndim != 1 or not len(keys) or len(sizes) != len(keys) or np.any(np.diff(keys) <= 0)
                or keys[0] < 0 or keys[-1] >= below * len(alphabet) or np.any(sizes < 1)
                or int(sizes.sum()) != len(codes) or len(counts) != len(codes)
                or np.any(counts < 1) or len(codes) and (codes.min() < 0 or codes.max() >= len(alphabet))):
            raise ValueError(f"order {k}'s table does not hold together")
        tables.append(_Table(keys, np.concatenate([[0], np.cumsum(sizes)]), codes, counts, points))
        below = len(keys)
    return tables


def _compact(a: np.ndarray) -> np.ndarray:
    """``a`` (integers >= 0) in the smallest unsigned type that holds it, for the file."""
    top = int(a.max()) if a.size else 0
    return a.astype(next((t for t in (np.uint8, np.uint16, np.uint32) if top <= np.iinfo(t).max), np.int64))


def _discount(counts: np.ndarray) -> float:
    """Kneser-Ney discount n1 / (n1 + 2 n2) from one order's counts-of-counts, in (0, 1)."""
    n1, n2 = int(np.count_nonzero(counts == 1)), int(np.count_nonzero(counts == 2))
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
