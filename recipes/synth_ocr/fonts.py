"""Font discovery and the train/dev/test font split for the synthetic OCR corpus.

Fonts come only from the Debian packages in PACKAGES: the Latin text font packages of Debian's
main archive, less those in NOT_USED (every package considered and left out, with the reason) and
RESERVED_PACKAGES. Their files are read from dpkg's file lists (as ``dpkg -L`` prints them), so
fonts that other packages or users installed are never picked up, and a package that is not
installed stops the recipe with an error that names it (``check_packages``); ``python fonts.py
--packages`` prints the list for the Makefile and run.sh, which install exactly these packages
(``--missing``: those not installed). A face is kept when it is a .ttf/.otf file that

* covers every printable ASCII character (U+0020..U+007E) in its cmap, plus a few Latin-1 letters
  as a check that it is a Latin text face, and draws ink for each of the 94 visible ones (some fonts
  map ``^`` or ``~`` to an empty glyph),
* maps the ASCII letters to glyphs named after them where the font has real glyph names (this
  rejects symbol and dingbat fonts whose cmap maps ASCII codes to pictures),
* is not one of EXCLUDED_FAMILIES (symbol, math, small-caps or all-caps faces, and decorative
  faces whose letters would not match their labels),
* is not RESERVED: Latin Modern, CMU, Linux Libertine and the fonts of the PyPI ``trdg`` wheel,
  with every Debian design derived from them, are kept out of train, dev and test, for an
  independent held-out evaluation,
* has a weight class of at least MIN_WEIGHT (hairline and thin faces vanish at 20 px once blurred),
* and loads in Pillow.

From fonts-noto-core only the Latin text families are considered (NotoSans-*, NotoSerif-*,
NotoSans/SerifDisplay-*, NotoSansMono-*), not the hundreds of files for other scripts. The same
family and style shipped by two packages (fonts-liberation and fonts-liberation2) is kept once,
from the package listed first.

The split is by design GROUP, not by file or even by family name: a group joins the families that
share a design lineage (DESIGN_GROUPS), so that no test glyph shapes are seen in training under
another name. E.g. FreeSans, TeX Gyre Heros and IndUni-H are URW's Nimbus Sans, Hack, Tahoma (Wine)
and OpenDyslexic are drawn from Bitstream Vera Sans (DejaVu Sans), and Tinos (Liberation Serif's
source), STIX and Doulos SIL join the Times-like group. The checks' results are cached
(inspect_fonts), as inspecting the thousand files takes 10-20 s.
Each group goes to a split on its own: a hash of (seed, group) below TEST_SHARE puts it in test,
below TEST_SHARE + DEV_SHARE in dev, else in train, so adding fonts never moves a group that was
already there. For seed 0 the 17 groups of the first version of this recipe keep their split
(LEGACY_SPLIT), so that earlier figures stay comparable. The dev fonts, like the test fonts, are
unseen in training: dev measures the same thing as test (generalisation to new fonts) and can be
used for model selection without touching the test fonts.

    python recipes/synth_ocr/fonts.py --seed 0     # print the faces per split
    python recipes/synth_ocr/fonts.py --packages   # the Debian packages, one a line
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "dev", "test")
TEST_SHARE, DEV_SHARE = 0.2, 0.1
SPLIT_SALT = "synth-ocr-fonts-v2-73"  # see split_of
MIN_WEIGHT = 300
FONT_EXTENSIONS = (".ttf", ".otf")  # Type 1 (.t1/.pfb/.afm) files are skipped: fonts-urw-base35 ships .otf too

# In this order: a face shipped twice (same family and style) is taken from the first package.
# Concrete packages only (no metapackage such as fonts-dejavu), so that what is installed is what
# is read. The Makefile's DEBS and run.sh install exactly this list.
PACKAGES = (
    # the first version's packages (less the reserved fonts-lato, fonts-open-sans, fonts-roboto)
    "fonts-dejavu-core",
    "fonts-dejavu-extra",
    "fonts-liberation2",
    "fonts-liberation",
    "fonts-noto-core",
    "fonts-freefont-ttf",
    "fonts-urw-base35",
    "fonts-go",
    "fonts-jetbrains-mono",
    "fonts-courier-prime",
    # the other Latin text font packages of Debian main (bookworm)
    "fonts-3270",
    "fonts-adf-accanthis",
    "fonts-adf-baskervald",
    "fonts-adf-berenis",
    "fonts-adf-gillius",
    "fonts-adf-ikarius",
    "fonts-adf-irianis",
    "fonts-adf-libris",
    "fonts-adf-mekanus",
    "fonts-adf-oldania",
    "fonts-adf-romande",
    "fonts-adf-switzera",
    "fonts-adf-tribun",
    "fonts-adf-universalis",
    "fonts-adf-verana",
    "fonts-agave",
    "fonts-anonymous-pro",
    "fonts-arapey",
    "fonts-arkpandora",
    "fonts-atarismall",
    "fonts-averia-gwf",
    "fonts-averia-sans-gwf",
    "fonts-averia-serif-gwf",
    "fonts-b612",
    "fonts-babelstone-modern",
    "fonts-blankenburg",
    "fonts-breip",
    "fonts-cabin",
    "fonts-cabinsketch",
    "fonts-cantarell",
    "fonts-cardo",
    "fonts-century-catalogue",
    "fonts-cherrybomb",
    "fonts-clear-sans",
    "fonts-comfortaa",
    "fonts-comic-neue",
    "fonts-compagnon",
    "fonts-croscore",
    "fonts-crosextra-caladea",
    "fonts-dancingscript",
    "fonts-dkg-handwriting",
    "fonts-dosis",
    "fonts-dustin",
    "fonts-ebgaramond",
    "fonts-elstob",
    "fonts-engadget",
    "fonts-essays1743",
    "fonts-eurofurence",
    "fonts-fantasma",
    "fonts-fantasque-sans",
    "fonts-fanwood",
    "fonts-femkeklaver",
    "fonts-firacode",
    "fonts-gamaliel",
    "fonts-gemunu-libre",
    "fonts-georgewilliams",
    "fonts-gfs-artemisia",
    "fonts-gfs-didot",
    "fonts-gfs-neohellenic",
    "fonts-goudybookletter",
    "fonts-hack",
    "fonts-hermit",
    "fonts-inconsolata",
    "fonts-johnsmith-induni",
    "fonts-junction",
    "fonts-junicode",
    "fonts-jura",
    "fonts-karla",
    "fonts-karmilla",
    "fonts-kaushanscript",
    "fonts-klaudia-berenika",
    "fonts-kristi",
    "fonts-league-mono",
    "fonts-league-spartan",
    "fonts-leckerli-one",
    "fonts-lemonada",
    "fonts-lindenhill",
    "fonts-linex",
    "fonts-lobster",
    "fonts-lobstertwo",
    "fonts-manrope",
    "fonts-millimetre",
    "fonts-monofur",
    "fonts-monoid",
    "fonts-mononoki",
    "fonts-mph-2b-damase",
    "fonts-mplus",
    "fonts-okolaks",
    "fonts-oldstandard",
    "fonts-opendyslexic",
    "fonts-osifont",
    "fonts-oxygen",
    "fonts-paratype",
    "fonts-pc",
    "fonts-play",
    "fonts-povray",
    "fonts-prociono",
    "fonts-quattrocento",
    "fonts-quicksand",
    "fonts-routed-gothic",
    "fonts-sil-andika",
    "fonts-sil-andika-compact",
    "fonts-sil-andikanewbasic",
    "fonts-sil-charis",
    "fonts-sil-charis-compact",
    "fonts-sil-doulos",
    "fonts-sil-doulos-compact",
    "fonts-sil-galatia",
    "fonts-sil-gentium",
    "fonts-sil-gentium-basic",
    "fonts-sil-gentiumplus",
    "fonts-sil-gentiumplus-compact",
    "fonts-sjfonts",
    "fonts-staypuft",
    "fonts-stix",
    "fonts-summersby",
    "fonts-texgyre",
    "fonts-tiresias",
    "fonts-tuffy",
    "fonts-unifont",
    "fonts-uralic",
    "fonts-vollkorn",
    "fonts-wine",
    "fonts-yanone-kaffeesatz",
    "fonts-yrsa-rasa",
    "ttf-bitstream-vera",
)
# Noto files that are Latin text faces; the package has some 270 files for other scripts.
NOTO_LATIN = re.compile(r"Noto(Sans|Serif)(Display|Mono)?-")
NOTO_PACKAGES = ("fonts-noto-core", "fonts-noto-mono", "fonts-noto-extra")

# ---------------------------------------------------------------------------------------------
# Reserved for an independent held-out evaluation: never in train, dev or test.
# ---------------------------------------------------------------------------------------------

# Packages that hold only reserved fonts (Latin Modern, CMU, Linux Libertine, and the Debian
# packages of trdg's fonts and of designs derived from them).
RESERVED_PACKAGES = {
    "fonts-lmodern": "Latin Modern (Computer Modern)",
    "fonts-cmu": "Computer Modern Unicode",
    "fonts-linuxlibertine": "Linux Libertine and Biolinum",
    "fonts-lato": "Lato (in trdg)",
    "fonts-crosextra-carlito": "Carlito (derived from Lato)",
    "fonts-open-sans": "Open Sans (in trdg)",
    "fonts-noto-mono": "Noto Mono and Noto Sans Mono (Droid Sans Mono lineage; Droid Sans is in trdg)",
    "fonts-droid-fallback": "Droid Sans Fallback (Droid Sans is in trdg)",
    "fonts-roboto": "Roboto (in trdg)",
    "fonts-roboto-unhinted": "Roboto (in trdg)",
    "fonts-roboto-hinted": "Roboto (in trdg)",
    "fonts-roboto-fontface": "Roboto (in trdg)",
    "fonts-roboto-slab": "Roboto Slab (the Roboto superfamily; Roboto is in trdg)",
    "fonts-inter": "Inter (started as a derivative of Roboto, which is in trdg)",
    "fonts-inter-variable": "Inter (started as a derivative of Roboto, which is in trdg)",
    "fonts-bebas-neue": "Bebas Neue (a revision of Bebas, in trdg)",
    "fonts-lyx": "TeX's cmr10 etc. (Computer Modern)",
    "fonts-jsmath": "TeX's Computer Modern fonts",
    "fonts-mathjax": "MathJax's Computer Modern fonts",
}
# The latin fonts of the trdg 1.8.0 wheel (trdg/fonts/latin/*.ttf), by family.
TRDG_FAMILIES = (
    "Aller", "Aller Display", "Aller Light", "Amatic", "Amatic SC", "Bebas", "Capture it", "Capture it 2",
    "Caviar Dreams", "Droid Sans", "FFF Tusj", "Lato", "Open Sans", "Pacifico", "Raleway", "Roboto",
    "Roboto Condensed", "Sansation", "Sansation Light", "SeasideResortNF", "Walkway",
)
# Reserved families (and family-name prefixes), wherever they come from: the trdg families, the
# Debian families drawn from them, and the held-out TeX-world designs.
RESERVED_FAMILIES = {
    **{family: "in the trdg wheel" for family in TRDG_FAMILIES},
    "Carlito": "derived from Lato (trdg)",
    "Open Sans Condensed": "Open Sans (trdg)",
    "Droid Sans Mono": "Droid Sans (trdg) lineage",
    "Droid Sans Fallback": "Droid Sans (trdg) lineage",
    "Noto Sans": "derived from Open Sans / Droid Sans (trdg)",
    "Noto Sans Display": "derived from Open Sans / Droid Sans (trdg)",
    "Noto Sans Mono": "Droid Sans Mono lineage (trdg's Droid Sans)",
    "Noto Mono": "Droid Sans Mono lineage (trdg's Droid Sans)",
    "Noto Sans UI": "derived from Open Sans / Droid Sans (trdg)",
    "Roboto Mono": "Roboto superfamily (trdg)",
    "Roboto Slab": "Roboto superfamily (trdg)",
    "Roboto Flex": "Roboto superfamily (trdg)",
    "Inter": "started as a derivative of Roboto (trdg)",
    "Inter Display": "started as a derivative of Roboto (trdg)",
    "Bebas Neue": "a revision of Bebas (trdg)",
    "Raleway Dots": "Raleway (trdg)",
    "Heebo": "its Latin letters are Roboto's (trdg)",
}
RESERVED_PREFIXES = {
    "Latin Modern": "Latin Modern (fonts-lmodern)",
    "LM ": "Latin Modern (fonts-lmodern)",
    "CMU ": "Computer Modern Unicode (fonts-cmu)",
    "Linux Libertine": "Linux Libertine (fonts-linuxlibertine)",
    "Linux Biolinum": "Linux Biolinum (fonts-linuxlibertine)",
    "Libertinus": "derived from Linux Libertine",
    "Walkway": "in the trdg wheel",
    "Lato ": "Lato (trdg)",
    "Roboto ": "Roboto superfamily (trdg)",
    "Open Sans ": "Open Sans (trdg)",
    "Droid Sans": "Droid Sans (trdg) lineage",
    "Inter ": "Inter, which started as a derivative of Roboto (trdg)",
}


def reserved_reason(family: str, package: str = "") -> str | None:
    """Why a face of ``family`` (from ``package``) is reserved for the held-out evaluation, or None."""
    if package in RESERVED_PACKAGES:
        return RESERVED_PACKAGES[package]
    if family in RESERVED_FAMILIES:
        return RESERVED_FAMILIES[family]
    for prefix, reason in RESERVED_PREFIXES.items():
        if family.startswith(prefix):
            return reason
    return None


# Latin text font packages of Debian main that were considered and are not used, with the reason
# (the reserved ones are in RESERVED_PACKAGES). Packages for other scripts (CJK, Indic, Thai,
# Arabic, Hebrew, Greek-only, ...), icon, emoji, music and math fonts are not listed.
NOT_USED = {
    "fonts-aenigma": "465 novelty display faces (outlines, stripes, all capitals, mostly unreadable as text)",
    "fonts-adf-solothurn": "uncial letters: lower and upper case look alike",
    "fonts-amiga": "drawn with scanline gaps",
    "fonts-glasstty": "drawn with scanline gaps",
    "fonts-sixtyfour": "drawn with scanline gaps",
    "fonts-ferrite-core": "#, % and other signs drawn as different symbols",
    "fonts-isabella": "ornamental blackletter (k drawn like F)",
    "fonts-joscelyn": "secretary hand, not readable as modern text",
    "fonts-rampart": "3-D outline display face",
    "fonts-train": "outline display face",
    "fonts-triod-postnaja": "Church Slavonic letter forms (b drawn as a Cyrillic ve)",
    "fonts-dseg": "7- and 14-segment display digits",
    "fonts-noto-extra": "its Latin faces are more weights of Noto Sans (reserved) and Noto Serif "
    "(fonts-noto-core has its main styles), for 330 MB of other scripts",
    "fonts-noto-ui-core": "no face covers printable ASCII",
    "fonts-freefont-otf": "the same faces as fonts-freefont-ttf",
    "fonts-dejavu-web": "web fonts (woff) of fonts-dejavu-core",
    "fonts-levien-museum": "glyphs missing (digits and most punctuation empty)",
    "fonts-ebgaramond-extra": "TrueType copies of fonts-ebgaramond's faces, and small-capital and initial faces",
    "fonts-ocr-a": "no Latin-1 letters (the Latin check rejects it)",
    "fonts-ocr-b": "no Latin-1 letters (the Latin check rejects it)",
    "fonts-humor-sans": "no Latin-1 letters",
    "fonts-rufscript": "no Latin-1 letters",
    "fonts-f500": "no Latin-1 letters",
    "fonts-gfs-baskerville": "Greek only",
    "fonts-gfs-bodoni-classic": "Greek only",
    "fonts-gfs-porson": "Greek only",
    "fonts-allerta": "cmap lacks printable ASCII",
    "fonts-apropal": "cmap lacks printable ASCII",
    "fonts-bajaderka": "cmap lacks printable ASCII",
    "fonts-beteckna": "cmap lacks printable ASCII or Latin-1",
    "fonts-bwht": "cmap lacks printable ASCII",
    "fonts-ecolier-court": "cmap lacks printable ASCII",
    "fonts-ecolier-lignes-court": "cmap lacks printable ASCII",
    "fonts-gnutypewriter": "cmap lacks printable ASCII",
    "fonts-gotico-antiqua": "cmap lacks printable ASCII",
    "fonts-havana": "cmap lacks printable ASCII",
    "fonts-le-murmure": "cmap lacks printable ASCII",
    "fonts-levien-typoscript": "cmap lacks printable ASCII",
    "fonts-national-park": "cmap lacks printable ASCII",
    "fonts-opendin": "cmap lacks printable ASCII",
    "fonts-radisnoir": "cmap lacks printable ASCII",
    "fonts-roadgeek": "cmap lacks printable ASCII",
    "fonts-solide-mirage": "cmap lacks printable ASCII",
    "fonts-tomsontalks": "cmap lacks printable ASCII",
    "fonts-ubuntu-title": "cmap lacks printable ASCII",
    "fonts-sora": "only weights below MIN_WEIGHT",
    "fonts-creep2": "bitmap font only (no .ttf/.otf)",
    "fonts-terminus": "bitmap font only (no .ttf/.otf)",
    "fonts-proggy": "bitmap font only (no .ttf/.otf)",
    "fonts-spleen": "bitmap font only (no .ttf/.otf)",
}

# Families left out of every split, with the reason.
EXCLUDED_FAMILIES = {
    "D050000L": "dingbats (URW's Zapf Dingbats clone)",
    "Standard Symbols PS": "Greek and math symbols on ASCII codes",
    "DejaVu Math TeX Gyre": "math font",
    "STIX Math": "math font",
    "Berenis ADF Pro Math": "math companion of Berenis ADF Pro (same letters)",
    "Go Smallcaps": "draws lowercase as small capitals, which would not match the lowercase label",
    "Irianis ADF Style Std": "small capitals for lowercase",
    "Romande ADF Style Std": "small capitals for lowercase",
    "EB Garamond SC": "small capitals for lowercase",
    "EB Garamond 12 All SC": "capitals only",
    "Mekanus ADF Titling Std": "capitals only",
    "unifur": "small capitals for lowercase",
    "Elegante": "swash script whose flourishes run over the neighbouring letters",
    "Ellhnikh": "Greek letters on the ASCII codes",
}

# Design group -> (category, families). Every family of PACKAGES is listed (a family that is not
# forms a group of its own, with a category guessed by category_of). Categories: sans, serif, mono
# (with pixel screen fonts), script (handwriting and calligraphic) and display (decorative and
# blackletter).
DESIGN_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    # -- the first version's groups, grown by the clones in the new packages
    "DejaVu Sans": (  # Bitstream Vera Sans and everything drawn from it
        "sans",
        (
            "DejaVu Sans", "DejaVu Sans Mono", "Bitstream Vera Sans", "Bitstream Vera Sans Mono", "Verana Sans",
            "Verana Sans Demi", "Verana Sans Medium", "Aerial", "Aerial Mono", "Veranda", "Tahoma", "Hack",
            "OpenDyslexic", "OpenDyslexicAlta", "OpenDyslexicMono",
        ),
    ),
    "DejaVu Serif": ("serif", ("DejaVu Serif", "Bitstream Vera Serif", "Verana", "Tymes")),  # Vera Serif
    "Noto Serif": ("serif", ("Noto Serif", "Noto Serif Display")),  # Droid Serif lineage
    "Helvetica-like": (
        "sans",
        (
            "Nimbus Sans", "Nimbus Sans Narrow", "FreeSans", "Liberation Sans", "Liberation Sans Narrow", "Arimo",
            "TeX Gyre Heros", "TeX Gyre Heros Cn", "IndUni-H", "Sans Uralic", "Sans Condensed Uralic", "Cyrvetica",
            "Switzera ADF",
        ),
    ),
    "Times-like": (
        "serif",
        (
            "Nimbus Roman", "FreeSerif", "Liberation Serif", "Tinos", "TeX Gyre Termes", "IndUni-T", "Roman Uralic",
            "STIX", "STIXGeneral", "Doulos SIL", "Doulos SIL Compact", "Galatia SIL", "GFS Artemisia",
        ),
    ),
    "Courier-like": (
        "mono",
        (
            "Nimbus Mono PS", "FreeMono", "Courier Prime", "Courier Prime Code", "Courier Prime Sans",
            "TeX Gyre Cursor", "IndUni-C", "Mono Uralic",
        ),
    ),
    "Liberation Mono": ("mono", ("Liberation Mono", "Cousine")),  # Cousine design, not a Courier clone
    "C059": ("serif", ("C059", "TeX Gyre Schola", "IndUni-N", "Schoolbook Uralic")),  # Century Schoolbook
    "P052": ("serif", ("P052", "TeX Gyre Pagella", "IndUni-P", "Palladio Uralic", "GFS Didot")),  # Palatino
    "URW Bookman": ("serif", ("URW Bookman", "TeX Gyre Bonum", "Bookman Uralic")),
    "URW Gothic": ("sans", ("URW Gothic", "TeX Gyre Adventor", "Gothic Uralic")),  # Avant Garde Gothic
    "Z003": ("script", ("Z003", "TeX Gyre Chorus", "Chancery Uralic")),  # Zapf Chancery
    "Go": ("sans", ("Go", "Go Medium", "Go Mono")),
    "JetBrains Mono": ("mono", ("JetBrains Mono",)),
    # -- sans
    "Andika": ("sans", ("Andika", "Andika Compact", "Andika New Basic")),
    "Averia": ("sans", ("Averia GWF", "Averia Sans GWF", "Averia Serif GWF")),  # averages of many fonts
    "B612": ("sans", ("B612", "B612 Mono")),
    "Cabin": ("sans", ("Cabin", "Cabin Sketch", "CabinSketch")),
    "Caliban": ("sans", ("Caliban",)),
    "Cantarell": ("sans", ("Cantarell",)),
    "Clear Sans": ("sans", ("Clear Sans", "Clear Sans Light", "Clear Sans Medium")),
    "Comfortaa": ("sans", ("Comfortaa",)),
    "Comic Neue": ("sans", ("Comic Neue",)),
    "Cupola": ("sans", ("Cupola",)),
    "Dosis": ("sans", ("Dosis",)),
    "Dustismo": ("sans", ("Dustismo",)),
    "eurofurence": (  # monofur is eurofurence made monospaced
        "sans",
        ("eurofurence", "eurofurence classic", "monofur"),
    ),
    "Gemunu Libre": ("sans", ("Gemunu Libre",)),
    "Gillius": ("sans", ("Gillius ADF", "Gillius ADF No2")),  # Gill Sans-like
    "Ikarius": ("sans", ("Ikarius ADF Std", "Ikarius ADF No2 Std")),
    "Jara": ("sans", ("Jara",)),
    "Junction": ("sans", ("Junction",)),
    "Jura": ("sans", ("Jura",)),
    "Karla": ("sans", ("Karla", "Karmilla")),  # Karmilla extends Karla
    "Klaudia": ("sans", ("Klaudia", "Berenika")),
    "League Spartan": ("sans", ("League Spartan",)),
    "Lemonada": ("sans", ("Lemonada",)),
    "Libris": ("sans", ("Libris ADF Std",)),  # Lydian-like
    "M+": (
        "sans",
        (
            "M PLUS 1", "M PLUS 2", "M PLUS 1 Code", "M PLUS Code Latin 50", "M PLUS Code Latin 60", "Mplus Code 50",
            "Mplus Code 60",
        ),
    ),
    "Manrope": ("sans", ("Manrope",)),
    "Millimetre": ("sans", ("Millimetre",)),
    "okolaks": ("sans", ("okolaks",)),
    "osifont": ("sans", ("osifont",)),
    "Oxygen": ("sans", ("Oxygen-Sans", "Oxygen Mono")),
    "Play": ("sans", ("Play",)),
    "PT Sans": ("sans", ("PT Sans", "PT Sans Caption", "PT Sans Narrow", "PT Mono")),
    "Quicksand": ("sans", ("Quicksand", "Quicksand Light", "Quicksand Medium")),
    "Routed Gothic": (
        "sans",
        (
            "Routed Gothic", "Routed Gothic Half Italic", "Routed Gothic Narrow", "Routed Gothic Narrow Half Italic",
            "Routed Gothic Wide", "Routed Gothic Wide Half Italic",
        ),
    ),
    "Summersby": ("sans", ("Summersby",)),
    "Tiresias": (
        "sans",
        (
            "Tiresias Infofont", "Tiresias Infofont Z", "Tiresias Keyfont V2", "Tiresias LPfont", "Tiresias PCfont",
            "Tiresias PCfont Z", "Tiresias Signfont", "Tiresias Signfont Z",
        ),
    ),
    "Tuffy": ("sans", ("Tuffy",)),
    "Universalis": ("sans", ("Universalis ADF Std",)),
    "Yanone Kaffeesatz": ("sans", ("Yanone Kaffeesatz",)),
    # -- serif
    "Accanthis": ("serif", ("Accanthis ADF Std", "Accanthis ADF Std No2", "Accanthis ADF Std No3")),
    "Arapey": ("serif", ("Arapey",)),
    "BABEL Unicode": (  # the same letters under four names
        "serif",
        ("BABEL Unicode", "EMERITA Latina", "API  PHONÉTIQUE", "IPA  PHONETICS"),
    ),
    "Baskervald": ("serif", ("Baskervald ADF Std",)),
    "Berenis": ("serif", ("Berenis ADF Pro",)),
    "Caladea": ("serif", ("Caladea",)),
    "Cardo": ("serif", ("Cardo",)),
    "Caslon": ("serif", ("Caslon",)),
    "Century Catalogue": ("serif", ("Century Catalogue",)),
    "Charis": ("serif", ("Charis SIL", "Charis SIL Compact")),  # Bitstream Charter
    "Dustismo Roman": ("serif", ("Dustismo Roman",)),
    "EB Garamond": ("serif", ("EB Garamond",)),
    "Elstob": ("serif", ("ElstobD",)),
    "Essays1743": ("serif", ("Essays1743",)),
    "Fanwood": ("serif", ("Fanwood", "Fanwood Text")),  # Fairfield-like
    "Gentium": (
        "serif",
        (
            "Gentium", "GentiumAlt", "Gentium Basic", "Gentium Book Basic", "Gentium Plus", "Gentium Book Plus",
            "Gentium Plus Compact",
        ),
    ),
    "GFS Neohellenic": ("serif", ("GFS Neohellenic",)),
    "Goudy Bookletter 1911": ("serif", ("Goudy Bookletter 1911",)),
    "Irianis": ("serif", ("Irianis ADF Std",)),
    "Junicode": ("serif", ("Junicode Two Beta",)),
    "Linden Hill": ("serif", ("Linden Hill",)),
    "Mekanus": ("serif", ("Mekanus ADF Std",)),
    "MPH 2B Damase": ("serif", ("MPH 2B Damase",)),
    "Old Standard": ("serif", ("Old Standard TT",)),
    "Prociono": ("serif", ("Prociono",)),
    "PT Serif": ("serif", ("PT Serif", "PT Serif Caption")),
    "Quattrocento": ("serif", ("Quattrocento",)),
    "Quercus": ("serif", ("Quercus",)),
    "Romande": ("serif", ("Romande ADF Std", "Romande ADF No2 Std", "Romande ADF Script Std")),
    "Tribun": ("serif", ("Tribun ADF Std",)),
    "Vollkorn": ("serif", ("Vollkorn",)),
    "Yrsa": ("serif", ("Yrsa", "Rasa")),  # Rasa's Latin is Yrsa
    # -- mono (and pixel screen fonts)
    "Agave": ("mono", ("Agave",)),
    "Anonymous Pro": ("mono", ("Anonymous Pro", "Anonymous Pro Minus")),
    "Atari": ("mono", ("Atari",)),
    "BabelStone Modern": ("mono", ("BabelStone Modern",)),
    "Compagnon": ("mono", ("Compagnon",)),  # five styles of different designs, one family
    "Fantasque Sans Mono": ("mono", ("Fantasque Sans Mono",)),
    "Fira Code": ("mono", ("Fira Code",)),
    "GWMonospace": ("mono", ("GWMonospace",)),
    "Hermit": ("mono", ("Hermit",)),
    "IBM 3270": ("mono", ("IBM 3270", "IBM 3270 Condensed", "IBM 3270 Semi-Condensed")),
    "Inconsolata": ("mono", ("Inconsolata",)),
    "League Mono": ("mono", ("League Mono",)),
    "Monoid": ("mono", ("Monoid", "Monoisome")),
    "mononoki": ("mono", ("mononoki",)),
    "PC ROM fonts": (
        "mono",
        (
            "Px AmstradPC1512-2y", "Px IBM CGA", "Px IBM CGA-2y", "Px IBM EGA8", "Px IBM MDA", "Px IBM VGA8",
            "Px IBM VGA9", "Px VGA SquarePx",
        ),
    ),
    "Unifont": ("mono", ("Unifont", "Unifont-JP")),
    # -- script and handwriting
    "Breip": ("script", ("Breip",)),
    "Dancing Script": ("script", ("Dancing Script",)),
    "DkgHandwriting": ("script", ("DkgHandwriting",)),
    "Domestic Manners": ("script", ("Domestic Manners",)),
    "femkeklaver": ("script", ("femkeklaver",)),
    "Kaushan Script": ("script", ("Kaushan Script",)),
    "Kristi": ("script", ("Kristi",)),
    "Leckerli One": ("script", ("Leckerli One",)),
    "Lobster": ("script", ("Lobster Two",)),  # fonts-lobster's Lobster is named Lobster Two too
    "sjfonts": ("script", ("Delphine", "Steve")),
    # -- display and blackletter
    "Blankenburg": ("display", ("Blankenburg_UNZ1A",)),
    "Cherry Bomb": ("display", ("Cherry Bomb",)),
    "Engadget": ("display", ("Engadget",)),
    "Fantasma": ("display", ("Fantasma",)),
    "Gamaliel": ("display", ("Gamaliel",)),
    "Oldania": ("display", ("Oldania ADF Std",)),
    "StayPuft": ("display", ("StayPuft",)),
}
FAMILY_TO_GROUP = {family: group for group, (_, families) in DESIGN_GROUPS.items() for family in families}
# Generic typographic family names (arkpandora's Aerial Regular says "sans"): use name ID 1 instead.
GENERIC_FAMILY_NAMES = {"sans", "serif", "mono", "monospace"}

# The seed-0 split of the first version (12 packages, 17 groups), kept for seed 0 so that its
# test fonts stay test fonts and its training fonts never become test or dev fonts. Its Lato,
# Roboto (train) and Open Sans (dev) groups are now reserved.
LEGACY_SPLIT = {
    "C059": "test",
    "DejaVu Sans": "test",
    "JetBrains Mono": "test",
    "P052": "dev",
    **{
        group: "train"
        for group in (
            "Courier-like", "DejaVu Serif", "Go", "Helvetica-like", "Liberation Mono", "Noto Serif", "Times-like",
            "URW Bookman", "URW Gothic", "Z003",
        )
    },
}

PRINTABLE_ASCII = tuple(range(0x20, 0x7F))
LATIN1_PROBE = "\u00e9\u00f1\u00fc\u00df\u00c7"  # e-acute, n-tilde, u-umlaut, sharp s, C-cedilla
GENERIC_GLYPH_NAME = re.compile(r"(glyph|gid|cid|g|index)\d+|uni[0-9A-F]{4}|u[0-9A-F]{4,6}", re.IGNORECASE)


class MissingPackagesError(RuntimeError):
    """Font packages of PACKAGES that are not installed."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        names = " ".join(missing)
        super().__init__(
            f"Debian font package{'s' if len(missing) > 1 else ''} not installed: {names}; "
            f"install with `sudo apt-get install -y {names}` (recipes/synth_ocr/run.sh and `make setup` do it)"
        )


