#!/usr/bin/env bash
# en-speech recipe: the shipped English speech model `en-speech` (issue 21), from data to figures.
# Every free English voice Debian offers (espeak-ng and its variants, flite, festival, SVOX Pico,
# RHVoice; MBROLA on request) reading real prose spelt out as spoken, with waveform augmentations on the training
# split; dev and test voices and test sentences are never seen in training. Then training
# (configs/en_speech.yaml: one model, offline and streaming; starting from the shipped en-speech
# where there is one) and the figures of the issue (benchmarks/speech_conditions.py).
#
#   bash recipes/en_speech/run.sh            # 128000 / 300 / 500 utterances, 4 h of training
#   bash recipes/en_speech/run.sh --small    # 1500 / 100 / 200 utterances, 10 min of training
#   MAX_TIME=00:08:00:00 INIT_FROM= bash recipes/en_speech/run.sh   # 8 h, from scratch
#   ENGINES=espeak,mbrola,flite,festival,pico,rhvoice bash recipes/en_speech/run.sh   # with the non-free MBROLA voices
#   (off by default: their licence forbids use in a product that is sold, and a shipped model is)
#
# Run from the repository root with the recog package installed. prepare.py --install apt-get
# installs the Debian packages it needs (Pico's and RHVoice's from Debian's non-free section, which
# it adds for that one install) and pip installs wordfreq and num2words; the MBROLA voices need Debian's
# contrib and non-free sections (see README.md).
set -euo pipefail

engines=${ENGINES:-espeak,flite,festival,pico,rhvoice}
if [ "${1:-}" = "--small" ]; then
  data=data/en_speech_small; run=${RUN:-runs/en_speech_small}; max_time=${MAX_TIME:-00:00:10:00}
  counts=(--num-train 1500 --num-dev 100 --num-test 200)
else
  data=data/en_speech; run=${RUN:-runs/en_speech}; max_time=${MAX_TIME:-00:04:00:00}
  counts=(--num-train 128000 --num-dev 300 --num-test 500)
  # dev_unseen (MBROLA speakers no split trains on) is one of the three dev sets that choose a
  # version; with the MBROLA voices in training there is none
  [[ ",$engines," == *,mbrola,* ]] || counts+=(--dev-unseen)
fi

echo "== 1/3 prepare data in $data (engines: $engines)"
python recipes/en_speech/prepare.py --out "$data" "${counts[@]}" --workers "$(nproc)" --engines "$engines" --install

echo "== 2/3 train ($max_time) into $run"
# The shipped model is where training starts (training that accumulates): its weights and its
# character tokenizer, at the peak learning rate of the runs that made version 13 (5e-4);
# INIT_FROM= (empty) trains from scratch on the corpus's own characters.
init=${INIT_FROM-en-speech}
init_flags=()
if [ -n "$init" ] && python -c "import recog; recog.load('$init')" 2>/dev/null; then
  init_flags=(--model.init_from "$init" --model.lr "${LR:-5.0e-4}" --model.warmup_steps 200)
fi
precision=$(python -c "from recog.train import training_precision; print(training_precision())")
# validate on dev's espeak-ng voices and on its sentences in the training flite and festival voices
val="$data/dev.jsonl"
if [ -s "$data/dev_natural.jsonl" ]; then
  python tools/mix_manifests.py "$data/dev.jsonl" "$data/dev_natural.jsonl" --out "$data/dev_all/dev.jsonl"
  val="$data/dev_all/dev.jsonl"
fi
recog train --config configs/en_speech.yaml --trainer.max_time "$max_time" --trainer.precision "$precision" \
  --run_dir "$run" --model.tokenizer.manifest "$data/train.jsonl" \
  --data.train_manifest "$data/train.jsonl" --data.val_manifest "$val" \
  --model.model.vtlp "[0.85, 1.15]" --data.join_prob 0.2 --data.leading_silence "[0.0, 1.0]" \
  --data.leading_silence_prob 0.3 --data.noise_prob 0.5 --data.noise_snr "[5.0, 30.0]" "${init_flags[@]}"

echo "== 3/3 evaluate $run on $data/test.jsonl (voices and sentences unseen in training)"
best=$(ls -t "$run"/checkpoints/best-*.ckpt "$run"/checkpoints/last.ckpt 2>/dev/null | head -n 1)
python benchmarks/speech_conditions.py --model "$best" --manifest "$data/test.jsonl" --by voice \
  --stream-context 56,13 --threads "$(nproc)"
for variant in silence noise10 reverb 8k; do
  recog eval --manifest "$data/test_$variant.jsonl" --model "$best" --quiet | sed "s/^/test_$variant: /"
done
# To ship it, where it beats the shipped model in word edits on dev, dev_natural and dev_unseen together
# (python tools/compare_models.py --models en-speech "$best" --manifest $data/{dev,dev_natural,dev_unseen}.jsonl;
# write both models' figures in the card):
#   python tools/ship_model.py "$best" --name en-speech --task speech
