#!/usr/bin/env bash
# Common Voice recipe, end to end: manifests pointing at the release's MP3 clips (normalised
# text), a ~26 M parameter FastConformer-CTC (BPE 256; the LibriSpeech recipe's model) trained
# on train, WER on dev and test with the best checkpoint. GPU-sized; see
# recipes/common_voice/README.md.
#
#   COMMON_VOICE=/data/cv-corpus-17.0-2024-03-15/en bash recipes/common_voice/run.sh
#   COMMON_VOICE=... bash recipes/common_voice/run.sh --trainer.max_epochs 50   # extra flags go to `recog train`
#
# Other settings: DATA (manifest folder, data/common_voice), RUN (run folder,
# runs/common_voice_ctc), PRECISION (default bf16-mixed where bfloat16 is native: GPUs with bf16, CPUs with AMX/AVX512-BF16; else 32).
# Run from the repository root with recog installed.
set -euo pipefail

: "${COMMON_VOICE:?set COMMON_VOICE to a Common Voice language folder (the one holding clips/ and train.tsv)}"
data=${DATA:-data/common_voice}; run=${RUN:-runs/common_voice_ctc}
precision=${PRECISION:-$(python -c "from recog.train import training_precision; print(training_precision())")}

echo "== 1/3 manifests for train dev test in $data"
python recipes/common_voice/prepare.py --root "$COMMON_VOICE" --out "$data" --splits train dev test \
  --workers "$(nproc)"

echo "== 2/3 train into $run (precision $precision)"
recog train --config configs/common_voice_ctc.yaml --run_dir "$run" --trainer.precision "$precision" \
  --model.tokenizer.manifest "$data/train.jsonl" \
  --data.train_manifest "$data/train.jsonl" --data.val_manifest "$data/dev.jsonl" "$@"

best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
echo "== 3/3 evaluate $best"
for split in dev test; do
  echo "-- $split"
  python benchmarks/speech_eval.py --model "$best" --manifest "$data/$split.jsonl" --threads "$(nproc)"
done
