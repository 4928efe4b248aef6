"""English read by Festival's non-English voices: new natural speakers with their own accents.

Festival's Italian, Czech, Finnish, Russian and Hindi voices read text with their own language's
letter-to-sound rules, so English spelling given to them comes out as other words. They can still
say English: espeak-ng turns the sentence into its English phonemes (``--ipa``), and each phoneme
is spelt as that language writes the nearest sound of its own, in a spelling its rules read
back as that sound ("she started the soup" -> Italian "sci startid de sup", Czech "ší stártyd de
súp", Russian "ши стартид дэ суп"). The voice then says English words with the sounds, rhythm and
intonation a speaker of its language brings to them: /θ/ as t, /w/ as v, no /h/ in Italian,
schwa read as the letter. This is how espeak-ng's ``mb-XX-en`` voices speak English through
foreign MBROLA diphones, with Festival's own front end and prosody instead of espeak-ng's.

Each voice is ``accent:NAME`` (``VOICES``: its Festival voice, language and the byte encoding
its front end reads). Hindi, Marathi and Telugu NSK are one speaker; only Hindi is used.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

ESPEAK_TIMEOUT_S = 60


@dataclass(frozen=True)
class Voice:
    """A Festival voice reading English through ``language``'s spelling."""

    festival: str  # the voice's name: (voice_NAME)
    language: str  # a key of SPELLERS
    encoding: str  # what its front end reads
    package: str  # the Debian package that has it


VOICES = {
    "it_lp": Voice("lp_diphone", "it", "iso-8859-1", "festvox-italp16k"),  # a woman
    "it_pc": Voice("pc_diphone", "it", "iso-8859-1", "festvox-itapc16k"),  # a man
    "cs_dita": Voice("czech_dita", "cs", "iso-8859-2", "festvox-czech-dita"),  # a woman
    "cs_krb": Voice("czech_krb", "cs", "iso-8859-2", "festvox-czech-krb"),  # a boy
    "cs_machac": Voice("czech_machac", "cs", "iso-8859-2", "festvox-czech-machac"),  # a man
    "cs_ph": Voice("czech_ph", "cs", "iso-8859-2", "festvox-czech-ph"),  # a man
    "fi_lj": Voice("suo_fi_lj_diphone", "fi", "iso-8859-1", "festvox-suopuhe-lj"),  # a woman
    "fi_mv": Voice("hy_fi_mv_diphone", "fi", "iso-8859-1", "festvox-suopuhe-mv"),  # a man
    "ru_nsh": Voice("msu_ru_nsh_clunits", "ru", "utf-8", "festvox-ru"),  # a man
    "hi_nsk": Voice("hindi_NSK_diphone", "hi", "utf-8", "festvox-hi-nsk"),  # a man
}

# espeak-ng's compound phonemes, split into the parts every speller knows.
SPLIT = {
    "ɑːɹ": ("ɑː", "ɹ"), "ɔːɹ": ("ɔː", "ɹ"), "oːɹ": ("oː", "ɹ"), "ɛɹ": ("ɛ", "ɹ"), "ɪɹ": ("ɪ", "ɹ"),
    "ʊɹ": ("ʊ", "ɹ"), "aɪɚ": ("aɪ", "ɚ"), "aɪə": ("aɪ", "ə"), "əl": ("ə", "l"), "n̩": ("ə", "n"),
    "iə": ("i", "ə"), "ɚ": ("ɚ",), "ɜː": ("ɜː",), "ɾ": ("t",), "ʔ": ("t",), "ɐ": ("ə",), "ᵻ": ("ɪ",),
    "x": ("h",), "ɑ": ("ɑː",), "ɔ": ("ɔː",), "ɬ": ("l",), "e": ("ɛ",), "a": ("æ",), "o": ("oː",),
    "ɹ̩": ("ɚ",), "ɡ": ("g",), "r": ("ɹ",), "ʊə": ("ʊ", "ə"), "eə": ("ɛ", "ə"), "i:": ("iː",),
}  # fmt: skip
VOWELS = frozenset("iː i ɪ eɪ ɛ æ ɑː ɔː oː oʊ uː ʊ ʌ ə ɚ ɜː aɪ aʊ ɔɪ".split())
CONSONANTS = frozenset("p b t d k g f v θ ð s z ʃ ʒ h tʃ dʒ m n ŋ l ɹ w j".split())


