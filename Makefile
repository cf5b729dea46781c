# The two commands of the README:
#   make book   set everything up (virtual environment, package, assets, offline MathJax) and build the HTML book
#   make test   run every test: package tests, nbval over every chapter, the built book in a headless browser
# Everything else here is a step of those two, or a convenience for instructors (smoke, bench, lab).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
MATHJAX_VERSION := 3.2.2
MATHJAX_DIR := data/vendor/mathjax
MATHJAX := $(MATHJAX_DIR)/es5/tex-chtml.js

.PHONY: book setup install assets mathjax test check smoke bench bench-cold lab student clean

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo
	@echo "The book is built: open _build/html/index.html in a browser (works offline)."

setup: install assets mathjax

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; run: make book PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Fetch the models and data (checksummed), then convert Gemma's GGUF file into a keras-hub preset once (about a
# minute), so that no chapter pays for the conversion. Both do nothing when already done.
assets: install
	$(PY) -m causalrec_tutorial.assets fetch
	$(PY) -m causalrec_tutorial.lm

mathjax: $(MATHJAX)

# MathJax 3 from the npm registry (npm checks the package's integrity), unpacked into data/vendor/ (git-ignored).
$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed once, to fetch MathJax for offline formulas"; exit 1; }
	rm -rf $(MATHJAX_DIR).tmp && mkdir -p $(MATHJAX_DIR).tmp
	cd $(MATHJAX_DIR).tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar -xzf mathjax-$(MATHJAX_VERSION).tgz
	rm -rf $(MATHJAX_DIR) && mkdir -p $(MATHJAX_DIR)
	mv $(MATHJAX_DIR).tmp/package/es5 $(MATHJAX_DIR)/es5 && mv $(MATHJAX_DIR).tmp/package/LICENSE $(MATHJAX_DIR)/
	rm -rf $(MATHJAX_DIR).tmp

test: install
	$(PY) -m pytest

# The one-minute readiness check of a workshop machine (assets verified, both language models answer, a tiny shop
# simulates, a figure renders); it prints the command that fixes each problem.
check: install
	$(PY) -m causalrec_tutorial.check

# A quick check of a workshop machine: package tests, then every chapter executed in smoke mode (small worlds,
# short training; numbers differ from the book's, so nothing is compared; timings are printed, not recorded:
# `python -m causalrec_tutorial.bench --smoke --record` records the reference machine's).
smoke: install
	CAUSALREC_MODE=smoke $(PY) -m pytest tests -x -q
	$(PY) -m causalrec_tutorial.bench --smoke

# Chapter timings with the caches that `make book` leaves (recorded in tests/benchmarks/results.md); bench-cold starts
# from an empty language-model result cache (the converted models are reused).
bench: install
	$(PY) -m causalrec_tutorial.bench

bench-cold: install
	$(PY) -m causalrec_tutorial.bench --cold

lab: install
	$(BIN)/jupyter lab book/

# The student edition for JupyterLab: the chapters with their numbers, citations and cross-references written out,
# no MyST markup, solutions moved to student/solutions/ (git-ignored; rebuilt from the executed chapters in book/).
student: install
	$(PY) -m causalrec_tutorial.student
	@echo "Open it with: $(BIN)/jupyter lab student/"

clean:
	rm -rf _build
