# Developer and CI entry points. CI runs `.ci/run` (= `make test`) on a fresh machine with only
# python3 (3.11+), java 17, maven and make: everything else is installed by these targets
# (the venv here, Kafka's jars and redis-server by deploy/stack.sh when the tests start the stack).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
# Reinstall only when pyproject.toml changed since the last install (or the venv is new).
VENV_STAMP := $(VENV)/.vitals-installed

.PHONY: help venv test demo check stack-up stack-down stack-status stack-logs

help:
	@echo "make venv        create .venv and install vitals with test and dev extras"
	@echo "make test        make check, then the test suite (starts Kafka + Redis on test ports)"
	@echo "make demo        bring up the stack and stream a simulated demo"
	@echo "make check       ruff format --check, ruff check, mypy"
	@echo "make stack-up    start the local Kafka + Redis and create the topics"
	@echo "make stack-down  stop them (data is kept in .vitals/)"

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "make: $(PYTHON) is older than 3.11; run: make PYTHON=python3.11 ..." >&2; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[test,dev]'
	@touch $@

# The checks run first: CI (`.ci/run` = `make test`) fails on a lint or type error too.
test: check
	$(VENV)/bin/pytest

demo: venv
	$(VENV)/bin/vitals demo

check: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	@mkdir -p .mypy-src && ln -sfn ../services .mypy-src/vitals
	$(VENV)/bin/mypy

stack-up: venv
	$(VENV)/bin/vitals stack up

stack-down: venv
	$(VENV)/bin/vitals stack down

stack-status: venv
	$(VENV)/bin/vitals stack status

stack-logs: venv
	$(VENV)/bin/vitals stack logs
