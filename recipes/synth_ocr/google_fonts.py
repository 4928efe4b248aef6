"""Google Fonts as extra *training* fonts for the line recipe, from npm's ``@fontsource`` packages.

The Debian archive's Latin text fonts (fonts.py) give the recipe 83 design groups to train on;
an unseen font is read at several times the error of a seen one (recipes/synth_ocr/README.md), and
most of the test split's errors are in its few script and unusual monospaced designs. The Google
Fonts library has some 1,900 Latin families (sans, serif, monospace, display and handwriting), all
under the OFL or the Apache licence, and Fontsource publishes each as an npm package
(``@fontsource/<id>``) with one WOFF file per subset, weight and style. The npm registry is one of
the package registries this project may use; no font CDN is.

These fonts only ever go to the **training** split: dev and test stay the Debian fonts of
fonts.py, so figures stay comparable across versions. A family or face is dropped (``--list``
gives the reason) when it is

* reserved for the held-out evaluation (fonts.reserved_reason: trdg's families, Latin Modern, CMU,
  Libertine and their derivatives, Heebo, Inter Tight), or one of Google's Noto families (Noto
  Sans is drawn from Open Sans, which trdg ships); the Google family name and the file's own
  family name are both checked;
* of a dev or test design group of the split (``--seed``): LINEAGE (a revival or copy of a
  fonts.py design under another name: Libre Baskerville, IM Fell) or DESIGN_GROUPS puts it in a
  held group, or its name is a dev or test group's or family's name or starts with one and a space
  (``Lobster Two``, ``Averia Serif Libre``);
* a family the Debian training fonts already have (the Debian file is kept);
* not fetched at the version families.json names (an interrupted or older fetch);
* not usable by fonts.inspect_font's checks (ASCII coverage, ink, glyph names, weight);
* all capitals or small capitals: ``SC`` families, and faces whose lower-case letters the shipped
  latin-lines model reads as capitals in a clean render of PROBE_TEXT (``probe``);
* a novelty face (outlined, striped, glitched or dripping letters, the most ornate scripts): the
  shipped model reads that clean render at over 50 % CER (capitals aside). An unseen but readable
  face reads far better: the kept faces' median is 0 %. The probe covers every face that passes
  the checks that do not depend on the split, so any ``--seed`` can use the folder.

A kept family joins the design group that LINEAGE or fonts.DESIGN_GROUPS gives it (so a Google
copy of a Debian training design, such as STIX Two Text or Fira Mono, is drawn as that design),
else its superfamily's (superfamily_of: the 86 Playwrite families are one group), else a group of
its own, named after the Google family. The recipe draws a group, then a face. Up to four faces
a family are kept: regular and bold (the weights nearest 400 and 700), upright and italic where it
has them.

The package versions are pinned in google_fonts_lock.json (npm versions are immutable), so every
machine fetches the same files (each family into a temporary folder, renamed when complete)::

    python recipes/synth_ocr/google_fonts.py --out data/fonts/google          # fetch, check, probe (~3 min)
    python recipes/synth_ocr/google_fonts.py --out data/fonts/google --list   # kept groups, dropped families
    python recipes/synth_ocr/prepare.py --out data/synth_ocr_gf --google-fonts data/fonts/google ...
    python recipes/synth_ocr/google_fonts.py --lock                           # re-pin to the newest versions
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import io
import json
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from fonts import DESIGN_GROUPS, FAMILY_TO_GROUP, Face, face_split, inspect_fonts, reserved_reason

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes.common; recog when not installed
from recipes.common import write_text_atomic  # noqa: E402

REGISTRY = "https://registry.npmjs.org"
GOOGLE_PACKAGE = "@fontsource/"  # Face.package of a Google Fonts face starts so
METADATA_PACKAGE = "google-font-metadata"  # Fontsource's list of Google's families (data/google-fonts-v2.json)
LOCK_FILE = Path(__file__).with_name("google_fonts_lock.json")
CATEGORIES = {"sans-serif": "sans", "serif": "serif", "monospace": "mono", "handwriting": "script",
              "display": "display"}
# Google families (or family-name prefixes) that revive or copy a design group of fonts.py under
# another name: they join that group, so they are held out wherever the split puts it (seed 0:
# Baskervald in dev, Old Standard and Junicode in test) and drawn as that design in training.
LINEAGE = {
    "Libre Baskerville": "Baskervald",  # Baskerville revivals, as Baskervald ADF is
    "Baskervville": "Baskervald",
    "Old Standard TT": "Old Standard",
    "IM Fell": "Junicode",  # the Fell types of Oxford, on whose Pica Roman Junicode is modelled
    "STIX Two": "Times-like",
    "M PLUS": "M+",
    "Rounded Mplus": "M+",
    "Cabin Condensed": "Cabin",
    "Fira Mono": "Fira Code",  # Fira Code is Fira Mono with ligatures
    "Libre Caslon": "Caslon",
    "Oxygen": "Oxygen",
}
# First words shared by unrelated designs (Libre Franklin, Libre Caslon; Red Hat, Red Rose): no
# superfamily group (superfamily_of).
NOT_SUPERFAMILIES = {"Libre", "Red", "Black", "Big", "Special", "Cherry", "Mr", "Mrs", "Miss", "Sans", "The"}
FETCH_TIMEOUT = 60.0
FETCH_TRIES = 3
MAX_UPPER_SHARE = 0.5  # probe: more of the lower-case letters read as capitals drops the face
MAX_PROBE_CER = 0.5  # probe: a clean line of the face read worse than this drops it


def _get(url: str) -> bytes:
    """The body at ``url``, tried FETCH_TRIES times; a 404 is raised at once."""
    for attempt in range(FETCH_TRIES):
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 (https only)
                return response.read()
        except urllib.error.HTTPError as err:
            if err.code == 404 or attempt == FETCH_TRIES - 1:
                raise
        except OSError:
            if attempt == FETCH_TRIES - 1:
                raise
        time.sleep(2.0 * (attempt + 1))
    raise AssertionError("unreachable")


def _package_url(name: str, version: str) -> str:
    return f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def read_lock() -> dict:
    """{"metadata": version, "packages": {id: version}} from LOCK_FILE."""
    return json.loads(LOCK_FILE.read_text(encoding="utf-8"))


def fetch_metadata(version: str) -> dict[str, dict]:
    """Google's families by Fontsource id, from the pinned google-font-metadata package."""
    blob = _get(_package_url(METADATA_PACKAGE, version))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        member = tar.extractfile("package/data/google-fonts-v2.json")
        if member is None:
            raise RuntimeError(f"{METADATA_PACKAGE} {version} has no data/google-fonts-v2.json")
        return json.load(member)


