# Two commands for a fresh machine: `make run` (the app) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
PORT   ?= 8501

.PHONY: run test data chromium r bench clean

run: $(VENV)/.runtime-installed data
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.dev-installed data chromium r
	$(BIN)/python -m pytest

data: $(VENV)/.runtime-installed
	$(BIN)/python data/build.py --if-stale

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { $(APT) update && $(APT) install -y python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.runtime-installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Browser tests drive Debian's chromium (Playwright's own browser download does not work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(APT) update && $(APT) install -y chromium; }

# R survival runs the snippets' R code in the tests (the same numbers as the page); the reference JSON needs no R.
r:
	@command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(survival)' >/dev/null 2>&1 || \
		{ $(APT) update && $(APT) install -y r-base-core r-cran-survival; }

# Speed figures (printed, not asserted): analyses on simulated 1k/10k/100k cohorts, vs R where installed.
bench: $(VENV)/.dev-installed data
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) data/sarcoma.duckdb tests/artifacts
