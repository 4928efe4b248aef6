"""Build the training, dev and test corpus of the shipped English speech model en-speech.

Every utterance: a sentence of real prose (``texts.py``: fortunes, the Python manuals, the
Jargon File, Debian's constitution, Webster's 1913 quotations, The Devil's Dictionary,
number/date templates and word lists for training; WordNet's usage examples for dev and test),
spelt out as spoken (``normalise.py``); a voice from its split's set (``voices.py``: espeak-ng
with its variants, MBROLA voices with and without foreign accents, flite, festival, SVOX Pico; dev and test
voices never heard in training, the speaker slt only in test); synthesis at a random rate and
pitch; sox to 16 kHz mono; silence trimmed to a random 0.1-0.3 s margin; and, for training
utterances, the waveform augmentations of ``augment.py`` (noise, babble, reverberation,
telephone band, codecs, gain, clipping, trailing silence), each on its own share, with the
applied ones named in the manifest's ``augment`` field. Dev and test are clean; the test
utterances are also written as the variants test_silence, test_noise10, test_reverb and test_8k.

Writes DIR/wavs/<split>/<index>.wav and NeMo manifests DIR/{train,dev,test}.jsonl and
DIR/test_{silence,noise10,reverb,8k}.jsonl (``audio_filepath`` relative to DIR). Deterministic
given --seed, and resumable: valid existing wavs are reused.

    python recipes/en_speech/prepare.py --out data/en_speech --num-train 80000 --workers 2 --install
"""

from __future__ import annotations

import argparse
import bisect
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import augment
import numpy as np
import soundfile as sf
import texts
import voices
from voices import synth

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recipes.common
from recipes.common import (  # noqa: E402
    SPLIT_CODES,
    SPLITS,
    check_config,
    pip_install,
    recorded_config,
    report,
    run_jobs,
    write_manifests,
    write_text_atomic,
)

SAMPLE_RATE = synth.SAMPLE_RATE
CONFIG_VERSION = 1  # bump when the audio recipe changes so old wavs are not silently reused
TOOL_PACKAGES = ("sox", "ffmpeg")
# Training augmentations, in the order they are applied, with their default shares.
AUGMENTS = {
    "reverb": 0.25,  # half sox reverb ("reverb"), half a simulated room impulse response ("rir")
    "babble": 0.15,
    "noise": 0.3,
    "tel8k": 0.1,
    "codec": 0.15,  # Opus, MP3 or GSM, named in the label
    "gain": 0.15,
    "clip": 0.05,
    "trail": 0.2,
}
CLEAN_SHARE = 0.25
BABBLE_TALKERS = (3, 6)
RT60 = (0.2, 1.0)
QUIET_PEAK_DB, NORMAL_PEAK_DB = (-35.0, -10.0), (-8.0, -1.0)
CLIP_DRIVE_DB = (3.0, 12.0)
TRAIL_S = (0.5, 2.0)
# dev_natural: the dev sentences in the training split's voices of these engines (seen speakers,
# unseen sentences), the natural-sounding engines that dev's voices (espeak-ng only) leave out.
NATURAL_ENGINES = ("flite", "festival")
SEED_CODES = SPLIT_CODES | {"dev_natural": 3, "dev_unseen": 4}
# Test variants: name -> what the augment field says.
TEST_VARIANTS = {
    "test_silence": "silence1s",
    "test_noise10": "white_noise_10db",
    "test_reverb": "sox_reverb",
    "test_8k": "band_8k",
}


@dataclass(frozen=True)
class Item:
    """What every job writes: one wav, and the manifest row's fields."""

    split: str
    index: int
    rel_path: str
    out_path: str
    text: str
    source: str
    voice: str
    augment: str  # the manifest label: "clean" or the applied augmentations joined by "+"