def latin_families(metadata: dict[str, dict]) -> dict[str, dict]:
    """The families with a Latin subset and a known category, by id."""
    return {i: m for i, m in metadata.items() if "latin" in m.get("subsets", ()) and m.get("category") in CATEGORIES}


def make_lock(workers: int = 8) -> dict:
    """Pin the newest google-font-metadata and the newest @fontsource package of each Latin family."""

    def latest(name: str) -> str | None:
        try:
            return json.loads(_get(f"{REGISTRY}/{name.replace('/', '%2f')}"))["dist-tags"]["latest"]
        except urllib.error.HTTPError as err:
            if err.code == 404:  # a family Fontsource does not publish
                return None
            raise

    meta_version = latest(METADATA_PACKAGE)
    if meta_version is None:
        raise RuntimeError(f"{METADATA_PACKAGE} is not on the npm registry")
    ids = sorted(latin_families(fetch_metadata(meta_version)))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        versions = dict(zip(ids, pool.map(lambda i: latest(f"@fontsource/{i}"), ids), strict=True))
    return {"metadata": meta_version, "packages": {i: v for i, v in versions.items() if v}}


def pick_files(family_id: str, meta: dict) -> list[str]:
    """The package files of the faces kept: the weights nearest 400 and 700 (bold only from 600
    up), upright and italic where the family has them; Latin subset, WOFF."""
    weights = [int(w) for w in meta.get("weights", ())]
    styles = [s for s in ("normal", "italic") if s in meta.get("styles", ())]
    regular = min((w for w in weights if w >= 300), key=lambda w: abs(w - 400), default=None)
    bold = min((w for w in weights if w >= 600), key=lambda w: abs(w - 700), default=None)
    chosen = [w for w in (regular, bold) if w is not None]
    return [f"package/files/{family_id}-latin-{w}-{s}.woff" for w in dict.fromkeys(chosen) for s in styles]


def fetched_version(folder: Path) -> str | None:
    """The package version whose files ``folder`` (one family's) holds complete, or None."""
    done = folder / DONE_FILE
    return done.read_text(encoding="utf-8").strip() if done.is_file() else None


