# Every target installs what it needs itself, on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
# `sam build` needs an interpreter matching the functions' runtime (python3.13) on PATH.
# The first candidate that really runs: a pyenv shim answers "command not found" when 3.13 is not the active
# version, and sam build then waits forever.
PY313 := $(shell for p in $$(command -v python3.13) /root/.pyenv/versions/3.13*/bin/python3.13; do \
	"$$p" --version >/dev/null 2>&1 && { echo "$$p"; break; }; done)

.PHONY: all demo test unit lint typecheck validate cfn-lint sam-validate asl-validate checkov sam-build bench bench-quick clean

all: test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed: tools/requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet -r tools/requirements-sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: tools/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r tools/requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python -m local.demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy layers/shared/stripe_aep functions local bench

cfn-lint: $(BIN)/.installed
	$(BIN)/cfn-lint template.yaml

sam-validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --template-file template.yaml --region us-east-1

# The ASL files hold ${Name} placeholders (MaxConcurrency is a bare number placeholder, so the raw files are not
# JSON): validate them after the same substitution CloudFormation applies (tools/render_asl.py).
asl-validate: node_modules/.installed $(BIN)/.installed
	rm -rf .aws-sam/asl
	$(BIN)/python tools/render_asl.py --out .aws-sam/asl >/dev/null
	for f in .aws-sam/asl/*.asl.json; do npx --no-install asl-validator --json-path "$$f" || exit 1; done

checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --quiet --compact --skip-download --framework cloudformation --file template.yaml

sam-build: $(SAM_VENV)/.installed
	@if [ -z "$(PY313)" ]; then echo "SKIPPED sam build: no python3.13 on this machine (the functions' runtime)"; \
	else PATH="$(dir $(PY313)):$$PATH" $(SAM_VENV)/bin/sam build --template-file template.yaml --build-dir .aws-sam/build >/dev/null && echo "sam build: OK"; fi

validate: cfn-lint sam-validate asl-validate checkov sam-build

unit: $(BIN)/.installed
	$(BIN)/pytest

test: lint typecheck validate unit

bench: $(BIN)/.installed
	$(BIN)/python -m bench.run

bench-quick: $(BIN)/.installed
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) node_modules .aws-sam .mypy_cache .ruff_cache .pytest_cache bench/results.json
