"""Font discovery and the train/dev/test font split for the synthetic OCR corpus.

Fonts come only from the Debian packages in PACKAGES (their files are listed with ``dpkg -L``, so
fonts that other packages or users installed are never picked up; a package that ships no font
files itself, such as the ``fonts-dejavu`` and ``fonts-roboto`` metapackages, is followed to the
``fonts-*`` packages it depends on). A face is kept when it is a .ttf/.otf file that

* covers every printable ASCII character (U+0020..U+007E) in its cmap, plus a few Latin-1 letters
  as a check that it is a Latin text face,
* maps the ASCII letters to glyphs named after them where the font has real glyph names (this
  rejects symbol and dingbat fonts whose cmap maps ASCII codes to pictures),
* is not one of EXCLUDED_FAMILIES (symbol, dingbat, math and small-caps faces),
* has a weight class of at least MIN_WEIGHT (hairline and thin faces vanish at 20 px once blurred),
* and loads in Pillow.

From fonts-noto-core only the Latin text families are considered (NotoSans-*, NotoSerif-*,
NotoSans/SerifDisplay-*, NotoSansMono-*), not the hundreds of files for other scripts. The same
family and style shipped by two packages (fonts-liberation and fonts-liberation2) is kept once,
from the package listed first.

The split is by design GROUP, not by file or even by family name: a group joins the families that
share a design lineage (DESIGN_GROUPS), so that no test glyph shapes are seen in training under
another name. E.g. FreeSans is derived from Nimbus Sans, Noto Sans from Open Sans, and Liberation
Serif, Nimbus Roman and FreeSerif all draw Times. Groups are stratified by category (sans, serif,
mono, script); within each category about TEST_SHARE of the groups go to test and DEV_SHARE to
dev, picked by a hash of (seed, group), and the rest to train. So the dev fonts, like the test
fonts, are unseen in training: dev measures the same thing as test (generalisation to new fonts)
and can be used for model selection without touching the test fonts.

    python recipes/synth_ocr/fonts.py --seed 0     # print the faces per split
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "dev", "test")
TEST_SHARE, DEV_SHARE = 0.2, 0.1
SPLIT_SALT = "synth-ocr-fonts-v1"
MIN_WEIGHT = 300
FONT_EXTENSIONS = (".ttf", ".otf")  # Type 1 (.t1/.pfb/.afm) files are skipped: fonts-urw-base35 ships .otf too

# In this order: a face shipped twice (same family and style) is taken from the first package.
PACKAGES = (
    "fonts-dejavu",
    "fonts-liberation2",
    "fonts-liberation",
    "fonts-noto-core",
    "fonts-freefont-ttf",
    "fonts-urw-base35",
    "fonts-roboto",
    "fonts-lato",
    "fonts-open-sans",
    "fonts-go",
    "fonts-jetbrains-mono",
    "fonts-courier-prime",
)
# Noto files that are Latin text faces; the package has some 270 files for other scripts.
NOTO_LATIN = re.compile(r"Noto(Sans|Serif)(Display|Mono)?-")
NOTO_PACKAGES = ("fonts-noto-core", "fonts-noto-mono", "fonts-noto-extra")

EXCLUDED_FAMILIES = {
    "D050000L": "dingbats (URW's Zapf Dingbats clone)",
    "Standard Symbols PS": "Greek and math symbols on ASCII codes",
    "DejaVu Math TeX Gyre": "math font",
    "Go Smallcaps": "draws lowercase as small capitals, which would not match the lowercase label",
}

# Design group -> (category, families). Families not listed here form a group of their own.
DESIGN_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "DejaVu Sans": ("sans", ("DejaVu Sans", "DejaVu Sans Mono")),  # Bitstream Vera Sans and Sans Mono
    "DejaVu Serif": ("serif", ("DejaVu Serif",)),
    "Open Sans": ("sans", ("Open Sans", "Open Sans Condensed", "Noto Sans", "Noto Sans Display", "Noto Sans Mono")),
    "Noto Serif": ("serif", ("Noto Serif", "Noto Serif Display")),  # Droid Serif lineage
    "Helvetica-like": (
        "sans",
        ("Nimbus Sans", "Nimbus Sans Narrow", "FreeSans", "Liberation Sans", "Liberation Sans Narrow"),
    ),
    "Times-like": ("serif", ("Nimbus Roman", "FreeSerif", "Liberation Serif")),
    "Courier-like": (
        "mono",
        ("Nimbus Mono PS", "FreeMono", "Courier Prime", "Courier Prime Code", "Courier Prime Sans"),
    ),
    "Liberation Mono": ("mono", ("Liberation Mono",)),  # Cousine design, not a Courier clone
    "C059": ("serif", ("C059",)),  # Century Schoolbook
    "P052": ("serif", ("P052",)),  # Palatino
    "URW Bookman": ("serif", ("URW Bookman",)),
    "URW Gothic": ("sans", ("URW Gothic",)),  # Avant Garde Gothic
    "Z003": ("script", ("Z003",)),  # Zapf Chancery
    "Roboto": ("sans", ("Roboto", "Roboto Condensed")),
    "Lato": ("sans", ("Lato",)),
    "Go": ("sans", ("Go", "Go Medium", "Go Mono")),
    "JetBrains Mono": ("mono", ("JetBrains Mono",)),
}
FAMILY_TO_GROUP = {family: group for group, (_, families) in DESIGN_GROUPS.items() for family in families}

PRINTABLE_ASCII = tuple(range(0x20, 0x7F))
LATIN1_PROBE = "\u00e9\u00f1\u00fc\u00df\u00c7"  # e-acute, n-tilde, u-umlaut, sharp s, C-cedilla
GENERIC_GLYPH_NAME = re.compile(r"(glyph|gid|cid|g|index)\d+|uni[0-9A-F]{4}|u[0-9A-F]{4,6}", re.IGNORECASE)


@dataclass(frozen=True)
class Face:
    """One usable font file."""

    path: str
    family: str  # typographic family name, e.g. "Noto Sans Display"
    style: str  # e.g. "Bold Italic"
    group: str  # design group, the unit of the split
    category: str  # sans, serif, mono, script (or other for unknown families)
    package: str

    @property
    def name(self) -> str:
        """The face as "family/style", as written to the manifests."""
        return f"{self.family}/{self.style}"


# ---------------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------------


def _dpkg_files(package: str) -> list[str]:
    """Files installed by ``package`` (empty when it is not installed)."""
    proc = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def _font_dependencies(package: str) -> list[str]:
    """The installed ``fonts-*`` packages that ``package`` depends on."""
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", package], capture_output=True, text=True)
    if proc.returncode != 0:
        return []
    names = [alt.split()[0] for dep in proc.stdout.split(",") for alt in dep.split("|") if alt.strip()]
    return [n.split(":")[0] for n in names if n.startswith("fonts-")]


def package_font_files(package: str, _seen: set[str] | None = None) -> list[tuple[str, str]]:
    """(package, path) of the .ttf/.otf files of ``package``, following fonts-* dependencies of
    metapackages that ship no font file themselves."""
    seen = set() if _seen is None else _seen
    if package in seen:
        return []
    seen.add(package)
    files = [f for f in _dpkg_files(package) if f.lower().endswith(FONT_EXTENSIONS) and Path(f).is_file()]
    if package in NOTO_PACKAGES:
        files = [f for f in files if NOTO_LATIN.match(Path(f).name)]
    if files:
        return [(package, f) for f in sorted(files)]
    if not _dpkg_files(package):
        return []
    return [pf for dep in _font_dependencies(package) for pf in package_font_files(dep, seen)]


def _style_from_filename(path: str, family: str) -> str:
    """A style from the file name ("Courier Prime Bold Italic.otf" -> "Bold Italic"), for fonts
    whose name table gives every style the same name."""
    stem = Path(path).stem
    for prefix in (family, family.replace(" ", "")):
        if stem.startswith(prefix):
            stem = stem[len(prefix) :]
            break
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem.replace("-", " ").replace("_", " ")).split()
    return " ".join(words) or "Regular"


def _looks_latin(cmap: dict[int, str]) -> bool:
    """False when most ASCII letters map to glyphs named after other things (a symbol font such
    as Standard Symbols PS maps "A" to "Alpha"); generic names ("glyph36", "uni0041") pass."""
    wrong = 0
    for code in [*range(0x41, 0x5B), *range(0x61, 0x7B)]:
        name = cmap.get(code)
        if name is None:
            continue  # reported by the coverage check
        if name != chr(code) and not GENERIC_GLYPH_NAME.fullmatch(name) and not name.startswith(chr(code) + "."):
            wrong += 1
    return wrong <= 5


def inspect_font(path: str) -> tuple[str, str, int] | str:
    """(family, style, weight) of a usable Latin text face, or the reason it is not usable."""
    from fontTools.ttLib import TTFont
    from PIL import ImageFont

    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
            names = font["name"]
            family = str(names.getDebugName(16) or names.getDebugName(1) or Path(path).stem)
            style = str(names.getDebugName(17) or names.getDebugName(2) or "Regular")
            weight = int(font["OS/2"].usWeightClass) if "OS/2" in font else 400
            latin = _looks_latin(cmap)
    except Exception as err:  # fontTools raises many kinds on broken files
        return f"fontTools cannot read it ({type(err).__name__}: {err})"
    missing = [chr(c) for c in PRINTABLE_ASCII if c not in cmap]
    if missing:
        return f"cmap lacks {len(missing)} printable ASCII characters ({''.join(missing[:10])!r}...)"
    if any(ord(c) not in cmap for c in LATIN1_PROBE):
        return "not a Latin text face (no Latin-1 letters)"
    if family in EXCLUDED_FAMILIES:
        return f"excluded family: {EXCLUDED_FAMILIES[family]}"
    if not latin:
        return "ASCII letters map to non-letter glyphs (symbol font)"
    if weight < MIN_WEIGHT:
        return f"too thin (weight class {weight} < {MIN_WEIGHT})"
    try:
        pil_font = ImageFont.truetype(path, 24)
        left, top, right, bottom = pil_font.getbbox("Hg")
        if right - left <= 0 or bottom - top <= 0:
            return "Pillow renders no ink"
    except OSError as err:
        return f"Pillow cannot load it ({err})"
    return family, style, weight


def category_of(family: str, path: str) -> str:
    """Category of a family that DESIGN_GROUPS does not list: mono from the post table, serif or
    sans from the PANOSE serif style, else "other"."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        if "post" in font and font["post"].isFixedPitch:
            return "mono"
        serif_style = font["OS/2"].panose.bSerifStyle if "OS/2" in font else 0
    if 11 <= serif_style <= 13:
        return "sans"
    if 2 <= serif_style <= 10:
        return "serif"
    return "other"


