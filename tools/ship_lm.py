"""Ship a character language model (``recog lm``) with a shipped model: written in the current
format to ``recog/models/<name>/lm.npz``, where ``--lm <name>`` finds it, after checking that it
loads and stays under the size limit of a shipped file.

    python tools/ship_lm.py runs/lm/en_speech_lm8.npz --name en-speech

A fusion pair tuned for the file (``lm.fusion.json`` beside it, ``tools/lm_tune.py --write``) ships
with it; one tuned for the LM it replaces is removed. Write how it was built and what it gives into
the model's card.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recog.checkpoint import CONFIG_FILE  # noqa: E402
from recog.lm import CharNgramLM  # noqa: E402
from recog.models import LM_FILE, ROOT  # noqa: E402
from recog_edge.lm import copy_fusion_setting  # noqa: E402
from tools.ship_model import MAX_BYTES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lm", help="LM file written by `recog lm`")
    parser.add_argument("--name", required=True, help="the shipped model it goes with, e.g. en-speech")
    args = parser.parse_args()
    folder = ROOT / args.name
    if not (folder / CONFIG_FILE).is_file():
        print(f"error: {args.name}: no shipped model of that name in {ROOT}", file=sys.stderr)
        return 2
    try:
        lm = CharNgramLM.load(args.lm)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    staged = folder / (LM_FILE + ".part")
    lm.save(staged)  # the current format, whatever the file given was written in
    size = staged.stat().st_size
    if size > MAX_BYTES:
        staged.unlink()
        print(f"error: {args.lm} is {size / 1e6:.1f} MB as {LM_FILE}, over {MAX_BYTES / 1e6:.0f} MB", file=sys.stderr)
        return 1
    os.replace(staged, folder / LM_FILE)
    print(f"wrote {folder / LM_FILE} (order {lm.order}, {lm.num_contexts} contexts, {size / 1e6:.1f} MB)")
    setting = copy_fusion_setting(args.lm, folder / LM_FILE)  # a setting tuned for another LM goes
    print(f"wrote {setting} (its tuned fusion setting)" if setting else
          "no fusion setting beside it: --lm uses the default weights (tune them: tools/lm_tune.py --write)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
