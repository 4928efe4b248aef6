#!/usr/bin/env bash
# GPU check of recog on the device machine (see benchmarks/gpu/gpu_check.py). Run from the repo root:
#   bash benchmarks/gpu/gpu_check.sh [extra gpu_check.py flags]
# Needs .whl/ (soundfile, soxr, jiwer, rapidfuzz, jsonargparse[signatures] wheels for py3.12) and,
# for part 3, .gpudata/synth_ocr/; writes OUT (default /tmp/gpu_check_out).
set -o pipefail
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  > "$OUT/pip.log" 2>&1 || { cat "$OUT/pip.log"; exit 3; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import soundfile, soxr, jiwer, jsonargparse, docstring_parser, typeshed_client, torchaudio, lightning; \
from lightning.pytorch.cli import LightningCLI; import recog.train, recog.cli; print('imports ok', torchaudio.__version__, lightning.__version__, jsonargparse.__version__)" \
  || exit 4
python3 benchmarks/gpu/gpu_check.py --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu_check.log"
