"""Written English to the words a speaker says: the text normaliser of the en_speech recipe.

``normalise(text)`` turns one sentence of real prose into ``(speak, label)``: ``label`` is the
transcript (lowercase words, apostrophes kept, single spaces), ``speak`` the same words with
light punctuation (, . ? !) for the synthesiser's prosody. Numbers, years, decades, ordinals,
clock times, dates, money and percentages are spelt out as spoken ("$3.50" -> "three dollars
and fifty cents", "1999" -> "nineteen ninety nine", "10:05 pm" -> "ten oh five p m"), common
abbreviations expanded ("Dr." -> "doctor", "e.g." -> "for example") and dotted initialisms
spelt ("U.S." -> "u s"). A sentence is dropped (None) where a synthesiser could not say it or
would say something else than its label: leftover digits or symbols, an all-capitals word
(read as letters by some engines, as a word by others), characters beyond Latin letters, or a
word with no vowel ("hmm" is spelt by some engines).

The synthesisers are given ``speak``, never the original text, so what they say is the label
whatever their own text front end would have made of "1999" or "Dr.".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

MONTHS = ("january february march april may june july august september october november december").split()
MONTH_ABBREVIATIONS = {m[:3]: m for m in MONTHS} | {"sept": "september"}
DIGITS = "zero one two three four five six seven eight nine".split()
SCALES = ("thousand", "million", "billion", "trillion")
# symbol -> (unit, plural, hundredth, plural hundredths)
CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}
# Abbreviations with a full stop, matched case-sensitively as written.
ABBREVIATIONS = {
    "Mr": "mister",
    "Mrs": "missus",
    "Ms": "miz",
    "Dr": "doctor",
    "Prof": "professor",
    "Jr": "junior",
    "Sr": "senior",
    "St": "saint",
    "Mt": "mount",
    "Capt": "captain",
    "Col": "colonel",
    "Gen": "general",
    "Lt": "lieutenant",
    "Sgt": "sergeant",
    "Rev": "reverend",
    "Gov": "governor",
    "Sen": "senator",
    "Rep": "representative",
    "Inc": "incorporated",
    "Ltd": "limited",
    "Co": "company",
    "vs": "versus",
    "etc": "et cetera",
    "approx": "approximately",
    "Dept": "department",
}
WORD_ABBREVIATIONS = {"OK": "okay", "Ok": "okay", "TV": "t v", "TV's": "t v's", "&": " and ", "°": " degrees "}
# Abbreviations after which a full stop does not end a sentence (lower case, without the stop).
NON_FINAL = {a.lower() for a in ABBREVIATIONS if a != "etc"} | {"e.g", "i.e", "no", "nos", "vol", "fig", "cf", "ca"}

SPEAK_CHARS = re.compile(r"[a-z' .,!?]*")
VOWEL = re.compile(r"[aeiouy]")


@cache
def _num2words() -> Callable[..., str]:
    """num2words, imported on first use so that the recipe can install it first."""
    from num2words import num2words

    return num2words


def _words(value: str) -> str:
    """num2words output as plain words: no hyphens or commas."""
    return " ".join(value.replace("-", " ").replace(",", " ").split())


def cardinal(n: int) -> str:
    """123 -> "one hundred and twenty three"."""
    return _words(_num2words()(n))


def ordinal(n: int) -> str:
    """22 -> "twenty second"."""
    return _words(_num2words()(n, to="ordinal"))


def year(n: int) -> str:
    """1999 -> "nineteen ninety nine", 2005 -> "two thousand and five", 1905 -> "nineteen oh five"."""
    return _words(_num2words()(n, to="year"))


def plural(words: str) -> str:
    """The plural of a spoken number's last word: "nineteen sixty" -> "nineteen sixties"."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


def number(text: str) -> str:
    """A written number as spoken: years 1100-2099 (without commas) in year style ("fifteen
    hundred", as in "fifteen hundred people" too), decimals with "point" and single digits,
    leading zeros digit by digit, commas ignored."""
    text = text.replace(",", "")
    whole, _, frac = text.partition(".")
    if len(whole) > 1 and whole.startswith("0"):
        spoken = " ".join(DIGITS[int(d)] for d in whole)
    elif not frac and len(whole) == 4 and 1100 <= int(whole) <= 2099:
        spoken = year(int(whole))
    else:
        spoken = cardinal(int(whole or "0"))
    if frac:
        spoken += " point " + " ".join(DIGITS[int(d)] for d in frac)
    return spoken