@dataclass(frozen=True)
class Job(Item):
    """One utterance, all random choices drawn up front from (seed, split, index)."""

    speak: str
    synth_cmd: list[str]
    lead_s: float
    trail_s: float
    peak_db: float
    seed: int
    max_duration: float
    sox_reverb: list[str] | None = None
    rt60: float = 0.0
    noise_colour: str = ""
    noise_snr: float = 0.0
    babble_donors: tuple[str, ...] = ()
    babble_snr: float = 0.0
    telephone: bool = False
    codec: tuple[str, int] | None = None
    clip_db: float | None = None


@dataclass(frozen=True)
class VariantJob(Item):
    """A test variant of one test utterance."""

    src_path: str
    seed: int


@dataclass
class Result(synth.Result):
    """synth_speech's outcome of a job ('made', 'reused' or 'failed'), with the text's source
    and the augmentation label."""

    source: str = ""
    augment: str = "clean"


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------


def draw_augment(rng: np.random.Generator, split: str, args: argparse.Namespace) -> dict:
    """The augmentation plan of one utterance: none for --clean-share of the training
    utterances, else each augmentation independently, so that it reaches its share of all
    training utterances. Every value is drawn for every utterance, so a changed share flips only
    that augmentation; dev and test stay clean."""
    rolls = {name: rng.random() for name in AUGMENTS}
    clean_roll = rng.random()
    values = {
        "sox_reverb": synth.reverb_args(rng),
        "use_rir": rng.random() < 0.5,
        "rt60": float(rng.uniform(*RT60)),
        "noise_colour": list(augment.COLOURS)[int(rng.integers(len(augment.COLOURS)))],
        "noise_snr": float(rng.uniform(args.snr_min, args.snr_max)),
        "babble_snr": float(rng.uniform(max(args.snr_min, 5.0), args.snr_max)),
        "codec_name": list(augment.CODECS)[int(rng.integers(len(augment.CODECS)))],
        "codec_pick": float(rng.random()),
        "quiet_db": float(rng.uniform(*QUIET_PEAK_DB)),
        "clip_db": float(rng.uniform(*CLIP_DRIVE_DB)),
        "long_trail": float(rng.uniform(*TRAIL_S)),
    }
    on = set()
    if split == "train" and clean_roll >= args.clean_share:  # each share is of all training utterances
        on = {name for name, roll in rolls.items() if roll * (1 - args.clean_share) < getattr(args, f"{name}_share")}
    labels, plan = [], {}
    if "reverb" in on and values["use_rir"]:
        labels.append("rir")
        plan["rt60"] = values["rt60"]
    elif "reverb" in on:
        labels.append("reverb")
        plan["sox_reverb"] = values["sox_reverb"]
    if "babble" in on:
        labels.append("babble")  # donors are chosen once all plans are known (plan_babble)
        plan["babble_snr"] = values["babble_snr"]
    if "noise" in on:
        labels.append(f"noise_{values['noise_colour']}")
        plan |= {"noise_colour": values["noise_colour"], "noise_snr": values["noise_snr"]}
    if "tel8k" in on:
        labels.append("tel8k")
        plan["telephone"] = True
    if "codec" in on:
        name = values["codec_name"]
        rates = augment.CODECS[name][3]
        labels.append(name)
        plan["codec"] = (name, rates[int(values["codec_pick"] * len(rates))])
    if "clip" in on:
        labels.append("clip")
        plan["clip_db"] = values["clip_db"]
    elif "gain" in on:
        labels.append("gain")
        plan["peak_db"] = values["quiet_db"]
    if "trail" in on:
        labels.append("trail")
        plan["trail_s"] = values["long_trail"]
    plan["augment"] = "+".join(labels) or "clean"
    return plan


