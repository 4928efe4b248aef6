"""Build a synthetic English speech corpus with espeak-ng and flite.

Every utterance: a sentence from ``sentences.py``, a voice drawn from its split's voice set,
random speaking rate/pitch, synthesis to a temporary wav, ``sox`` to 16 kHz mono (plus an
optional reverb), silence trimmed to a random 0.1-0.3 s margin, optional white or pink noise at
15-30 dB SNR, a random peak level, and a 16-bit PCM wav. Writes NeMo manifests
DIR/{train,dev,test}.jsonl whose ``audio_filepath`` is relative to DIR.

Texts and voices are disjoint across splits (see ``split_voices``). Everything is deterministic
given --seed; existing valid wavs are reused, so an interrupted run can simply be restarted.

    python recipes/synth_speech/prepare.py --out data/synth --num-train 8000 --workers 2
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from sentences import make_sentences

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recipes.common
from recipes.common import (  # noqa: E402
    SPLIT_CODES,
    SPLITS,
    atomic_path,
    check_config,
    report,
    run_jobs,
    split_texts,
    texts_fingerprint,
    write_manifests,
)
from recog.noise import active_frames, coloured_noise, mix_at_snr  # noqa: E402

SAMPLE_RATE = 16000
CONFIG_VERSION = 1  # bump when the audio recipe changes so old wavs are not silently reused
TOOL_TIMEOUT_S = 60

# espeak-ng English accents, named by their voice *file* ("en", not "en-gb"): with "-v en-gb+Alex"
# espeak-ng finds the voice through its language tag and silently drops the variant.
ESPEAK_ACCENTS = (
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# Variants that are not distinct voices (checked by hashing their audio with espeak-ng 1.51).
EXCLUDED_VARIANTS = {
    "fast": "speed-tuning test file; sounds like the bare accent voice",
    "caleb": "renders identically to klatt",
    "klatt6": "renders identically to klatt",
}
# Variants whose names differ beyond a trailing number but which are versions of one voice.
VARIANT_ALIASES = {"anikarobot": "anika", "whisperf": "whisper", "anxiousandy": "andy"}
# Numbered variants that are independent voice designs, not versions of one voice.
INDEPENDENT_NUMBERED = ("m", "f")
TEST_SHARE, DEV_SHARE = 0.15, 0.10
SPLIT_SALT = "synth-speech-voices-v1"

# flite voices per split. kal16 is the same speaker (KAL diphone set) as kal, so it stays in train
# with kal; the held-out flite speaker is slt. awb_time is a limited-domain (clock-only) voice.
FLITE_SPLITS = {"train": ("kal", "kal16", "awb", "rms"), "dev": (), "test": ("slt",)}
# Default mean F0 (Hz) per flite voice, for a relative int_f0_target_mean; None: the voice ignores it.
FLITE_F0 = {"kal": 95.0, "kal16": 95.0, "awb": 130.0, "rms": None, "slt": 170.0}
FLITE_SHARE = 0.15  # share of utterances from flite where the split has flite voices


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to make one utterance; drawn up front so runs are reproducible."""

    split: str
    index: int
    rel_path: str
    out_path: str
    text: str
    voice: str
    synth_cmd: list[str]
    reverb: list[str] | None
    noise_kind: str | None
    snr_db: float
    lead_s: float
    trail_s: float
    peak_db: float
    noise_seed: int
    max_duration: float


@dataclass
class Result:
    """Outcome of one Job: status is 'made', 'reused' or 'failed'."""

    split: str
    index: int
    rel_path: str
    text: str
    voice: str
    status: str
    duration: float = 0.0
    error: str = ""


# ---------------------------------------------------------------------------------------------
# Voices
# ---------------------------------------------------------------------------------------------


def espeak_data_dir() -> Path:
    """espeak-ng's data folder, as reported by ``espeak-ng --version``."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Data at:\s*(\S+)", out)
    if not match:
        raise RuntimeError(f"cannot find the data folder in: {out!r}")
    return Path(match.group(1))


def espeak_accents() -> list[str]:
    """ESPEAK_ACCENTS that this espeak-ng has as real voice files (an unknown name silently falls
    back to the default voice, so it must be checked rather than trusted)."""
    out = subprocess.run(["espeak-ng", "--voices=en"], capture_output=True, text=True, check=True).stdout
    files = {line.split()[4].split("/")[-1].lower() for line in out.splitlines()[1:] if len(line.split()) > 4}
    missing = [a for a in ESPEAK_ACCENTS if a not in files]
    if missing:
        print(f"warning: espeak-ng lacks accent voice(s) {missing}; skipping them", file=sys.stderr)
    return [a for a in ESPEAK_ACCENTS if a in files]


def espeak_variants() -> list[str]:
    """Voice variant names from espeak-ng's ``voices/!v`` folder, minus EXCLUDED_VARIANTS."""
    folder = espeak_data_dir() / "voices" / "!v"
    if not folder.is_dir():
        raise RuntimeError(f"espeak-ng variant folder {folder} not found")
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in EXCLUDED_VARIANTS)


def variant_family(name: str) -> str:
    """Group versions of one variant ("klatt", "klatt2", ...) so they land in the same split."""
    key = name.lower().replace(" ", "")
    stem = re.sub(r"\d+$", "", key)
    if stem in INDEPENDENT_NUMBERED:
        return key
    return VARIANT_ALIASES.get(stem, stem)


def _rank(family: str) -> str:
    """Stable pseudo-random order of families, independent of --seed and of Python's hash salt."""
    return hashlib.sha256(f"{SPLIT_SALT}:{family}".encode()).hexdigest()


def split_variants(variants: list[str]) -> dict[str, list[str]]:
    """Assign whole variant families to test (~15%), dev (~10%) and train (the rest)."""
    families: dict[str, list[str]] = {}
    for name in variants:
        families.setdefault(variant_family(name), []).append(name)
    out: dict[str, list[str]] = {split: [] for split in SPLITS}
    targets = {"test": TEST_SHARE * len(variants), "dev": DEV_SHARE * len(variants)}
    for family in sorted(families, key=_rank):
        split = next((s for s in ("test", "dev") if len(out[s]) < targets[s]), "train")
        out[split].extend(families[family])
    return {split: sorted(names) for split, names in out.items()}


def split_voices(accents: list[str], variants: list[str], flite: bool) -> dict[str, list[str]]:
    """Voice ids per split: "espeak:ACCENT+VARIANT", "espeak:ACCENT" (train only) and "flite:NAME".

    Variants are disjoint across splits, so every dev/test accent+variant pair and every dev/test
    variant is unseen in train; accents are shared because there are only eight."""
    by_split = split_variants(variants)
    voices: dict[str, list[str]] = {}
    for split in SPLITS:
        ids = [f"espeak:{a}+{v}" for a in accents for v in by_split[split]]
        if split == "train":
            ids += [f"espeak:{a}" for a in accents]
        if flite:
            ids += [f"flite:{name}" for name in FLITE_SPLITS[split]]
        voices[split] = ids
    return voices


def check_variants_apply(accents: list[str], variant: str) -> list[str]:
    """Keep accents whose audio changes when ``variant`` is added, i.e. where espeak-ng honours
    "+variant" (it silently ignores it for some names, e.g. "en-gb")."""
    kept = []
    with tempfile.TemporaryDirectory(prefix="synth_probe_") as tmp:
        for accent in accents:
            digests = []
            for voice in (accent, f"{accent}+{variant}"):
                wav = Path(tmp) / "probe.wav"
                subprocess.run(
                    ["espeak-ng", "-v", voice, "-w", str(wav), "testing one two three"],
                    capture_output=True,
                    check=True,
                    timeout=TOOL_TIMEOUT_S,
                )
                digests.append(hashlib.sha256(wav.read_bytes()).hexdigest())
            if digests[0] != digests[1]:
                kept.append(accent)
            else:
                print(f"warning: espeak-ng ignores variants for accent {accent}; skipping it", file=sys.stderr)
    return kept


def discover_voices() -> dict[str, list[str]]:
    """Voice ids per split for the installed engines; flite is optional, espeak-ng is not."""
    accents = espeak_accents()
    variants = espeak_variants()
    if not accents or not variants:
        raise RuntimeError("espeak-ng has no usable English accents or no voice variants")
    accents = check_variants_apply(accents, variants[0])
    has_flite = shutil.which("flite") is not None
    if not has_flite:
        print("warning: flite not found; using espeak-ng voices only", file=sys.stderr)
    return split_voices(accents, variants, has_flite)


# ---------------------------------------------------------------------------------------------
# Per-utterance plan
# ---------------------------------------------------------------------------------------------


def synth_command(voice: str, text: str, wav: str, rng: np.random.Generator) -> list[str]:
    """The synthesis command for ``voice`` with random rate and pitch; ``wav`` is a placeholder
    path that the worker replaces with its temp file."""
    engine, name = voice.split(":", 1)
    # Draw every value for both engines so the stream does not depend on which engine is used.
    speed, pitch, gap = int(rng.integers(130, 186)), int(rng.integers(25, 76)), int(rng.integers(0, 5))
    stretch, f0_scale = float(rng.uniform(0.9, 1.2)), float(rng.uniform(0.85, 1.2))
    if engine == "espeak":
        return ["espeak-ng", "-v", name, "-s", str(speed), "-p", str(pitch), "-g", str(gap), "-w", wav, text]
    cmd = ["flite", "-voice", name, "--setf", f"duration_stretch={stretch:.3f}"]
    if FLITE_F0.get(name):
        cmd += ["--setf", f"int_f0_target_mean={FLITE_F0[name] * f0_scale:.1f}"]
    return cmd + ["-t", text, "-o", wav]


def reverb_args(rng: np.random.Generator) -> list[str]:
    """sox ``reverb`` arguments for a random room: reverberance, HF damping, room scale,
    stereo depth, pre-delay (ms), wet gain (dB)."""
    values = (
        rng.uniform(20, 80),
        rng.uniform(20, 80),
        rng.uniform(30, 100),
        100.0,
        rng.uniform(0, 30),
        rng.uniform(-4, 0),
    )
    return ["reverb", *(f"{v:.1f}" for v in values)]


def pick_voice(voices: list[str], rng: np.random.Generator) -> str:
    """A flite voice for FLITE_SHARE of utterances (where the split has one), else espeak-ng."""
    flite = [v for v in voices if v.startswith("flite:")]
    espeak = [v for v in voices if v.startswith("espeak:")]
    use_flite = rng.random() < FLITE_SHARE
    engine_pool = flite if (use_flite and flite) or not espeak else espeak
    return engine_pool[int(rng.integers(len(engine_pool)))]


def make_job(split: str, index: int, text: str, voices: list[str], args: argparse.Namespace, width: int) -> Job:
    """Draw all random choices for one utterance from a generator seeded by (seed, split, index)."""
    rng = np.random.default_rng([args.seed, SPLIT_CODES[split], index])
    voice = pick_voice(voices, rng)
    synth_cmd = synth_command(voice, text, "{wav}", rng)
    # Draw augmentation values unconditionally: changing a probability then flips only that flag.
    reverb, noise_roll, reverb_roll = reverb_args(rng), rng.random(), rng.random()
    noise_kind = ("white", "pink")[int(rng.integers(2))]
    snr_db, lead_s, trail_s = float(rng.uniform(15, 30)), float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.1, 0.3))
    peak_db, noise_seed = float(rng.uniform(-8, -1)), int(rng.integers(2**31))
    rel_path = f"wavs/{split}/{index:0{width}d}.wav"
    return Job(
        split=split,
        index=index,
        rel_path=rel_path,
        out_path=str(Path(args.out) / rel_path),
        text=text,
        voice=voice,
        synth_cmd=synth_cmd,
        reverb=reverb if reverb_roll < args.reverb_prob else None,
        noise_kind=noise_kind if noise_roll < args.noise_prob else None,
        snr_db=snr_db,
        lead_s=lead_s,
        trail_s=trail_s,
        peak_db=peak_db,
        noise_seed=noise_seed,
        max_duration=args.max_duration,
    )


# ---------------------------------------------------------------------------------------------
# Audio (runs in the workers)
# ---------------------------------------------------------------------------------------------


def is_valid_wav(path: str | Path, max_duration: float) -> bool:
    """True for a non-empty 16 kHz mono 16-bit PCM wav no longer than ``max_duration``."""
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError, sf.LibsndfileError):
        return False
    return (
        info.samplerate == SAMPLE_RATE
        and info.channels == 1
        and info.subtype == "PCM_16"
        and 0 < info.frames <= max_duration * SAMPLE_RATE
    )


