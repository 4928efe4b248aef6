# Quick start: `make demo` (the shipped models on examples/) and `make test` (whole suite);
# `make recipe-speech` / `make recipe-ocr` / `make recipe-pages` run the synthetic recipes. All create .venv if missing
# and install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
# Where pip's configured indexes would give torch's CUDA build: TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
# The speech recipes' synthesisers, tools and texts (recipes/en_speech: free voices only; g++ builds
# pyworld, which has no wheel, for recipes/en_speech/morph.py), then the
# OCR recipe's font packages (one list, in recipes/synth_ocr/fonts.py).
SPEECH_DEBS := espeak-ng flite sox ffmpeg festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts \
               fortunes fortunes-min python3-doc jargon-text doc-debian dict-gcide dict-devil wordnet-base wamerican \
               g++
# The browser page (export/web/): Debian's chromium, which its test drives (never a downloaded browser).
WEB_DEBS := chromium nodejs
DEBS := $(SPEECH_DEBS) $(shell python3 recipes/synth_ocr/fonts.py --packages) $(WEB_DEBS)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup debs web demo recipe-speech recipe-ocr recipe-pages test lint bench

$(VENV)/.installed: pyproject.toml export/python/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))  # pyproject admits newer ones
	$(PY) -m pip install -q -e ./export/python  # recog-edge, which recog depends on (not on PyPI)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

setup: debs $(VENV)/.installed web

# The page's npm packages, as pinned in its lockfile, and Playwright for its test.
web: debs export/web/node_modules/.package-lock.json $(VENV)/.web-installed

export/web/node_modules/.package-lock.json: export/web/package-lock.json
	command -v npm >/dev/null || $(SUDO) apt-get install -y -q npm
	cd export/web && npm ci --no-audit --no-fund

$(VENV)/.web-installed: $(VENV)/.installed
	$(PY) -m pip install -q playwright==1.65.2
	touch $@

# The shipped default models on the files in examples/: text, timestamps or pixel positions, confidences.
demo: setup
	$(VENV)/bin/recog models
	-$(VENV)/bin/recog transcribe examples/ --output -   # "-": a task without a shipped model says so, the demo goes on
	-$(VENV)/bin/recog transcribe examples/hello.wav examples/weather.flac examples/meeting.ogg --lm en-speech  # with its LM
	-$(VENV)/bin/recog ocr examples/ --output -
	-$(VENV)/bin/recog-edge ocr examples/   # the same files without torch: the shipped int8 edge models

# The synthetic recipes, one command each (demo size for speech: data, ~6 min of training, test WER).
recipe-speech: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash recipes/synth_speech/run.sh --small

recipe-ocr: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash recipes/synth_ocr/run.sh

# Whole-image OCR: render pages, train the text detector, compare with RapidOCR and Tesseract.
recipe-pages: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash recipes/synth_pages/run.sh

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check recog export/python tests benchmarks tools recipes examples
