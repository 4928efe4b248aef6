"""Cache-aware streaming figures: parity with offline, constant per-chunk cost, cost against a
buffered (re-encoding) baseline, and onnxruntime against PyTorch streaming speed.

    python benchmarks/streaming.py --model runs/synth_speech_streaming/checkpoints/last.ckpt \
        --manifest data/synth_speech/test.jsonl --files 100 --threads 1

Parts (each prints its figure):
  parity    for every trained context: max |streamed - offline| encoder output, batch 1 and a batch
            of unequal lengths, PyTorch and onnxruntime; files whose streamed text != offline text.
  constant  a 10-minute input streamed chunk by chunk: mean time per chunk in minute 10 / minute 1
            (PyTorch and onnxruntime), and resident memory at minutes 1 and 10.
  buffered  compute per second of audio of cache-aware streaming against NeMo-style buffered
            streaming (each chunk re-encoded with its left context), and both WERs.
  runtime   streaming RTFx (audio seconds / processing seconds, one core) of recog_edge on
            onnxruntime against PyTorch eager streaming, same model, same files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
import recog  # noqa: E402
from benchmarks.common import (  # noqa: E402
    Stopwatch,
    add_context,
    add_limit,
    add_manifest,
    add_model,
    add_threads,
    audio_seconds,
    load_audio_entries,
    load_model,
    parameter_count,
    parse_args,
    read_entries,
    resident_bytes,
    timed,
)
from recog.audio import SAMPLE_RATE  # noqa: E402
from recog.decoding.ctc import greedy_decode  # noqa: E402
from recog.export import export_streaming  # noqa: E402
from recog.metrics import word_error_rate  # noqa: E402
from recog.streaming import EndpointConfig, StreamingRecognizer  # noqa: E402
from recog_edge import EdgeModel  # noqa: E402


def features(model: recog.RecognitionModel, samples: np.ndarray) -> torch.Tensor:
    """(1, T, n_mels) offline log-mel of one signal."""
    wave = torch.from_numpy(samples)[None]
    with torch.no_grad():
        feats, _ = model.model.frontend(wave, torch.tensor([wave.shape[1]]))
    return feats


def streamed(runtime: StreamingRecognizer | EdgeModel, samples: np.ndarray, piece: int = 1600):  # noqa: ANN201
    """Feed ``samples`` to a new stream of ``runtime`` (PyTorch or recog_edge: the same calls) in
    ``piece``-sample steps, decoding as it goes; the finished stream."""
    stream = runtime.create_stream()
    for start in range(0, len(samples), piece):
        stream.accept_waveform(SAMPLE_RATE, samples[start: start + piece])
        runtime.decode(stream)
    stream.input_finished()
    runtime.decode(stream)
    return stream


def streamed_text(runtime: StreamingRecognizer | EdgeModel, samples: np.ndarray) -> str:
    """The text of ``samples`` streamed through ``runtime`` (both runtimes give the same result type)."""
    return streamed(runtime, samples).result.text


def part_parity(model: recog.RecognitionModel, audio: list[np.ndarray], head: str, workdir: Path) -> None:
    encoder = model.model.encoder
    print("== parity: chunk-by-chunk streaming vs offline forward with the same context")
    chosen = encoder.att_context
    for left, right in list(encoder.att_contexts):
        encoder.set_att_context(left, right)
        feats = [features(model, a)[0] for a in audio]
        worst_single, worst_batch = 0.0, 0.0
        with torch.no_grad():
            for f in feats:
                offline, n = encoder(f[None], torch.tensor([len(f)]))
                chunked = encoder.forward_streaming(f[None], torch.tensor([len(f)]))[0]
                worst_single = max(worst_single, float((chunked[0, : n[0]] - offline[0, : n[0]]).abs().max()))
            for i in range(0, len(feats) - 3, 4):  # batches of 4 unequal lengths
                group = feats[i: i + 4]
                lengths = torch.tensor([len(f) for f in group])
                x = torch.nn.utils.rnn.pad_sequence(group, batch_first=True)
                offline, n = encoder(x, lengths)
                chunked, _ = encoder.forward_streaming(x, lengths)
                for b in range(len(group)):
                    worst_batch = max(worst_batch, float((chunked[b, : n[b]] - offline[b, : n[b]]).abs().max()))
        recognizer = StreamingRecognizer(model, head=head, endpoint=EndpointConfig(enabled=False))
        offline_texts = [model.transcribe_arrays([a], ["-"], head=head)[0].text for a in audio]
        torch_diff = sum(streamed_text(recognizer, a) != t for a, t in zip(audio, offline_texts, strict=True))
        folder = workdir / f"ctx_{left}_{right}"
        export_streaming(model.model, folder)
        edge = EdgeModel(folder, head=head, endpoint=EndpointConfig(enabled=False))
        edge_diff = sum(streamed_text(edge, a) != t for a, t in zip(audio, offline_texts, strict=True))
        print(f"context [{left}, {right}] (chunk {(right + 1) * model.model.frame_seconds * 1000:.0f} ms): "
              f"max abs diff batch 1 {worst_single:.2e}, unequal batch {worst_batch:.2e}; texts differing from "
              f"offline: PyTorch {torch_diff}/{len(audio)}, onnxruntime {edge_diff}/{len(audio)}")
    encoder.set_att_context(*chosen)


def default_export(model: recog.RecognitionModel, workdir: Path) -> Path:
    """The model exported for streaming at its chosen context, in ``workdir/default`` (made once)."""
    folder = workdir / "default"
    if not (folder / "encoder.onnx").exists():
        export_streaming(model.model, folder)
    return folder


def long_signal(audio: list[np.ndarray], seconds: float) -> np.ndarray:
    reps = int(np.ceil(seconds * SAMPLE_RATE / sum(len(a) for a in audio)))
    return np.concatenate(audio * reps)[: int(seconds * SAMPLE_RATE)]


def part_constant(model: recog.RecognitionModel, audio: list[np.ndarray], workdir: Path) -> None:
    print("== constant cost: a 10-minute stream, time per encoder chunk (features precomputed)")
    encoder = model.model.encoder
    signal = long_signal(audio, 600.0)
    feats = features(model, signal)  # (1, T, F)
    n = encoder.chunk_features
    chunks_per_minute = int(60 / (encoder.chunk_frames * model.model.frame_seconds))
    folder = default_export(model, workdir)
    edge = EdgeModel(folder)
    for runtime in ("pytorch", "onnxruntime"):
        times, memory = [], {}
        cache = encoder.init_cache(1)
        feeds = edge.create_stream().cache
        for i, start in enumerate(range(0, feats.shape[1] - n + 1, n)):
            chunk = feats[:, start: start + n]
            with Stopwatch() as watch:
                if runtime == "pytorch":
                    with torch.no_grad():
                        _, _, cache = encoder.forward_chunk(chunk, torch.tensor([n]), cache)
                else:
                    outputs = edge.encoder.run(None, {"chunk": chunk.numpy(), "chunk_lengths": np.array([n]), **feeds})
                    named = dict(zip(edge.output_names, outputs, strict=True))
                    feeds = {k: named["new_" + k] for k in feeds}
            times.append(watch.seconds)
            if (i + 1) % chunks_per_minute == 0:
                memory[(i + 1) // chunks_per_minute] = resident_bytes() / 2**20
        # Medians: robust to other work on the machine; minute 1 skips 20 warm-up chunks.
        first = np.median(times[20:chunks_per_minute])
        last = np.median(times[9 * chunks_per_minute: 10 * chunks_per_minute])
        print(f"{runtime}: median {1000 * first:.3f} ms/chunk in minute 1, {1000 * last:.3f} in minute 10, "
              f"ratio {last / first:.3f}; resident memory {memory.get(1, 0):.0f} MB at minute 1, "
              f"{memory.get(10, 0):.0f} MB at minute 10")


def part_buffered(model: recog.RecognitionModel, audio: list[np.ndarray], refs: list[str], group: int,
                  workdir: Path) -> None:
    """NeMo-style buffered streaming: every chunk is re-encoded together with its left context
    (the same `left` frames the cache-aware model keeps), and the chunk's CTC posteriors kept.
    Files are joined ``group`` at a time into long streams (with 0.3 s of silence between)."""
    gap = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
    audio = [np.concatenate([x for a in audio[i: i + group] for x in (a, gap)]) for i in range(0, len(audio), group)]
    refs = [" ".join(refs[i: i + group]) for i in range(0, len(refs), group)]
    print(f"== buffered baseline (re-encode left context + chunk each step) vs cache-aware, CTC greedy, "
          f"{len(audio)} streams of ~{audio_seconds(audio) / len(audio):.0f} s")
    encoder = model.model.encoder
    ctc = model.model.heads["ctc"]
    chunk, window = encoder.chunk_features, buffered_window(encoder)
    cached_time = buffered_time = 0.0
    cached_hyps, buffered_hyps = [], []
    for samples in audio:
        f = features(model, samples)
        length = torch.tensor([f.shape[1]])
        with torch.no_grad():
            with Stopwatch() as watch:
                h, _ = encoder.forward_streaming(f, length)
            cached_time += watch.seconds
            n = encoder.output_lengths(length)
            cached_hyps.append(model.model.tokenizer.decode(greedy_decode(ctc(h[:, : n[0]]), n)[0].tokens))
            with Stopwatch() as watch:
                outputs = []
                for start in range(0, f.shape[1], chunk):
                    lo = max(0, start + chunk - window)
                    piece = f[:, lo: start + chunk]
                    h_win, _ = encoder(piece, torch.tensor([piece.shape[1]]))
                    keep = encoder.output_lengths(torch.tensor([min(start + chunk, f.shape[1]) - start]))
                    outputs.append(h_win[:, h_win.shape[1] - encoder.chunk_frames:][:, : int(keep[0])])
            buffered_time += watch.seconds
            h_buf = torch.cat(outputs, dim=1)[:, : n[0]]
            buffered_hyps.append(model.model.tokenizer.decode(greedy_decode(ctc(h_buf), n)[0].tokens))
    seconds = audio_seconds(audio)
    flops = buffered_flops(encoder, features(model, audio[0]))
    first = len(audio[0]) / SAMPLE_RATE
    print(f"floating-point operations per audio second (first stream, torch FlopCounterMode): cache-aware "
          f"{flops[0] / first / 1e9:.3f} GFLOP, buffered {flops[1] / first / 1e9:.3f} GFLOP, "
          f"ratio {flops[1] / flops[0]:.2f}x")
    print(f"cache-aware: {1000 * cached_time / seconds:.1f} ms compute per audio second, WER "
          f"{100 * word_error_rate(refs, cached_hyps):.2f} %")
    print(f"buffered:    {1000 * buffered_time / seconds:.1f} ms compute per audio second, WER "
          f"{100 * word_error_rate(refs, buffered_hyps):.2f} %")
    print(f"buffered / cache-aware compute: {buffered_time / cached_time:.2f}x (PyTorch eager: at this model "
          "size per-call overhead, not arithmetic, dominates both)")
    onnx_ratio(model, features(model, audio[0]), workdir)


class _Window(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x, lengths)


def onnx_ratio(model: recog.RecognitionModel, f: torch.Tensor, workdir: Path) -> None:
    """Time both schemes in onnxruntime (one thread) over one stream's features f (1, T, F):
    the exported streaming step, and the offline encoder exported for one full window (left
    context + chunk; steady-state windows, so the first ones are timed at full size too)."""
    import onnxruntime as ort

    encoder = model.model.encoder
    chunk, window = encoder.chunk_features, buffered_window(encoder)
    folder = default_export(model, workdir)
    edge = EdgeModel(folder)
    example = (torch.zeros(1, window, f.shape[2]), torch.tensor([window]))
    program = torch.onnx.export(_Window(encoder).eval(), example, input_names=["x", "lengths"],
                                output_names=["h", "h_lengths"], dynamo=True, external_data=False, verbose=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    offline = ort.InferenceSession(program.model_proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    padded = torch.nn.functional.pad(f, (0, 0, window, chunk)).numpy()
    feeds = edge.create_stream().cache
    steps = range(window, padded.shape[1] - chunk + 1, chunk)
    with Stopwatch() as watch:
        for start in steps:
            out = edge.encoder.run(None, {"chunk": padded[:, start: start + chunk],
                                          "chunk_lengths": np.array([chunk]), **feeds})
            named = dict(zip(edge.output_names, out, strict=True))
            feeds = {k: named["new_" + k] for k in feeds}
    cached = watch.seconds
    with Stopwatch() as watch:
        for start in steps:
            offline.run(None, {"x": padded[:, start + chunk - window: start + chunk], "lengths": np.array([window])})
    buffered = watch.seconds
    seconds = len(steps) * encoder.chunk_frames * model.model.frame_seconds
    print(f"onnxruntime, one thread: cache-aware {1000 * cached / seconds:.1f} ms per audio second, buffered "
          f"{1000 * buffered / seconds:.1f} ms; buffered / cache-aware {buffered / cached:.2f}x")


def buffered_window(encoder: torch.nn.Module) -> int:
    """Feature frames a buffered step re-encodes: the left context the cache-aware model keeps,
    plus the chunk."""
    left, right = encoder.att_context
    return (left // (right + 1) + 1) * encoder.chunk_features


def buffered_flops(encoder: torch.nn.Module, f: torch.Tensor) -> tuple[float, float]:
    """(cache-aware, buffered) floating-point operations to encode features f (1, T, F)."""
    from torch.utils.flop_counter import FlopCounterMode

    chunk, window = encoder.chunk_features, buffered_window(encoder)
    with torch.no_grad():
        with FlopCounterMode(display=False) as cached:
            encoder.forward_streaming(f, torch.tensor([f.shape[1]]))
        with FlopCounterMode(display=False) as buffered:
            for start in range(0, f.shape[1], chunk):
                piece = f[:, max(0, start + chunk - window): start + chunk]
                encoder(piece, torch.tensor([piece.shape[1]]))
    return float(cached.get_total_flops()), float(buffered.get_total_flops())


def part_runtime(model: recog.RecognitionModel, audio: list[np.ndarray], head: str, workdir: Path) -> None:
    print(f"== streaming RTFx, one core, {head} greedy, audio fed in 100 ms pieces")
    folder = default_export(model, workdir)
    recognizer = StreamingRecognizer(model, head=head, endpoint=EndpointConfig(enabled=False))
    edge = EdgeModel(folder, head=head, threads=1, endpoint=EndpointConfig(enabled=False))
    seconds = audio_seconds(audio)
    streamed_text(recognizer, audio[0]), streamed_text(edge, audio[0])  # warm-up
    torch_texts, torch_seconds = timed(lambda: [streamed_text(recognizer, a) for a in audio])
    torch_rtfx = seconds / torch_seconds
    edge_texts, edge_seconds = timed(lambda: [streamed_text(edge, a) for a in audio])
    edge_rtfx = seconds / edge_seconds
    same = sum(a == b for a, b in zip(torch_texts, edge_texts, strict=True))
    print(f"PyTorch eager: RTFx {torch_rtfx:.1f}; onnxruntime (recog_edge): RTFx {edge_rtfx:.1f}; "
          f"ratio {edge_rtfx / torch_rtfx:.2f}; identical texts {same}/{len(audio)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model(parser)
    add_manifest(parser)
    add_limit(parser, "--files", default=100, help="first N manifest files")
    add_threads(parser, default=1)
    parser.add_argument("--head", default="ctc")
    parser.add_argument("--parts", default="parity,constant,buffered,runtime")
    parser.add_argument("--join", type=int, default=20, help="buffered part: files joined into one stream")
    add_context(parser, help="LEFT,RIGHT look-ahead for the constant, buffered and runtime parts "
                "(default: the model's first trained pair); parity covers every trained pair")
    args = parse_args(parser)
    model = load_model(args.model, args.context)
    entries = read_entries(args.manifest, args.files)
    audio = load_audio_entries(entries)
    refs = [e.text for e in entries]
    params = parameter_count(model.model) / 1e6
    print(f"model {args.model} ({params:.2f} M parameters), {len(audio)} files, "
          f"{audio_seconds(audio):.0f} s of audio, threads {args.threads}")
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if "parity" in parts:
            part_parity(model, audio, args.head, workdir)
        if "constant" in parts:
            part_constant(model, audio, workdir)
        if "buffered" in parts:
            part_buffered(model, audio, refs, args.join, workdir)
        if "runtime" in parts:
            part_runtime(model, audio, args.head, workdir)


if __name__ == "__main__":
    main()