@functools.lru_cache(maxsize=1)
def discover_fonts(packages: tuple[str, ...] = PACKAGES) -> tuple[tuple[Face, ...], tuple[tuple[str, str], ...]]:
    """(usable faces, (path, reason) of the rejected files), from the packages' files."""
    faces: list[Face] = []
    rejected: list[tuple[str, str]] = []
    missing_packages = []
    for package in packages:
        files = package_font_files(package)
        if not files:
            missing_packages.append(package)
        for pkg, path in files:
            info = inspect_font(path)
            if isinstance(info, str):
                rejected.append((path, info))
                continue
            family, style, _ = info
            group = FAMILY_TO_GROUP.get(family, family)
            category = DESIGN_GROUPS[group][0] if group in DESIGN_GROUPS else category_of(family, path)
            faces.append(Face(path, family, style, group, category, pkg))
    if missing_packages:
        print(f"warning: no font files from {', '.join(missing_packages)} (not installed?)", file=sys.stderr)
    # Fonts whose name table gives several files the same style name get styles from file names.
    by_family: dict[str, list[Face]] = {}
    for face in faces:
        by_family.setdefault(face.family, []).append(face)
    fixed: list[Face] = []
    for family, members in by_family.items():
        stems: dict[str, set[str]] = {}
        for face in members:
            stems.setdefault(face.style, set()).add(Path(face.path).name)
        if any(len(files) > 1 for files in stems.values()):
            members = [
                Face(f.path, f.family, _style_from_filename(f.path, family), f.group, f.category, f.package)
                for f in members
            ]
        fixed.extend(members)
    # The same face from two packages (e.g. Liberation 1.x and 2.x): keep the first package's.
    kept: dict[str, Face] = {}
    for face in fixed:
        if face.name in kept:
            rejected.append((face.path, f"duplicate of {kept[face.name].path}"))
        else:
            kept[face.name] = face
    if not kept:
        raise RuntimeError(f"no usable fonts found in the packages {', '.join(packages)}")
    return tuple(sorted(kept.values(), key=lambda f: (f.group, f.family, f.style))), tuple(rejected)


