# Two commands: `make run` (set up and serve the demo) and `make test` (set up and run the suite).
# Everything else here is what those two are made of.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install assets run test lint format messages bench clean

help:
	@echo "make run     set up everything and serve the demo at http://$(HOST):$(PORT)"
	@echo "make test    set up everything and run the whole test suite"
	@echo "make lint    ruff check + format check + import contracts   make format  apply ruff format"
	@echo "make messages  update and compile translations   make bench  benchmark figures (BENCH_SCALE=0.1 quick)"

$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "Python's venv module is missing: apt-get install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip || { rm -rf $(VENV); exit 1; }

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the front-end packages (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: node_modules/.installed

# Development server on SQLite (unless DATABASE_URL is set); Celery tasks run in-process
# unless REDIS_URL/CELERY_BROKER_URL is set.
run: install assets
	DEBUG=true $(BIN)/python manage.py migrate --noinput
	DEBUG=true $(BIN)/python manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/  (log in with a demo account above)"
	DEBUG=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install assets
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install
	DEBUG=true $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore='.venv/*' --ignore='node_modules/*'
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore='.venv/*' --ignore='node_modules/*'

# The bench runs on PostgreSQL in a database of its own, which it creates and fills at
# BENCH_SCALE (1: 200,000 referrals, 500,000 orders, 5,000,000 visits; 0.1 for a quick run),
# then prints its figures and writes bench-results.json.
BENCH_SCALE ?= 1
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/alliance_bench
bench: install
	DEBUG=true DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_SCALE=$(BENCH_SCALE) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache
