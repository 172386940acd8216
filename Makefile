# tunelab: `make demo` and `make test` each set up .venv with pinned dependencies, then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench audio browser abcmidi clean

# torch is installed first and alone, pinned, so that no other package can pull another build.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

demo: $(STAMP) audio
	$(VENV)/bin/tunelab demo

# FluidSynth and a General MIDI soundfont from Debian's packages, where the machine allows (root,
# apt); without them tunelab renders audio with its numpy synthesizer and says so.
audio:
	@if command -v fluidsynth >/dev/null && ls /usr/share/sounds/sf2/*.sf2 >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    fluidsynth timgm6mb-soundfont >/dev/null || echo "make audio: install failed; numpy synthesizer in use"; \
	else echo "make audio: FluidSynth not installed (needs root and apt); numpy synthesizer in use"; fi

test: $(STAMP) audio browser abcmidi
	$(PY) -m pytest -q

# Debian's Chromium for the listening test's browser test (Playwright drives it), where the machine
# allows (root, apt); without it that one test skips and says why.
browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null || echo "make browser: install failed; the browser test will skip"; \
	else echo "make browser: Chromium not installed (needs root and apt); the browser test will skip"; fi

# Debian's abcmidi (abc2midi, the ABC reference folk musicians use) for the test that checks the
# native ABC reader's notes against it, where the machine allows; without it that test skips.
abcmidi:
	@if command -v abc2midi >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    abcmidi >/dev/null || echo "make abcmidi: install failed; the abc2midi test will skip"; \
	else echo "make abcmidi: abcmidi not installed (needs root and apt); the abc2midi test will skip"; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/prepare_kern.py
	$(PY) benchmarks/abc_native_vs_music21.py
	$(PY) benchmarks/tokenizer_bench.py
	$(PY) benchmarks/study17_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
