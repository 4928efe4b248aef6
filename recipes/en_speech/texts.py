"""Texts of the en_speech corpus: real English prose from Debian packages, normalised to spoken
words, with test and dev sentences from a source the training text never draws from.

Training text comes from several registers (see SOURCES): quotations, jokes, dialogue, verse
and literature (``fortunes``), technical documentation (the Python manuals), hacker slang and
its history (the Jargon File, public domain), formal and legal prose (Debian's constitution and
social contract), literature (the quotations of Webster's 1913 dictionary in GCIDE) and satire
(The Devil's Dictionary), the last two joining after the first 40,000 training sentences (see
``Source``), and the definitions of that dictionary, joining after 96,000 where the prose
before is used up, plus two generated streams: numbers, clock times, dates, prices and names
from the synth_speech grammar (``templates``) and lists of 3-8 words drawn evenly over the
50,000 most frequent words of ``wordfreq`` that Debian's American English dictionary lists
(``wordlist``), which spreads the acoustic training over many more distinct words than the
prose holds. Test and dev text
is the usage examples of WordNet ("the dog barked all night"), a source no training text is
drawn from; a WordNet example that also occurs in a training source's pool is skipped.

Every sentence goes through ``normalise.normalise`` and is kept when it has 3-25 words that
are all in wordfreq's English list (typos, code and foreign words fall out). Draws are
deterministic for a seed and prefix-stable: test and dev do not change with --num-train, and a
larger --num-train extends the smaller one's training texts.

    python recipes/en_speech/texts.py --num-train 16000 --sample 10   # statistics and samples
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from normalise import normalise, split_sentences

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recipes.common
sys.path.append(str(Path(__file__).resolve().parents[1] / "synth_speech"))  # its sentence grammar
import sentences as grammar  # noqa: E402

MIN_WORDS, MAX_WORDS = 3, 25
WORDLIST_TOP = 50_000  # the wordlist stream draws from this many most frequent wordfreq words
WORDLIST_LENGTH = (3, 8)
# The templates of the synth_speech grammar that carry numbers, times, dates, names and places.
TEMPLATES = ((grammar.t_time_and_numbers, 6), (grammar.t_travel, 4), (grammar.t_weather, 3))

# fortunes (package fortunes) and fortunes-min's three files; ascii-art holds pictures.
FORTUNE_FILES = """art computers cookie debian definitions disclaimer drugs education ethnic food
    fortunes goedel humorists kids knghtbrd law linux linuxcookie literature love magic medicine
    men-women miscellaneous news paradoxum people perl pets platitudes politics pratchett
    riddles science songs-poems sports startrek tao translate-me wisdom work zippy""".split()


@dataclass(frozen=True)
class Text:
    """One utterance's text: ``speak`` goes to the synthesiser, ``label`` is the transcript."""

    speak: str
    label: str
    source: str