def english_phonemes(sentences: list[str], variant: str = "en-us") -> list[list[list[str]]]:
    """espeak-ng's English phonemes of each sentence (one line each): per sentence, per word, the
    phonemes of ``VOWELS`` and ``CONSONANTS`` (stress dropped, compounds split)."""
    lines = [" ".join(s.split()) for s in sentences]
    if any(not line for line in lines):
        raise ValueError("an empty sentence has no phonemes")
    proc = subprocess.run(
        ["espeak-ng", "-v", variant, "-q", "--ipa", "--sep= "], input="\n".join(lines) + "\n",
        capture_output=True, text=True, timeout=ESPEAK_TIMEOUT_S, check=True,
    )  # fmt: skip
    # espeak-ng reads the input as running text: it starts a new output line at each clause end,
    # and a blank input line ends a paragraph. Phonemise one sentence per call where the lines
    # do not come back one to one.
    out = [line for line in proc.stdout.splitlines() if line.strip()]
    if len(out) != len(lines):
        if len(lines) == 1:
            out = ["  ".join(out)]  # words are two spaces apart
        else:
            return [english_phonemes([line], variant)[0] for line in lines]
    return [[_phonemes(word) for word in line.split("  ") if word.strip()] for line in out]


def _phonemes(word: str) -> list[str]:
    phones = []
    for token in word.replace("ˈ", "").replace("ˌ", "").split():
        parts = SPLIT.get(token, (token,))
        for part in parts:
            if part not in VOWELS and part not in CONSONANTS:
                raise ValueError(f"no spelling for espeak-ng's phoneme {part!r} (in {word!r})")
            phones.append(part)
    return phones


# ---------------------------------------------------------------------------------------------
# Spellers: the phonemes of one word as a language writes the nearest sounds
# ---------------------------------------------------------------------------------------------

FRONT = frozenset("iː i ɪ eɪ ɛ æ".split())  # vowels a following c / g softens in Italian


def _table(spelling: str) -> dict[str, str]:
    """'p:p b:b ...' -> {"p": "p", "b": "b", ...}; an empty right side drops the phoneme."""
    return dict(pair.split(":", 1) for pair in spelling.split())


ITALIAN = _table(
    "iː:i i:i ɪ:i eɪ:ei ɛ:e æ:e ɑː:a ɔː:o oː:o oʊ:o uː:u ʊ:u ʌ:a ə:e ɚ:er ɜː:er aɪ:ai aʊ:au ɔɪ:oi "
    "p:p b:b t:t d:d f:f v:v θ:t ð:d s:s z:s h: m:m n:n l:l ɹ:r w:u j:i"
)
CZECH = _table(
    "iː:í i:i ɪ:i eɪ:ej ɛ:e æ:e ɑː:á ɔː:ó oː:ó oʊ:ou uː:ú ʊ:u ʌ:a ə:e ɚ:er ɜː:ér aɪ:aj aʊ:au ɔɪ:oj "
    "p:p b:b t:t d:d k:k g:g f:f v:v θ:t ð:d s:s z:z ʃ:š ʒ:ž h:h tʃ:č dʒ:dž m:m n:n ŋ:n l:l ɹ:r w:v j:j"
)
FINNISH = _table(
    "iː:ii i:i ɪ:i eɪ:ei ɛ:e æ:ä ɑː:aa ɔː:oo oː:oo oʊ:ou uː:uu ʊ:u ʌ:a ə:e ɚ:ör ɜː:öör aɪ:ai aʊ:au "
    "ɔɪ:oi p:p b:b t:t d:d k:k g:g f:f v:v θ:t ð:d s:s z:s ʃ:s ʒ:s h:h tʃ:ts dʒ:ts m:m n:n ŋ:ng l:l "
    "ɹ:r w:v j:j"
)
RUSSIAN = _table(
    "iː:и i:и ɪ:и eɪ:эй ɛ:э æ:э ɑː:а ɔː:о oː:о oʊ:оу uː:у ʊ:у ʌ:а ə:а ɚ:эр ɜː:ёр aɪ:ай aʊ:ау ɔɪ:ой "
    "p:п b:б t:т d:д k:к g:г f:ф v:в θ:с ð:з s:с z:з ʃ:ш ʒ:ж h:х tʃ:ч dʒ:дж m:м n:н ŋ:нг l:л ɹ:р w:у "
    "j:й"
)


def spell_italian(phones: list[str]) -> str:
    """Italian spelling: c/g before a front vowel or /j/ as ch/gh, /ʃ tʃ dʒ ʒ/ as sc, c, g before one and
    sci, ci, gi elsewhere, /ŋ/ as n before k or g."""
    out = []
    for i, p in enumerate(phones):
        nxt = phones[i + 1] if i + 1 < len(phones) else ""
        front = nxt in FRONT or nxt == "j"  # "chiu" is /kju/, "sciu" would be /ʃu/
        if p in ("k", "g"):
            out.append({"k": "c", "g": "g"}[p] + ("h" if front else ""))
        elif p in ("ʃ", "tʃ", "dʒ", "ʒ"):
            out.append({"ʃ": "sc", "tʃ": "c", "dʒ": "g", "ʒ": "g"}[p] + ("" if front else "i"))
        elif p == "ŋ":
            out.append("n" if nxt in ("k", "g") else "ng")
        else:
            out.append(ITALIAN[p])
    return "".join(out)


