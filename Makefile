# Two commands: `make run` serves the platform, `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format protos bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements/base.txt requirements/ml.txt requirements/dev.txt requirements/lock.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py bootstrap
	HOST=$(HOST) PORT=$(PORT) exec $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
