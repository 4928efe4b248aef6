"""New speakers from the corpus's natural voices: WORLD analysis and resynthesis (``pyworld``) of
clean training utterances with another pitch level, pitch range and vocal-tract length.

The synthesisers Debian offers give en-speech few natural speakers (flite's kal, kal16 and awb,
festival's kal and ked, Pico's two, RHVoice's alan, bdl and clb); the unseen natural voices of dev
and test are where it reads worst. Each morphed utterance takes one clean training utterance of a
natural voice (never a dev or test one), analyses it into F0, spectral envelope and aperiodicity
(DIO + StoneMask, CheapTrick, D4C), and resynthesises it with:

- a new mean F0, drawn log-uniformly from 80-280 Hz (a low male to a high female or child voice);
- the F0 contour's excursions around that mean scaled by 0.6-1.6 (flat to lively intonation);
- the spectral envelope warped along frequency by a factor that follows the new pitch (a higher
  voice, a shorter vocal tract) with its own jitter, 0.86-1.2.

VTLP in training warps the filterbank of every utterance already; what morphing adds is pitch
independent of the envelope, new intonation, and the vocoder's own voice quality.

Reads DATA/train.jsonl (prepare.py's corpus); writes OUT/wavs/train/<index>.wav and OUT/train.jsonl
(``audio_filepath`` relative to OUT), the rows with ``voice`` "world:<source voice>", ``augment``
naming the three draws, and ``source_audio`` (relative to DATA). Deterministic given --seed;
resumable (valid existing wavs are reused; OUT records its settings and refuses others):

    python recipes/en_speech/morph.py --data data/en_speech --out data/en_speech_morph --per-voice 400
    python tools/mix_manifests.py data/en_speech/train.jsonl data/en_speech_morph/train.jsonl \
        --out data/en_speech_mix3/train.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recipes.common
from recipes.common import atomic_path, check_config, report, run_jobs, write_manifests  # noqa: E402

NATURAL_ENGINES = ("flite", "festival", "pico", "rhvoice")  # espeak-ng is formant synthesis
F0_RANGE_HZ = (80.0, 280.0)
EXCURSION = (0.6, 1.6)
WARP = (0.86, 1.2)
FRAME_MS = 5.0
CONFIG_VERSION = 1  # bump when the morph changes so old wavs are not silently reused


@dataclass(frozen=True)
class Draw:
    """One new speaker: mean F0 in Hz, F0 excursion scale, spectral-envelope warp (>1: formants up)."""

    f0_hz: float
    excursion: float
    warp: float

    def name(self) -> str:
        return f"morph f0={self.f0_hz:.0f} exc={self.excursion:.2f} warp={self.warp:.3f}"


def draw(rng: np.random.Generator) -> Draw:
    """A speaker: log-uniform mean F0; the warp follows it ((F0 / 150 Hz) ** 0.15) times 0.94-1.06."""
    f0 = float(np.exp(rng.uniform(*np.log(F0_RANGE_HZ))))
    excursion = float(rng.uniform(*EXCURSION))
    warp = float(np.clip((f0 / 150.0) ** 0.15 * rng.uniform(0.94, 1.06), *WARP))
    return Draw(f0, excursion, warp)


def warp_envelope(envelope: np.ndarray, factor: float) -> np.ndarray:
    """Spectral envelope (frames, bins) with its frequency axis stretched: bin k takes the value
    at k / ``factor`` (the top bin's value past the end)."""
    bins = np.arange(envelope.shape[1], dtype=np.float64)
    source = bins / factor
    lo = np.clip(np.floor(source).astype(int), 0, len(bins) - 1)
    hi = np.clip(lo + 1, 0, len(bins) - 1)
    frac = np.clip(source - lo, 0.0, 1.0)
    return np.ascontiguousarray(envelope[:, lo] * (1 - frac) + envelope[:, hi] * frac)


def morph(audio: np.ndarray, sample_rate: int, speaker: Draw) -> np.ndarray:
    """``audio`` (N,) float resynthesised as ``speaker``: float32 (about N,), peak as the input's.
    Raises ValueError where the utterance has no voiced frame."""
    import pyworld

    x = np.ascontiguousarray(audio, dtype=np.float64)
    f0, times = pyworld.dio(x, sample_rate, frame_period=FRAME_MS)
    f0 = pyworld.stonemask(x, f0, times, sample_rate)
    envelope = pyworld.cheaptrick(x, f0, times, sample_rate)
    aperiodicity = pyworld.d4c(x, f0, times, sample_rate)
    voiced = f0 > 0
    if not voiced.any():
        raise ValueError("no voiced frame")
    log_f0 = np.log(f0[voiced])
    mean = log_f0.mean()
    new_f0 = np.zeros_like(f0)
    new_f0[voiced] = np.exp(np.log(speaker.f0_hz) + speaker.excursion * (log_f0 - mean))
    y = pyworld.synthesize(new_f0, warp_envelope(envelope, speaker.warp), aperiodicity, sample_rate,
                           frame_period=FRAME_MS)
    peak = np.abs(y).max()
    return (y * (np.abs(x).max() / peak if peak > 0 else 0.0)).astype(np.float32)


@dataclass(frozen=True)
class Job:
    index: int
    row: dict
    data: Path
    out: Path
    speaker: Draw

    @property
    def rel_path(self) -> str:
        return f"wavs/train/{self.index:06d}.wav"


@dataclass(frozen=True)
class Result:
    job: Job
    status: str  # "made", "reused" or "failed"
    duration: float = 0.0
    error: str = ""

    split = "train"  # what recipes.common.report and write_manifests read

    @property
    def index(self) -> int:
        return self.job.index

    @property
    def rel_path(self) -> str:
        return self.job.rel_path

    @property
    def text(self) -> str:
        return self.job.row["text"]


def process(job: Job) -> Result:
    """Make (or reuse) one morphed wav."""
    out = job.out / job.rel_path
    try:
        if out.exists():
            info = sf.info(out)
            if info.frames > 0:
                return Result(job, "reused", info.frames / info.samplerate)
        audio, rate = sf.read(job.data / job.row["audio_filepath"], dtype="float32")
        y = morph(audio, rate, job.speaker)
        with atomic_path(out) as tmp:
            sf.write(tmp, y, rate, format="WAV", subtype="PCM_16")
        return Result(job, "made", len(y) / rate)
    except (ValueError, RuntimeError, OSError, sf.LibsndfileError) as e:
        return Result(job, "failed", error=f"from {job.row['audio_filepath']}: {e}")


def plan(rows: list[dict], data: Path, out: Path, per_voice: int, seed: int) -> list[Job]:
    """``per_voice`` clean utterances of each natural training voice, each with its own speaker."""
    by_voice: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["voice"].split(":")[0] in NATURAL_ENGINES and row.get("augment") == "clean":
            by_voice[row["voice"]].append(row)
    rng = np.random.default_rng(seed)
    chosen = []
    for voice in sorted(by_voice):
        pool = by_voice[voice]
        picks = rng.choice(len(pool), size=min(per_voice, len(pool)), replace=False)
        chosen += [pool[i] for i in sorted(picks)]
    order = rng.permutation(len(chosen))
    return [Job(i, chosen[j], data, out, draw(rng)) for i, j in enumerate(order)]


def manifest_row(r: Result) -> dict:
    row = r.job.row
    return {"audio_filepath": r.rel_path, "duration": round(r.duration, 6), "text": row["text"],
            "voice": f"world:{row['voice']}", "source": row.get("source", ""), "augment": r.job.speaker.name(),
            "source_audio": row["audio_filepath"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="the corpus folder prepare.py wrote (train.jsonl)")
    p.add_argument("--out", type=Path, required=True, help="the folder to write the morphed corpus to")
    p.add_argument("--per-voice", type=int, default=400, help="morphed utterances per natural voice")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    try:
        import pyworld  # noqa: F401
    except ImportError:
        print("error: morph.py needs pyworld: pip install pyworld setuptools", file=sys.stderr)
        return 2
    manifest = args.data / "train.jsonl"
    if not manifest.is_file():
        print(f"error: {manifest}: no training manifest (run prepare.py first)", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    jobs = plan(rows, args.data, args.out, args.per_voice, args.seed)
    if not jobs:
        print(f"error: {manifest}: no clean utterance of a natural voice ({', '.join(NATURAL_ENGINES)})",
              file=sys.stderr)
        return 2
    check_config(args.out, {"version": CONFIG_VERSION, "data": str(args.data.resolve()), "train_rows": len(rows),
                            "per_voice": args.per_voice, "seed": args.seed})
    start = time.monotonic()
    results = run_jobs(jobs, process, args.workers, min_step=200, chunksize=4)
    report(results, time.monotonic() - start, lambda r: r.job.row["voice"])
    write_manifests(args.out, results, manifest_row, splits=(Result.split,))
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