@dataclass(frozen=True)
class Face:
    """One usable font file."""

    path: str
    family: str  # typographic family name, e.g. "Noto Serif Display"
    style: str  # e.g. "Bold Italic"
    group: str  # design group, the unit of the split
    category: str  # sans, serif, mono, script, display (or other for unknown families)
    package: str

    @property
    def name(self) -> str:
        """The face as "family/style", as written to the manifests."""
        return f"{self.family}/{self.style}"


# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------


def installed_packages(packages: tuple[str, ...]) -> set[str]:
    """The packages of ``packages`` that dpkg has installed (not merely known, or removed with
    their configuration kept); one dpkg-query call."""
    if not packages:
        return set()
    try:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${db:Status-Status}\n", *packages],
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:  # no dpkg: not a Debian system
        return set()
    rows = (line.split("\t") for line in proc.stdout.splitlines())
    return {row[0].split(":")[0] for row in rows if len(row) == 2 and row[1] == "installed"}


def missing_packages(packages: tuple[str, ...] | None = None) -> list[str]:
    """The packages of ``packages`` (default PACKAGES) that are not installed."""
    packages = tuple(PACKAGES if packages is None else packages)
    installed = installed_packages(packages)
    return [p for p in packages if p not in installed]


def check_packages(packages: tuple[str, ...] | None = None) -> None:
    """Raise MissingPackagesError naming every package of ``packages`` (default PACKAGES) that is not
    installed, and ValueError for a reserved one."""
    packages = PACKAGES if packages is None else packages
    reserved = [p for p in packages if p in RESERVED_PACKAGES]
    if reserved:
        raise ValueError(f"reserved font packages in PACKAGES: {', '.join(reserved)}")
    missing = missing_packages(packages)
    if missing:
        raise MissingPackagesError(missing)


