"""A long recording against its utterances one by one, in one run: peak resident memory, RTFx and
WER of ``recog transcribe`` on a recording made by joining test utterances with 0.3-2 s gaps, the
same utterances transcribed one by one, how many utterance starts a segment starts near, and how
many word start times lie near the words' starts in a forced alignment of the reference (Viterbi
over the model's own CTC head, utterance by utterance; words paired where the long transcript's
words equal the reference's).

    python benchmarks/longform.py --model en-speech --manifest data/synth_speech/test.jsonl --minutes 60

The recording is written in blocks (never whole in memory) as FLAC to a temporary folder; the long
transcription runs in a child process, so its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import difflib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_manifest, add_model, add_threads, load_model, parse_args, read_entries  # noqa: E402
from recog.audio import SAMPLE_RATE, load_audio  # noqa: E402
from recog.data import Entry  # noqa: E402
from recog.decoding.ctc import ctc_forced_align  # noqa: E402
from recog.inference import RecognitionModel  # noqa: E402
from recog.metrics import inverse_real_time_factor, word_error_rate  # noqa: E402
from recog_edge.segments import words_of  # noqa: E402
from recog_edge.vad import trim_silence  # noqa: E402

CHILD = """
import json, resource, sys, time, torch
torch.set_num_threads({threads})
import recog
model = recog.load({model!r})
start = time.perf_counter()
[result] = model.transcribe([{path!r}])
seconds = time.perf_counter() - start
segments = [[s.start, s.end] for s in result.segments()]
words = [[w.text, w.start] for w in result.words]
print(json.dumps({{"text": result.text, "seconds": seconds, "segments": segments, "words": words,
                   "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def make_recording(entries: list, minutes: float, path: Path, seed: int
                   ) -> tuple[list[str], list[float], list[float], float]:
    """Utterances (cycling through ``entries``) joined with 0.3-2 s gaps until ``minutes``: their
    texts, the times their speech starts (the first frame within 30 dB of the utterance's loudest),
    the times their files start, and the recording's length in seconds."""
    rng = np.random.default_rng(seed)
    texts, starts, files, position = [], [], [], 0.0
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, format="FLAC") as out:
        while position < minutes * 60:
            entry = entries[len(texts) % len(entries)]
            gap = np.zeros(int(rng.uniform(0.3, 2.0) * SAMPLE_RATE), dtype=np.float32)
            samples = load_audio(entry.path)
            out.write(gap)
            position += len(gap) / SAMPLE_RATE
            onset, _ = trim_silence(samples, SAMPLE_RATE, keep_seconds=0.0)
            starts.append(position + onset)
            files.append(position)
            texts.append(entry.text)
            out.write(samples)
            position += len(samples) / SAMPLE_RATE
    return texts, starts, files, position


def aligned_words(model: RecognitionModel, entry: Entry) -> list[tuple[str, float]] | None:
    """The reference's words of one utterance with their start times in its file: the first frame
    of each word's first token in the CTC head's forced alignment (None: the model has no CTC
    head)."""
    recognizer = model.model
    if "ctc" not in recognizer.heads:
        return None
    tokens = recognizer.tokenizer.encode(entry.text)
    audio = torch.from_numpy(load_audio(entry.path))[None]
    with torch.no_grad():
        h, h_lengths = recognizer.encode(audio, torch.tensor([audio.shape[1]]))
        log_probs = recognizer.heads["ctc"](h)
    first, _ = ctc_forced_align(log_probs, h_lengths, torch.tensor([tokens]), torch.tensor([len(tokens)]))
    pieces = [recognizer.tokenizer.id_to_piece(t) for t in tokens]
    starts = [int(f) * recognizer.frame_seconds for f in first[0]]
    return [(w.text, w.start) for w in words_of(pieces, starts, [1.0] * len(pieces), recognizer.frame_seconds)]


def paired_starts(hyp: list[tuple[str, float]], ref: list[tuple[str, float]]) -> list[tuple[int, float, float]]:
    """The words the transcript got right, paired with the reference's by difflib's longest
    matching blocks: (reference index, hypothesis start, reference start). Pair one utterance at a
    time: the recording repeats utterances, and a block across them can pair the wrong copy."""
    matcher = difflib.SequenceMatcher(None, [w for w, _ in hyp], [w for w, _ in ref], autojunk=False)
    return [(block.b + k, hyp[block.a + k][1], ref[block.b + k][1]) for block in matcher.get_matching_blocks()
            for k in range(block.size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model(parser, help="model name, folder or checkpoint (a model that can stream reads long files as a stream)")
    add_manifest(parser, help="speech test manifest whose utterances make the recording")
    add_threads(parser, default=1)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the recording")
    parser.add_argument("--seed", type=int, default=0)
    args = parse_args(parser)
    entries = read_entries(args.manifest)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.flac"
        texts, starts, file_starts, seconds = make_recording(entries, args.minutes, path, args.seed)
        child = CHILD.format(threads=args.threads, model=args.model, path=str(path))
        done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
        long = json.loads(done.stdout.strip().splitlines()[-1])
    used = entries[: min(len(texts), len(entries))]
    model = load_model(args.model)
    start = time.perf_counter()
    singles = {r.path: r.text for r in model.transcribe([e.path for e in used])}
    single_seconds = time.perf_counter() - start
    single_hyps = [singles[entries[i % len(entries)].path] for i in range(len(texts))]
    single_audio = sum(sf.info(e.path).duration for e in used)
    reference = " ".join(texts)
    long_wer, single_wer = word_error_rate([reference], [long["text"]]), word_error_rate(texts, single_hyps)
    segment_starts = np.array([s for s, _ in long["segments"]] or [np.inf])
    near = np.mean([np.min(np.abs(segment_starts - t)) <= 0.2 for t in starts])
    alignments = {e.path: aligned_words(model, e) for e in used}
    long_rtfx = inverse_real_time_factor(seconds, long["seconds"])
    single_rtfx = inverse_real_time_factor(single_audio, single_seconds)
    print(f"model: {args.model}, threads {args.threads}")
    print(f"recording: {seconds / 60:.1f} min, {len(texts)} utterances ({len(used)} distinct)")
    print(f"long recording: peak resident memory {long['peak_kb'] / 1024:.0f} MB, RTFx {long_rtfx:.1f}, "
          f"WER {100 * long_wer:.2f} %")
    print(f"one by one: RTFx {single_rtfx:.1f}, WER {100 * single_wer:.2f} %  "
          f"(long/one-by-one: RTFx {long_rtfx / single_rtfx:.2f}x, WER {long_wer / max(single_wer, 1e-9):.2f}x)")
    print(f"utterance starts with a segment start within 200 ms: {100 * near:.1f} % "
          f"({len(long['segments'])} segments, {len(starts)} utterances)")
    if all(a is not None for a in alignments.values()):
        pairs, onset_offsets, bounds = [], [], [*file_starts[1:], np.inf]
        word_starts = [t for _, t in long["words"]]  # in time order
        for i in range(len(texts)):  # each utterance's words against the transcript's words in its stretch
            reference = [(word, at + file_starts[i]) for word, at in alignments[entries[i % len(entries)].path]]
            low, high = np.searchsorted(word_starts, [file_starts[i], bounds[i]])
            inside = [(w, t) for w, t in long["words"][low:high]]
            pairs += [(k == 0, h, r) for k, h, r in paired_starts(inside, reference)]
            onset_offsets += [reference[0][1] - starts[i]] if reference else []
        within = [abs(h - r) <= 0.1 for _, h, r in pairs]
        inner = [ok for (first, _, _), ok in zip(pairs, within, strict=True) if not first]
        first_offsets = [h - r for first, h, r in pairs if first]
        print(f"word starts within 100 ms of the forced alignment: {100 * np.mean(within):.1f} % of {len(pairs)} "
              f"words read right; {100 * np.mean(inner):.1f} % of the {len(inner)} not first in their utterance; "
              f"first words: median {1000 * np.median(first_offsets):+.0f} ms from the alignment")
        print(f"the alignment's first words against the utterances' audible onsets: median "
              f"{1000 * np.median(onset_offsets):+.0f} ms")
    else:
        print("word starts against a forced alignment: not measured (the model has no CTC head)")
    print(f"this process's peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
