#!/usr/bin/env bash
# Synthetic text-line OCR recipe, end to end: install the font packages, render lines, train the
# SVTRv2-style model with CTC + CPPD + SGM heads, evaluate on the test split (fonts unseen in
# training) and on its heavily degraded copy, beside Tesseract and RapidOCR where installed.
#
#   bash recipes/synth_ocr/run.sh            # 20000 train lines, 35 min of training on 2 CPU cores
#   MAX_TIME=00:00:05:00 bash recipes/synth_ocr/run.sh
#   # more training: fine-tune a finished run's best weights with a new warm-up and cosine (peak LR
#   # $LR, default 5e-4: half the first run's)
#   INIT_FROM=runs/synth_ocr/checkpoints/best-....ckpt RUN=runs/synth_ocr_more MAX_TIME=00:00:55:00 \
#     bash recipes/synth_ocr/run.sh
#   DATA=data/synth_ocr_v2 bash recipes/synth_ocr/run.sh   # another corpus folder (default data/synth_ocr)
#   GOOGLE_FONTS=data/fonts/google DATA=data/synth_ocr_gf bash recipes/synth_ocr/run.sh
#     # half the training lines in Google Fonts faces (google_fonts.py fetches the pinned packages)
set -euo pipefail
data=${DATA:-data/synth_ocr}; run=${RUN:-runs/synth_ocr}; max_time=${MAX_TIME:-00:00:35:00}
init=()
[ -n "${INIT_FROM:-}" ] && init=(--model.init_from "$INIT_FROM" --model.lr "${LR:-5.0e-4}" --model.warmup_steps 100)

echo "== 0/3 Debian font packages (recipes/synth_ocr/fonts.py lists them)"
bash recipes/synth_ocr/install_fonts.sh

google=()
if [ -n "${GOOGLE_FONTS:-}" ]; then
  echo "== 0/3 Google Fonts into $GOOGLE_FONTS (recipes/synth_ocr/google_fonts_lock.json pins them)"
  python recipes/synth_ocr/google_fonts.py --out "$GOOGLE_FONTS"
  google=(--google-fonts "$GOOGLE_FONTS")
fi

echo "== 1/3 render lines into $data"
python recipes/synth_ocr/prepare.py --out "$data" --workers "$(nproc)" "${google[@]}"

echo "== 2/3 train ($max_time) into $run"
# float32: under CPU bf16 autocast this model's losses turned NaN after ~80 steps (speech trains fine)
precision=${PRECISION:-32}
recog train --config configs/synth_ocr.yaml --trainer.max_time "$max_time" --trainer.precision "$precision" \
  --run_dir "$run" --model.tokenizer.manifest "$data/train.jsonl" --data.train_manifest "$data/train.jsonl" \
  --data.val_manifest "$data/dev.jsonl" "${init[@]}"

echo "== 3/3 evaluate on $data/test.jsonl (fonts not seen in training) and $data/test_degraded.jsonl"
best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
# and the CTC head with a character 6-gram LM from the training texts, its weights tuned on dev and dev_degraded
recog lm --manifest "$data/train.jsonl" --order 6 --out "$run/lm_char6.npz"
# (to a file, not `tee /dev/stderr`: with stderr redirected to a log, tee would reopen and truncate it)
python tools/lm_tune.py --model "$best" --lm "$run/lm_char6.npz" --manifest "$data/dev.jsonl" \
  "$data/dev_degraded.jsonl" --threads "$(nproc)" --weights 0.2,0.4,0.7 --bonuses 0,1,2 > "$run/lm_tune.txt"
cat "$run/lm_tune.txt"
best_pair=$(sed -n 's/^best: \(--lm-weight [0-9.]* --lm-bonus [0-9.]*\).*/\1/p' "$run/lm_tune.txt")
# A peer that is not installed is skipped with one line saying how to install it.
for split in test test_degraded; do
  # shellcheck disable=SC2086  # the pair is two flags and their values
  python benchmarks/ocr_peers.py --manifest "$data/$split.jsonl" --model "$best" --heads ctc,parallel \
    --lm "$run/lm_char6.npz" $best_pair
done