def make_job(
    split: str, index: int, text: texts.Text, voice_ids: list[str], args: argparse.Namespace, width: int
) -> Job:
    """Draw every random choice of one utterance from a generator seeded by (seed, split, index)."""
    rng = np.random.default_rng([args.seed, SEED_CODES[split], index])
    if split == "train":
        voice = voices.pick_voice(voices.joined_voices(voice_ids, index), rng, args.train_engine_shares)
    else:
        voice = voices.pick_voice(voice_ids, rng)
    synth_cmd = voices.synth_command(voice, text.speak, rng)
    lead_s, trail_s = float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.1, 0.3))
    peak_db, seed = float(rng.uniform(*NORMAL_PEAK_DB)), int(rng.integers(2**31))
    plan = {"trail_s": trail_s, "peak_db": peak_db} | draw_augment(rng, split, args)
    rel_path = f"wavs/{split}/{index:0{width}d}.wav"
    return Job(
        split=split,
        index=index,
        rel_path=rel_path,
        out_path=str(Path(args.out) / rel_path),
        text=text.label,
        speak=text.speak,
        source=text.source,
        voice=voice,
        synth_cmd=synth_cmd,
        lead_s=lead_s,
        seed=seed,
        max_duration=args.max_duration,
        **plan,
    )


def plan_babble(jobs: list[Job], seed: int) -> list[Job]:
    """Give every babble job 3-6 donors: clean training utterances with a lower index (any clean
    one for the first few), so a job's donors do not depend on --num-train. A babble job with no
    clean utterance to draw from loses its babble (and the label says so)."""
    clean = sorted((j for j in jobs if j.split == "train" and j.augment == "clean"), key=lambda j: j.index)
    clean_index = [j.index for j in clean]
    out = []
    for job in jobs:
        if "babble" not in job.augment.split("+"):
            out.append(job)
            continue
        rng = np.random.default_rng([seed, SPLIT_CODES["train"], job.index, 1])
        earlier = bisect.bisect_left(clean_index, job.index)  # clean is in index order
        pool = clean[:earlier] if earlier >= BABBLE_TALKERS[1] else [j for j in clean if j.index != job.index]
        k = min(int(rng.integers(BABBLE_TALKERS[0], BABBLE_TALKERS[1] + 1)), len(pool))
        picks = rng.choice(len(pool), size=k, replace=False) if k else []
        donors = tuple(pool[int(i)].out_path for i in sorted(picks))
        label = job.augment if donors else "+".join(a for a in job.augment.split("+") if a != "babble") or "clean"
        out.append(replace(job, babble_donors=donors, augment=label))
    return out


def train_part(text: str) -> tuple[int, int]:
    """``1/8`` -> (1, 8): part 1 of 8, the training utterances whose index is 1 modulo 8."""
    try:
        part, parts = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PART/PARTS such as 0/8, got {text!r}") from None
    if not 0 <= part < parts:
        raise argparse.ArgumentTypeError(f"PART/PARTS needs 0 <= PART < PARTS, got {text!r}")
    return part, parts


def in_train_part(job: Job | Result, part: int, parts: int) -> bool:
    """Whether ``job`` belongs to part ``part`` of ``parts``: a training utterance whose index is
    ``part`` modulo ``parts``, or an utterance of any other split (those stay whole)."""
    return job.split != "train" or job.index % parts == part


def select_train_part(jobs: list[Job], part: int, parts: int) -> list[Job]:
    """The jobs of a part (``in_train_part``) and the clean training utterances their babble is
    mixed from, which are rendered but not listed in the part's manifest. Every utterance is
    planned from the whole corpus first, so each kept file is the same as in the whole corpus:
    the part is a sample of it (every engine, text source and augmentation in its share) that a
    fresh machine renders in a fraction of the time."""
    donors = {d for j in jobs if in_train_part(j, part, parts) for d in j.babble_donors}
    return [j for j in jobs if in_train_part(j, part, parts) or j.out_path in donors]


def part_manifest_name(part: int, parts: int) -> str:
    """The training manifest's name for a part (``train_part0of8``): the whole corpus's
    ``train.jsonl`` in the same folder stays as it is."""
    return f"train_part{part}of{parts}"


