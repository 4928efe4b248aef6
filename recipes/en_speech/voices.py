"""Voices of the en_speech corpus: every English voice the Debian archive offers, split so that
dev and test voices are never heard in training.

Engines (voice ids in brackets):

- espeak-ng (``espeak:ACCENT[+VARIANT]``): its 8 English accents times its voice variants,
  whose families are split test/dev/train exactly as the synth_speech recipe splits them, plus
  every bare accent in train.
- MBROLA through espeak-ng (``mbrola:NAME``): the English diphone voices us1, us2, us3 and en1,
  and espeak-ng's ``mb-XX-en`` voices, which read English with English pronunciation rules
  through a German, French, Dutch, Swedish, Hungarian, Polish, Romanian, Greek or Afrikaans
  speaker's diphones: English with those accents. The voices are in Debian's non-free section.
- flite (``flite:NAME``): kal, kal16, awb, rms, slt (awb_time only speaks clock times).
- festival (``festival:NAME``): kal_diphone (festvox-kallpc16k), ked_diphone (festvox-kdlpc16k)
  and cmu_us_slt_arctic_hts (festvox-us-slt-hts). The 8 kHz packages festvox-kallpc8k and
  festvox-kdlpc8k are the same two speakers and conflict with the 16 kHz ones.
- SVOX Pico (``pico:LANG``): its US and British English voices, two women, through
  ``pico2wave`` (libttspico-utils). Apache-2.0, but in Debian's non-free section because the
  voice data ships without its sources; ``prepare.py --install`` fetches it from there. Added
  after corpora were made, it joins the training draw at utterance ``ENGINE_JOINS_AT["pico"]``.
- RHVoice (``rhvoice:NAME``): its English voices alan (Scottish), bdl (US) and clb (US, a woman),
  statistical-parametric voices trained on the CMU ARCTIC recordings of those speakers, through
  ``RHVoice-test`` (packages rhvoice, rhvoice-english). LGPL-2.1+ with the rest of RHVoice's
  data, in Debian's non-free section because the trained voices ship without their training
  scripts. Its slt is the test speaker, and evgeniy-eng and lyubov are CC BY-NC-ND (no commercial
  use): none of the three is used. It joins the training draw at ``ENGINE_JOINS_AT["rhvoice"]``.

The speaker slt (flite's slt, festival's cmu_us_slt_arctic_hts) is the unseen test speaker: no
slt voice is ever in train (``split_voices`` refuses). Piper voices stay out altogether.

Festival's non-English voices are not used: their front ends read English spelling with their
own language's letter-to-sound rules ("the weather is nice" comes out of the Italian voice as
/dz e w e a t e r i s n i tS e/), so they would not say the label's words. espeak-ng's own
non-English voices do the same; its accented English comes from the ``mb-XX-en`` voices.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1] / "synth_speech"))  # for its sentences module


def _load_synth_prepare():  # noqa: ANN202
    """recipes/synth_speech/prepare.py as a module named synth_speech_prepare (a plain ``import
    prepare`` would find this recipe's own prepare.py first)."""
    name = "synth_speech_prepare"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "synth_speech" / "prepare.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


synth = _load_synth_prepare()

ENGINES = ("espeak", "mbrola", "flite", "festival", "pico", "rhvoice")
NON_FREE = ("mbrola",)  # its voice licence forbids use in a product that is sold; opt in with --engines
# Share of utterances per engine, renormalised over the engines a split has voices of.
ENGINE_SHARE = {"espeak": 0.40, "mbrola": 0.30, "flite": 0.15, "festival": 0.15, "pico": 0.30, "rhvoice": 0.30}
# An engine added after corpora were made joins the training draw at this utterance index, so the
# training utterances before it keep their voices (and dev and test, which it has no voices in).
ENGINE_JOINS_AT = {"pico": 64_000, "rhvoice": 96_000}
TEST_SPEAKER = "slt"
# dev_unseen (prepare.py --dev-unseen): natural speakers that no training split without MBROLA
# hears, for choosing versions by how they read new speakers without looking at test. Evaluation
# only: MBROLA's licence allows synthesis, and nothing of it reaches a model trained without it.
UNSEEN_DEV_MBROLA = ("us1", "us2", "en1")
UNSEEN_DEV_VOICES = tuple(f"mbrola:{name}" for name in UNSEEN_DEV_MBROLA)

# MBROLA voices (espeak-ng voice mb-NAME; Debian package mbrola-NAME without "-en"), per split.
# Test holds a US voice and three accents, one of them (Polish) unheard in train.
MBROLA_SPLITS = {
    "train": (
        "us1", "us2", "en1", "de1-en", "de2-en", "de4-en", "de5-en", "fr1-en", "hu1-en", "nl2-en",
        "ro1-en", "sw2-en", "af1-en", "gr2-en",
    ),
    "dev": ("de3-en", "sw1-en"),
    "test": ("us3", "fr4-en", "pl1-en", "de6-en"),
}  # fmt: skip
FLITE_SPLITS = {"train": ("kal", "kal16", "awb"), "dev": (), "test": ("slt", "rms")}
FLITE_EXCLUDED = {"awb_time": "limited-domain voice that only speaks clock times"}
FESTIVAL_SPLITS = {"train": ("kal_diphone", "ked_diphone"), "dev": (), "test": ("cmu_us_slt_arctic_hts",)}
FESTIVAL_PACKAGES = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}
PICO_SPLITS = {"train": ("en-US", "en-GB"), "dev": (), "test": ()}
PICO_LANG_DIR = Path("/usr/share/pico/lang")
RHVOICE_SPLITS = {"train": ("alan", "bdl", "clb"), "dev": (), "test": ()}
RHVOICE_EXCLUDED = {
    "slt": "the unseen test speaker",
    "evgeniy-eng": "CC BY-NC-ND 4.0: no commercial use",
    "lyubov": "CC BY-NC-ND 4.0: no commercial use",
}
RHVOICE_VOICE_DIR = Path("/usr/share/RHVoice/voices")
EXCLUDED = {"flite": FLITE_EXCLUDED, "rhvoice": RHVOICE_EXCLUDED}  # split_voices refuses these, naming why
# Default mean F0 (Hz) of the festival diphone voices, for a relative target; HTS voices keep theirs.
FESTIVAL_F0 = {"kal_diphone": 105.0, "ked_diphone": 105.0}


