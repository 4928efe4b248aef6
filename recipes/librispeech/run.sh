#!/usr/bin/env bash
# LibriSpeech recipe, end to end: manifests pointing at the corpus's FLAC files, a ~26 M
# parameter FastConformer-CTC (BPE 256) trained on the train subsets, WER on dev-clean, test-clean
# and test-other with the best checkpoint. GPU-sized; see recipes/librispeech/README.md.
#
#   LIBRISPEECH=/data/LibriSpeech bash recipes/librispeech/run.sh
#   LIBRISPEECH=/data/LibriSpeech TRAIN_SUBSETS="train-clean-100 train-clean-360 train-other-500" \
#       bash recipes/librispeech/run.sh --trainer.max_epochs 30   # extra flags go to `recog train`
#
# Other settings: DATA (manifest folder, data/librispeech), RUN (run folder, runs/librispeech_ctc),
# PRECISION (default bf16-mixed where bfloat16 is native: GPUs with bf16, CPUs with AMX/AVX512-BF16; else 32), MAX_DURATION (seconds,
# longest training utterance, 20). Run from the repository root with recog installed.
set -euo pipefail

: "${LIBRISPEECH:?set LIBRISPEECH to the LibriSpeech folder (the one holding train-clean-100/, dev-clean/, ...)}"
read -ra train_subsets <<< "${TRAIN_SUBSETS:-train-clean-100}"
eval_subsets=(dev-clean test-clean test-other)
data=${DATA:-data/librispeech}; run=${RUN:-runs/librispeech_ctc}
precision=${PRECISION:-$(python -c "from recog.train import training_precision; print(training_precision())")}

echo "== 1/3 manifests for ${train_subsets[*]} ${eval_subsets[*]} in $data"
python recipes/librispeech/prepare.py --root "$LIBRISPEECH" --out "$data" \
  --subsets "${train_subsets[@]}" "${eval_subsets[@]}" --max-duration "${MAX_DURATION:-20}" --workers "$(nproc)"
for subset in "${train_subsets[@]}"; do cat "$data/$subset.jsonl"; done > "$data/train.jsonl"
echo "$data/train.jsonl: $(wc -l < "$data/train.jsonl") utterances"

echo "== 2/3 train into $run (precision $precision)"
recog train --config configs/librispeech_ctc.yaml --run_dir "$run" --trainer.precision "$precision" \
  --model.tokenizer.manifest "$data/train.jsonl" \
  --data.train_manifest "$data/train.jsonl" --data.val_manifest "$data/dev-clean.jsonl" "$@"

best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
echo "== 3/3 evaluate $best"
for subset in "${eval_subsets[@]}"; do
  echo "-- $subset"
  python benchmarks/speech_eval.py --model "$best" --manifest "$data/$subset.jsonl" --threads "$(nproc)"
done
