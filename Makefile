# nixfleet: `make demo` deploys the lab fleet; `make test` runs the whole suite (as CI does).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYINFRA := $(BIN)/pyinfra

.PHONY: setup machine venv demo test lint unit lab-test lab-up lab-down lab-status clean

setup: machine venv

machine:
	@lab/bin/setup-machine

venv: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## demo: start the five-host lab, deploy it in parallel, deploy again (nothing changes), verify.
demo: setup
	$(BIN)/nixfleet lab up
	$(PYINFRA) -y inventory/lab.py deploys/all.py
	$(PYINFRA) -y inventory/lab.py deploys/all.py
	$(PYINFRA) -y inventory/lab.py deploys/verify.py

## test: lint, types, unit tests, then the lab end-to-end tests (they start and stop the lab).
test: setup lint unit lab-test

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q tests/unit nixfleet facts operations

lab-test: setup
	$(BIN)/pytest -q tests/lab

lab-up: setup
	$(BIN)/nixfleet lab up

lab-down: venv
	$(BIN)/nixfleet lab down

lab-status: venv
	$(BIN)/nixfleet lab status

clean: lab-down
	rm -rf .lab .fleet
