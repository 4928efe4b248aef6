#!/usr/bin/env bash
# Install the Debian font packages of recipes/synth_ocr/fonts.py that are missing, or the packages
# given as arguments (apt-get as root, else through sudo, else stop naming them). Used by run.sh,
# continue.sh and heldout.py (with the held-out fonts' packages).
set -euo pipefail
if (($#)); then missing=("$@"); else mapfile -t missing < <(python recipes/synth_ocr/fonts.py --missing); fi
if ((${#missing[@]})); then
  echo "installing ${#missing[@]} font packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=();
  elif command -v sudo >/dev/null; then sudo=(sudo);
  else
    echo "error: not root and no sudo; install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
