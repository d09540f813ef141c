# Accord: `make run` serves a node with the bundled data; `make test` runs the suite (SQLite + PostgreSQL).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-fast bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/accord demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not postgres and not slow"

bench: $(STAMP)
	$(BIN)/python bench/bench_api.py

clean:
	rm -rf $(VENV) data .pytest_cache

.PHONY: browser-deps
browser-deps:
	bash scripts/install-browser.sh