def fetch(out: Path, lock: dict, workers: int = 8) -> list[tuple[str, str]]:
    """Download the locked packages' chosen WOFF files into ``out/<id>/`` (skipping ids that hold
    the locked version already) and write ``out/families.json``. A family's files are written to
    a temporary folder that is renamed when complete, with DONE_FILE naming the version. Returns
    (id, error) for packages that failed."""
    meta = latin_families(fetch_metadata(lock["metadata"]))
    out.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[str, str]) -> tuple[str, str] | None:
        family_id, version = item
        folder = out / family_id
        if fetched_version(folder) == version:
            return None
        part = out / f".{family_id}.part"
        try:
            shutil.rmtree(part, ignore_errors=True)
            part.mkdir()
            wanted = set(pick_files(family_id, meta[family_id]))
            with tarfile.open(fileobj=io.BytesIO(_get(_package_url(f"@fontsource/{family_id}", version)))) as tar:
                for member in tar.getmembers():
                    data = tar.extractfile(member) if member.name in wanted and member.isfile() else None
                    if data is not None:
                        (part / Path(member.name).name).write_bytes(data.read())
            (part / DONE_FILE).write_text(version, encoding="utf-8")
            shutil.rmtree(folder, ignore_errors=True)
            part.rename(folder)
        except Exception as err:  # one failed package is reported, the rest go on
            shutil.rmtree(part, ignore_errors=True)
            return family_id, f"{type(err).__name__}: {err}"
        return None

    items = [(i, v) for i, v in sorted(lock["packages"].items()) if i in meta]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        failed = [r for r in pool.map(one, items) if r]
    families = {i: {"family": meta[i]["family"], "category": CATEGORIES[meta[i]["category"]], "version": v}
                for i, v in items}
    write_text_atomic(out / "families.json", json.dumps(families, indent=0, sort_keys=True))
    return failed


PROBE_TEXT = "the quick brown fox jumps over the lazy dog"  # every lower-case letter
PROBE_FILE = "probe.json"
DONE_FILE = ".done"


