#!/usr/bin/env bash
# Synthetic-speech recipe, end to end: generate a corpus with espeak-ng / flite / sox, train a
# FastConformer-CTC model, evaluate it on the test split (voices unseen in training), also with a
# character n-gram LM fused into CTC beam search.
#
#   bash recipes/synth_speech/run.sh                 # full size: 16000 utterances, 58 min of training
#   bash recipes/synth_speech/run.sh --small         # demo size: 1500 utterances, 6 min of training
#   MODEL=hybrid bash recipes/synth_speech/run.sh    # RNNT + CTC heads (configs/synth_speech_hybrid.yaml)
#   MODEL=streaming bash recipes/synth_speech/run.sh # cache-aware, four look-aheads (synth_speech_streaming.yaml),
#                                                    # then 20 min more (2 with --small) on joined
#                                                    # utterances, for long streams
#   MODEL=attention bash recipes/synth_speech/run.sh # attention + CTC (configs/synth_speech_attention.yaml)
#
# Run from the repository root with the recog package installed (`make demo` does all of it).
set -euo pipefail

model=${MODEL:-ctc}
size=full
[ "${1:-}" = "--small" ] && size=small
if [ "$size" = small ]; then
  data=data/synth_speech_small; run=runs/synth_speech_small_$model
  counts=(--num-train 1500 --num-dev 100 --num-test 200); max_time=${MAX_TIME:-00:00:06:00}
  ft_time=${FT_TIME:-00:00:02:00}
else
  data=data/synth_speech; run=runs/synth_speech_$model
  counts=(--num-train 16000 --num-dev 300 --num-test 500); max_time=${MAX_TIME:-00:00:58:00}
  ft_time=${FT_TIME:-00:00:20:00}
fi

echo "== 1/3 prepare data in $data"
python recipes/synth_speech/prepare.py --out "$data" "${counts[@]}" --workers "$(nproc)"

echo "== 2/3 train ($max_time) into $run"
precision=$(python -c "from recog.train import training_precision; print(training_precision())")
recog train --config configs/synth_speech_$model.yaml \
  --trainer.max_time "$max_time" --trainer.precision "$precision" --run_dir "$run" \
  --model.tokenizer.manifest "$data/train.jsonl" \
  --data.train_manifest "$data/train.jsonl" --data.val_manifest "$data/dev.jsonl"

best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
if [ "$model" = streaming ]; then
  echo "== 2b/3 fine-tune for long streams ($ft_time) into $run/longform: half the items two utterances joined"
  recog train --config configs/synth_speech_streaming.yaml --config configs/synth_speech_streaming_longform.yaml \
    --model.init_from "$best" --trainer.max_time "$ft_time" --trainer.precision "$precision" \
    --run_dir "$run/longform" --model.tokenizer.manifest "$data/train.jsonl" \
    --data.train_manifest "$data/train.jsonl" --data.val_manifest "$data/dev.jsonl"
fi

echo "== 3/3 evaluate on $data/test.jsonl (voices not seen in training)"
heads=$(python -c "import sys, recog; print(' '.join(recog.load(sys.argv[1]).model.heads))" "$best")
for head in $heads; do
  python benchmarks/speech_eval.py --model "$best" --manifest "$data/test.jsonl" --threads 1 --head "$head" --by voice
done

case " $heads " in *" ctc "*)
  echo "== and with a character 8-gram LM from the training texts (weights tuned on dev)"
  lm="$run/lm_char8.npz"
  recog lm --manifest "$data/train.jsonl" --order 8 --out "$lm"
  # (to a file, not `tee /dev/stderr`: with stderr redirected to a log, tee would reopen and truncate it)
  python tools/lm_tune.py --model "$best" --lm "$lm" --manifest "$data/dev.jsonl" --threads "$(nproc)" \
    > "$run/lm_tune.txt"
  cat "$run/lm_tune.txt"
  best_pair=$(sed -n 's/^best: \(--lm-weight [0-9.]* --lm-bonus [0-9.]*\).*/\1/p' "$run/lm_tune.txt")
  # shellcheck disable=SC2086  # the pair is two flags and their values
  python benchmarks/speech_eval.py --model "$best" --manifest "$data/test.jsonl" --threads 1 --head ctc \
    --beam 8 --lm "$lm" $best_pair --by voice
esac

if [ "$model" = streaming ]; then
  longform="$run/longform/checkpoints/last.ckpt"
  echo "== the long-stream model, one utterance at a time"
  for head in $heads; do
    python benchmarks/speech_eval.py --model "$longform" --manifest "$data/test.jsonl" --threads 1 --head "$head"
  done
  echo "== and on streams of 20 test utterances joined (0.3 s apart), cache-aware against buffered streaming at 560 ms"
  for m in "$best" "$longform"; do
    python benchmarks/streaming.py --model "$m" --manifest "$data/test.jsonl" --files 200 --join 20 --threads 1 \
      --head ctc --parts buffered --context 56,13
  done
fi