def spell_czech(phones: list[str]) -> str:
    """Czech spelling; after d, t and n, /i/ is y (i there would make them ď, ť, ň). A long vowel
    starting a word or before another vowel is short, and the article's lone e an a (the voices
    lack those diphones, and read a lone e as the letter's name)."""
    out = []
    for i, p in enumerate(phones):
        s = CZECH[p]
        if i and phones[i - 1] in ("d", "t", "n") and s in ("i", "í"):
            s = {"i": "y", "í": "ý"}[s]
        if (i == 0 or (i + 1 < len(phones) and phones[i + 1] in VOWELS)) and s[0] in SHORT:
            s = SHORT[s[0]] + s[1:]
        out.append(s)
    return "".join(out) if out != ["e"] else "a"  # a lone e is read as the letter's name


SHORT = {"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ý": "y"}


def spell_finnish(phones: list[str]) -> str:
    """Finnish spelling (long vowels doubled, /ŋ/ as n before k). A word ending in a consonant
    other than n, s or t takes an i, as Finnish adapts loanwords ("golf" -> "golfi"; the voices
    lack the diphones to end on the others)."""
    out = "".join("n" if p == "ŋ" and i + 1 < len(phones) and phones[i + 1] == "k" else FINNISH[p]
                  for i, p in enumerate(phones))  # fmt: skip
    return out + "i" if phones and phones[-1] in CONSONANTS and phones[-1] not in ("n", "s", "t") else out


def spell_russian(phones: list[str]) -> str:
    """Cyrillic: after a consonant, /ɛ/ is э (е would soften it) and /j/ + vowel is one iotated letter."""
    iotated = {"а": "я", "у": "ю", "э": "е", "о": "ё"}
    out: list[str] = []
    for p in phones:
        s = RUSSIAN[p]
        if out and out[-1] == "й" and s[0] in iotated:
            out[-1] = iotated[s[0]] + s[1:]
            continue
        out.append(s)
    return "".join(out)


# Devanagari: consonants (the inherent vowel follows), vowels as letters and as signs (matras).
HINDI_CONSONANTS = _table(
    "p:प b:ब t:ट d:ड k:क g:ग f:फ़ v:व θ:थ ð:द s:स z:ज़ ʃ:श ʒ:ज़ h:ह tʃ:च dʒ:ज m:म n:न ŋ:ङ l:ल ɹ:र "
    "w:व j:य"
)
HINDI_VOWELS = {  # phoneme: (independent letter, sign after a consonant; "" is the inherent vowel)
    "iː": ("ई", "ी"), "i": ("इ", "ि"), "ɪ": ("इ", "ि"), "eɪ": ("ए", "े"), "ɛ": ("ए", "े"), "æ": ("ऐ", "ै"),
    "ɑː": ("आ", "ा"), "ɔː": ("ऑ", "ॉ"), "oː": ("ओ", "ो"), "oʊ": ("ओ", "ो"), "uː": ("ऊ", "ू"), "ʊ": ("उ", "ु"),
    "ʌ": ("अ", ""), "ə": ("अ", ""), "ɚ": ("अर", "र"), "ɜː": ("अर", "र"), "aɪ": ("आइ", "ाइ"),
    "aʊ": ("आउ", "ाउ"), "ɔɪ": ("ऑय", "ॉय"),
}  # fmt: skip
VIRAMA = "्"


def spell_hindi(phones: list[str]) -> str:
    """Devanagari: a consonant before a vowel takes its sign, before a consonant the virama; a
    word-final consonant stays bare (Hindi reads no final inherent vowel)."""
    out = []
    for i, p in enumerate(phones):
        prev = phones[i - 1] if i else ""
        if p in HINDI_CONSONANTS:
            out.append(HINDI_CONSONANTS[p])
            if i + 1 < len(phones) and phones[i + 1] in HINDI_CONSONANTS:
                out.append(VIRAMA)
        elif prev in HINDI_CONSONANTS:
            out.append(HINDI_VOWELS[p][1])
        else:
            out.append(HINDI_VOWELS[p][0])
    return "".join(out)


SPELLERS = {"it": spell_italian, "cs": spell_czech, "fi": spell_finnish, "ru": spell_russian, "hi": spell_hindi}


def spell(sentences: list[str], language: str) -> list[str]:
    """Each English sentence as ``language`` (a key of ``SPELLERS``) would write its sounds."""
    speller = SPELLERS[language]
    return [" ".join(speller(word) for word in words) + "." for words in english_phonemes(sentences)]
