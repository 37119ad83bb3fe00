# ReadyCheck: one entry point for setup, tests and the local stack.
# Every target that needs Python or Node creates the environment itself.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CHECKOV_VENV := .tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install system-deps lint test test-unit template audit demo up down clean

# The version check runs before any venv is made: an unsupported Python stops here, by name.
$(PY_STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) scripts/python_version.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov pins its own dependency tree, so it lives in a venv of its own.
$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) scripts/python_version.py
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

install: $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) system-deps

# LibreOffice and poppler let the report and template tests open files the way a person would.
# On CI (root, CI=true) they are installed from Debian's packages when missing; elsewhere those
# tests skip with the reason. A failed install only means those checks skip.
system-deps:
	@if [ "$${CI:-}" = "true" ] && [ "$$(id -u)" = "0" ] && ! command -v soffice >/dev/null; then \
		echo "installing LibreOffice and poppler for the document checks"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils >/dev/null) \
			|| echo "warning: LibreOffice could not be installed; its checks will skip"; \
	fi

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared devstack bench samples scripts blueprints bootstrap.py readycheck_cli tests function_app.py
	$(BIN)/lint-imports

## The test command: installs everything, lints, type-checks, then runs every tier.
## Services (Azurite, the Service Bus emulator, the local host) are started and
## stopped by the tests' own fixtures on free ports.
test: install lint audit
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" CHECKOV="$(CURDIR)/$(CHECKOV_VENV)/bin/checkov" \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: $(PY_STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

## Known vulnerabilities in any pinned package (the full lock, constraints.txt) fail the build. Not
## --strict: versions PyPI's advisory API does not list (private mirrors) are reported, not fatal.
audit: $(PY_STAMP)
	$(BIN)/pip-audit --progress-spinner off --no-deps --disable-pip -r constraints.txt

template: $(PY_STAMP)
	$(BIN)/readycheck template --out answer-sheet-template.xlsx

## Sample workbooks: three fictional candidates (filled templates) and a 20-respondent
## Microsoft Forms export, rebuilt by samples/build.py.
SAMPLE_FILES := $(addprefix samples/,candidate-amara-okafor.xlsx candidate-ben-carter.xlsx \
	candidate-chen-wei.xlsx ms-forms-cohort.xlsx)
.PHONY: samples grade
samples: $(PY_STAMP)
	$(PY) -m samples.build

## The main job: grade every sample (built if missing) into out/<workbook>/, one report per
## candidate plus summary.json. Exit status 1 (graded with problems) does not stop the run.
grade: $(PY_STAMP)
	@for f in $(SAMPLE_FILES); do [ -f "$$f" ] || { $(PY) -m samples.build; break; }; done
	@for f in $(SAMPLE_FILES); do \
		$(BIN)/readycheck grade "$$f" --out "out/$$(basename "$$f" .xlsx)" || [ $$? -eq 1 ] || exit 2; \
	done
	@echo "reports: out/<workbook>/*.docx, one per candidate; summaries: out/<workbook>/summary.json"

## Benchmarks of every stage against their baselines (never part of `make test`); BENCH_ARGS=--quick
## for a smoke run. Writes bench/results.json, bench/results.md and bench/pipeline.png.
.PHONY: bench
bench: $(PY_STAMP) $(NODE_STAMP)
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(PY) -m bench $(BENCH_ARGS)

## Agreement of the open-answer grader with the examiner's hand grades (tests/validity/): quadratic
## weighted kappa, exact/adjacent agreement, critical errors not routed to review and the review rate,
## on the held-out split and on all answers, with a table per kind of answer.
.PHONY: validity
validity: $(PY_STAMP)
	$(PY) -m bench.validity

## The pipeline demo on the local stack: stack up, samples through both upload paths (HTTP and blob),
## progress until graded, reports and today's digest into out/demo/, a summary table, stack down.
demo: $(PY_STAMP) $(NODE_STAMP)
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(PY) -m scripts.demo

## The local stack: Azurite, the Service Bus emulator and the app on the local host (FUNC=1: func start).
up: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m devstack.stack up --port-env-prefix READYCHECK \
		--servicebus-config infra/local/servicebus-config.json $(if $(FUNC),--func,)

down: $(PY_STAMP)
	$(PY) -m devstack.stack down

clean:
	rm -rf $(VENV) .tools node_modules .devstack out .pytest_cache .mypy_cache .ruff_cache readycheck.egg-info