def fonts() -> list[Face]:
    """All usable faces."""
    return list(discover_fonts()[0])


# ---------------------------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------------------------


def _rank(seed: int, group: str) -> str:
    """Stable pseudo-random order of groups for a seed, independent of Python's hash salt."""
    return hashlib.sha256(f"{SPLIT_SALT}:{seed}:{group}".encode()).hexdigest()


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def split_groups(groups: dict[str, str], seed: int) -> dict[str, list[str]]:
    """Design groups per split, from {group: category}. Stratified by category: of a category's
    n groups, round(TEST_SHARE * n) go to test and round(DEV_SHARE * n) to dev, but at least one
    stays in train; the rest are train."""
    out: dict[str, list[str]] = {split: [] for split in SPLITS}
    for category in sorted(set(groups.values())):
        members = sorted((g for g, c in groups.items() if c == category), key=lambda g: _rank(seed, g))
        n = len(members)
        n_test = min(_round_half_up(TEST_SHARE * n), n - 1)
        n_dev = min(_round_half_up(DEV_SHARE * n), n - 1 - n_test)
        out["test"] += members[:n_test]
        out["dev"] += members[n_test : n_test + n_dev]
        out["train"] += members[n_test + n_dev :]
    return {split: sorted(names) for split, names in out.items()}


