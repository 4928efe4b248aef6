"""How long loading a model takes: each shipped model (or the ones named), in a fresh process
(``import recog`` excluded from the time) and again in the same process.

    python benchmarks/model_load.py              # every shipped model
    python benchmarks/model_load.py latin-lines runs/x/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

CHILD = """
import time, torch
torch.set_num_threads(1)
import recog
start = time.perf_counter()
recog.load({model!r})
first = time.perf_counter() - start
start = time.perf_counter()
recog.load({model!r})
print(first, time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="model names, folders or checkpoints (default: every shipped model)")
    args = parser.parse_args()
    from recog.models import shipped

    models = args.models or [m.name for m in shipped()]
    if not models:
        print("no models ship with this recog")
    for model in models:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD.format(model=model)], capture_output=True, text=True,
                             check=True).stdout.split()
        total = time.perf_counter() - start
        print(f"{model}: load {float(out[0]):.3f} s in a fresh process, {float(out[1]):.3f} s again; "
              f"the whole process (Python, torch and recog imports) {total:.1f} s")


if __name__ == "__main__":
    main()
