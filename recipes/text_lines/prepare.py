"""Manifests for real text-line recognition sets (scene text, documents) in two common formats.

A source is either
  * a PaddleOCR recognition label file: one line per image, ``relative/image/path<TAB>label``,
    paths relative to --data-dir (default: the label file's folder); the images stay where they
    are and the manifest points at them (absolute paths); or
  * an LMDB dataset in the deep-text-recognition-benchmark format (keys ``num-samples``,
    ``image-%09d`` with encoded image bytes, ``label-%09d``; indices from 1): a folder holding
    data.mdb, or a folder of such folders (each is one source). Its images are written out to
    OUT/images/<name>/<index // 10000>/<index>.<ext> (our manifests point at image files; a
    subfolder per 10000 keeps folders small for MJSynth-sized sets). Needs ``pip install lmdb``.

Writes OUT/<split>.jsonl for each split given, rows ``{"image_filepath": ..., "text": label}``,
and, where a split has several sources, OUT/<split>-<name>.jsonl per source too (e.g. one per
scene-text benchmark). Every image is decoded once with recog.image.load_image, as training will;
one that cannot be read, and lines without a label, are skipped and reported by path.

    python recipes/text_lines/prepare.py --out data/text_lines --data-dir /data/rec \
        --train /data/rec/rec_gt_train.txt --dev /data/rec/rec_gt_val.txt --test /data/lmdb/evaluation
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from PIL import Image, UnidentifiedImageError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for recog when not installed
from recipes.corpora import Skip, report_skips  # noqa: E402
from recog.data import write_jsonl_atomic  # noqa: E402
from recog.image import ImageError, load_image  # noqa: E402
from recog_edge.files import atomic_path  # noqa: E402

SPLITS = ("train", "dev", "test")
CHUNK = 2048  # LMDB records read (into memory) per batch handed to the worker threads
SHARD = 10000  # LMDB images per subfolder of OUT/images/<name>/
FORMAT_SUFFIX = {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "GIF": "gif", "TIFF": "tif", "WEBP": "webp"}


@dataclass(frozen=True)
class Source:
    """One label file or LMDB folder; ``name`` is unique within a run."""

    kind: str  # "paddle" or "lmdb"
    path: Path
    name: str


@dataclass(frozen=True)
class Item:
    """A kept line: its manifest row."""

    image_filepath: str
    text: str


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


def find_sources(specs: list[str], taken: set[str]) -> list[Source]:
    """Label files and LMDB folders for the given paths; a folder without data.mdb stands for
    every LMDB below it. Names (file stem or folder name) are made unique against ``taken``."""
    sources = []
    for spec in specs:
        path = Path(spec).resolve()
        if path.is_file():
            found = [("paddle", path, path.stem)]
        elif (path / "data.mdb").is_file():
            found = [("lmdb", path, path.name)]
        elif path.is_dir():
            found = [("lmdb", mdb.parent, mdb.parent.name) for mdb in sorted(path.rglob("data.mdb"))]
            if not found:
                sys.exit(f"error: {path}: neither a label file nor a folder with LMDB datasets (no data.mdb below it)")
        else:
            sys.exit(f"error: {path}: no such label file or LMDB folder")
        for kind, where, stem in found:
            name, n = stem, 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}"
            taken.add(name)
            sources.append(Source(kind, where, name))
    return sources


def check(path: Path) -> str | None:
    """None if recog can load the image, else the reason it cannot."""
    if not path.is_file():
        return "missing image"
    try:
        load_image(path)
    except ImageError as err:
        return f"unreadable image: {str(err).removeprefix(f'{path}: ')}"
    return None


def read_paddle(source: Source, data_dir: Path | None, workers: int) -> tuple[list[Item], list[Skip]]:
    """A PaddleOCR label file: ``path<TAB>label`` per line, paths relative to ``data_dir``."""
    root = data_dir or source.path.parent
    lines, skips = [], []
    with source.path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            where = f"{source.path}:{number}"
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            rel, tab, label = line.partition("\t")
            if not tab:
                skips.append(Skip("no tab between path and label", rel, where))
                continue
            path = Path(os.path.normpath(root / rel.strip()))  # root is absolute; no per-file resolve()
            if not label.strip():
                skips.append(Skip("empty label", str(path), where))
                continue
            lines.append((path, label.strip(), where))
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while it decodes
        problems = list(pool.map(check, (path for path, _, _ in lines)))
    items = []
    for (path, label, where), problem in zip(lines, problems, strict=True):
        if problem:
            reason, _, detail = problem.partition(": ")
            skips.append(Skip(reason, str(path), where, detail))
        else:
            items.append(Item(str(path), label))
    return items, skips


def import_lmdb(source: Source):
    """The lmdb module, or exit saying how to install it."""
    try:
        import lmdb
    except ImportError:
        sys.exit(f"error: {source.path} is an LMDB dataset; reading it needs the lmdb package: pip install lmdb")
    return lmdb


def lmdb_records(source: Source) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    """(index, label bytes, image bytes) of every record, from 1 to num-samples."""
    env = import_lmdb(source).open(str(source.path), readonly=True, lock=False, readahead=False, meminit=False,
                                   max_readers=1)
    try:
        with env.begin(write=False) as txn:
            raw = txn.get(b"num-samples")
            if raw is None:
                sys.exit(f"error: {source.path}: no num-samples key (not a deep-text-recognition-benchmark LMDB)")
            for index in range(1, int(raw) + 1):
                yield index, txn.get(b"label-%09d" % index), txn.get(b"image-%09d" % index)
    finally:
        env.close()


def write_image(out_dir: Path, index: int, data: bytes) -> tuple[Path | None, str | None]:
    """Write one LMDB image as a file named by its index and format (kept if already there with
    the same size); returns its path, or None and the reason it cannot be used."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None, "unreadable image: not in an image format Pillow knows"
    path = out_dir / f"{index // SHARD:04d}" / f"{index:09d}.{FORMAT_SUFFIX.get(fmt, fmt.lower() or 'img')}"
    if not (path.is_file() and path.stat().st_size == len(data)):
        with atomic_path(path) as part:
            part.write_bytes(data)
    problem = check(path)
    if problem:
        path.unlink()
        return None, problem
    return path, None


