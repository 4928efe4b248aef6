"""One-shot GPU check of recog (run by benchmarks/gpu/gpu_check.sh on a CUDA machine).

    python3 benchmarks/gpu/gpu_check.py --out OUT [--parts 1,2,3] [--steps N] [--val-every K]
                                    [--deadline-s S] [--data .gpudata/synth_ocr]

1. RNNT loss on CUDA: recog.heads.rnnt_loss.rnnt_loss against torchaudio.functional.rnnt_loss
   (values, gradients; forward+backward time and peak CUDA memory at B=8 T=200 U=50 V=256/1024).
2. A hybrid RNNT + CTC conformer Recognizer trains on CUDA under bf16 autocast (s/step), and
   TransducerHead(loss_impl="auto") uses torchaudio on CUDA with the same loss as "recog".
3. SGM ablation for OCR: configs/synth_ocr.yaml trained with and without the SGM head for the
   same number of steps (both runs at once on the one GPU), then `recog eval` (CTC and
   parallel heads) on the test subset, and CTC inference time per line on GPU and CPU.

Everything printed also lands in OUT/gpu_check.json (summary) and OUT/*.log.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recog and benchmarks.common

START = time.monotonic()
SUMMARY: dict = {}


def log(*args: object) -> None:
    print(f"[{time.monotonic() - START:6.1f}s]", *args, flush=True)


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


# --------------------------------------------------------------------------------------------
# Part 1: RNNT loss
# --------------------------------------------------------------------------------------------

def part1(res: dict) -> dict:
    import warnings

    import torchaudio
    import torchaudio.functional as taf

    from recog.heads.rnnt_loss import rnnt_loss

    warnings.filterwarnings("ignore", category=UserWarning)
    dev = torch.device("cuda")
    res["torchaudio_version"] = torchaudio.__version__

    def ours(x, y, t, u, reduction="mean"):
        return rnnt_loss(x, y.long(), t.long(), u.long(), reduction=reduction)

    def theirs(x, y, t, u, reduction="mean"):
        return taf.rnnt_loss(x, y.int(), t.int(), u.int(), blank=0, reduction=reduction)

    # --- correctness: equal lengths and ragged lengths
    torch.manual_seed(0)
    B, T, U, V = 4, 50, 20, 64
    checks = {}
    for name, t_len, u_len in (("equal_lengths", [T] * B, [U] * B),
                               ("ragged_lengths", [50, 45, 33, 21], [20, 17, 9, 4])):
        logits = torch.randn(B, T, U + 1, V, device=dev)
        targets = torch.randint(1, V, (B, U), device=dev)
        t = torch.tensor(t_len, device=dev)
        u = torch.tensor(u_len, device=dev)
        out = {}
        for impl, fn in (("ours", ours), ("torchaudio", theirs)):
            x = logits.clone().requires_grad_(True)
            loss = fn(x, targets, t, u)
            loss.backward()
            per_item = fn(logits, targets, t, u, reduction="none").detach()
            out[impl] = (float(loss), x.grad.detach(), per_item)
        a, b = out["ours"], out["torchaudio"]
        rel = abs(a[0] - b[0]) / abs(b[0])
        per_item_rel = float(((a[2] - b[2]).abs() / b[2].abs()).max())
        grad_max_abs = float((a[1] - b[1]).abs().max())
        ok = rel <= 1e-5 and grad_max_abs <= 1e-4 and per_item_rel <= 1e-5
        checks[name] = {"loss_ours": a[0], "loss_torchaudio": b[0], "rel_diff": rel,
                        "per_item_max_rel_diff": per_item_rel, "grad_max_abs_diff": grad_max_abs,
                        "grad_max_abs": float(b[1].abs().max()), "pass": ok}
        log(f"part1 {name}: loss ours {a[0]:.6f} torchaudio {b[0]:.6f} rel {rel:.2e}; per-item rel "
            f"{per_item_rel:.2e}; grad max|diff| {grad_max_abs:.2e} -> {'PASS' if ok else 'FAIL'}")
    res["correctness"] = checks

    # --- speed and memory
    bench = {}
    B, T, U = 8, 200, 50
    for V in (256, 1024):
        torch.manual_seed(1)
        logits = torch.randn(B, T, U + 1, V, device=dev)
        targets = torch.randint(1, V, (B, U), device=dev)
        t = torch.full((B,), T, device=dev)
        u = torch.full((B,), U, device=dev)
        row = {"logits_mib": logits.numel() * 4 / 2**20}
        for impl, fn in (("ours", ours), ("torchaudio", theirs)):
            for _ in range(2):  # warm-up
                x = logits.detach().requires_grad_(True)
                fn(x, targets, t, u).backward()
                del x
            sync()
            torch.cuda.empty_cache()
            times, peaks = [], []
            for _ in range(5):
                x = logits.detach().requires_grad_(True)
                sync()
                base = torch.cuda.memory_allocated()
                torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
                loss = fn(x, targets, t, u)
                loss.backward()
                sync()
                times.append(time.perf_counter() - start)
                peaks.append(torch.cuda.max_memory_allocated() - base)
                del x, loss
            row[impl] = {"ms_median": 1000 * statistics.median(times), "ms_all": [1000 * s for s in times],
                         "peak_extra_mib": max(peaks) / 2**20,
                         "peak_total_mib": (max(peaks) + logits.numel() * 4) / 2**20}
        row["time_ratio_ours_over_torchaudio"] = row["ours"]["ms_median"] / row["torchaudio"]["ms_median"]
        row["mem_ratio_ours_over_torchaudio"] = row["ours"]["peak_extra_mib"] / row["torchaudio"]["peak_extra_mib"]
        log(f"part1 B={B} T={T} U={U} V={V} (logits {row['logits_mib']:.0f} MiB): "
            f"ours {row['ours']['ms_median']:.2f} ms, peak +{row['ours']['peak_extra_mib']:.0f} MiB | "
            f"torchaudio {row['torchaudio']['ms_median']:.2f} ms, peak +{row['torchaudio']['peak_extra_mib']:.0f} MiB"
            f" | ours/torchaudio time {row['time_ratio_ours_over_torchaudio']:.2f}x, "
            f"memory {row['mem_ratio_ours_over_torchaudio']:.2f}x")
        bench[f"V{V}"] = row
        del logits
        torch.cuda.empty_cache()
    res["benchmark"] = bench
    res["note"] = ("peak_extra_mib = torch.cuda.max_memory_allocated() during forward+backward minus the "
                   "memory allocated before it (the logits); peak_total_mib adds the logits back")
    return res


# --------------------------------------------------------------------------------------------
# Part 2: hybrid speech model training on CUDA
# --------------------------------------------------------------------------------------------

def part2(res: dict) -> dict:
    from recog.heads.transducer import TransducerHead
    from recog.model import Recognizer
    from recog.text import CharTokenizer

    dev = torch.device("cuda")
    tokenizer = CharTokenizer.from_texts(["the quick brown fox jumps over the lazy dog",
                                          "pack my box with five dozen liquor jugs", "0123456789 ,.'?"])
    vocab = tokenizer.vocab_size
    encoder = {"name": "conformer", "d_model": 144, "n_layers": 10, "n_heads": 4, "ff_expansion": 4,
               "conv_kernel": 9, "conv_norm": "batch", "subsampling_channels": 144, "dropout": 0.1,
               "dropout_att": 0.1}
    spec = {"freq_masks": 2, "freq_width": 15, "time_masks": 5, "time_width": 0.05}

    def make(loss_impl: str) -> Recognizer:
        torch.manual_seed(0)
        heads = {"rnnt": {"weight": 0.7, "predictor": "lstm", "pred_dim": 256, "joint_dim": 256,
                          "loss_impl": loss_impl}, "ctc": {"weight": 0.3}}
        return Recognizer(tokenizer, encoder=encoder, heads=heads, spec_augment=spec).to(dev)

    g = torch.Generator().manual_seed(0)
    B, N = 16, 4 * 16000
    wave = (0.1 * torch.randn(B, N, generator=g)).to(dev)
    wave_len = torch.randint(3 * 16000, N + 1, (B,), generator=g)
    wave_len[0] = N
    target_len = torch.randint(10, 31, (B,), generator=g)
    targets = torch.randint(2, vocab, (B, int(target_len.max())), generator=g)
    wave_len, target_len, targets = wave_len.to(dev), target_len.to(dev), targets.to(dev)

    def train(loss_impl: str, steps: int) -> dict:
        model = make(loss_impl).train()
        uses = "torchaudio" if model.heads["rnnt"].torchaudio_loss is not None else "recog"
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        times, losses = [], []
        for _ in range(steps):
            sync()
            start = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = model(wave, wave_len, targets, target_len)
            opt.zero_grad(set_to_none=True)
            out["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sync()
            times.append(time.perf_counter() - start)
            losses.append({k: float(v) for k, v in out.items()})
        finite = all(math.isfinite(v) for row in losses for v in row.values())
        steady = times[3:]
        params = sum(p.numel() for p in model.parameters())
        r = {"rnnt_loss_used": uses, "steps": steps, "params": params, "all_losses_finite": finite,
             "s_per_step_median": statistics.median(steady), "s_per_step_mean": statistics.mean(steady),
             "first_step_s": times[0], "loss_first": losses[0], "loss_last": losses[-1],
             "peak_mem_mib": torch.cuda.max_memory_allocated() / 2**20}
        log(f"part2 train loss_impl={loss_impl} (uses {uses}), {params / 1e6:.2f} M params: "
            f"{r['s_per_step_median'] * 1000:.1f} ms/step median (steps 4-{steps}), first step "
            f"{times[0]:.2f} s, loss {losses[0]['loss']:.3f} -> {losses[-1]['loss']:.3f}, finite {finite}")
        del model, opt
        return r

    torch.cuda.reset_peak_memory_stats()
    res["train_auto"] = train("auto", 20)
    assert res["train_auto"]["all_losses_finite"], "non-finite loss in training"
    torch.cuda.reset_peak_memory_stats()
    res["train_recog_loss"] = train("recog", 12)
    res["batch"] = "16 x 4 s random waveforms (lengths 3-4 s), targets 10-30 chars, AdamW lr 1e-3, bf16 autocast"

    # TransducerHead auto vs recog on identical inputs, float32. Train mode (cuDNN's LSTM has no
    # backward in eval mode) with dropout 0, so both heads compute the same function.
    torch.manual_seed(0)
    auto = TransducerHead(144, vocab, pred_dim=256, joint_dim=256, dropout=0.0, loss_impl="auto").to(dev).train()
    ours = TransducerHead(144, vocab, pred_dim=256, joint_dim=256, dropout=0.0, loss_impl="recog").to(dev).train()
    ours.load_state_dict(auto.state_dict())
    T = 60
    h = torch.randn(8, T, 144, device=dev)
    h_len = torch.tensor([60, 58, 50, 45, 40, 33, 30, 25], device=dev)
    u_len = torch.tensor([25, 20, 22, 15, 10, 12, 5, 3], device=dev)
    y = torch.randint(1, vocab, (8, 25), device=dev)
    grads, values = [], []
    for head in (auto, ours):
        x = h.clone().requires_grad_(True)
        loss = head.loss(x, h_len, y, u_len)
        loss.backward()
        values.append(float(loss))
        grads.append(x.grad)
    rel = abs(values[0] - values[1]) / abs(values[1])
    grad_rel = float((grads[0] - grads[1]).abs().max() / grads[1].abs().max())
    head_ok = auto.torchaudio_loss is not None and rel <= 1e-4
    res["head_auto_vs_recog"] = {"auto_uses_torchaudio": auto.torchaudio_loss is not None,
                                 "loss_auto": values[0], "loss_recog": values[1], "rel_diff": rel,
                                 "grad_h_max_rel_diff": grad_rel, "pass": head_ok}
    log(f"part2 TransducerHead auto uses torchaudio: {auto.torchaudio_loss is not None}; loss auto "
        f"{values[0]:.6f} recog {values[1]:.6f} rel {rel:.2e}; dL/dh max rel {grad_rel:.2e} -> "
        f"{'PASS' if head_ok else 'FAIL'}")
    return res


# --------------------------------------------------------------------------------------------
# Part 3: SGM ablation for OCR
# --------------------------------------------------------------------------------------------

NO_SGM_HEADS = '{"ctc": {"weight": 1.0}, "parallel": {"weight": 0.5, "max_len": 64, "layers": 2, "heads": 4}}'
# The YAML's callbacks, except save_top_k=-1: ModelCheckpoint then saves at every validation, and with
# it last.ckpt, so last.ckpt holds the weights of the final step (a validation falls on it). With
# save_top_k=1, Lightning 2.6 rewrites last.ckpt only when val/cer improves. --run_dir places it in
# RUN_DIR/checkpoints/epochs (RecogCLI: the folder of a keep-all checkpoint callback).
CALLBACKS = json.dumps([
    {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
     "init_args": {"filename": "val-{epoch}-{step}", "monitor": "val/cer", "mode": "min", "save_last": True,
                   "save_top_k": -1}},
    {"class_path": "lightning.pytorch.callbacks.LearningRateMonitor", "init_args": {"logging_interval": "step"}}])


def guard(seconds: int) -> str:
    """Seconds as a --trainer.max_time value."""
    return f"00:00:{seconds // 60:02d}:{seconds % 60:02d}"


def train_command(config: str | Path, data: Path, run_dir: str, steps: int, val_every: int, max_time: str,
                  workers: int, accelerator: str = "gpu", extra: tuple[str, ...] = ()) -> list[str]:
    """`recog train` of CONFIG on DATA/{train,dev}.jsonl for ``steps`` steps (the cosine follows
    steps; ``max_time`` is a guard), validated every ``val_every`` steps, into ``run_dir``."""
    return [sys.executable, "-m", "recog.cli", "train", "--config", str(config),
            "--trainer.accelerator", accelerator, "--trainer.precision", "bf16-mixed",
            "--trainer.max_steps", str(steps), "--trainer.max_epochs", "-1", "--trainer.max_time", max_time,
            "--trainer.check_val_every_n_epoch", "null", "--trainer.val_check_interval", str(val_every),
            "--trainer.enable_progress_bar", "false", "--trainer.callbacks", CALLBACKS,
            "--data.train_manifest", str(data / "train.jsonl"), "--data.val_manifest", str(data / "dev.jsonl"),
            "--model.tokenizer.manifest", str(data / "train.jsonl"), "--data.num_workers", str(workers),
            "--run_dir", run_dir, *extra]


def last_checkpoint(run_dir: Path) -> Path | None:
    """The last.ckpt a train_command run left (None if none)."""
    found = sorted(run_dir.glob("checkpoints/**/last.ckpt"))
    return found[0] if found else None


def read_val_curve(run_dir: Path) -> list[dict]:
    import csv

    rows = []
    for path in sorted(run_dir.glob("logs/version_*/metrics.csv")):
        with path.open() as f:
            for row in csv.DictReader(f):
                if row.get("val/cer"):
                    rows.append({"csv_step": int(float(row["step"])), "val_cer": float(row["val/cer"]),
                                 "val_exact": float(row["val/exact"]) if row.get("val/exact") else None,
                                 "val_wer_parallel": float(row["val/wer_parallel"])
                                 if row.get("val/wer_parallel") else None})
    return rows


def recog_eval(manifest: Path, ckpt: Path, head: str) -> dict:
    """`recog eval` in-process (recog.cli.main), its printed figures parsed."""
    from recog.cli import main

    buf = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        rc = main(["eval", "--manifest", str(manifest), "--model", str(ckpt), "--head", head])
    text = buf.getvalue()
    out = {"rc": rc, "wall_s": time.perf_counter() - start, "stdout": text}
    for key, pattern in (("cer", r"CER: ([\d.]+) %"), ("wer", r"WER: ([\d.]+) %"),
                         ("exact", r"exact lines: ([\d.]+) %"), ("lines_per_s", r"lines/s: ([\d.]+)"),
                         ("lines", r"lines: (\d+)")):
        m = re.search(pattern, text)
        out[key] = float(m.group(1)) if m else None
    return out


def time_inference(ckpts: dict[str, Path], manifest: Path, device: str, passes: int, threads: int | None,
                   single: int) -> dict:
    """CTC greedy decoding time per line: batched as recog eval batches (images decoded and resized
    beforehand, so pure model time), and one line at a time on the first ``single`` lines."""
    from benchmarks.common import load_line_images, load_model, read_entries, set_threads

    if threads:
        set_threads(threads)
    entries = read_entries(manifest, check_files=False)
    models = {name: load_model(path, device=device) for name, path in ckpts.items()}
    first = next(iter(models.values()))
    loaded = dict(enumerate(load_line_images(entries, first.model.frontend.config)[0]))
    batches = first.plan_batches(loaded, None)
    names = [e.path for e in entries]
    out: dict = {"device": device, "threads": torch.get_num_threads(), "lines": len(entries),
                 "batches": len(batches)}

    def run_all(model, idx_batches) -> float:
        sync()
        start = time.perf_counter()
        for batch in idx_batches:
            model.transcribe_arrays([loaded[i] for i in batch], [names[i] for i in batch], head="ctc")
        sync()
        return time.perf_counter() - start

    for m in models.values():  # warm-up over every batch shape (cuDNN picks kernels per shape)
        run_all(m, batches if device != "cpu" else batches[:2])
    batched = {name: [] for name in models}
    one = {name: [] for name in models}
    singles = [[i] for i in range(min(single, len(entries)))]
    for _ in range(passes):  # alternate the models so drift hits both alike
        for name, m in models.items():
            batched[name].append(run_all(m, batches))
        for name, m in models.items():
            one[name].append(run_all(m, singles))
    for name, m in models.items():
        params = {"encoder": sum(p.numel() for p in m.model.encoder.parameters()),
                  **{f"head_{k}": sum(p.numel() for p in v.parameters()) for k, v in m.model.heads.items()}}
        out[name] = {"batched_ms_per_line": 1000 * statistics.median(batched[name]) / len(entries),
                     "batched_all_s": batched[name],
                     "batch1_ms_per_line": 1000 * statistics.median(one[name]) / len(singles),
                     "batch1_all_s": one[name], "params": params}
        log(f"part3 inference {device} threads={out['threads']} {name}: batched "
            f"{out[name]['batched_ms_per_line']:.3f} ms/line, batch-1 {out[name]['batch1_ms_per_line']:.2f} ms/line"
            f" (params: {params})")
    del models
    return out


def part3(res: dict, args: argparse.Namespace) -> dict:
    data = Path(args.data)
    res["data"] = {}
    for split in ("train", "dev", "test"):
        with (data / f"{split}.jsonl").open() as f:
            res["data"][split] = sum(1 for line in f if line.strip())
    elapsed = time.monotonic() - START
    # leave ~150 s for evaluation and timing after training, whatever came before
    cap_s = int(max(60, min(args.train_cap_s, args.deadline_s - 150 - elapsed)))
    max_time = guard(cap_s)
    res["steps_requested"] = args.steps
    res["note"] = ("both runs train at the same time on the one GPU (separate processes, 8 loader workers "
                   "each); validation every val_every steps so the final step is validated and saved "
                   "(last.ckpt); eval with `recog eval` (runs on CPU), timings separately")
    res["val_every"] = args.val_every
    res["max_time_guard"] = max_time
    log(f"part3 data {res['data']}; training both models at once for {args.steps} steps each "
        f"(time guard {max_time})")
    runs = {"with_sgm": False, "no_sgm": True}
    procs, logs = {}, {}
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    start = time.monotonic()
    for name, no_sgm in runs.items():
        cmd = train_command("configs/synth_ocr.yaml", data, f"/tmp/runs/{name}", args.steps, args.val_every,
                            max_time, args.workers, extra=("--model.model.heads", NO_SGM_HEADS) if no_sgm else ())
        res[f"cmd_{name}"] = " ".join(cmd)
        logs[name] = open(Path(args.out) / f"train_{name}.log", "w")
        procs[name] = subprocess.Popen(cmd, stdout=logs[name], stderr=subprocess.STDOUT, env=env)
    walls = {}
    while procs:
        for name in list(procs):
            if procs[name].poll() is not None:
                walls[name] = time.monotonic() - start
                res[f"train_{name}_rc"] = procs[name].returncode
                logs[name].close()
                log(f"part3 training {name} finished rc={procs[name].returncode} after {walls[name]:.0f} s")
                del procs[name]
        time.sleep(1)
    ckpts = {}
    for name in runs:
        run_dir = Path(f"/tmp/runs/{name}")
        ckpt = last_checkpoint(run_dir)
        info: dict = {"wall_s": walls[name], "val_curve": read_val_curve(run_dir)}
        if ckpt is not None:
            state = torch.load(ckpt, map_location="cpu", weights_only=True)
            info["last_ckpt_global_step"] = int(state["global_step"])
            info["last_ckpt_epoch"] = int(state["epoch"])
            info["heads"] = list(state["recog"]["model"]["heads"])
            ckpts[name] = ckpt
        for csv_path in sorted(run_dir.glob("logs/version_*/metrics.csv"))[-1:]:
            shutil.copy(csv_path, Path(args.out) / f"metrics_{name}.csv")
        res[name] = info
        log(f"part3 {name}: last.ckpt step {info.get('last_ckpt_global_step')} heads {info.get('heads')}; "
            f"val curve {[(r['csv_step'], round(r['val_cer'], 4)) for r in info['val_curve']]}")
    if len(ckpts) != 2:
        raise RuntimeError(f"training did not leave both checkpoints: {sorted(ckpts)}")
    steps = {res[n]["last_ckpt_global_step"] for n in runs}
    res["equal_steps"] = len(steps) == 1
    test = data / "test.jsonl"
    evals = {}
    for name, ckpt in ckpts.items():
        for head in ("ctc", "parallel"):
            r = recog_eval(test, ckpt, head)
            evals[f"{name}/{head}"] = r
            log(f"part3 recog eval {name} --head {head}: CER {r['cer']} %, exact lines {r['exact']} %, "
                f"WER {r['wer']} % ({r['lines']:.0f} lines, {r['lines_per_s']} lines/s on CPU incl. loading)")
    res["eval"] = evals
    res["inference_gpu"] = time_inference(ckpts, test, "cuda", passes=3, threads=None, single=100)
    res["inference_cpu"] = time_inference(ckpts, test, "cpu", passes=2, threads=4, single=50)
    return res


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--parts", default="1,2,3")
    parser.add_argument("--data", default=".gpudata/synth_ocr")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--val-every", type=int, default=250)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--train-cap-s", type=int, default=270, help="max_time guard for each training run")
    parser.add_argument("--deadline-s", type=float, default=500, help="seconds from start the whole check must "
                        "end within; the training guard shrinks to fit")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    parts = {int(p) for p in args.parts.split(",") if p}
    SUMMARY["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    SUMMARY["torch"] = torch.__version__
    log(f"device {SUMMARY['device']}, torch {torch.__version__}, {os.cpu_count()} CPUs")
    if 3 in parts and not (Path(args.data) / "test.jsonl").is_file():
        log(f"part3 skipped: {args.data}/test.jsonl missing")
        parts.discard(3)
        SUMMARY["part3"] = {"skipped": "no data"}
    failed = False
    for number, fn in ((1, part1), (2, part2), (3, lambda res: part3(res, args))):
        if number not in parts:
            continue
        res = SUMMARY.setdefault(f"part{number}", {})  # filled in place: kept when a later step fails
        try:
            fn(res)
        except Exception as err:  # noqa: BLE001 - report and go on with the next part
            failed = True
            res.update({"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()})
            log(f"part{number} FAILED: {type(err).__name__}: {err}")
            traceback.print_exc()
        with open(Path(args.out) / "gpu_check.json", "w") as f:
            json.dump(SUMMARY, f, indent=1, default=str)
    SUMMARY["total_s"] = time.monotonic() - START
    with open(Path(args.out) / "gpu_check.json", "w") as f:
        json.dump(SUMMARY, f, indent=1, default=str)
    print_summary()
    return 1 if failed else 0


def print_summary() -> None:
    s = SUMMARY
    print("\n===== SUMMARY =====")
    print(f"device: {s.get('device')}  torch {s.get('torch')}  total {s.get('total_s', 0):.0f} s")
    p1 = s.get("part1", {})
    if "correctness" in p1:
        for k, v in p1["correctness"].items():
            print(f"1 RNNT {k}: rel {v['rel_diff']:.1e} grad {v['grad_max_abs_diff']:.1e} "
                  f"{'PASS' if v['pass'] else 'FAIL'}")
        for k, v in p1["benchmark"].items():
            print(f"1 RNNT {k}: ours {v['ours']['ms_median']:.2f} ms +{v['ours']['peak_extra_mib']:.0f} MiB | "
                  f"torchaudio {v['torchaudio']['ms_median']:.2f} ms +{v['torchaudio']['peak_extra_mib']:.0f} MiB | "
                  f"ratio time {v['time_ratio_ours_over_torchaudio']:.2f} "
                  f"mem {v['mem_ratio_ours_over_torchaudio']:.2f}")
    if "error" in p1:
        print(f"1 ERROR {p1['error']}")
    p2 = s.get("part2", {})
    for k in ("train_auto", "train_recog_loss"):
        if k in p2:
            v = p2[k]
            print(f"2 {k}: uses {v['rnnt_loss_used']}, {v['s_per_step_median']:.4f} s/step, finite "
                  f"{v['all_losses_finite']}, loss {v['loss_first']['loss']:.2f} -> {v['loss_last']['loss']:.2f}")
    if "head_auto_vs_recog" in p2:
        v = p2["head_auto_vs_recog"]
        print(f"2 head auto uses torchaudio {v['auto_uses_torchaudio']}, rel {v['rel_diff']:.1e} "
              f"{'PASS' if v['pass'] else 'FAIL'}")
    if "error" in p2:
        print(f"2 ERROR {p2['error']}")
    p3 = s.get("part3", {})
    if "eval" in p3:
        for name in ("with_sgm", "no_sgm"):
            print(f"3 {name}: steps {p3[name].get('last_ckpt_global_step')} train wall {p3[name]['wall_s']:.0f} s; "
                  f"val CER curve {[round(r['val_cer'], 4) for r in p3[name]['val_curve']]}")
        for k, v in p3["eval"].items():
            print(f"3 eval {k}: CER {v['cer']} % exact {v['exact']} %")
        for dev in ("inference_gpu", "inference_cpu"):
            d = p3.get(dev, {})
            for name in ("with_sgm", "no_sgm"):
                if name in d:
                    print(f"3 {dev} {name}: batched {d[name]['batched_ms_per_line']:.3f} ms/line, "
                          f"batch-1 {d[name]['batch1_ms_per_line']:.2f} ms/line")
    if "error" in p3 or "skipped" in p3:
        print(f"3 {p3.get('error') or p3.get('skipped')}")


if __name__ == "__main__":
    sys.exit(main())
