# The README's commands. `make run` starts the product; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DEMO ?= 1

.PHONY: run test lint format bench install browsers clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start web, worker and beat (and the local lab unless DEMO=0) on embedded defaults.
run: $(STAMP)
	@bin/run

## The whole test suite (SQLite + in-memory broker unless DATABASE_URL/CELERY_BROKER_URL say otherwise).
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/check_throughput.py

clean:
	rm -rf $(VENV) var staticfiles
