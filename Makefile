# liam-erd-schema: `make help` lists the targets.
# On a fresh machine `make sql` creates the virtual environment with the generator's own
# dependencies only and generates the DDL. The other targets add what they need when they need
# it: `make test` the test extra, the Debian packages and the pinned Node tools; `make docs` the
# docs extra, Graphviz and the Node tools; `make bench` the bench extra and the engines.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# One stamp per install step, so any order of targets works (make sql, then make test; or
# make test first). An extra is declared in pyproject.toml under optional-dependencies and
# installed by the stamp rule $(VENV)/.extra-<name>; a new extra needs no new rule.
CORE := $(VENV)/.core
extra = $(VENV)/.extra-$(1)
# Debian packages and Node tools per job: scripts/setup-test-env.sh --for <job>.
setup-for = bash scripts/setup-test-env.sh --for $(1)
N ?= 1000000
DB ?= db/battery.sqlite
FROM ?= HEAD

.PHONY: help sql db all diagrams docs serve test test-fast check bench lint setup clean migration ingest derive export demo
# The install steps share one .venv: never run two pip installs into it at once (make -j).
.NOTPARALLEL:

help: ## list the targets
	@echo "liam-erd-schema: schema.yaml -> DDL (PostgreSQL, SQLite, TimescaleDB, Liam ERD, ClickHouse), diagrams, docs"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "  Variables: N=<samples> for bench (default $(N)); DB=<path> for db (default $(DB))"

# The generator and its own dependencies only (no extras): what `make sql` needs.
$(CORE): pyproject.toml
	@echo "==> creating the Python environment in $(VENV) (generator only)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet -e .
	@touch $@

# An extra of pyproject.toml (test, docs, bench, ...), added to the environment on first use.
$(VENV)/.extra-%: $(CORE)
	@echo "==> adding the '$*' extra to $(VENV)"
	@$(PIP) install --quiet -e ".[$*]"
	@touch $@

sql: $(CORE) ## generate sql/<target>/schema.sql from schema.yaml
	@$(PY) -m generator sql

db: sql ## build a ready-to-use SQLite database (db/battery.sqlite, or DB=path)
	@$(PY) -m generator db --path $(DB)

diagrams: $(CORE) ## generate the Graphviz ER diagrams under docs/diagrams/
	@$(call setup-for,graphviz)
	@$(PY) -m generator diagrams

all: $(CORE) ## generate DDL, diagrams and documentation pages
	@$(call setup-for,graphviz)
	@$(PY) -m generator all

docs: $(call extra,docs) ## build the documentation site into site/ (with the Liam ERD)
	@$(call setup-for,docs)
	@bash scripts/build-docs.sh

serve: docs ## preview the built site on http://127.0.0.1:8000
	@bash scripts/serve-docs.sh --built

# The tests build the site too (tests/docs/test_site_browser.py), so they need the docs extra.
setup: $(call extra,test) $(call extra,docs) ## install everything the tests need (Python extras, Debian packages, Node tools)
	@$(call setup-for,test)

# Two workers (pytest-xdist; TEST_WORKERS=0 runs in this process, for a debugger): each starts
# its own engines; a module, and the modules reading one demo database, stay on one worker
# (tests/conftest.py: worker_group).
TEST_WORKERS ?= 2
test: setup ## run every test on real engines (SQLite, PostgreSQL 15 + 18, TimescaleDB, Liam, Chromium)
	@$(PY) -m pytest -n $(TEST_WORKERS)

# The edit-test loop, on the same workers: no engine (a test that starts one fails, naming the
# `engines` marker it lacks: tests/conftest.py), no long corpus, fuzzer or build (`slow`).
test-fast: setup ## run the quick tests only: no engine, nothing marked slow (under a minute)
	@LIAM_ERD_SCHEMA_NO_ENGINES=1 $(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow and not engines"

migration: $(CORE) ## write sql/<engine>/migrations/ for the schema.yaml change since FROM (NAME=what_changed)
	@test -n "$(NAME)" || { echo "usage: make migration NAME=what_changed [FROM=git-ref-or-file, default HEAD] [ALLOW_DESTRUCTIVE=1] [TWO_STEP=1]" >&2; exit 2; }
	@$(PY) -m generator migrate --from "$(FROM)" --name "$(NAME)" $(if $(ALLOW_DESTRUCTIVE),--allow-destructive) $(if $(TWO_STEP),--two-step)

ingest: $(call extra,ingest) ## set up the BDF CSV loader and show its help (python -m ingest, installed: liam-erd-schema ingest; docs/loading.md)
	@$(PY) -m ingest --help

derive: $(call extra,ingest) ## set up the derivations and show their help (python -m derive, installed: liam-erd-schema derive; docs/deriving.md)
	@$(PY) -m derive --help

export: $(call extra,export) ## set up the training-set export and the predictions import, show their help (docs/modelling.md)
	@$(PY) -m export --help
	@$(PY) -m predictions --help

demo: $(call extra,ingest) ## fill db/battery.sqlite (or DB=postgresql://...) from the shipped demo data (data/demo/)
	@$(PY) -m demo $(if $(filter-out db/battery.sqlite,$(DB)),--db '$(DB)') >/dev/null

check: $(CORE) ## fail if committed generated files differ from schema.yaml
	@$(call setup-for,graphviz)
	@$(PY) -m generator check

bench: $(call extra,bench) ## benchmark the time-series table on every engine, then ClickHouse (N=samples)
	@$(call setup-for,bench)
	@$(PY) -m bench.ingest --n $(N) --out bench/ingest-results.json
	@$(PY) -m bench.sidebyside  # the loader beside pandas, the engine alone; vendor readers beside BDF
	@$(PY) -m bench --n $(N)
	@$(PY) -m bench.clickhouse --n $(N) --out bench/clickhouse-results.json
	@$(PY) -m bench.export  # the training-set export beside pandas.read_sql (bench/export-results.json)
	@$(PY) -m bench.derive --n $(N)  # derive beside pandas and BEEP (bench/derive-results.json; BEEP in a /tmp venv)
	@$(MAKE) --no-print-directory $(LINKML)
	@$(PY) -m bench.startup  # generator start-up beside LinkML (bench/startup-results.json)
	@$(PY) -m bench.report  # the page again, with the start-up section just measured

# LinkML for the start-up comparison (bench/startup.py), in an environment of its own: in .venv
# its extra packages would slow the generator it is compared with (see bench/startup.py).
LINKML := .venv-linkml/.installed
$(LINKML): bench/linkml/requirements.txt
	@echo "==> creating .venv-linkml (LinkML, pinned in $<)"
	@test -x .venv-linkml/bin/python || $(PYTHON) -m venv .venv-linkml
	@.venv-linkml/bin/python -m pip --disable-pip-version-check install --quiet -r $<
	@touch $@

PY_SOURCES := generator connection ingest derive export predictions liam_erd_schema demo harness \
	bench tests \
	docs_hooks.py scripts/hatch_build.py
lint: $(call extra,test) ## ruff lint and format check; the rooms' import directions, no circles
	@$(VENV)/bin/ruff check $(PY_SOURCES)
	@$(VENV)/bin/ruff format --check $(PY_SOURCES)
	@$(VENV)/bin/lint-imports --no-cache --no-logo  # contracts: pyproject.toml [tool.importlinter]

clean: ## remove the environment, node_modules and build output
	rm -rf $(VENV) .venv-linkml node_modules site test-artifacts db
