"""Ship recog's shipped models for the edge runtime: ``recog export --int8`` of
``recog/models/<name>/`` into ``export/python/recog_edge/models/<name>/`` (part of the recog-edge
wheel), with ``edge.json`` (task, files, the sha256 of the recog weights they came from) and a
short ``MODEL_CARD.md``; refused where a file would be over 15 MB. A speech model gets
``offline.onnx`` (``recog-edge transcribe``) and, where its encoder streams, ``encoder.onnx`` in
the same folder (``recog-edge stream``).

    python tools/ship_edge.py latin-lines latin-det     # the text-line model and the text detector
    python tools/ship_edge.py en-speech                 # the speech model, once recog/models/en-speech ships
    python tools/ship_edge.py --all                     # every model recog ships

Run it again whenever a recog model is re-shipped: a test checks that each edge model was
written from the weights recog ships now. Where only a recog card's summary changed,
``--card-only`` rewrites the edge cards without exporting again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recog import __version__  # noqa: E402
from recog.checkpoint import WEIGHTS_FILE  # noqa: E402
from recog.cli import export_model  # noqa: E402
from recog.inference import load  # noqa: E402
from recog.models import ROOT, shipped  # noqa: E402
from recog_edge.lm import FUSION_SUFFIX, copy_fusion_setting  # noqa: E402
from recog_edge.models import INFO_FILE, LM_FILE  # noqa: E402
from recog_edge.models import ROOT as EDGE_ROOT  # noqa: E402

MAX_BYTES = 15_000_000  # a shipped ONNX file stays at most 15 MB


def weights_sha256(name: str) -> str:
    """The sha256 of a shipped recog model's weights file (what its edge model was written from)."""
    return hashlib.sha256((ROOT / name / WEIGHTS_FILE).read_bytes()).hexdigest()


def write_card(folder: Path, name: str, task: str, summary: str, sizes: dict[str, int]) -> Path:
    """An edge folder's short ``MODEL_CARD.md``: recog's card summary for ``name``, what the export
    is, and its files (``sizes``: file name -> bytes, as ``edge.json`` lists them); the card's path."""
    listing = "\n".join(f"- `{file}`: " + (f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes")
                        for file, size in sizes.items())
    setting = next((file for file in sizes if file.endswith(FUSION_SUFFIX)), None)
    card = folder / "MODEL_CARD.md"
    card.write_text(
        f"# {name} (edge, int8 ONNX)\n\n{summary}\n\n"
        f"The int8 ONNX export of recog's shipped `{name}` (`recog/models/{name}/MODEL_CARD.md` has its "
        f"training data and measured accuracy; int8 against float32 figures are in docs/results.md), for "
        f"`recog-edge` without PyTorch. Graphs run once per step on one row (a transducer's predictor and "
        f"joiner) stay float32: int8 made them slower. Written by "
        f"`python tools/ship_edge.py {name}`."
        + (f" `{LM_FILE}` is the character LM recog's `{name}` ships, for `recog-edge "
           f"{'transcribe' if task == 'speech' else 'ocr'} --lm {name}`."
           if LM_FILE in sizes else "")
        + (f" `{setting}` is the fusion settings tuned for it (a weight and bonus per head; for a "
           f"transducer also the internal LM's weight it subtracts), as recog's."
           if setting else "") + f"\n\n{listing}\n",
        encoding="utf-8")
    return card


def edge_info(name: str) -> dict | None:
    """The ``edge.json`` of ``name``'s edge model, or None where there is none."""
    path = EDGE_ROOT / name / INFO_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def card_only_refusal(name: str, info: dict | None) -> str | None:
    """Why ``--card-only`` cannot rewrite ``name``'s edge card, given its ``edge.json`` (no edge
    model, or one written from other weights than recog ships now: export it again), or None."""
    if info is None:
        return f"{name}: no edge model in {EDGE_ROOT / name}; run python tools/ship_edge.py {name}"
    if info["source"]["weights_sha256"] != weights_sha256(name):
        return f"{name}: the edge model was written from other weights; run python tools/ship_edge.py {name}"
    return None


def ship(name: str, task: str, summary: str) -> Path:
    """Export recog's shipped model ``name`` as int8 ONNX into its edge folder; the folder."""
    model = load(name)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=EDGE_ROOT))
    try:
        written = export_model(model, work, int8=True)
        streaming = None
        if task == "speech":
            try:
                written += export_model(model, work, streaming=True, int8=True)
                streaming = True
            except ValueError as err:  # a full-context encoder has no streaming step
                print(f"{name}: offline only ({err})", file=sys.stderr)
                streaming = False
        if (ROOT / name / LM_FILE).is_file():  # recog-edge fuses it into CTC or transducer beam search
            shutil.copyfile(ROOT / name / LM_FILE, work / LM_FILE)
            written.append(work / LM_FILE)
            setting = copy_fusion_setting(ROOT / name / LM_FILE, work / LM_FILE)  # its tuned weights
            written += [setting] if setting else []
        sizes = {path.name: path.stat().st_size for path in sorted(set(written))}
        over = {file: size for file, size in sizes.items() if size > MAX_BYTES}
        if over:
            raise ValueError(f"{name}: over {MAX_BYTES / 1e6:.0f} MB: " +
                             ", ".join(f"{file} {size / 1e6:.1f} MB" for file, size in over.items()))
        info = {"name": name, "task": task, "int8": True, "files": sizes,
                "source": {"recog_version": __version__, "weights_sha256": weights_sha256(name)}}
        if streaming is not None:
            info["streaming"] = streaming
        (work / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        write_card(work, name, task, summary, sizes)
        folder = EDGE_ROOT / name
        shutil.rmtree(folder, ignore_errors=True)
        work.chmod(0o755)  # mkdtemp makes it private
        work.rename(folder)
        return folder
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="shipped recog model names (recog models), e.g. latin-lines")
    parser.add_argument("--all", action="store_true", help="every model recog ships")
    parser.add_argument("--card-only", action="store_true",
                        help="rewrite only each edge folder's MODEL_CARD.md from recog's card (its summary "
                        "changed, the weights did not); no export")
    args = parser.parse_args()
    models = {m.name: m for m in shipped()}
    names = list(models) if args.all else args.names
    if not names:
        parser.error("give model names or --all")
    unknown = [name for name in names if name not in models]
    if unknown:
        print(f"error: {unknown[0]}: recog ships no such model (shipped: {', '.join(models) or 'none'})",
              file=sys.stderr)
        return 2
    if args.card_only:  # every name checked before any card is written
        infos = {name: edge_info(name) for name in names}
        refusals = [why for name in names if (why := card_only_refusal(name, infos[name]))]
        if refusals:
            print(f"error: {refusals[0]}", file=sys.stderr)
            return 2
        for name in names:
            card = write_card(EDGE_ROOT / name, name, models[name].task, models[name].summary, infos[name]["files"])
            print(f"wrote {card}")
        return 0
    for name in names:
        try:
            folder = ship(name, models[name].task, models[name].summary)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        sizes = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))["files"]
        print(f"wrote {folder}: " + ", ".join(f"{file} {size / 1e6:.1f} MB" for file, size in sizes.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
