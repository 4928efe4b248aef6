"""RNNT loss forward + backward: time and peak memory, ours against the alternatives that import.

    python benchmarks/rnnt_loss.py [--threads 2] [--repeats 3]

Sizes: B=8, T=200, U=50, V=256 and V=1024, float32 logits. Compared (where installed):
  ours         recog.heads.rnnt_loss.rnnt_loss (fused gradient, float64 lattice over T)
  autograd     the textbook pure-PyTorch loss: log_softmax, then the alpha recursion over
               anti-diagonals with autograd (what a straightforward implementation does)
  torchaudio   torchaudio.functional.rnnt_loss (its PyPI wheels need their own torch: run this
               script from a venv with torch 2.9.1 + torchaudio 2.9.*, recog on its path)
  fast_rnnt    fast_rnnt.rnnt_loss (k2's; if installed; its sdist builds for CPU with
               torch.utils.cpp_extension)
Peak memory is the largest RSS growth seen while the step runs (CPU), or CUDA's peak allocation.
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for benchmarks.common
from benchmarks.common import add_threads, parse_args, resident_bytes  # noqa: E402
from recog.heads.rnnt_loss import rnnt_loss  # noqa: E402


def autograd_rnnt_loss(logits: torch.Tensor, targets: torch.Tensor, t_lengths: torch.Tensor,
                       u_lengths: torch.Tensor) -> torch.Tensor:
    """Reference implementation: full log-softmax kept by autograd, diagonal alpha recursion."""
    lp = logits.log_softmax(-1)
    batch, frames, states, _ = lp.shape
    blank = lp[..., 0]
    emit = lp[..., :-1, :].gather(-1, targets[:, None, :, None].expand(batch, frames, states - 1, 1)).squeeze(-1)
    neg_inf = torch.tensor(float("-inf"))
    alpha = {(0, 0): lp.new_zeros(batch)}
    for n in range(1, frames + states - 1):
        for t in range(max(0, n - states + 1), min(n, frames - 1) + 1):
            u = n - t
            from_blank = alpha[(t - 1, u)] + blank[:, t - 1, u] if t > 0 else neg_inf.expand(batch)
            from_emit = alpha[(t, u - 1)] + emit[:, t, u - 1] if u > 0 else neg_inf.expand(batch)
            alpha[(t, u)] = torch.logaddexp(from_blank, from_emit)
    total = [alpha[(int(t) - 1, int(u))][b] + blank[b, int(t) - 1, int(u)]
             for b, (t, u) in enumerate(zip(t_lengths, u_lengths, strict=True))]
    return -torch.stack(total).sum() / batch


def candidates() -> dict[str, Callable]:
    found: dict[str, Callable] = {"ours": lambda *a: rnnt_loss(*a), "autograd": autograd_rnnt_loss}
    try:
        import warnings

        import torchaudio.functional as taf

        warnings.filterwarnings("ignore", message=r".*_rnnt_loss has been deprecated", category=UserWarning)

        found["torchaudio"] = lambda x, y, t, u: taf.rnnt_loss(x, y.int(), t.int(), u.int(), blank=0,
                                                                reduction="mean")
    except Exception as err:  # noqa: BLE001 - any import failure means "not available"
        print(f"torchaudio: not available ({type(err).__name__}: {str(err).splitlines()[0][:80]})")
    try:
        import fast_rnnt

        def fast(x, y, t, u):
            boundary = torch.stack([torch.zeros_like(t), torch.zeros_like(t), u, t], dim=1)
            return fast_rnnt.rnnt_loss(x, y, termination_symbol=0, boundary=boundary, reduction="mean")

        found["fast_rnnt"] = fast
    except Exception as err:  # noqa: BLE001
        print(f"fast_rnnt: not available ({type(err).__name__})")
    return found


def measure(fn: Callable, logits: torch.Tensor, *rest: torch.Tensor, repeats: int) -> tuple[float, float]:
    """Median seconds of forward+backward and peak RSS growth in MiB."""
    times, peak = [], 0
    for _ in range(repeats):
        x = logits.detach().clone().requires_grad_(True)
        base = resident_bytes()
        high = [base]
        stop = threading.Event()

        def watch(stop: threading.Event = stop, high: list[int] = high) -> None:
            while not stop.is_set():
                high[0] = max(high[0], resident_bytes())
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        start = time.perf_counter()
        fn(x, *rest).backward()
        times.append(time.perf_counter() - start)
        stop.set()
        watcher.join()
        peak = max(peak, high[0] - base)
        del x
    return sorted(times)[len(times) // 2], peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    add_threads(parser, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-autograd-above", type=int, default=256, help="vocab size above which the slow "
                        "autograd reference is skipped")
    args = parse_args(parser)
    torch.manual_seed(0)
    batch, frames, length = 8, 200, 50
    fns = candidates()
    for vocab in (256, 1024):
        logits = torch.randn(batch, frames, length + 1, vocab)
        targets = torch.randint(1, vocab, (batch, length))
        t_lengths = torch.full((batch,), frames)
        u_lengths = torch.full((batch,), length)
        reference = float(rnnt_loss(logits, targets, t_lengths, u_lengths))
        print(f"B={batch} T={frames} U={length} V={vocab}: logits {logits.numel() * 4 / 2**20:.0f} MiB, "
              f"loss {reference:.4f}")
        results = {}
        for name, fn in fns.items():
            if name == "autograd" and vocab > args.skip_autograd_above:
                continue
            value = float(fn(logits, targets, t_lengths, u_lengths))
            seconds, mib = measure(fn, logits, targets, t_lengths, u_lengths, repeats=args.repeats)
            results[name] = seconds
            print(f"  {name:10s} {1000 * seconds:8.1f} ms fwd+bwd  peak +{mib:7.0f} MiB  loss {value:.4f}")
        fastest = min(results, key=results.get)
        print(f"  ours / fastest ({fastest}): {results['ours'] / results[fastest]:.2f}x")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