# ---------------------------------------------------------------------------------------------
# Reading the sources: each reader turns one file into paragraphs (or single sentences)
# ---------------------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """A text file, gunzipped where it ends in .gz or .dz (dictzip), decoded as UTF-8 (bad bytes
    replaced)."""
    data = path.read_bytes()
    if path.suffix in (".gz", ".dz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def blank_line_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, lines joined; lines of box drawing or rules dropped."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines() if re.search(r"[A-Za-z]{2}", line)]
        if lines:
            out.append(" ".join(lines))
    return out


def fortune_paragraphs(path: Path) -> list[str]:
    """Fortune records (split at "%" lines) without their "-- Author" attribution lines; a
    speaker tag ("Q:", "Mother:") starts a new paragraph and is dropped."""
    out = []
    for record in re.split(r"\n%\n", read_text(path)):
        lines = []
        for line in record.splitlines():
            stripped = line.strip()
            if stripped.startswith(("--", "-- ", "~")):
                continue
            tag = re.match(r"([A-Z][\w.' ]{0,15}):\s+(?=\S)", stripped)
            if tag:
                lines.append("")
                stripped = stripped[tag.end() :]
            lines.append(stripped)
        out += blank_line_paragraphs("\n".join(lines))
    return out


RST_KEEP_ROLES = ("ref", "term", "doc")


def rst_paragraphs(path: Path) -> list[str]:
    """Prose paragraphs of a reStructuredText file: no directives, literal blocks (anything
    indented past a directive's body), tables or headings; the text of :ref:/:term:/:doc: roles
    and links kept, emphasis marks removed. Other roles and ``literals`` are code: a sentence
    holding one keeps a backquote and the normaliser drops it."""
    out = []
    for block in re.split(r"\n\s*\n", read_text(path)):
        lines = block.splitlines()
        if not lines or lines[0].startswith((" " * 4, "\t", "..", ">>>", "+", "=", "|")):
            continue
        body = " ".join(line.strip() for line in lines if not re.fullmatch(r"\s*[=*\-~^\"'`#+]{3,}\s*", line))
        body = re.sub(rf":(?:{'|'.join(RST_KEEP_ROLES)}):`([^`<]+?)\s*(?:<[^>]*>)?`", r"\1", body)
        body = re.sub(r"`([^`<]+?)\s*<[^>]+>`_+", r"\1", body)
        body = re.sub(r"\*\*?([^*]+)\*\*?", r"\1", body)
        body = re.sub(r"^(?:[*-]|#\.|\d+\.)\s+", "", body).removesuffix("::")
        out.append(body)
    return out


def plain_paragraphs(path: Path) -> list[str]:
    """Paragraphs of a plain text file (gzipped or not)."""
    return blank_line_paragraphs(read_text(path))


def headword_paragraphs(path: Path) -> list[str]:
    """Paragraphs of a dictionary in prose (The Devil's Dictionary), each entry's "WORD, n."
    dropped from the start of its first paragraph. (The file's header and licence give six
    sentences too: kept, as changing a pool reshuffles its draws, so the texts of every corpus
    made past 40,000 sentences would change.)"""
    return [re.sub(r"^[A-Z][A-Z' -]*, (?:[a-z]+\.\s*)+", "", p) for p in plain_paragraphs(path)]


WEBSTER_TAG = "[1913 Webster]"  # closes each block of GCIDE that comes from the 1913 Webster
ATTRIBUTION = r"\s--\s?[^-]{1,80}$"  # a quotation's closing "--Author."


def webster_blocks(path: Path) -> Iterator[list[str]]:
    """The lines of each blank-line-separated block of GCIDE's dictd file that ``WEBSTER_TAG``
    closes, the tag line left out; GCIDE's WordNet entries (the test source) carry other tags."""
    for block in re.split(r"\n\s*\n", read_text(path)):
        lines = block.rstrip().splitlines()
        if len(lines) >= 2 and lines[-1].strip() == WEBSTER_TAG:
            yield lines[:-1]


def gcide_quotations(path: Path) -> list[str]:
    """The quotations of the 1913 Webster entries in GCIDE's dictd file (indented blocks closed by
    a "[1913 Webster]" line), each without its "--Author." attribution and with ". . ."
    ellipses read as a pause. Entries GCIDE took from WordNet carry other tags and are left out:
    WordNet is the test source. (GCIDE's character entities stay as they are, so about a hundred
    quotations read "C[ae]sar" as "c sar": kept, as ``headword_paragraphs`` says why.)"""
    out = []
    for lines in webster_blocks(path):
        body = [line for line in lines if line.strip()]
        if not all(line.startswith(" " * 12) for line in body):  # a definition, not a quotation
            continue
        quote = re.sub(ATTRIBUTION, "", " ".join(line.strip() for line in body))
        out.append(re.sub(r"\s*(?:\. ){2,}\.?\s*", ", ", quote).strip(", "))
    return out


def gcide_definitions(path: Path) -> list[str]:
    """The definitions of the 1913 Webster entries in GCIDE's dictd file (blocks closed by a
    "[1913 Webster]" line, indented three spaces under their headword), each without its sense
    number, field label ("(Zool.)"), usage tag ("[Obs.]"), quoted examples, "--Author."
    attribution and "See ..." cross-reference; the quotations (indented further) are
    ``gcide_quotations``'. Entries GCIDE took from WordNet, the test source, carry other tags
    and are left out."""
    out = []
    for lines in webster_blocks(path):
        body = lines[1:] if not lines[0].startswith(" ") else lines  # without the headword line
        if not body or any(line.startswith(" " * 7) for line in body):  # a quotation or a sub-entry
            continue
        text = " ".join(line.strip() for line in body)
        text = re.sub(r"^(?:\d+\.|\([a-z]\))\s*", "", text)
        text = re.sub(r"^(?:\([A-Z][\w. ]{0,20}\)\s*)+", "", text)
        text = re.sub(ATTRIBUTION, "", text)
        text = re.sub(r"\[[A-Z][^\]]{0,30}\]|\"[^\"]*\"|\bSee\b.*$|[{}]", "", text)
        text = re.sub(r"\s+", " ", text).strip(" ;,")
        if text:
            out.append(text)
    return out


def wordnet_examples(path: Path) -> list[str]:
    """The quoted usage examples in a WordNet data file's glosses, one per item."""
    out = []
    for line in read_text(path).splitlines():
        if line.startswith(" ") or " | " not in line:
            continue  # the licence header
        out += re.findall(r'"([^"]+)"', line.split(" | ", 1)[1])
    return out


@dataclass(frozen=True)
class Source:
    """A text source: the Debian packages that ship it, its files (globs under the root) and a
    reader for one file; ``role`` is "train" or "test" (test and dev). A training source added
    after corpora were made joins the draw after ``joins_at`` training sentences, so the texts of
    a corpus of that size stay what they were (and so do test and dev, which only the sources
    joining at 0 filter)."""

    name: str
    packages: tuple[str, ...]
    files: tuple[str, ...]
    reader: Callable[[Path], Iterable[str]]
    role: str
    register: str
    joins_at: int = 0


SOURCES = (
    Source(
        "fortunes",
        ("fortunes", "fortunes-min"),
        tuple(f"usr/share/games/fortunes/{name}" for name in FORTUNE_FILES),
        fortune_paragraphs,
        "train",
        "quotations, jokes, dialogue, verse, literature, science, politics",
    ),
    Source(
        "python-doc",
        ("python3-doc",),
        ("usr/share/doc/python3.*/html/_sources/**/*.rst.txt",),
        rst_paragraphs,
        "train",
        "technical documentation (tutorial, how-tos, FAQ, reference)",
    ),
    Source(
        "jargon",
        ("jargon-text",),
        ("usr/share/doc/jargon-text/jargon.txt.gz",),
        plain_paragraphs,
        "train",
        "the Jargon File: hacker slang, computing history (public domain)",
    ),
    Source(
        "debian-doc",
        ("doc-debian",),
        tuple(
            f"usr/share/doc/debian/{name}"
            for name in ("constitution.txt.gz", "social-contract.txt.gz", "debian-manifesto.gz", "bug-reporting.txt.gz")
        ),
        plain_paragraphs,
        "train",
        "formal and procedural prose (constitution, social contract, manifesto, bug reporting)",
    ),
    Source(
        "gcide",
        ("dict-gcide",),
        ("usr/share/dictd/gcide.dict.dz",),
        gcide_quotations,
        "train",
        "literature: the quotations of Webster's 1913 dictionary (GCIDE)",
        joins_at=40_000,
    ),
    Source(
        "devil",
        ("dict-devil",),
        ("usr/share/dictd/devil.dict.dz",),
        headword_paragraphs,
        "train",
        "satire: Ambrose Bierce's The Devil's Dictionary (public domain)",
        joins_at=40_000,
    ),
    Source(
        "gcide-definitions",
        ("dict-gcide",),
        ("usr/share/dictd/gcide.dict.dz",),
        gcide_definitions,
        "train",
        "definitions: the senses of Webster's 1913 dictionary (GCIDE), its whole vocabulary",
        joins_at=96_000,
    ),
    Source(
        "wordnet",
        ("wordnet-base",),
        tuple(f"usr/share/wordnet/data.{pos}" for pos in ("noun", "verb", "adj", "adv")),
        wordnet_examples,
        "test",
        "WordNet's usage examples: everyday and literary sentences of every domain",
    ),
)
GENERATED = {
    "templates": "numbers, clock times, dates, prices, names and places (synth_speech grammar)",
    "wordlist": f"3-8 words drawn evenly from the {WORDLIST_TOP:,} most frequent wordfreq words in wamerican",
}
# Share of training utterances per source (renormalised as finite sources run out).
TRAIN_WEIGHTS = {
    "fortunes": 0.45,
    "python-doc": 0.15,
    "jargon": 0.12,
    "debian-doc": 0.03,
    "gcide": 0.45,
    "devil": 0.03,
    "gcide-definitions": 0.75,
    "templates": 0.15,
    "wordlist": 0.10,
}
DICTIONARY = "usr/share/dict/american-english"
TEXT_PACKAGES = (*(p for s in SOURCES for p in s.packages), "wamerican")
PYPI_PACKAGES = ("wordfreq", "num2words")


def source_files(source: Source, root: Path) -> list[Path]:
    """The source's files under ``root``; for python-doc only the newest Python's manuals. Stops
    with a message naming the package when a file is missing."""
    files: list[Path] = []
    for pattern in source.files:
        if "*" in pattern:
            matches = sorted(root.glob(pattern))
            if source.name == "python-doc" and matches:
                newest = max({p.relative_to(root).parts[3] for p in matches}, key=_version_key)
                matches = [p for p in matches if p.relative_to(root).parts[3] == newest]
        else:
            matches = [root / pattern] if (root / pattern).is_file() else []
        if not matches:
            sys.exit(
                f"error: text source {source.name!r} needs {root / pattern}; install Debian package(s) "
                f"{' '.join(source.packages)} (or run prepare.py with --install)"
            )
        files += matches
    return files


def _version_key(name: str) -> tuple[int, ...]:
    """ "python3.11" -> (3, 11)."""
    return tuple(int(n) for n in re.findall(r"\d+", name))


# ---------------------------------------------------------------------------------------------
# Vocabulary (wordfreq)
# ---------------------------------------------------------------------------------------------


@cache
def wordfreq_words() -> tuple[str, ...]:
    """wordfreq's English list (the large one, about 320,000 words), most frequent first."""
    try:
        from wordfreq import top_n_list
    except ImportError:
        sys.exit("error: the Python package wordfreq is missing; pip install wordfreq num2words (or --install)")
    return tuple(top_n_list("en", 10**6, wordlist="large"))


@cache
def _word_set() -> frozenset[str]:
    return frozenset(wordfreq_words())


def is_word(word: str) -> bool:
    """True for a word in wordfreq's English list, or whose apostrophe-separated parts all are
    ("ma'am", "y'all")."""
    words = _word_set()
    return word in words or ("'" in word and all(part in words for part in word.split("'") if part))


def sentence_texts(raw: str, source: str) -> Iterator[Text]:
    """The normalised sentences of one paragraph that have MIN_WORDS..MAX_WORDS words."""
    for sentence in split_sentences(raw):
        pair = normalise(sentence, is_word)
        if pair and MIN_WORDS <= len(pair[1].split()) <= MAX_WORDS:
            yield Text(pair[0], pair[1], source)


@cache
def pool(source: Source, root: Path) -> tuple[Text, ...]:
    """Distinct (by label) normalised sentences of a source, in file order."""
    seen: set[str] = set()
    out = []
    for path in source_files(source, root):
        for paragraph in source.reader(path):
            for text in sentence_texts(paragraph, source.name):
                if text.label not in seen:
                    seen.add(text.label)
                    out.append(text)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Drawing the splits
# ---------------------------------------------------------------------------------------------


def shuffled(items: Iterable[Text], seed: int, name: str) -> Iterator[Text]:
    """``items`` in an order fixed by (seed, name)."""
    items = list(items)
    random.Random(f"{seed}:{name}").shuffle(items)
    return iter(items)


def template_stream(seed: int) -> Iterator[Text]:
    """Endless sentences from TEMPLATES (already spoken words)."""
    rng = random.Random(f"{seed}:templates")
    funcs, weights = zip(*TEMPLATES, strict=True)
    while True:
        text = " ".join(rng.choices(funcs, weights=weights)[0](rng).split())
        if grammar.is_valid(text):
            yield Text(text, text, "templates")


def wordlist_words(root: Path) -> list[str]:
    """The WORDLIST_TOP most frequent wordfreq words that the American English dictionary
    (Debian's wamerican, names included) lists: real words, no web debris ("len", "bj")."""
    path = root / DICTIONARY
    if not path.is_file():
        sys.exit(f"error: the wordlist stream needs {path}; install Debian package wamerican (or --install)")
    known = {line.strip().lower() for line in read_text(path).splitlines()}
    return [w for w in wordfreq_words()[:WORDLIST_TOP] if w in known and re.fullmatch(r"[a-z]+(?:'[a-z]+)?", w)]


def wordlist_stream(words: list[str], seed: int) -> Iterator[Text]:
    """Endless lists of WORDLIST_LENGTH words, each drawn evenly from ``words``."""
    rng = random.Random(f"{seed}:wordlist")
    while True:
        label = " ".join(rng.choice(words) for _ in range(rng.randint(*WORDLIST_LENGTH)))
        yield Text(label, label, "wordlist")


def draw(
    streams: dict[str, Iterator[Text]], weights: dict[str, float], n: int, seed: int, exclude: set[str],
    joins: dict[str, int] | None = None,
) -> list[Text]:
    """``n`` texts with distinct labels not in ``exclude``, each from a stream picked by weight
    among those that have joined (``joins``: the number of texts drawn before a stream joins, 0
    where absent); a finite stream that runs out is dropped from the choice. Prefix-stable in
    ``n``, and a stream joining at k leaves the first k texts as they were without it."""
    rng = random.Random(f"{seed}:draw")
    joins = joins or {}
    live = [name for name in streams if weights.get(name, 0) > 0]
    seen = set(exclude)
    out: list[Text] = []
    misses = 0
    while len(out) < n:
        joined = [name for name in live if joins.get(name, 0) <= len(out)]
        if not joined:
            raise RuntimeError(f"the text sources hold only {len(out)} distinct training sentences, not {n}")
        name = rng.choices(joined, weights=[weights[s] for s in joined])[0]
        text = next(streams[name], None)
        if text is None:
            live.remove(name)
        elif text.label in seen:
            misses += 1
            if misses > 100 * n + 10_000:  # an endless stream repeating itself
                raise RuntimeError(f"could only draw {len(out)} distinct training sentences out of {n}")
        else:
            seen.add(text.label)
            out.append(text)
    return out


def make_splits(
    num_train: int, num_dev: int, num_test: int, seed: int, root: Path = Path("/")
) -> dict[str, list[Text]]:
    """Texts per split. Test then dev: WordNet examples (minus any sentence a training pool
    joining at 0 holds), prefix-stable and independent of ``num_train``; train: the training
    sources by TRAIN_WEIGHTS as they join, minus the test and dev sentences."""
    train_sources = [s for s in SOURCES if s.role == "train"]
    train_pools = {s.name: pool(s, root) for s in train_sources}
    train_labels = {t.label for s in train_sources if s.joins_at == 0 for t in train_pools[s.name]}
    held_out: list[Text] = []
    for source in SOURCES:
        if source.role == "test":
            held_out += [t for t in shuffled(pool(source, root), seed, source.name) if t.label not in train_labels]
    if len(held_out) < num_test + num_dev:
        raise RuntimeError(f"the test source holds only {len(held_out)} sentences, not {num_test + num_dev}")
    test, dev = held_out[:num_test], held_out[num_test : num_test + num_dev]
    streams = {name: shuffled(texts, seed, name) for name, texts in train_pools.items()}
    streams["templates"] = template_stream(seed)
    streams["wordlist"] = wordlist_stream(wordlist_words(root), seed)
    joins = {s.name: s.joins_at for s in train_sources}
    train = draw(streams, TRAIN_WEIGHTS, num_train, seed, {t.label for t in test + dev}, joins)
    return {"train": train, "dev": dev, "test": test}


def fingerprints(root: Path = Path("/")) -> dict[str, str]:
    """SHA-256 of the pools' texts, one per join point ("texts_sha256" for the sources there from
    the start, with a sample of the templates; "texts_sha256_from_K" for those joining at K):
    changes with the packages' text, the normaliser or the vocabulary, whose new texts would not
    match reused wavs. A corpus made before a join point lacks its key (``LATER_KEYS``)."""
    digests: dict[int, hashlib._Hash] = {}
    for source in SOURCES:
        digest = digests.setdefault(source.joins_at, hashlib.sha256())
        for text in pool(source, root):
            digest.update(f"{text.speak}\t{text.label}\n".encode())
    for text in draw({"t": template_stream(0)}, {"t": 1.0}, 64, 0, set()):
        digests[0].update(f"{text.label}\n".encode())
    return {fingerprint_key(k): d.hexdigest() for k, d in sorted(digests.items())}


def fingerprint_key(joins_at: int) -> str:
    """The prepare_config key of the fingerprint of the sources joining at ``joins_at``."""
    return "texts_sha256" if joins_at == 0 else f"texts_sha256_from_{joins_at}"


LATER_KEYS = frozenset(fingerprint_key(s.joins_at) for s in SOURCES if s.joins_at)


def text_stats(splits: dict[str, list[Text]]) -> dict:
    """Sentence and word counts per split and source, and the test and dev out-of-vocabulary
    rates against the training text (tokens and distinct words)."""
    train_words = {w for t in splits["train"] for w in t.label.split()}
    stats: dict = {"distinct_train_words": len(train_words)}
    for split, texts in splits.items():
        tokens = [w for t in texts for w in t.label.split()]
        entry = {
            "sentences": len(texts),
            "words": len(tokens),
            "distinct_words": len(set(tokens)),
            "sources": dict(sorted(Counter(t.source for t in texts).items())),
        }
        if split != "train" and tokens:
            oov = [w for w in tokens if w not in train_words]
            entry["oov_token_rate"] = round(len(oov) / len(tokens), 4)
            entry["oov_type_rate"] = round(len(set(oov)) / len(set(tokens)), 4)
        stats[split] = entry
    return stats


def add_size_options(p: argparse.ArgumentParser) -> None:
    """The split sizes and seed, shared by prepare.py."""
    p.add_argument("--num-train", type=int, default=16000)
    p.add_argument("--num-dev", type=int, default=300)
    p.add_argument("--num-test", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)


def main(argv: list[str] | None = None) -> int:
    """Print the pools' sizes, the text statistics for given split sizes, and samples; with
    ``--lm-text``, also write the training texts, one per line, for ``recog lm --text``."""
    p = argparse.ArgumentParser(description="Text statistics of the en_speech corpus")
    add_size_options(p)
    p.add_argument("--sample", type=int, default=0, help="print this many sentences per split")
    p.add_argument("--lm-text", type=Path,
                   help="write the training split's texts here, one per line (`recog lm --text`); "
                        "never a dev or test sentence")
    args = p.parse_args(argv)
    print("pools: " + ", ".join(f"{s.name} {len(pool(s, Path('/')))} ({s.role})" for s in SOURCES))
    splits = make_splits(args.num_train, args.num_dev, args.num_test, args.seed)
    print(json.dumps(text_stats(splits), indent=1))
    samples = [f"  {split} [{t.source}] {t.speak}" for split, texts in splits.items() for t in texts[: args.sample]]
    print("\n".join(samples))
    if args.lm_text:
        from recipes.common import write_lm_text

        write_lm_text(args.lm_text, [t.label for t in splits["train"]])
        print(f"wrote {len(splits['train'])} training texts to {args.lm_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
