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
# CPython 3.13, the runtime Lambda runs: it compiles the bytecode the build ships, and the unit and
# integration tiers run on it too (.venv-313). tools/find_python313.sh says where it looks.
PYTHON313 := $(shell PYTHON313="$(PYTHON313)" sh tools/find_python313.sh)
export PYTHON313
VENV313 := .venv-313
NO_PYTHON313 := CPython 3.13 (the Lambda runtime) was not found. Put a python3.13 that runs on PATH (Debian 13: apt-get install python3.13 python3.13-venv), or install it with pyenv (pyenv install 3.13), or set PYTHON313=/path/to/python3.13
ENV ?= staging
PYTEST_ARGS ?=
export AWS_DEFAULT_REGION ?= eu-west-1

.PHONY: help setup run test lint format validate build check-build unit integration test-313 e2e bench deploy clean

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- setup: pinned dependencies into virtualenvs (the SAM CLI and checkov pin their own deps) ---
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

# The same pins as .venv, on the runtime Lambda runs.
$(VENV313)/.installed: requirements/dev.txt layers/shared/requirements.txt $(VENV)/.installed
	@test -n "$(PYTHON313)" || { echo "make: $(NO_PYTHON313)" >&2; exit 1; }
	test -x $(VENV313)/bin/python || $(UV) venv --quiet --python "$(PYTHON313)" $(VENV313)
	$(UV) pip sync --quiet --python $(VENV313)/bin/python requirements/dev.txt
	printf '%s\n' "$(CURDIR)/layers/shared" "$(CURDIR)/tools" > "$$($(VENV313)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/backbone-dev.pth"
	touch $@

setup: $(VENV)/.installed $(SAM_VENV)/.installed $(SCAN_VENV)/.installed $(if $(PYTHON313),$(VENV313)/.installed) ## Install pinned dependencies (.venv, .venv-sam, .venv-scan, and .venv-313 where CPython 3.13 exists)

# --- run locally: the whole product on this machine (no AWS account, no Docker) ---
run: $(VENV)/.installed ## Set up and run the local stack in the foreground (Ctrl-C stops it)
	@# The simulator's orders predate the first crawl: locally the crawl starts in 2020, not at
	@# its first run (OrderCrawlStartDate, docs/key-orders.md).
	$(PY) -m devstack run --parameter OrderCrawlStartDate=2020-01-01 $(RUN_ARGS)

# --- checks ---
lint: setup ## ruff, mypy (strict on the layer), the layer's import contracts, cfn-lint, sam validate (plain and --lint), checkov; the template again with its options on
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# The one capability shape (docs/architecture.md): contracts in pyproject.toml.
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --template template.yaml
	$(SAM) validate --lint --template template.yaml
	@# Skipped checks and why: .checkov.yaml (all resources) and Metadata beside a resource.
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml
	@# The same checks with the options that are off by default turned on (OioiSnapStart).
	mkdir -p .aws-sam && $(PY) tools/template_variant.py template.yaml OioiSnapStart=true > .aws-sam/template-options-on.yaml
	$(VENV)/bin/cfn-lint .aws-sam/template-options-on.yaml
	$(SAM) validate --lint --template .aws-sam/template-options-on.yaml
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml --file .aws-sam/template-options-on.yaml

format: $(VENV)/.installed ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

build: setup ## sam build: layer and functions for python3.13/arm64 with cp313 bytecode, offline, no Docker
	@test -n "$(PYTHON313)" || { echo "make: $(NO_PYTHON313)" >&2; exit 1; }
	PIP="$(CURDIR)/$(PY) -m pip" $(SAM) build --template template.yaml
	$(PY) tools/check_build.py .aws-sam/build

unit: $(VENV)/.installed ## Unit tests only (no network, no AWS)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: $(VENV)/.installed ## Integration tests (moto in-process)
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-313: $(VENV313)/.installed ## Unit and integration tests on CPython 3.13 (the Lambda runtime) only
	$(VENV313)/bin/python -m pytest tests/unit tests/integration $(PYTEST_ARGS)

e2e: $(VENV)/.installed ## End-to-end tests against the local stack over real HTTP
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# Lint, build, the unit and e2e tiers on the dev venv's Python, and, where CPython 3.13 exists, the
# unit and integration tiers on it (.venv-313, the same pins), so code that breaks on the runtime
# Lambda runs cannot pass. The integration tier (moto, the handlers: the code Lambda runs) runs on
# 3.13 only. The e2e tier (the local stack runs the sources on the dev venv, not the build) and the
# 3.13 run start first, in the background, while lint, build and the unit tier run in the
# foreground: the tiers are independent, and the e2e tier mostly waits on its local stack, so the
# whole takes the longest tier, not the sum (numbers: docs/deployment.md, "Cold start and the
# runtime"; the e2e waits are sized for a machine at load 10). Each tier's output is printed whole
# when it ends. `make integration` still runs that tier on the dev venv.
test: setup ## Every check and test: lint, template validation, sam build, unit and e2e; unit and integration on CPython 3.13
	@set -u; tmp=$$(mktemp -d); pid=""; \
	py311="$$($(PY) -c 'import platform; print("CPython", platform.python_version())') ($(VENV))"; \
	echo "== tests/e2e on $$py311, in the background (the local stack runs from the sources, not the build)"; \
	$(PY) -m pytest tests/e2e -p no:cacheprovider --basetemp "$$tmp/basetemp-e2e" $(PYTEST_ARGS) > "$$tmp/e2e.log" 2>&1 & e2e=$$!; \
	if [ -n "$(PYTHON313)" ]; then \
		echo "== tests/unit and tests/integration on CPython 3.13 ($(VENV313)), in the background"; \
		$(VENV313)/bin/python -m pytest tests/unit tests/integration -p no:cacheprovider --basetemp "$$tmp/basetemp" $(PYTEST_ARGS) > "$$tmp/log" 2>&1 & pid=$$!; \
		tiers="tests/unit"; \
	else \
		echo "make: the tiers on CPython 3.13 are skipped, integration runs on the dev venv. $(NO_PYTHON313)" >&2; \
		tiers="tests/unit tests/integration"; \
	fi; \
	status=0; \
	$(MAKE) --no-print-directory lint build || status=$$?; \
	if [ $$status -eq 0 ]; then echo "== $$tiers on $$py311"; $(PY) -m pytest $$tiers $(PYTEST_ARGS) || status=$$?; fi; \
	if [ -n "$$pid" ]; then \
		status313=0; wait $$pid || status313=$$?; \
		echo "== tests/unit and tests/integration on CPython 3.13 ($(VENV313))"; cat "$$tmp/log"; \
		[ $$status -ne 0 ] || status=$$status313; \
	fi; \
	statuse2e=0; wait $$e2e || statuse2e=$$?; \
	echo "== tests/e2e on $$py311"; cat "$$tmp/e2e.log"; \
	[ $$status -ne 0 ] || status=$$statuse2e; \
	rm -rf "$$tmp"; exit $$status

bench: $(VENV)/.installed ## Benchmarks (on demand), printed as tables with ratios
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

deploy: build ## Deploy with samconfig.toml: make deploy ENV=dev|staging|production
	$(SAM) deploy --config-env $(ENV)

clean: ## Remove build output and caches (keeps the virtualenvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
