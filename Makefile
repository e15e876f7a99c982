# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/syncd --log-level warning demo --output demo-output

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check syncd connectors tests bench
	$(BIN)/ruff format --check syncd connectors tests bench

format: $(STAMP)
	$(BIN)/ruff format syncd connectors tests bench
	$(BIN)/ruff check --fix syncd connectors tests bench

bench: $(STAMP)
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/rules_bench.py
	$(BIN)/python bench/reports_bench.py
	$(BIN)/python bench/faults_bench.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache *.egg-info
