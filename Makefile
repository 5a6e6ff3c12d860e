# Quick start: `make run` (set up and serve the bot), `make test` (set up and run every test),
# `make drill` (set up and rehearse a handover in the terminal, no Slack needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test drill clean

$(BIN)/baton: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,postgres]"
	@touch $@

run: $(BIN)/baton
	$(BIN)/baton serve

drill: $(BIN)/baton
	$(BIN)/baton drill --scenario email-outage

test: $(BIN)/baton
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
