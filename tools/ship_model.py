"""Turn a training checkpoint into a shipped model folder: ``recog/models/<name>/`` with
``config.json`` and float16 ``model.safetensors`` (``recog.checkpoint.save_model``), refusing a
weights file over the size limit. The model card (``MODEL_CARD.md``) is written by hand, with the
figures its benchmark measured.

    python tools/ship_model.py runs/synth_ocr/checkpoints/best-....ckpt --name latin-lines --task text-line
    python tools/ship_model.py runs/latin_det/checkpoints/best-....ckpt --name latin-det   # a text detector

After shipping, check that the folder reads back: ``recog models``, then ``recog ocr x.png``. Where
the model ships an LM with tuned fusion pairs (``lm.fusion.json``, one per head), tune them for the
new weights (``tools/lm_tune.py --head H --write`` for each), then ``tools/ship_edge.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recog.checkpoint import WEIGHTS_FILE, build_model, is_detector, read_model, save_model  # noqa: E402
from recog.inputs import input_kind  # noqa: E402
from recog.models import LM_FILE, ROOT  # noqa: E402
from recog_edge.boxes import detect_options  # noqa: E402
from recog_edge.lm import ANY_HEAD, fusion_setting_path, read_fusion_setting  # noqa: E402

MAX_BYTES = 15_000_000  # a shipped weights file stays at most 15 MB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="training checkpoint or model folder")
    parser.add_argument("--name", required=True, help="shipped model name, e.g. latin-lines")
    parser.add_argument("--task", choices=["speech", "text-line", "text-detection"],
                        help="default: the model's kind (text-detection for a detector, else its input kind)")
    parser.add_argument("--context", help="attention context LEFT,RIGHT the model uses by default (streaming)")
    parser.add_argument("--detect", help="a detector's settings as JSON, e.g. '{\"box_thresh\": 0.5}' "
                        "(recog_edge.boxes.detect_options; recog.load applies them; default: a detector "
                        "checkpoint's validation box settings, val_boxes)")
    parser.add_argument("--out", help=f"folder to write (default: {ROOT}/<name>)")
    parser.add_argument("--float32", action="store_true", help="keep float32 weights (default: float16)")
    args = parser.parse_args()
    parts = read_model(args.checkpoint)
    model = build_model(parts, args.checkpoint)
    task = args.task or ("text-detection" if is_detector(parts) else input_kind(model).name)
    info = {"name": args.name, "task": task, "source": Path(args.checkpoint).name}
    if args.detect:
        info["detect"] = json.loads(args.detect)
        detect_options(info["detect"])  # refuses unknown settings before anything is written
    elif "detect" in parts.info:  # a detector checkpoint's validation box settings
        info["detect"] = parts.info["detect"]
    if args.context:
        info["att_context"] = [int(v) for v in args.context.split(",")]
    folder = save_model(model, args.out or ROOT / args.name, half=not args.float32, info=info)
    size = (folder / WEIGHTS_FILE).stat().st_size
    if size > MAX_BYTES:
        (folder / WEIGHTS_FILE).unlink()
        print(f"error: {folder / WEIGHTS_FILE} would be {size / 1e6:.1f} MB, over {MAX_BYTES / 1e6:.0f} MB",
              file=sys.stderr)
        return 1
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {folder} ({params / 1e6:.2f} M parameters, {size / 1e6:.1f} MB weights)")
    setting = fusion_setting_path(folder / LM_FILE)
    if setting.is_file():
        default = getattr(model, "default_head", "ctc")  # a flat setting's head
        heads = [default if h == ANY_HEAD else h for h in read_fusion_setting(folder / LM_FILE) or {}]
        heads = [h for h in heads if h in ("ctc", "rnnt")] or ["ctc"]
        print(f"note: {setting} holds the LM's fusion settings tuned with the model shipped before; tune them for "
              f"this one: " + "; ".join(f"python tools/lm_tune.py --model {args.name} --head {h} --lm {args.name} "
                                       f"--manifest DEV --write" for h in heads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