def mbrola_package(name: str) -> str:
    """The Debian package of an MBROLA voice of ``MBROLA_SPLITS`` ("de1-en" -> "mbrola-de1")."""
    return f"mbrola-{name.removesuffix('-en')}"


ENGINE_PACKAGES = {
    "espeak": ("espeak-ng",),
    "mbrola": ("mbrola", *sorted({mbrola_package(v) for vs in MBROLA_SPLITS.values() for v in vs})),
    "flite": ("flite",),
    "festival": ("festival", *FESTIVAL_PACKAGES.values()),
    "pico": ("libttspico-utils",),
    "rhvoice": ("rhvoice", "rhvoice-english"),
}
# Packages outside Debian's main section: install() adds contrib and non-free for them.
NON_MAIN_PACKAGES = frozenset(ENGINE_PACKAGES["mbrola"] + ENGINE_PACKAGES["pico"] + ENGINE_PACKAGES["rhvoice"])
MBROLA_NOTE = (
    "the MBROLA voices are in Debian's contrib (mbrola) and non-free (mbrola-*) sections: add "
    "'contrib non-free' to the Components of /etc/apt/sources.list.d/debian.sources and run "
    "apt-get update, or leave them out with --engines espeak,flite,festival"
)
PICO_NOTE = "libttspico-utils is in Debian's non-free section (Apache-2.0 voices shipped without their sources)"
RHVOICE_NOTE = "rhvoice and rhvoice-english are in Debian's non-free section (LGPL voices, no training scripts)"
TOOL_TIMEOUT_S = 60


