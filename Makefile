# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
export PYTHONPATH := $(CURDIR)

.PHONY: help venv run test test-fast lint format migrate bench clean

help:
	@echo "make run      start every process (gateway :8000, edge :8080) with migrations applied;"
	@echo "             restarts a process that exits; WORKERS=2 EDGES=2 make run for more copies"
	@echo "make test     run the whole test suite against the local Postgres, Redis and RabbitMQ"
	@echo "             (the fault suite last, on private instances: pytest -m faults alone)"
	@echo "make lint     ruff (lint + format check) and mypy --strict"
	@echo "make format   apply ruff formatting and autofixes"
	@echo "make migrate  apply pending database migrations"
	@echo "make bench    run the benchmarks and print figures and ratios"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: venv
	$(BIN)/python -m deploy.run_local

test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: venv
	$(BIN)/python -m shared.migrations

bench: venv
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 \
		|| echo "wrk is missing and could not be installed: apt-get install wrk"
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache var