def _clock(hour: int, minute: int, meridiem: str | None) -> str:
    """10:05 -> "ten oh five", 10:00 -> "ten o'clock" ("fourteen hundred" on the 24-hour clock),
    with "a m"/"p m" after when given."""
    spoken = cardinal(hour)
    if minute:
        spoken += (" oh " if minute < 10 else " ") + cardinal(minute)
    elif not meridiem:
        spoken += " o'clock" if hour <= 12 else " hundred"
    if meridiem:
        spoken += f" {meridiem[0].lower()} m"
    return spoken


def _money(symbol: str, amount: str, scale: str | None) -> str:
    """("$", "3.50", None) -> "three dollars and fifty cents"; ("$", "1.5", "million") ->
    "one point five million dollars"."""
    unit, units, sub, subs = CURRENCIES[symbol]
    amount = amount.replace(",", "")
    if scale:
        return f"{number(amount)} {scale.lower()} {units}"
    whole, _, frac = amount.partition(".")
    if frac and len(frac) != 2:
        return f"{number(amount)} {units}"
    spoken = f"{cardinal(int(whole))} {unit if int(whole) == 1 else units}"
    if frac and int(frac):
        cents = int(frac)
        part = f"{cardinal(cents)} {sub if cents == 1 else subs}"
        spoken = part if int(whole) == 0 else f"{spoken} and {part}"
    return spoken


_MONTH_RE = "|".join(MONTHS)
_MONTH_ABBR_RE = "|".join(m.capitalize() for m in MONTH_ABBREVIATIONS)
_SCALE_RE = "|".join(SCALES)
_CURRENCY_RE = "".join(re.escape(c) for c in CURRENCIES)
_NUM = r"\d{1,3}(?:,\d{3})+|\d+"
# (pattern, replacement) in order: later rules see the words earlier ones wrote.
RULES: list[tuple[re.Pattern, Callable[[re.Match], str] | str]] = [
    # versions, IP addresses and other many-dotted numbers are not said one way
    (re.compile(r"\d+\.\d+\.\d+"), "\x00"),
    # phone numbers
    (re.compile(r"\b\d{3}-\d{3,4}\b"), "\x00"),
    (re.compile(rf"\b({_MONTH_ABBR_RE})\.(?=\s+\d)"), lambda m: MONTH_ABBREVIATIONS[m[1].lower()]),
    (
        re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),
        lambda m: (
            f"{MONTHS[int(m[2]) - 1]} {ordinal(int(m[3]))} {year(int(m[1]))}"
            if 1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31
            else "\x00"
        ),
    ),
    (
        re.compile(rf"([{_CURRENCY_RE}])\s?({_NUM}(?:\.\d+)?)(?:\s?({_SCALE_RE})\b)?", re.I),
        lambda m: _money(m[1], m[2], m[3]),
    ),
    (re.compile(rf"\b({_NUM}(?:\.\d+)?)\s?%"), lambda m: f"{number(m[1])} percent"),
    (
        re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b(?:\s?([ap])(?:\.m\.|m\b))?", re.I),
        lambda m: _clock(int(m[1]), int(m[2]), m[3]),
    ),
    (re.compile(r"\b(1[0-2]|[1-9])\s?([ap])(?:\.m\.|m\b)", re.I), lambda m: _clock(int(m[1]), 0, m[2])),
    (re.compile(r"\b([ap])\.m\.", re.I), lambda m: f"{m[1].lower()} m"),
    (
        re.compile(rf"\b({_MONTH_RE})\s+([1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\b(?![\d:])", re.I),
        lambda m: f"{m[1]} {ordinal(int(m[2]))}",
    ),
    (
        re.compile(rf"\b(?:the\s+)?([1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b", re.I),
        lambda m: f"the {ordinal(int(m[1]))} of {m[2]}",
    ),
    (re.compile(r"\b(1[1-9]|20)(\d)0'?s\b"), lambda m: plural(year(int(f"{m[1]}{m[2]}0")))),
    (re.compile(r"(?<!\w)'([1-9])0s\b"), lambda m: plural(cardinal(int(m[1]) * 10))),
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b"), lambda m: ordinal(int(m[1]))),
    (re.compile(r"\bNo\.\s?(?=\d)"), "number "),
    (
        re.compile(rf"\b({_NUM})\s?(?:-|–|to)\s?({_NUM})\b"),
        lambda m: f"{number(m[1])} to {number(m[2])}",
    ),
    (re.compile(r"(?<![\w.])-(?=\d)"), "minus "),
    (re.compile(rf"\b(?:{_NUM})(?:\.\d+)?\b"), lambda m: number(m[0])),
]


