# Two commands a user needs: `make up` (deploy the dev stack) and `make test`.
SHELL := /bin/bash
VENV ?= venv
PY := $(VENV)/bin/python
STACK ?= dev
PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state

.PHONY: venv test lint typecheck unit up preview destroy bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/pyright -p pyright.dev.json

# Every tier it can: lint, types, then unit · lifecycle · images · e2e.
test: lint typecheck
	$(VENV)/bin/pytest

unit: venv
	$(VENV)/bin/pytest tests/unit

# Log in to a local file backend unless one is configured, select/create the stack, converge it.
up preview destroy: venv
	@command -v pulumi >/dev/null || { echo "pulumi CLI not found: https://www.pulumi.com/docs/install/" >&2; exit 1; }
	@pulumi whoami >/dev/null 2>&1 || { mkdir -p .pulumi-state && pulumi login "$(PULUMI_BACKEND_URL)"; }
	@pulumi stack select --create $(STACK) >/dev/null
	pulumi $@ --stack $(STACK) $(if $(filter up destroy,$@),--yes,)