def variant_jobs(test_results: list[Result], out: Path, seed: int) -> list[VariantJob]:
    """One job per test variant per test utterance that was made."""
    jobs = []
    for name, label in TEST_VARIANTS.items():
        for r in sorted(test_results, key=lambda r: r.index):
            if r.status == "failed":
                continue
            rel_path = r.rel_path.replace("wavs/test/", f"wavs/{name}/")
            jobs.append(
                VariantJob(
                    split=name,
                    index=r.index,
                    rel_path=rel_path,
                    out_path=str(out / rel_path),
                    src_path=str(out / r.rel_path),
                    text=r.text,
                    source=r.source,
                    voice=r.voice,
                    augment=label,
                    seed=int(np.random.default_rng([seed, SPLIT_CODES["test"], r.index, 2]).integers(2**31)),
                )
            )
    return jobs


# ---------------------------------------------------------------------------------------------
# Audio (runs in the workers)
# ---------------------------------------------------------------------------------------------


def run_synth_command(job: Job, tmp: Path) -> Path:
    """Run the job's synthesiser command; the wav it wrote (any rate) in ``tmp``."""
    raw, txt = tmp / "raw.wav", tmp / "text.txt"
    txt.write_text(job.speak + "\n", encoding="utf-8")
    cmd = [{"{wav}": str(raw), "{txt}": str(txt)}.get(part, part) for part in job.synth_cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=synth.TOOL_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}: {proc.stderr.strip()[-300:]}")
    gaps = re.findall(r"Warning: (\S+) unknown, replaced", proc.stderr)
    if gaps:  # an MBROLA voice without a diphone puts silence in its place: not the label's words
        raise RuntimeError(f"the voice lacks diphone(s) {' '.join(sorted(set(gaps)))}")
    return raw


def render(job: Job, tmp: Path, synthesise: Callable[[Job, Path], Path] = run_synth_command) -> np.ndarray:
    """Synthesise (``synthesise`` writes the raw wav), convert, trim and augment one utterance; the
    final float signal."""
    raw = synthesise(job, tmp)
    if not raw.is_file() or raw.stat().st_size <= 44:
        raise RuntimeError("synthesiser wrote no audio")
    audio = synth.trim_silence(synth.to_16k(raw, tmp / "16k.wav", job.sox_reverb), job.lead_s, job.trail_s)
    if len(audio) == 0:
        raise RuntimeError("synthesised audio is silent")
    rng = np.random.default_rng(job.seed)
    if job.rt60:
        audio = augment.convolve(audio, augment.room_impulse_response(job.rt60, rng))
    if job.babble_donors:
        talkers = [sf.read(d, dtype="float64")[0] for d in job.babble_donors if synth.is_valid_wav(d, job.max_duration)]
        if not talkers:
            raise RuntimeError("no babble donor was made")
        audio = augment.mix_at_snr(audio, augment.babble(talkers, len(audio), rng), job.babble_snr)
    if job.noise_colour:
        audio = augment.mix_at_snr(audio, augment.coloured_noise(job.noise_colour, len(audio), rng), job.noise_snr)
    if job.telephone:
        audio = augment.telephone(audio)
    if job.codec:
        audio = augment.codec(audio, *job.codec)
    if job.clip_db is not None:
        return augment.clip(audio, job.clip_db)
    return augment.set_peak(audio, job.peak_db)


def render_variant(job: VariantJob) -> np.ndarray:
    """The test variant of one test wav."""
    audio, _ = sf.read(job.src_path, dtype="float64")
    if job.split == "test_silence":
        return augment.silence_before(audio, 1.0)
    if job.split == "test_noise10":
        out = augment.add_white_noise(audio, 10.0, np.random.default_rng(job.seed))
    elif job.split == "test_reverb":
        out = augment.sox_effects(audio, ["pad", "0", "0.6", *augment.TEST_REVERB])
        out *= np.max(np.abs(audio)) / max(float(np.max(np.abs(out))), 1e-12)  # the clean file's peak
    else:
        out = augment.band_limit_8k(audio)
    peak = float(np.max(np.abs(out)))
    return out * (0.99 / peak) if peak > 0.99 else out  # one scale for speech and noise: SNR kept


def process(job: Job | VariantJob, synthesise: Callable[[Job, Path], Path] = run_synth_command) -> Result:
    """Make (or reuse) one wav (``render`` with ``synthesise`` for a Job); never raises, failures
    come back as status 'failed'."""
    result = Result(
        job.split, job.index, job.rel_path, job.text, job.voice, "failed", source=job.source, augment=job.augment
    )
    max_duration = getattr(job, "max_duration", 0.0) or 1e9

    def make() -> np.ndarray:
        if isinstance(job, VariantJob):
            return render_variant(job)
        with tempfile.TemporaryDirectory(prefix="en_speech_") as tmp:
            return render(job, Path(tmp), synthesise)

    return synth.make_wav(result, Path(job.out_path), max_duration, make)


# ---------------------------------------------------------------------------------------------
# Installing what the recipe needs
# ---------------------------------------------------------------------------------------------


def debian_packages(engines: tuple[str, ...], dev_unseen: bool = False) -> list[str]:
    """Every Debian package the recipe needs for ``engines`` (and ``dev_unseen``'s voices)."""
    packages = [*TOOL_PACKAGES, *texts.TEXT_PACKAGES]
    if dev_unseen:
        packages += ["mbrola", *map(voices.mbrola_package, voices.UNSEEN_DEV_MBROLA)]
    for engine in engines:
        packages += voices.ENGINE_PACKAGES[engine]
    return list(dict.fromkeys(packages))


def non_main_sources(tmp: Path) -> list[str]:
    """apt-get options that read a sources list in ``tmp`` adding contrib and non-free to Debian's
    main section (this release, deb.debian.org), leaving the system's own lists alone; [] where
    /etc/os-release names no Debian release."""
    path = Path("/etc/os-release")
    lines = path.read_text().splitlines() if path.is_file() else []
    release = {key: value.strip('"') for key, _, value in (line.partition("=") for line in lines)}
    codename = release.get("VERSION_CODENAME", "")
    if release.get("ID") != "debian" or not codename:
        return []
    (tmp / "lists" / "partial").mkdir(parents=True)
    (tmp / "sources.list").write_text(f"deb http://deb.debian.org/debian {codename} main contrib non-free\n")
    for path in (tmp, tmp / "lists", tmp / "lists" / "partial"):
        path.chmod(0o755)  # apt's download user reads and writes there
    return ["-o", f"Dir::Etc::sourcelist={tmp / 'sources.list'}", "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={tmp / 'lists'}", "-o", "APT::Get::List-Cleanup=0"]


def install(engines: tuple[str, ...], dev_unseen: bool = False) -> None:
    """apt-get install the missing Debian packages (sudo when not root; for packages outside
    Debian's main section, from contrib and non-free where the system's sources lack them) and
    pip install the missing Python packages; stops with a message naming what could not be
    installed."""
    debs = [p for p in debian_packages(engines, dev_unseen)
            if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if debs:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}

        def apt(*words: str, options: list[str] = ()) -> bool:
            return subprocess.run([*sudo, "apt-get", *options, *words], env=env).returncode == 0

        get = ("install", "-y", "-q", "--no-install-recommends", *debs)
        print("installing Debian packages: " + " ".join(debs), flush=True)
        done = apt(*get)
        if not done:
            apt("update", "-q")
            done = apt(*get)
        if not done and voices.NON_MAIN_PACKAGES & set(debs):
            with tempfile.TemporaryDirectory(prefix="en_speech_apt_") as tmp:
                options = non_main_sources(Path(tmp))
                done = bool(options) and apt("update", "-q", options=options) and apt(*get, options=options)
        if not done:
            note = f"; {voices.MBROLA_NOTE}" if any(p.startswith("mbrola") for p in debs) else ""
            sys.exit(f"error: could not install Debian package(s) {' '.join(debs)}{note}")
    pip_install([p for p in texts.PYPI_PACKAGES if importlib.util.find_spec(p) is None])


