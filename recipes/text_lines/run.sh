#!/usr/bin/env bash
# Real text-line recognition recipe, end to end: manifests from PaddleOCR label files and/or
# deep-text-recognition-benchmark LMDBs, the SVTRv2-style CTC model of configs/text_lines_ctc.yaml
# (characters from the training labels), then `recog eval` (CER, WER, exact lines) on the test
# manifest and, where TEST names several sources, on each of them. GPU-sized; see
# recipes/text_lines/README.md.
#
#   TRAIN=/data/rec/rec_gt_train.txt VAL=/data/rec/rec_gt_val.txt TEST=/data/rec/rec_gt_test.txt \
#       DATA_DIR=/data/rec bash recipes/text_lines/run.sh
#   TRAIN="/data/lmdb/training/MJ /data/lmdb/training/ST" VAL=/data/lmdb/validation \
#       TEST=/data/lmdb/evaluation bash recipes/text_lines/run.sh --trainer.max_epochs 10
#
# TRAIN, VAL and TEST each hold one or more sources separated by spaces: a label file or an LMDB
# folder (or a folder of LMDB folders). DATA_DIR: the folder label-file paths are relative to
# (default: each label file's folder). Other settings: DATA (manifest folder, data/text_lines),
# RUN (run folder, runs/text_lines_ctc), PRECISION (default: recog.train.training_precision,
# bf16-mixed where bfloat16 is native, else 32). Extra flags go to `recog train`. Run from the repository root.
set -euo pipefail

: "${TRAIN:?set TRAIN to the training label file(s) or LMDB folder(s)}"
: "${VAL:?set VAL to the validation label file(s) or LMDB folder(s)}"
: "${TEST:?set TEST to the test label file(s) or LMDB folder(s)}"
read -ra train <<< "$TRAIN"; read -ra val <<< "$VAL"; read -ra test <<< "$TEST"
data=${DATA:-data/text_lines}; run=${RUN:-runs/text_lines_ctc}
precision=${PRECISION:-$(python -c "from recog.train import training_precision; print(training_precision())")}

echo "== 1/3 manifests in $data"
python recipes/text_lines/prepare.py --out "$data" --train "${train[@]}" --dev "${val[@]}" --test "${test[@]}" \
  ${DATA_DIR:+--data-dir "$DATA_DIR"} --workers "$(nproc)"

echo "== 2/3 train into $run (precision $precision)"
recog train --config configs/text_lines_ctc.yaml --run_dir "$run" --trainer.precision "$precision" \
  --model.tokenizer.manifest "$data/train.jsonl" \
  --data.train_manifest "$data/train.jsonl" --data.val_manifest "$data/dev.jsonl" "$@"

best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
echo "== 3/3 evaluate $best"
for manifest in "$data"/test.jsonl "$data"/test-*.jsonl; do
  [ -f "$manifest" ] || continue
  echo "-- $manifest"
  recog eval --model "$best" --manifest "$manifest"
done