def face_split(seed: int = 0) -> dict[str, list[Face]]:
    """Usable faces per split; whole design groups go to one split."""
    faces = fonts()
    by_group = split_groups({f.group: f.category for f in faces}, seed)
    return {split: [f for f in faces if f.group in by_group[split]] for split in SPLITS}


def font_split(seed: int = 0) -> dict[str, list[str]]:
    """Font file paths per split ("train", "dev", "test"). Design groups (related families) are
    disjoint across splits, so dev and test faces are never seen in training."""
    return {split: [f.path for f in faces] for split, faces in face_split(seed).items()}


def main(argv: list[str] | None = None) -> int:
    """Print the faces per split and the rejected files."""
    p = argparse.ArgumentParser(description="Show the synthetic-OCR font split.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rejected", action="store_true", help="also list the rejected files and why")
    args = p.parse_args(argv)
    split = face_split(args.seed)
    for name in SPLITS:
        groups: dict[str, list[Face]] = {}
        for face in split[name]:
            groups.setdefault(face.group, []).append(face)
        print(
            f"{name}: {len(groups)} groups, {len({f.family for f in split[name]})} families, {len(split[name])} faces"
        )
        for group, members in groups.items():
            families = sorted({f.family for f in members})
            print(f"  {group} [{members[0].category}]: {', '.join(families)} ({len(members)} faces)")
    if args.rejected:
        for path, reason in discover_fonts()[1]:
            print(f"rejected {path}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
