# The two commands a newcomer needs are `make demo` and `make test`; both set up first.
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test test-fast lint bench dev migrate clean

setup:
	@bash scripts/setup.sh

## The main job on the embedded stack: a demo campaign through real Temporal workflows.
demo: setup
	$(VENV)/bin/centralita demo $(DEMO_ARGS)

## Lint (ruff + mypy), then the whole test suite.
test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

## Unit tests only: seconds, no servers.
test-fast: setup
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(PY) scripts/check_sql_homes.py

## Benchmarks print their figures and write JSON under bench/results/.
bench: setup
	$(PY) -m bench

## The embedded stack in the foreground until Ctrl-C.
dev: setup
	$(VENV)/bin/centralita dev up

migrate: setup
	$(VENV)/bin/centralita migrate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
