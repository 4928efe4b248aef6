#!/usr/bin/env bash
# The next fine-tuning of the shipped latin-lines, from nothing but a clone: the run that makes each
# new version (recog/models/latin-lines/MODEL_CARD.md). It renders what the run needs, trains from
# the shipped model on recipe lines it has never seen, and reads the run beside the shipped model on
# the fixed dev and dev_degraded lines, which choose (tools/compare_models.py). Shipping stays a
# decision: then tools/ship_model.py (the card's latest "Figures" section lists the rest).
#
#   FROM=1220000 LINES=120000 SEED=41 MAX_TIME=00:04:00:00 bash recipes/synth_ocr/continue.sh   # into runs/latin_lines_v41
#   FROM=1220000 LINES=120000 SEED=41 MAX_TIME=00:04:00:00 bash recipes/synth_ocr/continue.sh \
#     --ckpt_path runs/latin_lines_v41/checkpoints/last.ckpt   # resume, the same variables
# (runs of the default 1 h 30 min stopped gaining at run 40: recipes/synth_ocr/README.md, Experiments)
#
# Run from the repository root with recog installed and .venv/bin on PATH (as `make recipe-ocr` runs
# run.sh). Every step reuses what a step before it left on disk: from a clone, about 25 min of data on
# one core (session 47), then 1 h 30 min of training on one thread; the other core stays free.
#   FROM          first recipe line of this run (each run takes the next LINES lines)
#   LINES         60000
#   SEED          the run's seed and number (runs/latin_lines_v$SEED)
#   SCRIPT_SHARE  share of the Google-face lines in handwriting faces (0.4; "" for none)
#   MAX_TIME      00:01:30:00
#   INIT_FROM     latin-lines (the shipped model; a folder or checkpoint to start elsewhere)
#   PRECISION     bf16-mixed where the CPU has native bf16, else 32 (recog.train.training_precision)
# Arguments after the variables go to `recog train` (e.g. --ckpt_path to resume).
set -euo pipefail
from=${FROM:?FROM: the first recipe line of this run}; lines=${LINES:-60000}; seed=${SEED:?SEED: the run number}
script_share=${SCRIPT_SHARE-0.4}; max_time=${MAX_TIME:-00:01:30:00}; init=${INIT_FROM:-latin-lines}
run=runs/latin_lines_v$seed; mix=data/latin_lines_mix_v$seed
export OMP_NUM_THREADS=1

echo "== 1/5 fonts: the Debian packages that are missing, the Google Fonts faces (pinned)"
bash recipes/synth_ocr/install_fonts.sh
python recipes/synth_ocr/google_fonts.py --out data/fonts/google

echo "== 2/5 the fixed evaluation lines and the short lines (recipe corpus v2)"
# dev, test and their degraded copies do not depend on the training range; of lines 200,000-259,999
# only the 156 of one or two characters are rendered, the short lines every mix repeats three times.
python recipes/synth_ocr/prepare.py --out data/synth_ocr_v2 --num-train 260000 --train-from 200000 \
  --train-max-chars 2 --heavy-share 0.15 --workers 1
short=data/synth_ocr_v2/train_short.jsonl
[ -s "$short" ] || python -c 'import json,sys; [sys.stdout.write(l) for l in open(sys.argv[1]) if len(json.loads(l)["text"]) <= 2]' \
  data/synth_ocr_v2/train.jsonl > "$short"

echo "== 3/5 page crops: true boxes and latin-det's boxes of the page recipe's training pages"
python recipes/synth_pages/prepare.py --out data/synth_pages_v2 --workers 1
pages=data/synth_pages_v2
[ -s $pages/lines_train.jsonl ] || python recipes/synth_pages/crops.py --pages $pages --split train --max-lines 20000
[ -s $pages/lines_train_found.jsonl ] || python recipes/synth_pages/crops.py --pages $pages --split train \
  --kinds screenshot,sign,receipt --max-lines 15000 --detector latin-det --negatives --out-name train_found

# bf16 where the CPU has it natively (AMX or AVX512-BF16), else float32: emulated bf16 trained the
# OCR run 2.6x slower than float32 on a CPU without them (session 54)
precision=${PRECISION:-$(python -c "from recog.train import training_precision; print(training_precision())")}
echo "== 4/5 lines $from-$((from + lines - 1)), half in Google faces; train $max_time from $init into $run"
share=(); [ -n "$script_share" ] && share=(--google-script-share "$script_share")
corpus=data/synth_ocr_from$from
python recipes/synth_ocr/prepare.py --out "$corpus" --num-train $((from + lines)) --train-from "$from" \
  --heavy-share 0.15 --workers 1 --google-fonts data/fonts/google "${share[@]}"
python tools/mix_manifests.py "$corpus/train.jsonl" $pages/lines_train.jsonl $pages/lines_train_found.jsonl \
  "$short" "$short" "$short" --out "$mix/train.jsonl"
recog train --config configs/latin_lines.yaml --trainer.max_time "$max_time" --run_dir "$run" \
  --data.train_manifest "$mix/train.jsonl" --model.lr 3e-4 --model.init_from "$init" --seed_everything "$seed" \
  --data.letterform_prob 0.25 --trainer.precision "$precision" "$@"

echo "== 5/5 character edits on dev and dev_degraded, which choose: this run's best against $init"
best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
python tools/compare_models.py --models "$init" "$best" --manifest data/synth_ocr_v2/dev.jsonl \
  data/synth_ocr_v2/dev_degraded.jsonl --outputs runs/compare --threads 1