def read_lmdb(source: Source, out: Path, workers: int) -> tuple[list[Item], list[Skip]]:
    """An LMDB dataset: images written under OUT/images/<name>/, rows relative to OUT."""
    image_dir = out / "images" / source.name
    image_dir.mkdir(parents=True, exist_ok=True)
    items, skips = [], []
    records = lmdb_records(source)
    with ThreadPoolExecutor(workers) as pool:
        while chunk := list(islice(records, CHUNK)):
            wanted = []
            for index, label, data in chunk:
                key = f"{source.path} image-{index:09d}"
                try:
                    text = (label or b"").decode("utf-8").strip()
                except UnicodeDecodeError:
                    skips.append(Skip("label not UTF-8", key))
                    continue
                if data is None:
                    skips.append(Skip("missing image", key))
                elif not text:
                    skips.append(Skip("empty label", key))
                else:
                    wanted.append((index, text, data, key))
            results = pool.map(lambda w: write_image(image_dir, w[0], w[2]), wanted)
            for (_, text, _, key), (path, problem) in zip(wanted, results, strict=True):
                if problem:
                    reason, _, detail = problem.partition(": ")
                    skips.append(Skip(reason, key, "", detail))
                else:
                    items.append(Item(path.relative_to(out).as_posix(), text))
    return items, skips


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def write_manifest(path: Path, items: list[Item]) -> None:
    write_jsonl_atomic(path, ({"image_filepath": i.image_filepath, "text": i.text} for i in items))
    print(f"{path}: {len(items)} lines")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder: <split>.jsonl and images/ (LMDB sources)")
    for split in SPLITS:
        p.add_argument(f"--{split}", nargs="+", default=[], metavar="SOURCE",
                       help=f"{split} label file(s) and/or LMDB folder(s)")
    p.add_argument("--data-dir", help="folder the label files' image paths are relative to "
                   "(default: each label file's own folder)")
    p.add_argument("--workers", type=int, default=8, help="threads decoding images")
    args = p.parse_args(argv)
    if not any(getattr(args, split) for split in SPLITS):
        p.error("give at least one of --train, --dev, --test")
    if args.workers < 1:
        p.error("--workers must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Find every source first (so a typo fails before any work), then write the manifests."""
    args = parse_args(argv)
    out = Path(args.out)
    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    taken: set[str] = set()
    sources = {split: find_sources(getattr(args, split), taken) for split in SPLITS}
    for source in (s for group in sources.values() for s in group if s.kind == "lmdb"):
        import_lmdb(source)
    status = 0
    for split in SPLITS:
        if not sources[split]:
            continue
        for stale in out.glob(f"{split}-*.jsonl"):  # per-source manifests of an earlier run
            stale.unlink()
        every: list[Item] = []
        for source in sources[split]:
            start = time.monotonic()
            if source.kind == "paddle":
                items, skips = read_paddle(source, data_dir, args.workers)
            else:
                items, skips = read_lmdb(source, out, args.workers)
            print(f"{split}: {source.name} ({source.kind}, {source.path}): {len(items)} lines "
                  f"({time.monotonic() - start:.1f} s)")
            report_skips(f"{split}/{source.name}", skips, "line")
            every += items
            if len(sources[split]) > 1 and items:
                write_manifest(out / f"{split}-{source.name}.jsonl", items)
        if every:
            write_manifest(out / f"{split}.jsonl", every)
        else:
            print(f"error: {split}: no usable lines; {out / f'{split}.jsonl'} not written", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
