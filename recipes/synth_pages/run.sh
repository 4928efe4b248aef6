#!/usr/bin/env bash
# Whole-image OCR recipe, end to end: render pages (fonts of the line recipe's split), train the
# DB text detector, and measure detection H-mean and page CER on the test pages (fonts unseen in
# training), beside RapidOCR and Tesseract where installed.
#
#   bash recipes/synth_pages/run.sh                         # 2000 training pages, 60 min of training
#   MAX_TIME=00:00:10:00 NUM_TRAIN=300 bash recipes/synth_pages/run.sh
#   INIT_FROM=latin-det MAX_TIME=00:01:00:00 RUN=runs/latin_det_more bash recipes/synth_pages/run.sh
#   LINES=runs/synth_ocr/checkpoints/last.ckpt bash recipes/synth_pages/run.sh   # another line model
set -euo pipefail
data=${DATA:-data/synth_pages}; run=${RUN:-runs/latin_det}; max_time=${MAX_TIME:-00:01:00:00}
init=()
[ -n "${INIT_FROM:-}" ] && init=(--model.init_from "$INIT_FROM" --model.lr "${LR:-1.0e-3}" --model.warmup_steps 50)

echo "== 0/3 Debian font packages (recipes/synth_ocr/fonts.py lists them)"
mapfile -t missing < <(python recipes/synth_ocr/fonts.py --missing)
if ((${#missing[@]})); then
  echo "error: missing font packages; run recipes/synth_ocr/run.sh once or: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "== 1/3 render pages into $data"
python recipes/synth_pages/prepare.py --out "$data" --num-train "${NUM_TRAIN:-2000}" --workers "$(nproc)"

echo "== 2/3 train the detector ($max_time) into $run"
recog train --config configs/latin_det.yaml --trainer.max_time "$max_time" --run_dir "$run" \
  --data.train_manifest "$data/train.jsonl" --data.val_manifest "$data/dev.jsonl" "${init[@]}"

echo "== 3/3 evaluate on $data/test.jsonl (fonts not seen in training)"
best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
python benchmarks/ocr_pages.py --manifest "$data/test.jsonl" --detector "$best" --lines "${LINES:-latin-lines}" \
  --threads "$(nproc)"
