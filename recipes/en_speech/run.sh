#!/usr/bin/env bash
# en-speech recipe: the corpus of the shipped English speech model `en-speech` (issue 21). Every
# English voice Debian offers (espeak-ng and its variants, MBROLA with and without foreign accents,
# flite, festival) reading real prose spelt out as spoken, with waveform augmentations on the
# training split; dev and test voices and test sentences are never seen in training.
#
#   bash recipes/en_speech/run.sh            # full size: 40000 / 300 / 500 utterances (about 49 h of audio)
#   bash recipes/en_speech/run.sh --small    # small size: 1500 / 100 / 200 utterances
#   ENGINES=espeak,mbrola,flite,festival bash recipes/en_speech/run.sh   # with the non-free MBROLA voices
#   (off by default: their licence forbids use in a product that is sold, and a shipped model is)
#
# Run from the repository root with the recog package installed. prepare.py --install apt-get
# installs the Debian packages it needs and pip installs wordfreq and num2words; the MBROLA voices
# need Debian's contrib and non-free sections (see README.md).
set -euo pipefail

engines=${ENGINES:-espeak,flite,festival}
if [ "${1:-}" = "--small" ]; then
  data=data/en_speech_small
  counts=(--num-train 1500 --num-dev 100 --num-test 200)
else
  data=data/en_speech
  counts=(--num-train 40000 --num-dev 300 --num-test 500)
fi

echo "== 1/3 prepare data in $data (engines: $engines)"
python recipes/en_speech/prepare.py --out "$data" "${counts[@]}" --workers "$(nproc)" --engines "$engines" --install

# =============================================================================================
# == 2/3 train, 3/3 evaluate: TO BE ADDED (the en-speech model's training and evaluation).
#
# What the data stage leaves for them, in $data:
#   train.jsonl, dev.jsonl, test.jsonl          NeMo manifests (audio_filepath relative to $data,
#                                               duration, text, voice, source, augment)
#   test_silence.jsonl test_noise10.jsonl       the test utterances with 1 s of leading silence,
#   test_reverb.jsonl test_8k.jsonl             white noise at 10 dB SNR, sox reverb, and
#                                               band-limited to 8 kHz
#   text_stats.json                             distinct training words, test/dev OOV rates
#   prepare_config.json                         settings and the voice split
# benchmarks/speech_eval.py --by voice breaks WER down by engine (espeak, mbrola, flite, festival:
# festival and flite's test voices are slt and rms), --by source by text source.
# Speed perturbation, leading silence, joined utterances and VTLP belong to training (data.* and
# the frontend), not to this stage.
# =============================================================================================
