"""How long loading a model takes: each shipped model (or the ones named), in a fresh process
(``import recog`` excluded from the time) and again in the same process; a shipped model that
carries a character LM also with it (``recog.load(name, lm=name)``).

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
recog.load({model!r}, lm={lm!r})
first = time.perf_counter() - start
start = time.perf_counter()
recog.load({model!r}, lm={lm!r})
print(first, time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="model names, folders or checkpoints (default: every shipped model)")
    args = parser.parse_args()
    from recog.models import LM_FILE, shipped

    models = args.models or [m.name for m in shipped()]
    if not models:
        print("no models ship with this recog")
    with_lm = {m.name for m in shipped() if (m.folder / LM_FILE).is_file()}
    for model, lm in [(m, None) for m in models] + [(m, m) for m in models if m in with_lm]:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD.format(model=model, lm=lm)], capture_output=True,
                             text=True, check=True).stdout.split()
        total = time.perf_counter() - start
        print(f"{model}{' with its LM' if lm else ''}: load {float(out[0]):.3f} s in a fresh process, "
              f"{float(out[1]):.3f} s again; the whole process (Python, torch and recog imports) {total:.1f} s")


if __name__ == "__main__":
    main()
