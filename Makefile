# nixfleet: `make demo` deploys the lab fleet; `make test` runs the whole suite (as CI does).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYINFRA := $(BIN)/pyinfra

.PHONY: setup machine venv demo test lint unit check vagrant-validate lab-test infra dry-run plan \
	lab-up lab-down lab-status clean bench

setup: machine venv

machine:
	@lab/bin/setup-machine

venv: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

## demo: start the five-host lab, deploy it in parallel, deploy again (nothing changes), verify.
demo: setup
	$(BIN)/nixfleet lab up
	$(PYINFRA) -y inventory/lab.py deploys/all.py
	$(PYINFRA) -y inventory/lab.py deploys/all.py
	$(PYINFRA) -y inventory/lab.py deploys/verify.py

## test: lint, types, unit tests, the offline flake check, vagrant validate, then the lab
## end-to-end tests (they start and stop the lab; they include the infra suite and the dry-run).
test: setup lint unit check vagrant-validate lab-test

lint: venv
	$(BIN)/shellcheck -S warning -s bash nixfleet/probes/*.sh nixfleet/areas/*.sh nixfleet/switch/*.sh
	$(BIN)/shellcheck -S warning lab/bin/host-boot lab/bin/nixos-rebuild lab/bin/legacy/nixos-rebuild \
		lab/bin/setup-machine lab/flake/lib/bin/* lab/flake/lib/*.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/deptry .

unit: venv
	$(BIN)/pytest -q tests/unit nixfleet facts operations

## check: offline, every host of inventory/home.py maps to an output of the lab flake that evaluates.
check: venv
	$(BIN)/nixfleet check -i inventory/home.py --flake lab/flake

vagrant-validate:
	vagrant validate --ignore-provider
	VAGRANT_DEFAULT_PROVIDER=libvirt vagrant validate

lab-test: setup
	$(BIN)/pytest -q tests/lab

## infra: the testinfra suite against the running lab (make lab-up && make demo first).
infra: venv
	$(BIN)/pytest -q tests/infra --ssh-config=.lab/ssh_config

## dry-run: what a deploy to the running lab would change (pyinfra --dry --json), saved as JSON.
dry-run: venv
	$(BIN)/nixfleet dry-run -i inventory/lab.py

plan: venv
	$(BIN)/nixfleet plan -i inventory/lab.py

lab-up: setup
	$(BIN)/nixfleet lab up

lab-down: venv
	$(BIN)/nixfleet lab down

lab-status: venv
	$(BIN)/nixfleet lab status

clean: lab-down
	rm -rf .lab .fleet

## bench: nixfleet vs a sequential loop vs the raw parallel limit, 5/20/50 hosts (long; not in test).
bench: setup
	$(BIN)/python bench/run.py