def render_probe(path: str, text: str = PROBE_TEXT, size: int = 32) -> np.ndarray:
    """``text`` in the face at ``path``, black on white with an 8 px margin: (H, W) uint8."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(path, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 16, bottom - top + 16), 255)
    ImageDraw.Draw(image).text((8 - left, 8 - top), text, font=font, fill=0)
    return np.asarray(image)


def probe_key(path: str, folder: Path) -> str:
    """A face's key in probe.json: its path relative to the fonts folder (``<id>/<file>.woff``),
    so the folder can be named by any path or moved; a face outside the folder keeps its path."""
    try:
        return Path(path).resolve().relative_to(Path(folder).resolve()).as_posix()
    except ValueError:
        return str(path)


def model_key(model: str) -> str:
    """The probing model as probe.json records it: a shipped model's name with its version
    ("latin-lines 13"), else the path as given."""
    from recog.models import resolve

    config = resolve(model) / "config.json"
    if config.is_file():
        version = json.loads(config.read_text(encoding="utf-8")).get("info", {}).get("version")
        if version is not None:
            return f"{model} {version}"
    return model


def probe_model(folder: str | Path) -> str:
    """The model that probed the faces in ``folder`` (probe.json's "model")."""
    return str(json.loads((Path(folder) / PROBE_FILE).read_text(encoding="utf-8"))["model"])


def probe(faces: list[Face], folder: Path, model: str = "latin-lines") -> dict[str, tuple[float, float]]:
    """{probe_key: (case-blind CER, share of upper-case letters)} of ``model`` reading PROBE_TEXT,
    all lower case, in each face; kept in ``folder/probe.json`` and reused for the faces already
    there.
    A face whose lower-case letters read as capitals draws capitals (all caps or small caps), and
    one that the shipped model cannot read at all in a clean render is a novelty face."""
    import tempfile

    from PIL import Image

    import recog
    from recog.metrics import char_edits

    file = folder / PROBE_FILE
    key = model_key(model)
    known = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {"model": key, "faces": {}}
    if known.get("model") != key:  # another model (or version) probes afresh
        known = {"model": key, "faces": {}}
    todo = [f for f in faces if probe_key(f.path, folder) not in known["faces"]]
    if todo:
        reader = recog.load(model)
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for k, face in enumerate(todo):
                paths.append(f"{tmp}/{k}.png")
                Image.fromarray(render_probe(face.path)).save(paths[-1])
            for face, result in zip(todo, reader.transcribe(paths), strict=True):
                letters = [c for c in result.text if c.isalpha()]
                upper = sum(c.isupper() for c in letters) / max(1, len(letters))
                cer = char_edits(PROBE_TEXT, result.text.lower()) / len(PROBE_TEXT)
                known["faces"][probe_key(face.path, folder)] = [round(cer, 4), round(upper, 4)]
        write_text_atomic(file, json.dumps(known, indent=0, sort_keys=True))
    return {key: (float(v[0]), float(v[1])) for key, v in known["faces"].items()}


def probe_reason(cer: float, upper: float) -> str | None:
    """Why a probed face is dropped, or None."""
    if upper > MAX_UPPER_SHARE:
        return f"draws capitals for lower-case letters ({upper:.0%} read as upper case)"
    if cer > MAX_PROBE_CER:
        return f"a novelty face: a clean line reads at {cer:.0%} CER"
    return None


def superfamily_of(families: list[str]) -> dict[str, str]:
    """{family: group} for Google families that share their first word with two or more others
    (the 86 Playwrite families, Rubik's 28, IBM Plex, Zen, Baloo, Encode Sans, ...): one design
    group each, so that a superfamily is drawn as one design, not dozens."""
    counts = collections.Counter(family.split()[0] for family in families)
    return {family: family.split()[0] for family in families
            if counts[family.split()[0]] >= 3 and family.split()[0] not in NOT_SUPERFAMILIES}


def lineage_group(family: str) -> str | None:
    """The fonts.py design group that the Google ``family`` revives or copies (LINEAGE, by name or
    name prefix), or None."""
    for name, group in LINEAGE.items():
        if family == name or family.startswith(name + " "):
            return group
    return None


def _held_names(held: list[Face]) -> tuple[set[str], tuple[str, ...]]:
    """(groups of the held-out faces, lower-case names that mark a family named after them as held)."""
    groups = {f.group for f in held}
    names = {g.lower() for g in groups} | {f.family.lower() for f in held}
    names |= {family.lower() for g in groups if g in DESIGN_GROUPS for family in DESIGN_GROUPS[g][1]}
    return groups, tuple(sorted(names))


def held_reason(family: str, groups: set[str], names: tuple[str, ...]) -> str | None:
    """Why ``family`` belongs to a held (dev or test) design, or None: LINEAGE or DESIGN_GROUPS
    put it in a held group, or its name is a held name or starts with one and a space."""
    group = lineage_group(family) or FAMILY_TO_GROUP.get(family)
    if group in groups:
        return f"of the held design group {group}"
    low = family.lower()
    for name in names:
        if low == name or (low.startswith(name) and low[len(name)].isspace()):
            return f"named as the held design {name!r}"
    return None


def candidate_faces(folder: str | Path, debian: dict[str, list[Face]] | None
                    ) -> tuple[list[Face], list[tuple[str, str]]]:
    """(faces that pass every check but the probe, (family or path, reason) of what was dropped)
    from a folder made by fetch, given fonts.face_split's Debian faces per split; with ``debian``
    None, only the checks that do not depend on the split (the faces ``probe`` reads)."""
    folder = Path(folder)
    listing = folder / "families.json"
    if not listing.is_file():
        raise FileNotFoundError(f"{folder}: no families.json; make it with python recipes/synth_ocr/google_fonts.py "
                                f"--out {folder}")
    families = json.loads(listing.read_text(encoding="utf-8"))
    groups, names = _held_names(debian["dev"] + debian["test"]) if debian else (set(), ())
    debian_train = {f.family.lower() for f in debian["train"]} if debian else set()

    def reason_of(family: str) -> str | None:
        noto = "Noto: drawn from Open Sans (trdg)" if family.startswith("Noto ") else None
        return (reserved_reason(family) or noto or held_reason(family, groups, names)
                or ("a Debian training family" if family.lower() in debian_train else None)
                or ("small capitals" if re.search(r"\bSC\b", family) else None))

    dropped: list[tuple[str, str]] = []
    candidates: list[tuple[str, str, dict]] = []
    for family_id, info in sorted(families.items()):
        reason = reason_of(info["family"])
        if reason is None and fetched_version(folder / family_id) != info["version"]:
            reason = f"version {info['version']} not fetched (python recipes/synth_ocr/google_fonts.py --out {folder})"
        if reason:
            dropped.append((info["family"], reason))
            continue
        candidates += [(str(p), family_id, info) for p in sorted((folder / family_id).glob("*.woff"))]
    infos = inspect_fonts([p for p, _, _ in candidates])
    superfamilies = superfamily_of(sorted({info["family"] for _, _, info in candidates}))
    faces: dict[str, Face] = {}
    for path, family_id, info in candidates:
        checked = infos[path]
        if isinstance(checked, str):
            dropped.append((path, checked))
            continue
        family, style, _ = checked  # the file's own family name, checked as Google's was
        google = info["family"]
        group = (lineage_group(google) or FAMILY_TO_GROUP.get(google) or FAMILY_TO_GROUP.get(family)
                 or superfamilies.get(google, google))
        reason = reason_of(family) or (f"of the held design group {group}" if group in groups else None)
        if reason:
            dropped.append((path, reason))
            continue
        category = DESIGN_GROUPS[group][0] if group in DESIGN_GROUPS else info["category"]
        face = Face(path, family, style, group, category, f"{GOOGLE_PACKAGE}{family_id}@{info['version']}")
        if face.name in faces:  # two files under one name (a name table that says Regular twice)
            dropped.append((path, f"duplicate of {faces[face.name].path}"))
        else:
            faces[face.name] = face
    return sorted(faces.values(), key=lambda f: (f.group, f.family, f.style)), dropped


def train_faces(folder: str | Path, debian: dict[str, list[Face]]) -> tuple[list[Face], list[tuple[str, str]]]:
    """candidate_faces less those the probe drops (probe_reason); the probe's results must be in
    ``folder/probe.json`` (main writes them after fetching)."""
    folder = Path(folder)
    faces, dropped = candidate_faces(folder, debian)
    file = folder / PROBE_FILE
    results = json.loads(file.read_text(encoding="utf-8"))["faces"] if file.is_file() else {}
    keys = [probe_key(f.path, folder) for f in faces]
    unprobed = [f.path for f, key in zip(faces, keys, strict=True) if key not in results]
    if unprobed:
        raise FileNotFoundError(f"{folder}: {len(unprobed)} faces not probed (first {unprobed[0]}); run python "
                                f"recipes/synth_ocr/google_fonts.py --out {folder}")
    kept = []
    for face, key in zip(faces, keys, strict=True):
        reason = probe_reason(*results[key])
        if reason:
            dropped.append((face.path, reason))
        else:
            kept.append(face)
    return kept, dropped


def main(argv: list[str] | None = None) -> int:
    """Fetch the pinned fonts, list what is kept, or re-pin."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="folder for the fonts (e.g. data/fonts/google)")
    p.add_argument("--list", action="store_true", help="print the kept groups and the dropped families, no fetch")
    p.add_argument("--lock", action="store_true", help=f"pin the newest versions into {LOCK_FILE.name} and exit")
    p.add_argument("--workers", type=int, default=8, help="parallel downloads")
    p.add_argument("--model", default="latin-lines", help="the text-line model that probes the faces")
    p.add_argument("--seed", type=int, default=0, help="the font split whose dev and test designs --list holds out")
    args = p.parse_args(argv)
    if args.lock:
        lock = make_lock(args.workers)
        write_text_atomic(LOCK_FILE, json.dumps(lock, indent=0, sort_keys=True) + "\n")
        print(f"{LOCK_FILE}: google-font-metadata {lock['metadata']}, {len(lock['packages'])} packages")
        return 0
    if not args.out:
        p.error("--out is required (or --lock)")
    out = Path(args.out)
    failed: list[tuple[str, str]] = []
    if not args.list:
        failed = fetch(out, read_lock(), args.workers)
        for family_id, error in failed:
            print(f"error: @fontsource/{family_id}: {error}", file=sys.stderr)
        probe(candidate_faces(out, None)[0], out, args.model)
    faces, dropped = train_faces(out, face_split(args.seed))
    groups: dict[str, list[Face]] = {}
    for face in faces:
        groups.setdefault(face.group, []).append(face)
    by_category: dict[str, int] = {}
    for members in groups.values():
        by_category[members[0].category] = by_category.get(members[0].category, 0) + 1
    print(f"kept: {len(faces)} faces in {len(groups)} design groups ({by_category}); dropped: {len(dropped)}")
    if args.list:
        for name, reason in dropped:
            print(f"dropped {name}: {reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
