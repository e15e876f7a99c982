# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Where the code lives: what lint, format and the type check read.
CODE := syncd connectors tests bench

.PHONY: demo test test-slow test-all lint typecheck format bench clean

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/syncd --log-level warning demo --output demo-output

# The fast tier: everything but the tests marked slow, spread over the machine's cores.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n auto $(PYTEST_ARGS)

# The slow tier: long fault variants (30 SIGKILLs, failover, 429 storms), volume and timing
# checks. One test at a time, since several of them measure waits and lease terms.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -p no:xdist $(PYTEST_ARGS)

test-all: test test-slow

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

bench: $(STAMP)
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/rules_bench.py
	$(BIN)/python bench/reports_bench.py
	$(BIN)/python bench/faults_bench.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache .mypy_cache *.egg-info
