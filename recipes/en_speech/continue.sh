#!/usr/bin/env bash
# The next fine-tuning of the shipped en-speech, from nothing but a clone: one part of the recipe
# corpus instead of all of it, so that a fresh machine renders its data in under an hour on one core
# and trains beside other work. It renders part PART of PARTS of the 128,000 training utterances
# (every PARTS-th one, plus the clean utterances their babble mixes in: the same files as the whole
# corpus), the fixed dev and test sets, trains from the shipped model with the flags of run.sh but a
# lower peak rate (LR) on one thread, and reads the run beside the shipped model on the three dev sets
# that choose a version.
# Shipping stays a decision (recog/models/en-speech/MODEL_CARD.md lists the commands).
#
#   PART=2 SEED=58 MAX_TIME=00:04:00:00 bash recipes/en_speech/continue.sh   # part 2 of 8 into runs/en_speech_c58
#   PART=2 SEED=58 MAX_TIME=00:04:00:00 bash recipes/en_speech/continue.sh --ckpt_path runs/en_speech_c58/checkpoints/last.ckpt  # resume
# (runs of the default 1 h 15 min stopped gaining at c57: recipes/en_speech/README.md, Findings)
#
# Run from the repository root with recog installed and .venv/bin on PATH.
#   PART       which part (0 to PARTS - 1); a later run takes another part, so runs see new utterances
#   PARTS      8 (16,000 training utterances, and 7,300 babble donors rendered for them)
#   SEED       the run's seed and name (runs/en_speech_c$SEED)
#   MAX_TIME   00:01:15:00
#   INIT_FROM  en-speech (the shipped model; a folder or checkpoint to start elsewhere)
#   LR         2.0e-4, the peak learning rate (run.sh's 5.0e-4 starts a model afresh; run c56 at 2.0e-4 made
#              version 15, recipes/en_speech/README.md, Findings)
#   PRECISION  bf16-mixed where the CPU has native bf16, else 32 (recog.train.training_precision)
# Arguments after the variables go to `recog train` (e.g. --ckpt_path to resume).
set -euo pipefail
part=${PART:?PART: which part of the training corpus (0 to PARTS - 1)}; parts=${PARTS:-8}
seed=${SEED:?SEED: the run number}; max_time=${MAX_TIME:-00:01:15:00}; init=${INIT_FROM:-en-speech}; lr=${LR:-2.0e-4}
data=data/en_speech; run=runs/en_speech_c$seed
export OMP_NUM_THREADS=1

echo "== 1/3 part $part of $parts of the training utterances, dev, dev_natural, dev_unseen and test into $data"
python recipes/en_speech/prepare.py --out "$data" --num-train 128000 --num-dev 300 --num-test 500 --workers 1 \
  --dev-unseen --engines espeak,flite,festival,pico,rhvoice --train-part "$part/$parts" --install
python tools/mix_manifests.py "$data/dev.jsonl" "$data/dev_natural.jsonl" --out "$data/dev_all/dev.jsonl"
train="$data/train_part${part}of$parts.jsonl"  # the part's own utterances (the whole corpus's train.jsonl stays)

# bf16 where the CPU has it natively (AMX or AVX512-BF16), else float32: emulated bf16 trained the
# OCR run 2.6x slower than float32 on a CPU without them (session 54)
precision=${PRECISION:-$(python -c "from recog.train import training_precision; print(training_precision())")}
echo "== 2/3 train $max_time from $init into $run"
recog train --config configs/en_speech.yaml --trainer.max_time "$max_time" --trainer.precision "$precision" \
  --run_dir "$run" --model.tokenizer.manifest "$train" \
  --data.train_manifest "$train" --data.val_manifest "$data/dev_all/dev.jsonl" \
  --model.model.vtlp "[0.85, 1.15]" --data.join_prob 0.2 --data.leading_silence "[0.0, 1.0]" \
  --data.leading_silence_prob 0.3 --data.noise_prob 0.5 --data.noise_snr "[5.0, 30.0]" \
  --model.init_from "$init" --model.lr "$lr" --model.warmup_steps 200 --seed_everything "$seed" \
  --trainer.val_check_interval 500 "$@"

echo "== 3/3 word edits on the three dev sets, which choose: this run's best against $init"
best=$(ls -t "$run"/checkpoints/best-*.ckpt | head -n 1)
python tools/compare_models.py --models "$init" "$best" --manifest "$data/dev.jsonl" "$data/dev_natural.jsonl" \
  "$data/dev_unseen.jsonl" --outputs runs/compare --threads 1