class MissingVoice(SystemExit):
    """A voice the recipe needs is not installed: names the voices and the Debian packages."""


def missing(what: list[str], packages: list[str], note: str = "") -> MissingVoice:
    """The error for voices ``what`` that Debian ``packages`` would install."""
    message = (
        f"error: missing voice(s) {', '.join(what)}; install Debian package(s) {' '.join(sorted(set(packages)))} "
        "(prepare.py --install does)"
    )
    return MissingVoice(message + (f"; {note}" if note else ""))


def _run(cmd: list[str]) -> str:
    """stdout of a listing command."""
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=TOOL_TIMEOUT_S).stdout


# ---------------------------------------------------------------------------------------------
# What is installed
# ---------------------------------------------------------------------------------------------


def espeak_english_voices() -> set[str]:
    """File names of the voices ``espeak-ng --voices=en`` lists ("en-us", "mb-us1", ...), not
    counting the variants (files in "!v/"), which are not voices of their own."""
    files = [line.split()[4] for line in _run(["espeak-ng", "--voices=en"]).splitlines()[1:] if len(line.split()) > 4]
    return {f.split("/")[-1].lower() for f in files if not f.startswith("!v/")}


def installed_flite_voices() -> set[str]:
    """Voice names ``flite -lv`` lists."""
    return set(_run(["flite", "-lv"]).split(":", 1)[-1].split())


def installed_festival_voices() -> set[str]:
    """Voice names festival's ``(voice.list)`` gives."""
    out = subprocess.run(
        ["festival", "--pipe"], input="(print (voice.list))\n", capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
    ).stdout
    return set(re.findall(r"[\w-]+", out.strip().splitlines()[-1] if out.strip() else ""))


def installed_mbrola_voices() -> set[str]:
    """MBROLA voice databases present (/usr/share/mbrola/NAME/NAME), where the mbrola binary is."""
    if shutil.which("mbrola") is None:
        return set()
    root = Path("/usr/share/mbrola")
    return {p.name for p in root.iterdir() if (p / p.name).is_file()} if root.is_dir() else set()


def installed_rhvoice_voices() -> set[str]:
    """RHVoice voices present (RHVOICE_VOICE_DIR/NAME/voice.info), where RHVoice-test is installed."""
    if shutil.which("RHVoice-test") is None or not RHVOICE_VOICE_DIR.is_dir():
        return set()
    return {p.parent.name for p in RHVOICE_VOICE_DIR.glob("*/voice.info")}


def installed_pico_voices() -> set[str]:
    """Languages whose voice files pico2wave finds (PICO_LANG_DIR/LANG_ta.bin), where it is installed."""
    if shutil.which("pico2wave") is None or not PICO_LANG_DIR.is_dir():
        return set()
    return {p.name.removesuffix("_ta.bin") for p in PICO_LANG_DIR.glob("*_ta.bin")}


# ---------------------------------------------------------------------------------------------
# The split
# ---------------------------------------------------------------------------------------------


def espeak_voices() -> dict[str, list[str]]:
    """espeak-ng voice ids per split: accents x variant families as synth_speech splits them."""
    known = espeak_english_voices()
    unknown = sorted(v for v in known if not v.startswith("mb-") and v not in synth.ESPEAK_ACCENTS)
    mbrola_known = {f"mb-{v}" for vs in MBROLA_SPLITS.values() for v in vs}
    unknown += sorted(v for v in known if v.startswith("mb-") and v not in mbrola_known)
    if unknown:
        sys.exit(
            f"error: espeak-ng offers English voice(s) {', '.join(unknown)} that voices.py does not place in a split"
        )
    absent = [a for a in synth.ESPEAK_ACCENTS if a not in known]
    if absent:
        raise missing([f"espeak:{a}" for a in absent], ["espeak-ng", "espeak-ng-data"])
    accents = list(synth.ESPEAK_ACCENTS)
    variants = synth.espeak_variants()
    if synth.check_variants_apply(accents, variants[0]) != accents:
        sys.exit("error: this espeak-ng ignores voice variants for some English accents (see the warnings)")
    by_split = synth.split_variants(variants)
    voices = {split: [f"espeak:{a}+{v}" for a in accents for v in by_split[split]] for split in by_split}
    voices["train"] += [f"espeak:{a}" for a in accents]
    return voices


