# One way to do each task. CI calls `make test` (see .ci/run).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV := .venv
SAM_VENV := .venv-sam
SCAN_VENV := .venv-scan
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
SAM := $(SAM_VENV)/bin/sam
ENV ?= staging
PYTEST_ARGS ?=
export AWS_DEFAULT_REGION ?= eu-west-1

.PHONY: help setup run test lint format validate build check-build unit integration e2e bench deploy clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- setup: pinned dependencies into three virtualenvs (the SAM CLI and checkov pin their own deps) ---
$(VENV)/.installed: requirements/dev.txt layers/shared/requirements.txt
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(UV) pip sync --quiet --python $(PY) requirements/dev.txt
	@# The operator CLI (bbctl), the local stack and the simulator import `backbone` and live in
	@# tools/: make both importable from the venv, as the layer is on Lambda.
	printf '%s\n' "$(CURDIR)/layers/shared" "$(CURDIR)/tools" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/backbone-dev.pth"
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt $(VENV)/.installed
	test -x $(SAM_VENV)/bin/python || $(UV) venv --quiet --python $(PY) $(SAM_VENV)
	$(UV) pip sync --quiet --python $(SAM_VENV)/bin/python requirements/sam.txt
	touch $@

$(SCAN_VENV)/.installed: requirements/scan.txt $(VENV)/.installed
	test -x $(SCAN_VENV)/bin/python || $(UV) venv --quiet --python $(PY) $(SCAN_VENV)
	$(UV) pip sync --quiet --python $(SCAN_VENV)/bin/python requirements/scan.txt
	touch $@

setup: $(VENV)/.installed $(SAM_VENV)/.installed $(SCAN_VENV)/.installed ## Install pinned dependencies (.venv, .venv-sam, .venv-scan)

# --- run locally: the whole product on this machine (no AWS account, no Docker) ---
run: $(VENV)/.installed ## Set up and run the local stack in the foreground (Ctrl-C stops it)
	@# The simulator's orders predate the first crawl: locally the crawl starts in 2020, not at
	@# its first run (OrderCrawlStartDate, docs/key-orders.md).
	$(PY) -m devstack run --parameter OrderCrawlStartDate=2020-01-01 $(RUN_ARGS)

# --- checks ---
lint: setup ## ruff, mypy (strict on the layer), cfn-lint, sam validate (plain and --lint), checkov
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --template template.yaml
	$(SAM) validate --lint --template template.yaml
	@# Skipped checks and why: .checkov.yaml (all resources) and Metadata beside a resource.
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml

format: $(VENV)/.installed ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

build: setup ## sam build: layer and functions for python3.13/arm64, offline, no Docker
	PIP="$(CURDIR)/$(PY) -m pip" $(SAM) build --template template.yaml
	$(PY) tools/check_build.py .aws-sam/build

unit: $(VENV)/.installed ## Unit tests only (no network, no AWS)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: $(VENV)/.installed ## Integration tests (moto in-process)
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

e2e: $(VENV)/.installed ## End-to-end tests against the local stack over real HTTP
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

test: lint build ## Every check and test: lint, template validation, sam build, all test tiers
	$(PY) -m pytest tests $(PYTEST_ARGS)

bench: $(VENV)/.installed ## Benchmarks (on demand), printed as tables with ratios
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

deploy: build ## Deploy with samconfig.toml: make deploy ENV=dev|staging|production
	$(SAM) deploy --config-env $(ENV)

clean: ## Remove build output and caches (keeps the virtualenvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