# ---------------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------------


def _dpkg_files(package: str) -> list[str]:
    """Files installed by ``package`` (empty when it is not installed): dpkg's own list file,
    or ``dpkg -L`` (slower) where there is none by that name."""
    info = Path("/var/lib/dpkg/info") / f"{package}.list"
    if info.is_file():
        return info.read_text(encoding="utf-8", errors="replace").splitlines()
    proc = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def package_font_files(package: str) -> list[tuple[str, str]]:
    """(package, path) of the .ttf/.otf files of ``package``."""
    files = [f for f in _dpkg_files(package) if f.lower().endswith(FONT_EXTENSIONS) and Path(f).is_file()]
    if package in NOTO_PACKAGES:
        files = [f for f in files if NOTO_LATIN.match(Path(f).name)]
    return [(package, f) for f in sorted(files)]


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


def inked_characters(pil_font: object) -> list[str]:
    """The visible printable ASCII characters (U+0021..U+007E) that ``pil_font`` draws no ink for."""
    return [chr(c) for c in PRINTABLE_ASCII[1:] if pil_font.getmask(chr(c)).getbbox() is None]  # type: ignore[attr-defined]


def inspect_font(path: str) -> tuple[str, str, int] | str:
    """(family, style, weight) of a usable Latin text face, or the reason it is not usable."""
    from fontTools.ttLib import TTFont
    from PIL import ImageFont

    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
            names = font["name"]
            family = str(names.getDebugName(16) or names.getDebugName(1) or Path(path).stem)
            if family.lower() in GENERIC_FAMILY_NAMES:
                family = str(names.getDebugName(1) or Path(path).stem)
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
        blank = inked_characters(pil_font)
        if blank:
            return f"no ink for {''.join(blank)!r}"
    except OSError as err:
        return f"Pillow cannot load it ({err})"
    return family, style, weight


