"""Speech model variants trained side by side on one GPU for the same number of steps, then
scored on a test manifest: an ablation at equal steps that would take one CPU hour per variant.

    python3 benchmarks/gpu/gpu_speech_ablation.py --out OUT --data .gpudata/synth_speech --steps 3000 \
        --variant offline=configs/synth_speech_hybrid.yaml \
        --variant stream=configs/synth_speech_streaming.yaml \
        --variant stream_one=configs/synth_speech_streaming.yaml:56,27

DATA is made by benchmarks/gpu/gpu_speech_data.py (Opus copies that fit the device's 64 MiB). A
variant is NAME=CONFIG[:CONTEXTS]; CONTEXTS (LEFT,RIGHT pairs joined by '/') replace the config's
``att_context_size`` (sampled uniformly). Every run gets the config's schedule over ``--steps``
steps (the cosine follows steps; ``--train-cap-s`` is only a guard), validates every
``--val-every`` steps, and keeps its last checkpoint, stripped to what ``recog.load`` reads, in
OUT/NAME.ckpt (14 MiB for 3.5 M parameters: four variants at most come back from the device).
Each head is then scored with benchmarks/speech_eval.py on DATA/test.jsonl, at every trained
look-ahead of a limited-context model (on the CPUs, one thread per job, all at
once). On the device machine, after installing the wheels as benchmarks/gpu/gpu_check.sh does.

Prints one line per (variant, head, look-ahead): WER and CER, and writes OUT/ablation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for benchmarks.gpu.gpu_check
from benchmarks.gpu.gpu_check import guard, last_checkpoint, log, read_val_curve, train_command  # noqa: E402


def parse_variant(text: str) -> tuple[str, str, list[list[int]] | None]:
    name, _, rest = text.partition("=")
    config, _, contexts = rest.partition(":")
    pairs = [[int(v) for v in pair.split(",")] for pair in contexts.split("/")] if contexts else None
    return name, config, pairs


def write_config(config: str, pairs: list[list[int]] | None, path: Path) -> list[list[int]] | None:
    """The config with its contexts replaced; returns the variant's trained contexts (None: full)."""
    data = yaml.safe_load(Path(config).read_text())
    encoder = data["model"]["model"]["encoder"]
    if pairs is not None:
        encoder["att_context_size"] = pairs
        encoder["att_context_probs"] = [1.0 / len(pairs)] * len(pairs)
    path.write_text(yaml.safe_dump(data))
    size = encoder.get("att_context_size")
    if not size or size == [-1, -1]:
        return None
    return size if isinstance(size[0], list) else [size]


def strip(ckpt: Path, out: Path) -> dict:
    """Keep what recog.load reads (weights, model config, tokenizer) and the step."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    keep = {k: state[k] for k in ("state_dict", "recog", "global_step", "epoch")}
    torch.save(keep, out)
    return {"global_step": int(state["global_step"]), "mib": out.stat().st_size / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default=".gpudata/synth_speech")
    parser.add_argument("--variant", action="append", required=True, help="NAME=CONFIG[:L,R/L,R...]")
    parser.add_argument("--steps", type=int, default=3100)
    parser.add_argument("--val-every", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--train-cap-s", type=int, default=360)
    parser.add_argument("--accelerator", default="gpu")
    parser.add_argument("--extra", action="append", default=[],
                        help="a `recog train` argument given to every variant, e.g. --extra=--data.max_frames=16000")
    args = parser.parse_args()
    out, data = Path(args.out), Path(args.data)
    out.mkdir(parents=True, exist_ok=True)
    variants = [parse_variant(v) for v in args.variant]
    summary: dict = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA",
                     "steps": args.steps, "extra": args.extra, "variants": {}}
    procs, logs, contexts = {}, {}, {}
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    start = time.monotonic()
    for name, config, pairs in variants:
        cfg = Path(f"/tmp/ablation_{name}.yaml")
        contexts[name] = write_config(config, pairs, cfg)
        cmd = train_command(cfg, data, f"/tmp/runs/{name}", args.steps, args.val_every, guard(args.train_cap_s),
                            args.workers, args.accelerator, tuple(args.extra))
        logs[name] = open(f"/tmp/ablation_{name}.log", "w")  # OUT brings back 8 files at most
        procs[name] = subprocess.Popen(cmd, stdout=logs[name], stderr=subprocess.STDOUT, env=env)
        summary["variants"][name] = {"config": config, "contexts": contexts[name]}
    log(f"training {len(procs)} variants at once for {args.steps} steps (guard {args.train_cap_s} s)")
    while procs:
        for name in list(procs):
            if procs[name].poll() is not None:
                info = summary["variants"][name]
                info.update(rc=procs[name].returncode, train_wall_s=time.monotonic() - start)
                logs[name].close()
                info["log_tail"] = Path(f"/tmp/ablation_{name}.log").read_text()[-1500:]
                del procs[name]
                run_dir = Path(f"/tmp/runs/{name}")
                info["val_curve"] = [(r["csv_step"], round(r["val_cer"], 4)) for r in read_val_curve(run_dir)]
                last = last_checkpoint(run_dir)
                if last is not None:
                    info.update(strip(last, out / f"{name}.ckpt"))
                log(f"{name}: rc {info['rc']} after {info['train_wall_s']:.0f} s, step {info.get('global_step')}, "
                    f"val CER {info['val_curve']}")
        time.sleep(1)
    (out / "ablation.json").write_text(json.dumps(summary, indent=1))  # kept if scoring runs out of time
    jobs = {}
    for name, info in summary["variants"].items():
        if "global_step" not in info:
            continue
        for head in ("rnnt", "ctc"):
            for pair in contexts[name] or [None]:
                key = f"{name}/{head}" + (f"/{pair[0]},{pair[1]}" if pair else "")
                cmd = [sys.executable, "benchmarks/speech_eval.py", "--model", str(out / f"{name}.ckpt"),
                       "--manifest", str(data / "test.jsonl"), "--threads", "1", "--head", head]
                if pair:
                    cmd += ["--context", f"{pair[0]},{pair[1]}"]
                jobs[key] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    summary["eval"] = {}
    for key, proc in jobs.items():
        text = proc.communicate()[0]
        wer, cer = (re.search(rf"{m}: ([\d.]+) %", text) for m in ("WER", "CER"))
        summary["eval"][key] = {"wer": float(wer.group(1)) if wer else None,
                                "cer": float(cer.group(1)) if cer else None}
        if not wer:
            summary["eval"][key]["output"] = text[-2000:]
        print(f"{key}: WER {summary['eval'][key]['wer']} % CER {summary['eval'][key]['cer']} %", flush=True)
    (out / "ablation.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
