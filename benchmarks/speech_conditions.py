"""The shipped speech model's figures in one run: WER on a test manifest clean and under the
conditions real input brings, each as a ratio to clean; per voice group; offline against
streaming at a look-ahead; offline greedy RTFx.

    python benchmarks/speech_conditions.py --model en-speech --manifest data/synth_speech/test.jsonl \
        --threads 1 --by voice --stream-context 56,13

Conditions, made from the same test audio in memory: 1 s of leading silence; white noise at 10 dB
SNR on the speech frames (seeded); sox reverb (reverberance 50 %); band-limited to 8 kHz sampling (telephone band:
resampled to 8 kHz and back). Streaming is the model's own cache-aware stream at
``--stream-context`` (greedy, endpointing off), against its offline decoding.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import (  # noqa: E402
    Stopwatch,
    add_limit,
    add_manifest,
    add_model,
    add_threads,
    audio_seconds,
    context_pair,
    group_rows,
    load_audio_entries,
    load_model,
    parse_args,
    read_entries,
)
from recog.audio import SAMPLE_RATE  # noqa: E402
from recog.metrics import inverse_real_time_factor, word_error_rate  # noqa: E402
from recog.noise import coloured_noise, mix_at_snr  # noqa: E402
from recog.streaming import EndpointConfig, StreamingRecognizer  # noqa: E402


def with_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at ``snr_db`` below the power of the speech frames (``recog.noise``, as the
    en_speech recipe's test_noise10; before 2026-12-03 the power of the whole signal, silent
    margins included, which added less noise)."""
    return mix_at_snr(audio, coloured_noise("white", len(audio), rng), snr_db).astype(np.float32)


def with_reverb(audio: np.ndarray) -> np.ndarray:
    """sox reverb (50 % reverberance), as long as the input."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(src, audio, SAMPLE_RATE, subtype="FLOAT")
        subprocess.run(["sox", str(src), str(out), "reverb", "50"], check=True, capture_output=True)
        wet, _ = sf.read(out, dtype="float32")
    wet = wet if wet.ndim == 1 else wet.mean(axis=1)
    return np.ascontiguousarray(wet[: len(audio)])


def telephone(audio: np.ndarray) -> np.ndarray:
    """The 8 kHz band: resampled to 8 kHz and back."""
    narrow = soxr.resample(audio, SAMPLE_RATE, 8000, quality="HQ")
    return np.ascontiguousarray(soxr.resample(narrow, 8000, SAMPLE_RATE, quality="HQ")[: len(audio)], dtype=np.float32)


def transcribe(model, audio: list[np.ndarray], names: list[str], head: str | None) -> tuple[list[str], float]:  # noqa: ANN001
    """Texts of ``audio`` (batched as the Python API batches) and the seconds it took."""
    inputs = dict(enumerate(audio))
    texts: dict[int, str] = {}
    with Stopwatch() as watch:
        for batch in model.plan_batches(inputs, None):
            results = model.transcribe_arrays([inputs[i] for i in batch], [names[i] for i in batch], head=head)
            texts.update((i, r.text) for i, r in zip(batch, results, strict=True))
    return [texts[i] for i in range(len(audio))], watch.seconds


def stream_texts(model, audio: list[np.ndarray], context: tuple[int, int], head: str | None) -> list[str]:  # noqa: ANN001
    recognizer = StreamingRecognizer(model, head=head, att_context=context, endpoint=EndpointConfig(enabled=False))
    texts = []
    for samples in audio:
        stream = recognizer.create_stream()
        stream.accept_waveform(SAMPLE_RATE, samples)
        stream.input_finished()
        recognizer.decode(stream)
        texts.append(stream.final_text())
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model(parser, help="model name, folder or checkpoint")
    add_manifest(parser, help="speech test manifest")
    add_threads(parser, default=1)
    add_limit(parser, "--files", help="first N manifest entries only")
    parser.add_argument("--head", help="head to decode with (default: the model's first)")
    parser.add_argument("--by", help="manifest field to break clean WER down by (its part before the first ':')")
    parser.add_argument("--stream-context", help="LEFT,RIGHT look-ahead to stream at (default: none, no streaming)")
    args = parse_args(parser)
    model = load_model(args.model)
    entries = read_entries(args.manifest, args.files)
    names, refs = [e.path for e in entries], [e.text for e in entries]
    clean = load_audio_entries(entries)
    transcribe(model, clean[:2], names[:2], args.head)  # warm-up
    hyps, elapsed = transcribe(model, clean, names, args.head)
    base = word_error_rate(refs, hyps)
    print(f"model: {args.model}, context {getattr(model.model.encoder, 'att_context', None)}, "
          f"head {args.head or model.model.default_head}, greedy, threads {args.threads}")
    print(f"utterances: {len(entries)}, audio {audio_seconds(clean):.1f} s")
    print(f"clean: WER {100 * base:.2f} %  RTFx {inverse_real_time_factor(audio_seconds(clean), elapsed):.1f}")
    rng = np.random.default_rng(0)
    conditions = {
        "1 s leading silence": load_audio_entries(entries, leading_silence=1.0),
        "white noise 10 dB SNR": [with_noise(a, 10.0, rng) for a in clean],
        "sox reverb 50": [with_reverb(a) for a in clean],
        "8 kHz band": [telephone(a) for a in clean],
    }
    for name, audio in conditions.items():
        wer = word_error_rate(refs, transcribe(model, audio, names, args.head)[0])
        print(f"{name}: WER {100 * wer:.2f} %  ({wer / base if base else float('nan'):.2f}x clean)")
    if args.by:
        for group, items in group_rows(args.manifest, entries, args.by).items():
            wer = word_error_rate([refs[i] for i in items], [hyps[i] for i in items])
            print(f"  {args.by} {group}: {len(items)} utterances, WER {100 * wer:.2f} %")
    context = context_pair(args.stream_context)
    if context is not None:
        streamed = word_error_rate(refs, stream_texts(model, clean, context, args.head))
        print(f"streaming at {list(context)} ({(context[1] + 1) * model.model.frame_seconds * 1000:.0f} ms chunks): "
              f"WER {100 * streamed:.2f} %  ({streamed / base if base else float('nan'):.2f}x offline)")


if __name__ == "__main__":
    main()