def run_tool(cmd: list[str]) -> None:
    """Run an external tool; raise RuntimeError with its stderr on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}: {proc.stderr.strip()[-300:]}")


def to_16k(src: Path, dst: Path, reverb: list[str] | None) -> np.ndarray:
    """Mono 16 kHz float signal of ``src`` via sox, with the optional reverb."""
    # gain -6 leaves headroom: sox works in fixed point and would clip a loud reverb tail;
    # the level is set later anyway. pad gives the reverb tail room to ring out.
    effects = ["remix", "-", "gain", "-6", "rate", "-v", str(SAMPLE_RATE)]
    if reverb:
        effects += ["pad", "0", "0.6", *reverb]
    run_tool(["sox", "-V1", str(src), "-t", "wav", "-e", "floating-point", "-b", "32", str(dst), *effects])
    audio, rate = sf.read(str(dst), dtype="float64", always_2d=True)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"sox produced {rate} Hz")
    return audio.mean(axis=1)


def trim_silence(audio: np.ndarray, lead_s: float, trail_s: float) -> np.ndarray:
    """Cut leading/trailing silence to exactly ``lead_s``/``trail_s`` seconds, padding with zeros
    where the synthesiser left less, so every file starts and ends with a little silence."""
    frame = SAMPLE_RATE // 100
    mask = active_frames(audio, frame)
    if not mask.any():
        return np.zeros(0)
    first, last = np.flatnonzero(mask)[[0, -1]]
    speech = audio[first * frame : (last + 1) * frame]
    lead, trail = np.zeros(int(lead_s * SAMPLE_RATE)), np.zeros(int(trail_s * SAMPLE_RATE))
    return np.concatenate([lead, speech, trail])


def render(job: Job, tmp: Path) -> np.ndarray:
    """Synthesize, convert and augment ``job``; returns the final float signal."""
    raw = tmp / "raw.wav"
    run_tool([str(raw) if part == "{wav}" else part for part in job.synth_cmd])
    if not raw.is_file() or raw.stat().st_size <= 44:
        raise RuntimeError("synthesiser wrote no audio")
    audio = trim_silence(to_16k(raw, tmp / "16k.wav", job.reverb), job.lead_s, job.trail_s)
    if len(audio) == 0:
        raise RuntimeError("synthesised audio is silent")
    if job.noise_kind:
        rng = np.random.default_rng(job.noise_seed)
        audio = mix_at_snr(audio, coloured_noise(job.noise_kind, len(audio), rng), job.snr_db)
    return audio * (10 ** (job.peak_db / 20) / np.max(np.abs(audio)))


def process(job: Job) -> Result:
    """Make (or reuse) one wav; never raises, failures come back as status 'failed'."""
    result = Result(job.split, job.index, job.rel_path, job.text, job.voice, "failed")

    def synthesise() -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="synth_") as tmp:
            return render(job, Path(tmp))

    return make_wav(result, Path(job.out_path), job.max_duration, synthesise)


def make_wav(result: Any, out: Path, max_duration: float, make: Callable[[], np.ndarray]) -> Any:
    """Reuse a valid wav at ``out``, or write ``make()`` there (16 kHz 16-bit PCM, atomically);
    ``result`` gets its status ("reused", "made" or "failed"), duration or error. Never raises."""
    try:
        if is_valid_wav(out, max_duration):
            result.status = "reused"
        else:
            audio = make()
            if len(audio) > max_duration * SAMPLE_RATE:
                raise RuntimeError(f"too long ({len(audio) / SAMPLE_RATE:.2f} s)")
            with atomic_path(out) as part:
                sf.write(str(part), audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            result.status = "made"
        result.duration = sf.info(str(out)).frames / SAMPLE_RATE
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as err:
        result.status, result.error = "failed", str(err) or type(err).__name__
    return result


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def manifest_row(r: Result) -> dict:
    """One NeMo manifest line."""
    return {"audio_filepath": r.rel_path, "duration": round(r.duration, 6), "text": r.text, "voice": r.voice}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (wavs/ and the three manifests)")
    p.add_argument("--num-train", type=int, default=8000)
    p.add_argument("--num-dev", type=int, default=300)
    p.add_argument("--num-test", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="synthesis processes")
    p.add_argument("--noise-prob", type=float, default=0.3, help="share of files with added noise")
    p.add_argument("--reverb-prob", type=float, default=0.2, help="share of files with reverb")
    p.add_argument("--max-duration", type=float, default=8.0, help="drop longer utterances (seconds)")
    args = p.parse_args(argv)
    counts = (args.num_train, args.num_dev, args.num_test)
    if min(counts) < 0 or args.workers < 1 or not (0 <= args.noise_prob <= 1 and 0 <= args.reverb_prob <= 1):
        p.error("counts must be >= 0, --workers >= 1 and probabilities in [0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    """Plan all utterances, render them in parallel, and write the manifests."""
    args = parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"error: {tool} not found on PATH")
    out = Path(args.out)
    voices = discover_voices()
    config = {
        "version": CONFIG_VERSION,
        "seed": args.seed,
        "num_dev": args.num_dev,
        "num_test": args.num_test,
        "noise_prob": args.noise_prob,
        "reverb_prob": args.reverb_prob,
        "max_duration": args.max_duration,
        # Catches a changed sentence generator, whose new texts would not match reused wavs.
        "sentences_sha256": texts_fingerprint(make_sentences, args.seed),
        "voices": voices,
    }
    check_config(out, config)
    print("voices: " + ", ".join(f"{s} {len(voices[s])}" for s in SPLITS))

    texts = split_texts(make_sentences, args)
    width = max(6, len(str(max(args.num_train, args.num_dev, args.num_test))))
    jobs = [make_job(s, i, t, voices[s], args, width) for s in SPLITS for i, t in enumerate(texts[s])]
    print(f"synthesising {len(jobs)} utterances with {args.workers} workers")
    start = time.monotonic()
    results = run_jobs(jobs, process, args.workers, min_step=25, chunksize=4)
    report(results, time.monotonic() - start, lambda r: r.voice)
    write_manifests(out, results, manifest_row)
    return 0 if not jobs or any(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