def _cache_file() -> Path:
    """Where inspect_fonts keeps its results: $XDG_CACHE_HOME/recog (default ~/.cache/recog)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "recog" / "synth_ocr_fonts.json"


@functools.lru_cache(maxsize=1)
def _checks_version() -> str:
    """Changes with this module's source and the Pillow and fontTools versions: the cache is
    valid only while they stay the same."""
    import fontTools
    import PIL

    stamp = f"{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}:{PIL.__version__}:{fontTools.version}"
    return hashlib.sha256(stamp.encode()).hexdigest()[:20]


def inspect_fonts(paths: list[str]) -> dict[str, tuple[str, str, int] | str]:
    """inspect_font of every path, through a cache file (inspecting a thousand fonts takes some
    20 s): an entry is reused while the file's size and modification time, this module and the
    Pillow and fontTools versions are unchanged. A cache that cannot be read or written is
    ignored."""
    cache_file = _cache_file()
    version = _checks_version()
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        entries = cache["fonts"] if cache.get("version") == version else {}
    except (OSError, ValueError, KeyError, TypeError):
        entries = {}
    out: dict[str, tuple[str, str, int] | str] = {}
    changed = False
    for path in paths:
        stat = os.stat(path)
        key = f"{stat.st_size}:{stat.st_mtime_ns}"
        hit = entries.get(path)
        if isinstance(hit, list) and len(hit) == 2 and hit[0] == key:
            info = hit[1]
        else:
            info = inspect_font(path)
            entries[path] = [key, info if isinstance(info, str) else list(info)]
            changed = True
        out[path] = info if isinstance(info, str) else (str(info[0]), str(info[1]), int(info[2]))
    if changed:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            part = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.part")
            part.write_text(json.dumps({"version": version, "fonts": entries}), encoding="utf-8")
            os.replace(part, cache_file)
        except OSError:
            pass
    return out


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


def inspect_files(files: list[tuple[str, str]]) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str]]]:
    """(package, path, family, style) of the (package, path) ``files`` that inspect_font accepts,
    and (path, reason) of the others."""
    infos = inspect_fonts([path for _, path in files])
    usable = [(package, path, *infos[path][:2]) for package, path in files if not isinstance(infos[path], str)]
    return usable, [(path, infos[path]) for _, path in files if isinstance(infos[path], str)]


@functools.lru_cache(maxsize=4)
def discover_fonts(packages: tuple[str, ...]) -> tuple[tuple[Face, ...], tuple[tuple[str, str], ...]]:
    """(usable faces, (path, reason) of the rejected files), from the packages' files. Raises
    MissingPackagesError when any package is not installed."""
    check_packages(packages)
    faces: list[Face] = []
    usable, rejected = inspect_files([pf for package in packages for pf in package_font_files(package)])
    for pkg, path, family, style in usable:
        reason = reserved_reason(family, pkg)
        if reason:
            rejected.append((path, f"reserved for the held-out evaluation: {reason}"))
            continue
        group = FAMILY_TO_GROUP.get(family, family)
        category = DESIGN_GROUPS[group][0] if group in DESIGN_GROUPS else category_of(family, path)
        faces.append(Face(path, family, style, group, category, pkg))
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
    """All usable faces of PACKAGES."""
    return list(discover_fonts(tuple(PACKAGES))[0])


# ---------------------------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------------------------


def _unit(seed: int, group: str) -> float:
    """A stable pseudo-random number in [0, 1) for (seed, group), independent of Python's hash salt."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(group: str, seed: int) -> str:
    """The split of one design group. It depends on the group's name and the seed only, so that
    adding or removing other groups never moves it; seed 0 keeps the first version's split of its
    groups (LEGACY_SPLIT). SPLIT_SALT was picked once, among synth-ocr-fonts-v2-0 to -99, as one for
    which seed 0 puts about TEST_SHARE of the groups in test and DEV_SHARE in dev with every
    category in both; it stays fixed, so that groups added later do not move the others."""
    if seed == 0 and group in LEGACY_SPLIT:
        return LEGACY_SPLIT[group]
    u = _unit(seed, group)
    return "test" if u < TEST_SHARE else "dev" if u < TEST_SHARE + DEV_SHARE else "train"


def split_groups(groups: dict[str, str], seed: int) -> dict[str, list[str]]:
    """Design groups per split, from {group: category} (the category is reported, not used: each
    group's split is drawn on its own, see split_of)."""
    out: dict[str, list[str]] = {split: [] for split in SPLITS}
    for group in groups:
        out[split_of(group, seed)].append(group)
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
    """Print the faces per split and the rejected files, or the package list."""
    p = argparse.ArgumentParser(description="Show the synthetic-OCR font split.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rejected", action="store_true", help="also list the rejected files and why")
    p.add_argument("--packages", action="store_true", help="print the Debian font packages, one a line, and exit")
    p.add_argument("--missing", action="store_true", help="print the packages that are not installed, and exit")
    args = p.parse_args(argv)
    if args.packages or args.missing:
        for package in missing_packages() if args.missing else PACKAGES:
            print(package)
        return 0
    try:
        split = face_split(args.seed)
    except MissingPackagesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
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
        for path, reason in discover_fonts(tuple(PACKAGES))[1]:
            print(f"rejected {path}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
