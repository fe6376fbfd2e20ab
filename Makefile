# The two README commands: `make demo` and `make test`. Both create .venv when missing and
# (re)install the package when pyproject.toml changes; nothing relies on a manual step.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_OUT ?= demo-run

.PHONY: demo test lint bench venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime install (for `make demo`).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# Runtime + dev extra (for `make test`).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

venv: $(VENV)/.installed-dev

# The method benchmark on built-in synthetic lesion views (about 12 minutes on 2 CPU cores); report in
# $(DEMO_OUT)/report.md. `make demo DEMO_ARGS=--quick` for the 1-minute smoke version.
demo: $(VENV)/.installed
	$(BIN)/mvkl demo --out $(DEMO_OUT) --force $(DEMO_ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# Every benchmark of docs/PERFORMANCE.md, one JSON document each in $(BENCH_OUT)/ (about 3 minutes
# on 2 CPU cores; without --json each `mvkl bench` prints the same figures as a table).
BENCH_OUT ?= bench-results
BENCHES := hamming sampler store ingest loader train-step eval synth
bench: $(VENV)/.installed
	@mkdir -p $(BENCH_OUT)
	@set -e; for b in $(BENCHES); do echo "== mvkl bench $$b"; \
	  $(BIN)/mvkl bench $$b --json --quiet > $(BENCH_OUT)/$$b.json; done
	$(BIN)/mvkl bench train-step --preset paper --batch-size 4 --steps 2 --json --quiet > $(BENCH_OUT)/train-step-paper.json
	@echo "figures in $(BENCH_OUT)/"

clean:
	rm -rf $(DEMO_OUT) $(BENCH_OUT) .pytest_cache