def expand(text: str) -> str:
    """Abbreviations, initialisms and numbers of ``text`` written out as words (cases kept);
    a NUL marks something that has no single spoken form."""
    for abbr, spoken in WORD_ABBREVIATIONS.items():
        text = re.sub(rf"(?<!\w){re.escape(abbr)}(?!\w)", spoken, text)
    text = re.sub(r"\be\.g\.", "for example", text, flags=re.I)
    text = re.sub(r"\bi\.e\.", "that is", text, flags=re.I)
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\b(" + "|".join(ABBREVIATIONS) + r")\.", lambda m: ABBREVIATIONS[m[1]], text)
    # dotted initialisms: "U.S.A." -> "u s a"
    return re.sub(r"\b((?:[A-Za-z]\.){2,})", lambda m: " ".join(m[1].replace(".", "")).lower() + " ", text)


def to_ascii(text: str) -> str:
    """Typographic quotes and dashes to ASCII, accents dropped ("café" -> "cafe")."""
    for chars, plain in (("‘’‛′", "'"), ("“”„″", '"'), ("–—―", " -- "), ("…", "..."), ("\u00a0", " ")):
        for ch in chars:
            text = text.replace(ch, plain)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str, is_word: Callable[[str], bool] | None = None) -> tuple[str, str] | None:
    """``(speak, label)`` for one sentence, or None where it cannot be said as written (see the
    module doc). ``is_word`` (optional) must accept every label word, e.g. a vocabulary check."""
    text = expand(to_ascii(text).replace("\n", " "))
    if "\x00" in text or re.search(r"\b[A-Z]{2,}", text) or re.search(r"[A-Z][a-z]*[A-Z]{2}", text):
        return None  # no spoken form, or capitals some engines spell and others read as a word
    text = text.lower()
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "well-known" -> "well known"
    text = re.sub(r"\s-+\s|--+|[;:()]|\.\.\.+", ", ", text)
    text = text.replace('"', " ")
    if not SPEAK_CHARS.fullmatch(text):
        return None
    speak: list[str] = []
    words: list[str] = []
    for token in re.findall(r"[a-z']+|[.,!?]", text):
        if token in ".,!?":
            if speak and speak[-1][-1] not in ".,!?":
                speak[-1] += token
            continue
        word = token.strip("'")
        if not word:
            continue
        if len(word) > 1 and not VOWEL.search(word):
            return None
        if is_word is not None and not is_word(word):
            return None
        speak.append(word)
        words.append(word)
    if not words:
        return None
    return " ".join(speak), " ".join(words)


_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph: cut after . ! ? followed by a space and a capital or a digit,
    but not after an abbreviation ("Mr.", "e.g.") or a single initial ("J. R. R. Tolkien")."""
    paragraph = " ".join(paragraph.split())
    out, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        before = paragraph[start : m.start()].rsplit(" ", 1)[-1].lower().lstrip("(\"'")
        if paragraph[m.start()] == "." and (before in NON_FINAL or re.fullmatch(r"[a-z]|(?:[a-z]\.)+[a-z]", before)):
            continue
        out.append(paragraph[start : m.end()].strip())
        start = m.end()
    out.append(paragraph[start:].strip())
    return [s for s in out if s]