def check_installed(engine: str) -> None:
    """Stop with a message naming every voice of ``engine`` that is missing (and its package)."""
    if engine == "espeak":
        if shutil.which("espeak-ng") is None:
            raise missing(["espeak-ng (all espeak voices)"], ["espeak-ng"])
        return
    if engine == "mbrola":
        check_mbrola([v for vs in MBROLA_SPLITS.values() for v in vs])
        return
    if engine == "flite":
        have = installed_flite_voices() if shutil.which("flite") else set()
        absent = [v for vs in FLITE_SPLITS.values() for v in vs if v not in have]
        if absent:
            raise missing([f"flite:{v}" for v in absent], ["flite"])
        return
    if engine == "pico":
        absent = [v for vs in PICO_SPLITS.values() for v in vs if v not in installed_pico_voices()]
        if absent:
            raise missing([f"pico:{v}" for v in absent], ["libttspico-utils"], PICO_NOTE)
        return
    if engine == "rhvoice":
        absent = [v for vs in RHVOICE_SPLITS.values() for v in vs if v not in installed_rhvoice_voices()]
        if absent:
            raise missing([f"rhvoice:{v}" for v in absent], list(ENGINE_PACKAGES["rhvoice"]), RHVOICE_NOTE)
        return
    have = installed_festival_voices() if shutil.which("festival") and shutil.which("text2wave") else set()
    absent = [v for vs in FESTIVAL_SPLITS.values() for v in vs if v not in have]
    if absent:
        raise missing([f"festival:{v}" for v in absent], ["festival"] + [FESTIVAL_PACKAGES[v] for v in absent])


def check_mbrola(names: list[str]) -> None:
    """Stop with a message naming every MBROLA voice of ``names`` ("us1", "de1-en") that is
    missing, or the mbrola program or espeak-ng that drives it, and their packages."""
    have = installed_mbrola_voices()
    absent = [v for v in names if v.removesuffix("-en") not in have]
    if absent or shutil.which("espeak-ng") is None:
        packages = ["mbrola"] * (shutil.which("mbrola") is None) + [mbrola_package(v) for v in absent]
        raise missing([f"mbrola:{v}" for v in absent] or ["mbrola"], packages, MBROLA_NOTE)


def split_voices(engines: tuple[str, ...]) -> dict[str, list[str]]:
    """Voice ids per split for ``engines`` (each checked as installed). Refuses any voice of the
    test speaker slt in train, any voice in two splits and any voice in ``EXCLUDED``."""
    for engine in engines:
        check_installed(engine)
    voices: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    if "espeak" in engines:
        for split, ids in espeak_voices().items():
            voices[split] += ids
    tables = {"mbrola": MBROLA_SPLITS, "flite": FLITE_SPLITS, "festival": FESTIVAL_SPLITS, "pico": PICO_SPLITS,
              "rhvoice": RHVOICE_SPLITS}
    for engine in engines:
        if engine in tables:
            for split, names in tables[engine].items():
                voices[split] += [f"{engine}:{name}" for name in names]
    for voice in (v for ids in voices.values() for v in ids):
        engine, name = voice.split(":", 1)
        if name in EXCLUDED.get(engine, {}):
            raise ValueError(f"{voice} is not to be used: {EXCLUDED[engine][name]}")
    if any(TEST_SPEAKER in v.split(":", 1)[1] for v in voices["train"]):
        raise ValueError(f"a voice of the test speaker {TEST_SPEAKER} is in train")
    seen = [v for ids in voices.values() for v in ids]
    if len(seen) != len(set(seen)):
        raise ValueError("a voice is in two splits")
    return voices


