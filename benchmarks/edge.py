"""The torch-free runtime (recog_edge) against PyTorch on a manifest, one thread each: text parity,
the exported graph's largest output difference, speed, and int8 against float32 (size, error
rate, speed).

    python benchmarks/edge.py --model CKPT --manifest data/synth_speech/test.jsonl --files 100
    python benchmarks/edge.py --model latin-lines --manifest data/synth_ocr_v2/test.jsonl --files 200
    python benchmarks/edge.py --model en-speech --manifest data/en_speech/test.jsonl --lm en-speech

A speech model is exported offline (`recog export`: offline.onnx + its heads' graphs), a text-line
model as lines.onnx, each in float32 and int8 (`--int8`). Every input is read one at a time, as a
deployed runtime reads them: PyTorch eager with `recog.load(...).transcribe_arrays` (speech:
16 kHz arrays, log-mel included) or `.transcribe` (line images, loading included), the edge
runtime with `EdgeModel.transcribe` / `EdgeLineModel.read` (numpy log-mel or resizing included).
Speed is RTFx (audio seconds per second) for speech and lines per second for text lines. The
output difference compares the exported graph with PyTorch on the same inputs (speech: the same
log-mel features; lines: the same resized images): encoder frames and CTC log-probabilities.
With ``--lm`` every runtime reads with that character LM fused into its beam search of ``--beam``
(speech: transducer beam search; lines: CTC prefix beam search).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from recog.export import export_lines, export_offline, max_difference  # noqa: E402
from recog.inference import RecognitionModel  # noqa: E402
from recog.metrics import char_error_rate, word_error_rate  # noqa: E402
from recog_edge import EdgeLineModel, EdgeModel  # noqa: E402
from recog_edge.fusion import LM_BEAM  # noqa: E402
from recog_edge.lines import resize_line  # noqa: E402


def export(model: RecognitionModel, folder: Path, int8: bool) -> float:
    """Export ``model`` (offline speech or text lines) to ``folder``; its size in MB."""
    written = (export_offline if model.kind == "logmel" else export_lines)(model.model, folder, int8=int8)
    return sum(p.stat().st_size for p in written) / 1e6


def speech_graph_difference(model: RecognitionModel, folder: Path, audio: list[np.ndarray]) -> tuple[float, float]:
    """Largest |offline.onnx - PyTorch| over ``audio`` on the same log-mel features: (encoder frames,
    CTC log-probs of the default head where it has them, else nan)."""
    edge = EdgeModel(folder)
    names = [o.name for o in edge.offline.get_outputs()]
    worst_h, worst_lp = 0.0, float("nan")
    for samples in audio:
        with torch.no_grad():
            wave = torch.from_numpy(samples)[None]
            features, lengths = model.model.frontend(wave, torch.tensor([wave.shape[1]]))
            h, _ = model.model.encoder(features, lengths)
            out = dict(zip(names, edge.offline.run(None, {"features": features.numpy(),
                                                          "feature_lengths": lengths.numpy()}), strict=True))
            worst_h = max(worst_h, max_difference(out["encoded"], h.numpy()))
            if "ctc_log_probs" in out:
                lp = model.model.heads["ctc"](h).numpy()
                worst_lp = np.nanmax([worst_lp, max_difference(out["ctc_log_probs"], lp)])
    return worst_h, worst_lp


def lines_graph_difference(model: RecognitionModel, folder: Path, paths: list[str]) -> tuple[float, float]:
    """Largest |lines.onnx - PyTorch| over the line images ``paths`` resized alike: (encoder
    frames, CTC log-probs)."""
    from recog_edge.image_file import load_image

    edge = EdgeLineModel(folder)
    names = [o.name for o in edge.session.get_outputs()]
    config = model.model.frontend.config
    worst_h = worst = 0.0
    for path in paths:
        image = resize_line(load_image(path), config.height, config.max_width)
        widths = np.array([image.shape[1]], dtype=np.int64)
        out = dict(zip(names, edge.session.run(None, {"images": image[None], "widths": widths}), strict=True))
        with torch.no_grad():
            h, h_lengths = model.model.encode(torch.from_numpy(image)[None], torch.from_numpy(widths))
            lp = model.model.heads["ctc"](h).numpy()
        worst_h = max(worst_h, max_difference(out["encoded"], h.numpy()))
        worst = max(worst, max_difference(out["ctc_log_probs"], lp))
    return worst_h, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_model(parser)
    common.add_manifest(parser)
    common.add_limit(parser, "--files", default=100, help="the first N manifest entries")
    common.add_threads(parser, 1, help="threads for PyTorch and onnxruntime alike")
    parser.add_argument("--head", help="the head to decode with (default: the model's)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timing rounds, each runtime once per round in turn; the fastest round counts")
    common.add_lm_fusion(parser, help="a character LM (file, or a shipped model's: --lm en-speech) fused into every "
                                      "runtime's beam search")
    parser.add_argument("--beam", type=int, default=LM_BEAM, help=f"with --lm: the beam width (default {LM_BEAM})")
    args = common.parse_args(parser)
    model = common.load_model(args.model, lm=args.lm)
    head = args.head or model.model.default_head
    search = {"beam": args.beam, "lm_weight": args.lm_weight, "lm_bonus": args.lm_bonus} if args.lm else {}
    edge_search = {"lm": model.lm, **search} if args.lm else {}
    entries = common.read_entries(args.manifest, args.files)
    references = [e.text for e in entries]
    speech = model.kind == "logmel"
    if speech:
        inputs = common.load_audio_entries(entries)
        amount, unit, error_rate, metric = common.audio_seconds(inputs), "RTFx", word_error_rate, "WER"
        readers = {"PyTorch eager": lambda: [model.transcribe_arrays([a], ["-"], head=head, **search)[0].text
                                             for a in inputs]}
    else:
        inputs = [e.path for e in entries]
        amount, unit, error_rate, metric = float(len(inputs)), "lines/s", char_error_rate, "CER"
        readers = {"PyTorch eager": lambda: [model.transcribe([p], head=head, **search)[0].text for p in inputs]}
    sizes = {"PyTorch eager": sum(p.numel() * p.element_size() for p in model.model.parameters()) / 1e6}
    diffs = {"PyTorch eager": (float("nan"), float("nan"))}
    with tempfile.TemporaryDirectory() as tmp:
        for int8 in (False, True):
            name, folder = f"recog_edge {'int8' if int8 else 'float32'}", Path(tmp) / ("int8" if int8 else "fp32")
            sizes[name] = export(model, folder, int8)
            if speech:
                edge = EdgeModel(folder, head=head, threads=args.threads, **edge_search)
                readers[name] = lambda edge=edge: [edge.transcribe(a, 16000) for a in inputs]
                diffs[name] = speech_graph_difference(model, folder, inputs[:20])
            else:
                lines = EdgeLineModel(folder, head=head, threads=args.threads, **edge_search)
                readers[name] = lambda lines=lines: [r.text for r in lines.read(inputs)]
                diffs[name] = lines_graph_difference(model, folder, inputs[:20])
        texts = {name: read() for name, read in readers.items()}  # also the warm-up round
        seconds = dict.fromkeys(readers, float("inf"))
        for _ in range(args.repeats):  # interleaved, so a busy spell of the machine hits every runtime alike
            for name, read in readers.items():
                seconds[name] = min(seconds[name], common.timed(read)[1])
    print(f"{len(entries)} inputs of {args.manifest} ({amount:.1f} {'s of audio' if speech else 'lines'}), "
          f"head {head}, {args.threads} thread(s), fastest of {args.repeats} interleaved rounds"
          + (f"; LM {args.lm} (beam {args.beam}, {common.lm_setting(model.lm, head, args.lm_weight, args.lm_bonus)})"
             if args.lm else ""))
    print(f"{'runtime':<22} {'size MB':>8} {metric:>7} {'same text':>10} {unit:>8} {'x PyTorch':>10} "
          f"{'x float32':>10} {'max |d enc|':>12} {'max |d logp|':>12}")
    torch_texts, fp32 = texts["PyTorch eager"], "recog_edge float32"
    for name, got in texts.items():
        matching = sum(a == b for a, b in zip(got, torch_texts, strict=True))
        same = "-" if name == "PyTorch eager" else f"{matching}/{len(got)}"
        versus_fp32 = f"{seconds[fp32] / seconds[name]:.2f}x" if name.endswith("int8") else "-"
        print(f"{name:<22} {sizes[name]:>8.1f} {100 * error_rate(references, got):>6.2f}% {same:>10} "
              f"{amount / seconds[name]:>8.1f} {seconds['PyTorch eager'] / seconds[name]:>9.2f}x {versus_fp32:>10} "
              f"{diffs[name][0]:>12.2e} {diffs[name][1]:>12.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
