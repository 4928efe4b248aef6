"""An independent held-out evaluation of text-line models: the line recipe's test texts, looks and
degradations, drawn in the fonts the recipe reserves and never uses.

``fonts.py`` keeps some designs out of train, dev and test, and ``google_fonts.py`` keeps them out
of the Google Fonts training faces (``fonts.reserved_reason``): Latin Modern and Computer Modern
Unicode (Debian ``fonts-lmodern``, ``fonts-cmu``), Linux Libertine and Biolinum
(``fonts-linuxlibertine``), and the Latin fonts of the PyPI ``trdg`` wheel (Aller, Amatic, Bebas,
Capture it, Caviar Dreams, Droid Sans, FFF Tusj, Lato, Open Sans, Pacifico, Raleway, Roboto,
Sansation, Seaside Resort, Walkway), with every design derived from them. No model selection
looks at them either: dev is the recipe's own. So a model's figure here is the one a user with
fonts new to it should expect, where the test split's figure has been looked at for every version.

Line ``i`` of ``test.jsonl`` has the text of the recipe's test line ``i`` and its look and
degradations (its own draws, with ``--seed``), in a held-out face (a design group uniformly, then a
face in it, from a generator of the line's own): the figures differ from the test split's by the
fonts alone.
``test_degraded.jsonl`` is the same lines heavily degraded, as the recipe's ``test_degraded``.

A face is dropped (``--list`` prints each with its reason) when ``fonts.inspect_font`` rejects it
(ASCII coverage, ink, weight at least 300, ...), or when it draws lower-case letters as capitals
or small capitals (its ascenders no taller than its x-height), whose lines would contradict their
labels. The recipe installs the three Debian packages (apt-get, as the line recipe does) and
fetches the trdg wheel from PyPI at its pinned hash into ``data/fonts/trdg`` (only its fonts are
used; trdg itself is not installed)::

    python recipes/synth_ocr/heldout.py --out data/synth_ocr_heldout     # ~1 min on one core
    python recipes/synth_ocr/heldout.py --out data/synth_ocr_heldout --list
    recog eval --manifest data/synth_ocr_heldout/test.jsonl --model latin-lines --threads 1
    python benchmarks/ocr_peers.py --manifest data/synth_ocr_heldout/test.jsonl --model latin-lines --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from fonts import (
    TRDG_FAMILIES,
    Face,
    MissingPackagesError,
    face_split,
    inspect_files,
    missing_packages,
    package_font_files,
)
from PIL import ImageFont
from prepare import CONFIG_VERSION, Job, degraded_job, make_job, manifest_row, pick_face, process
from prepare import _init_worker as init_worker
from prepare import parse_args as prepare_args
from texts import make_texts

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes.common; recog when not installed
from recipes.common import check_config, report, run_jobs, split_texts, texts_fingerprint, write_manifests  # noqa: E402

PACKAGES = ("fonts-lmodern", "fonts-cmu", "fonts-linuxlibertine")
TRDG = "trdg==1.8.0"
TRDG_WHEEL = "trdg-1.8.0-py3-none-any.whl"
TRDG_SHA256 = "0283e855bd6713a05bd0c798bbb5486c793186ce6f149bf21e09af6c797d1dde"
TRDG_FONTS = "trdg/fonts/latin/"
# A text face's ascender letters stand well above its x-height letters (1.36-1.91 times in the
# held-out fonts); a face that sets lower case as capitals or small capitals draws them all alike
# (0.98-1.01: Amatic, Aller Display, Bebas, Capture it, Seaside Resort, Latin Modern's Caps faces).
ASCENDERS, X_HEIGHT = "bdhkl", "acemnorsuvwxz"
MIN_ASCENDER_RATIO = 1.15
OUTPUTS = ("test", "test_degraded")
HELDOUT_CODE = 5  # seeds a line's held-out face (prepare.py: train, dev, test 0-2, test_degraded 3, dev_degraded 4)


def ensure_packages() -> None:
    """Install the Debian packages of PACKAGES that are missing (``install_fonts.sh``: as root, else
    through sudo), or stop naming them."""
    missing = missing_packages(PACKAGES)
    if not missing:
        return
    try:
        subprocess.run(["bash", str(Path(__file__).with_name("install_fonts.sh")), *missing], check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise MissingPackagesError(missing) from err


def trdg_fonts(folder: Path) -> list[Path]:
    """The Latin fonts of the pinned trdg wheel, extracted into ``folder``/latin (the wheel is
    fetched from PyPI once, checked against TRDG_SHA256, and kept in ``folder``)."""
    wheel = folder / TRDG_WHEEL
    if not wheel.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--dest", str(folder), TRDG], check=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != TRDG_SHA256:
        raise ValueError(f"{wheel}: sha256 {digest}, expected {TRDG_SHA256}; delete it to fetch it again")
    out = folder / "latin"
    paths = []
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(n for n in z.namelist() if n.startswith(TRDG_FONTS) and n.lower().endswith(".ttf")):
            path = out / Path(name).name
            if not (path.is_file() and path.stat().st_size == z.getinfo(name).file_size):
                out.mkdir(parents=True, exist_ok=True)
                path.write_bytes(z.read(name))
            paths.append(path)
    return paths


def draws_capitals(path: str) -> bool:
    """True where the face draws lower case as capitals or small capitals: its ascender letters
    stand less than MIN_ASCENDER_RATIO times as high above the baseline as its x-height letters."""
    font = ImageFont.truetype(path, 64)

    def height(chars: str) -> float:
        return float(np.mean([-font.getbbox(c, anchor="ls")[1] for c in chars]))

    return height(ASCENDERS) < MIN_ASCENDER_RATIO * height(X_HEIGHT)


def group_of(family: str, package: str) -> str:
    """The design group of a held-out face: Computer Modern by category (Latin Modern and CMU are
    both Knuth's design), Libertine and Biolinum apart, a trdg family with its variants ("Walkway
    Oblique Bold" is Walkway)."""
    if package in ("fonts-lmodern", "fonts-cmu"):  # (their PANOSE classes are mostly unset)
        kind = "mono" if "Mono" in family or "Typewriter" in family else (
            "sans" if "Sans" in family or "Bright" in family else "serif")
        return f"Computer Modern {kind}"
    if package == "fonts-linuxlibertine":
        return " ".join(family.split()[:2])  # "Linux Libertine Display O" -> "Linux Libertine"
    return next((base for base in sorted(TRDG_FAMILIES, key=len) if family.startswith(base)), family)


def heldout_faces(trdg_folder: Path) -> tuple[list[Face], list[tuple[str, str]]]:
    """(usable held-out faces, (path, reason) of the dropped files)."""
    files = [pf for package in PACKAGES for pf in package_font_files(package)]
    files += [("trdg", str(p)) for p in trdg_fonts(trdg_folder)]
    usable, dropped = inspect_files(files)
    faces: dict[str, Face] = {}
    for package, path, family, style in usable:
        if draws_capitals(path):
            dropped.append((path, "draws lower case as capitals or small capitals"))
            continue
        face = Face(path, family, style, group_of(family, package), "held-out", package)
        if face.name in faces:
            dropped.append((path, f"duplicate of {faces[face.name].path}"))
            continue
        faces[face.name] = face
    return sorted(faces.values(), key=lambda f: (f.group, f.family, f.style)), dropped


def heldout_job(test_job: Job, faces: list[Face], seed: int) -> Job:
    """The recipe's test line ``test_job`` (its text, look and degradations: its draws) in a
    held-out face, drawn by a generator of its own so that no draw of the line depends on the
    font lists."""
    face = pick_face(faces, np.random.default_rng([seed, HELDOUT_CODE, test_job.index]))
    return dataclasses.replace(test_job, font_path=face.path, font_name=face.name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (images/, test.jsonl, test_degraded.jsonl)")
    p.add_argument("--num-test", type=int, default=1000,
                   help="lines (those of the recipe's first test lines), and as many degraded")
    p.add_argument("--seed", type=int, default=0, help="the line recipe's seed: its texts and draws")
    p.add_argument("--trdg", default="data/fonts/trdg", help="where the trdg wheel and its fonts are kept")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--list", action="store_true",
                   help="print the faces and the dropped files with their reasons; render nothing")
    args = p.parse_args(argv)
    if args.num_test < 1 or args.workers < 1:
        p.error("--num-test and --workers must be >= 1")
    # The line recipe's own settings (prepare.py's defaults: dev lines, degrade share, sizes, ...), for
    # split_texts and make_job, with these options over them.
    recipe = prepare_args(["--out", args.out, "--seed", str(args.seed), "--num-test", str(args.num_test),
                           "--num-train", "0"])
    return argparse.Namespace(**{**vars(recipe), **vars(args)})


def main(argv: list[str] | None = None) -> int:
    """Install and fetch the held-out fonts, then render the test lines in them."""
    args = parse_args(argv)
    try:
        ensure_packages()
        faces, dropped = heldout_faces(Path(args.trdg))
    except (MissingPackagesError, subprocess.CalledProcessError, ValueError, OSError) as err:
        sys.exit(f"error: {err}")
    groups = sorted({f.group for f in faces})
    print(f"held-out fonts: {len(faces)} faces in {len(groups)} design groups ({', '.join(groups)})")
    if args.list:
        for face in faces:
            print(f"  {face.group:28s} {face.name:45s} {face.path}")
        for path, reason in dropped:
            print(f"  dropped {path}: {reason}")
        return 0
    out = Path(args.out)
    check_config(out, {"version": CONFIG_VERSION, "heldout": 1, "seed": args.seed, "num_test": args.num_test,
                       "texts_sha256": texts_fingerprint(make_texts, args.seed),
                       "fonts": sorted(f.name for f in faces), "trdg": TRDG_SHA256})
    texts = split_texts(make_texts, args)["test"]
    width = max(6, len(str(args.num_test)))
    test_faces = face_split(args.seed)["test"]
    jobs = [heldout_job(make_job("test", i, text, test_faces, args, width), faces, args.seed)
            for i, text in enumerate(texts)]
    jobs += [degraded_job(job, args, width) for job in jobs]
    print(f"rendering {len(jobs)} lines with {args.workers} workers")
    start = time.monotonic()
    results = run_jobs(jobs, process, args.workers, min_step=50, chunksize=16, initializer=init_worker)
    report(results, time.monotonic() - start, lambda r: r.font)
    write_manifests(out, results, manifest_row, splits=OUTPUTS)
    return 0 if any(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