def engine_of(voice: str) -> str:
    """"flite:kal" -> "flite"."""
    return voice.split(":", 1)[0]


def joined_voices(voices: list[str], index: int) -> list[str]:
    """The training ``voices`` whose engine has joined the draw by training utterance ``index``."""
    return [v for v in voices if ENGINE_JOINS_AT.get(engine_of(v), 0) <= index]


# ---------------------------------------------------------------------------------------------
# Per utterance
# ---------------------------------------------------------------------------------------------


def pick_voice(voices: list[str], rng: np.random.Generator, shares: dict[str, float] | None = None) -> str:
    """An engine by ``shares`` (default ENGINE_SHARE) among those ``voices`` has, renormalised,
    then one of its voices evenly."""
    shares = ENGINE_SHARE if shares is None else shares
    engines = [e for e in ENGINES if shares.get(e, 0) > 0 and any(v.startswith(f"{e}:") for v in voices)]
    if not engines:
        raise ValueError(f"no engine with a share above 0 has a voice here: {sorted(shares)}")
    weights = np.array([shares[e] for e in engines])
    engine = engines[int(rng.choice(len(engines), p=weights / weights.sum()))]
    pool = [v for v in voices if v.startswith(f"{engine}:")]
    return pool[int(rng.integers(len(pool)))]


def synth_command(voice: str, text: str, rng: np.random.Generator) -> list[str]:
    """The synthesis command for ``voice`` saying ``text`` at a random rate and pitch; "{wav}"
    stands for the output wav and, for festival, "{txt}" for a file holding the text.

    espeak-ng, MBROLA and flite take synth_speech's command (espeak-ng: -s 130-185 wpm, -p 25-75,
    -g 0-4; flite: duration_stretch 0.9-1.2, mean F0 0.85-1.2 times the voice's). festival gets
    Duration_Stretch 0.9-1.2 and, for the diphone voices, a mean F0 0.8-1.3 times the voice's and
    an F0 spread of 10-25 Hz. Pico reads the text inside speed and pitch tags, and RHVoice with its
    rate and pitch options (percentages of the voice's own): 1 / the stretch and the same 0.8-1.3
    times its pitch. Every engine draws the same random values, so the stream does not depend on
    the voice."""
    engine, name = voice.split(":", 1)
    espeak_or_flite = voice.replace("mbrola:", "espeak:mb-") if engine != "festival" else "espeak:en"
    base = synth.synth_command(espeak_or_flite, text, "{wav}", rng)
    stretch, f0, f0_std = float(rng.uniform(0.9, 1.2)), float(rng.uniform(0.8, 1.3)), float(rng.uniform(10, 25))
    if engine == "pico":
        tagged = f'<speed level="{100 / stretch:.0f}"><pitch level="{100 * f0:.0f}">{escape(text)}</pitch></speed>'
        return ["pico2wave", "-l", name, "-w", "{wav}", tagged]
    if engine == "rhvoice":
        return ["RHVoice-test", "-p", name, "-r", f"{100 / stretch:.0f}", "-t", f"{100 * f0:.0f}", "-i", "{txt}",
                "-o", "{wav}"]
    if engine != "festival":
        return base
    settings = [f"(voice_{name})", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
    if name in FESTIVAL_F0:
        settings.append(
            f"(set! int_lr_params '((target_f0_mean {FESTIVAL_F0[name] * f0:.1f}) (target_f0_std {f0_std:.1f}) "
            "(model_f0_mean 170) (model_f0_std 34)))"
        )
    return ["text2wave", "-eval", f"(begin {' '.join(settings)})", "-o", "{wav}", "{txt}"]