def check_tools() -> None:
    """Stop with a message naming a missing tool or Python package."""
    for tool, package in (("sox", "sox"), ("ffmpeg", "ffmpeg")):
        if shutil.which(tool) is None:
            sys.exit(f"error: {tool} not found; install Debian package {package} (or run with --install)")
    pips = [p for p in texts.PYPI_PACKAGES if importlib.util.find_spec(p) is None]
    if pips:
        sys.exit(f"error: missing Python package(s) {' '.join(pips)}; pip install {' '.join(pips)} (or --install)")


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def manifest_row(r: Result) -> dict:
    """One NeMo manifest line."""
    return {
        "audio_filepath": r.rel_path,
        "duration": round(r.duration, 6),
        "text": r.text,
        "voice": r.voice,
        "source": r.source,
        "augment": r.augment,
    }


def engine_shares(text: str) -> dict[str, float]:
    """``espeak=0.3,flite=0.7`` -> {"espeak": 0.3, "flite": 0.7}; engines of voices.ENGINES, shares >= 0."""
    try:
        shares = {name.strip(): float(value) for name, value in (item.split("=") for item in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ENGINE=SHARE,..., got {text!r}") from None
    if set(shares) - set(voices.ENGINES) or any(v < 0 for v in shares.values()) or not sum(shares.values()) > 0:
        raise argparse.ArgumentTypeError(f"engines are {','.join(voices.ENGINES)}, shares >= 0, not all 0: {text!r}")
    return shares


def voices_key(joins_at: int) -> str:
    """The prepare_config key of the voices of the engines joining the training draw at ``joins_at``."""
    return "voices" if joins_at == 0 else f"voices_from_{joins_at}"


LATER_VOICE_KEYS = frozenset(voices_key(k) for k in voices.ENGINE_JOINS_AT.values())


def voice_keys(voice_ids: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """The voices per split, under one key per join point (``voices_key``): a corpus made before
    an engine joined lacks that key and still matches."""
    keys: dict[str, dict[str, list[str]]] = {}
    for split, ids in voice_ids.items():
        for v in ids:
            key = voices_key(voices.ENGINE_JOINS_AT.get(voices.engine_of(v), 0))
            keys.setdefault(key, {s: [] for s in voice_ids})[split].append(v)
    return keys


def check_joined_sources(out: Path, engines: tuple[str, ...] = ()) -> None:
    """Stop where ``out`` was made before a text source or one of ``engines`` joined the training
    draw (its config lacks that join's key) and holds training wavs past the join point: made by a
    larger --num-train then, they read other texts or voices than the draw now gives them."""
    old = recorded_config(out)
    if old is None:
        return
    joins: dict[tuple[int, str], list[str]] = {}
    for s in texts.SOURCES:
        if s.joins_at:
            joins.setdefault((s.joins_at, texts.fingerprint_key(s.joins_at)), []).append(f"text source {s.name}")
    for engine, joins_at in voices.ENGINE_JOINS_AT.items():
        if engine in engines:
            joins.setdefault((joins_at, voices_key(joins_at)), []).append(f"engine {engine}")
    for (joins_at, key), names in sorted(joins.items()):
        if key in old:
            continue
        past = sorted(p.name for p in (out / "wavs" / "train").glob("*.wav") if p.stem.isdigit()
                      and int(p.stem) >= joins_at)
        if past:
            sys.exit(f"error: {out} holds {len(past)} training wavs from index {joins_at} on ({past[0]} ...), made "
                     f"before the {', '.join(names)} joined there: their texts or voices have changed; delete "
                     f"them (wavs/train/*.wav from {past[0]} on) or use a new --out folder")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (wavs/ and the manifests)")
    texts.add_size_options(p)
    p.add_argument("--workers", type=int, default=2, help="synthesis processes")
    p.add_argument("--engines", default=",".join(e for e in voices.ENGINES if e not in voices.NON_FREE),
                   help=f"comma-separated synthesisers to use, of {','.join(voices.ENGINES)} (default: all but the "
                        f"non-free {','.join(voices.NON_FREE)}, whose licence a shipped model cannot meet)")
    p.add_argument("--install", action="store_true", help="install missing Debian and Python packages first")
    p.add_argument("--dev-unseen", action="store_true",
                   help="also write dev_unseen.jsonl: the dev sentences read by MBROLA's "
                        + ", ".join(v.split(":")[1] for v in voices.UNSEEN_DEV_VOICES)
                        + ", natural speakers no training split without mbrola hears (evaluation only)")
    p.add_argument("--train-part", type=train_part, default=None, metavar="PART/PARTS",
                   help="render only the training utterances whose index is PART modulo PARTS (and the clean "
                        "utterances their babble mixes in, not listed) into train_partPARTofPARTS.jsonl: the "
                        "same files as the whole corpus, a sample of it")
    p.add_argument("--clean-share", type=float, default=CLEAN_SHARE, help="training utterances kept clean")
    for name, share in AUGMENTS.items():
        p.add_argument(f"--{name}-share", type=float, default=share, help=f"share of training utterances with {name}")
    p.add_argument("--train-engine-shares", type=engine_shares, default=None, metavar="ENGINE=SHARE,...",
                   help="the training split's engine shares, e.g. espeak=0.3,flite=0.35,festival=0.35 (default: "
                        + ",".join(f"{e}={s}" for e, s in voices.ENGINE_SHARE.items())
                        + ", renormalised over --engines); dev and test keep the default")
    p.add_argument("--snr-min", type=float, default=0.0, help="lowest noise SNR in dB (babble: at least 5)")
    p.add_argument("--snr-max", type=float, default=30.0)
    p.add_argument("--max-duration", type=float, default=20.0, help="drop longer utterances (seconds)")
    p.add_argument("--text-root", default="/", help=argparse.SUPPRESS)  # where the text packages are (tests)
    args = p.parse_args(argv)
    unknown = set(args.engines.split(",")) - set(voices.ENGINES)
    args.engines = tuple(e for e in voices.ENGINES if e in args.engines.split(","))
    shares = [args.clean_share, *(getattr(args, f"{n}_share") for n in AUGMENTS)]
    if unknown or not args.engines:
        p.error(f"--engines takes some of {','.join(voices.ENGINES)}")
    if min(args.num_train, args.num_dev, args.num_test) < 0 or args.workers < 1:
        p.error("counts must be >= 0 and --workers >= 1")
    if not all(0 <= s <= 1 for s in shares) or not 0 <= args.snr_min <= args.snr_max:
        p.error("shares must be in [0, 1] and 0 <= --snr-min <= --snr-max")
    if max(shares[1:]) > 1 - args.clean_share:
        p.error("no augmentation share can be above 1 - --clean-share")
    if args.dev_unseen and "mbrola" in args.engines:
        p.error("--dev-unseen reads dev with MBROLA voices, which --engines mbrola puts in training")
    if args.train_engine_shares is not None and not any(args.train_engine_shares.get(e, 0) > 0 for e in args.engines):
        p.error("--train-engine-shares gives no engine of --engines a share")
    return args


def main(argv: list[str] | None = None) -> int:
    """Plan all utterances, render them in parallel (babble last, then the test variants), and
    write the manifests and text statistics."""
    args = parse_args(argv)
    if args.install:
        install(args.engines, args.dev_unseen)
    check_tools()
    if args.dev_unseen:
        voices.check_mbrola(list(voices.UNSEEN_DEV_MBROLA))
    out = Path(args.out)
    voice_ids = voices.split_voices(args.engines)
    root = Path(args.text_root)
    config = {
        "version": CONFIG_VERSION,
        "seed": args.seed,
        "num_dev": args.num_dev,
        "num_test": args.num_test,
        # an engine that joins the draw later is recorded by its voices (voice_keys), not here
        "engines": [e for e in args.engines if e not in voices.ENGINE_JOINS_AT],
        "clean_share": args.clean_share,
        "shares": {n: getattr(args, f"{n}_share") for n in AUGMENTS},
        "snr": [args.snr_min, args.snr_max],
        "max_duration": args.max_duration,
        # Catches changed text packages, normaliser or vocabulary, whose texts would not match reused wavs.
        **texts.fingerprints(root),
        **voice_keys(voice_ids),
    }
    if args.train_engine_shares is not None:  # recorded only when set: folders made before it still match
        config["train_engine_shares"] = args.train_engine_shares
    check_joined_sources(out, args.engines)
    check_config(out, config, texts.LATER_KEYS | LATER_VOICE_KEYS)
    print("voices: " + ", ".join(f"{s} {len(voice_ids[s])}" for s in SPLITS))

    splits = texts.make_splits(args.num_train, args.num_dev, args.num_test, args.seed, root)
    stats = texts.text_stats(splits)
    write_text_atomic(out / "text_stats.json", json.dumps(stats, indent=1) + "\n")
    test = stats["test"]
    print(
        f"texts: {stats['distinct_train_words']} distinct training words; test OOV "
        f"{test.get('oov_token_rate', 0):.1%} of words, {test.get('oov_type_rate', 0):.1%} of distinct words"
    )
    width = max(6, len(str(max(args.num_train, args.num_dev, args.num_test))))
    jobs = [make_job(s, i, t, voice_ids[s], args, width) for s in SPLITS for i, t in enumerate(splits[s])]
    natural = [v for v in voice_ids["train"] if voices.engine_of(v) in NATURAL_ENGINES]
    if natural:
        jobs += [make_job("dev_natural", i, t, natural, args, width) for i, t in enumerate(splits["dev"])]
    if args.dev_unseen:
        unseen = list(voices.UNSEEN_DEV_VOICES)
        jobs += [make_job("dev_unseen", i, t, unseen, args, width) for i, t in enumerate(splits["dev"])]
    jobs = plan_babble(jobs, args.seed)
    if args.train_part is not None:
        jobs = select_train_part(jobs, *args.train_part)
    first = [j for j in jobs if not j.babble_donors]
    then = [j for j in jobs if j.babble_donors]
    print(f"synthesising {len(jobs)} utterances ({len(then)} with babble last) with {args.workers} workers")
    start = time.monotonic()
    results = run_jobs(first, process, args.workers, min_step=25, chunksize=4)
    results += run_jobs(then, process, args.workers, min_step=25, chunksize=4) if then else []
    variants = variant_jobs([r for r in results if r.split == "test"], out, args.seed)
    print(f"writing {len(variants)} test variant files ({', '.join(TEST_VARIANTS)})")
    variant_results = run_jobs(variants, process, args.workers, min_step=25, chunksize=8) if variants else []
    report(results + variant_results, time.monotonic() - start, lambda r: r.voice)
    extra = ("dev_natural",) * bool(natural) + ("dev_unseen",) * args.dev_unseen
    listed, train_name = results, "train"
    if args.train_part is not None:  # the part's own utterances, not the babble donors rendered for it
        train_name = part_manifest_name(*args.train_part)
        listed = [r if r.split != "train" else replace(r, split=train_name)
                  for r in results if in_train_part(r, *args.train_part)]
    write_manifests(out, listed, manifest_row, (train_name, *SPLITS[1:], *extra))
    write_manifests(out, variant_results, manifest_row, TEST_VARIANTS)
    return 0 if not jobs or any(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
