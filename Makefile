# liam-erd-schema: `make help` lists the targets.
# On a fresh machine `make sql` creates the virtual environment and generates the DDL;
# `make test` also installs the test tools (Debian packages, pinned Node packages) and runs
# every test against real engines.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.package-lock.json
N ?= 1000000
DB ?= db/battery.sqlite
FROM ?= HEAD

.PHONY: help sql db all diagrams docs serve test check bench lint setup clean migration

help: ## list the targets
	@echo "liam-erd-schema: schema.yaml -> DDL (PostgreSQL, SQLite, TimescaleDB, Liam ERD), diagrams, docs"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "  Variables: N=<samples> for bench (default $(N)); DB=<path> for db (default $(DB))"

$(VENV_STAMP): pyproject.toml
	@echo "==> creating the Python environment in $(VENV) (first run only)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test,docs,bench,ingest]"
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing the pinned Node tools (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

sql: $(VENV_STAMP) ## generate sql/<target>/schema.sql from schema.yaml
	@$(PY) -m generator sql

db: sql ## build a ready-to-use SQLite database (db/battery.sqlite, or DB=path)
	@$(PY) -m generator db --path $(DB)

diagrams: $(VENV_STAMP) ## generate the Graphviz ER diagrams under docs/diagrams/
	@$(PY) -m generator diagrams

all: $(VENV_STAMP) ## generate DDL, diagrams and documentation pages
	@$(PY) -m generator all

docs: $(VENV_STAMP) $(NODE_STAMP) ## build the documentation site into site/ (with the Liam ERD)
	@bash scripts/build-docs.sh

serve: docs ## preview the built site on http://127.0.0.1:8000
	@bash scripts/serve-docs.sh --built

setup: $(VENV_STAMP) ## install everything the tests need (Debian packages, Node tools)
	@bash scripts/setup-test-env.sh

test: setup ## run every test on real engines (SQLite, PostgreSQL 15 + 18, TimescaleDB, Liam, Chromium)
	@$(PY) -m pytest

migration: $(VENV_STAMP) ## write sql/<engine>/migrations/ for the schema.yaml change since FROM (NAME=what_changed)
	@test -n "$(NAME)" || { echo "usage: make migration NAME=what_changed [FROM=git-ref-or-file, default HEAD] [ALLOW_DESTRUCTIVE=1]" >&2; exit 2; }
	@$(PY) -m generator migrate --from "$(FROM)" --name "$(NAME)" $(if $(ALLOW_DESTRUCTIVE),--allow-destructive)

check: $(VENV_STAMP) ## fail if committed generated files differ from schema.yaml
	@$(PY) -m generator check

bench: $(VENV_STAMP) $(NODE_STAMP) ## benchmark the time-series table on every engine (N=samples)
	@$(PY) -m bench --n $(N)

lint: $(VENV_STAMP) ## ruff lint and format check
	@$(VENV)/bin/ruff check generator tests bench docs_hooks.py
	@$(VENV)/bin/ruff format --check generator tests bench docs_hooks.py

clean: ## remove the environment, node_modules and build output
	rm -rf $(VENV) node_modules site test-artifacts db
