# fxa-metrics: every entry point a newcomer, cron or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
STAMP := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export PYTHONPATH := $(CURDIR)/scripts

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

.PHONY: venv
venv: $(STAMP) ## create the virtualenv and install the pinned packages

.PHONY: bench-load
bench-load: venv ## loader lines/s vs DuckDB's own read_json/read_csv of the same files (~1M lines)
	$(PY) scripts/bench_load.py

.PHONY: daily
daily: ## cron: load LOGS=<folder>, dbt source freshness, dbt build; one summary line [TARGET=]
	@test -n "$(LOGS)" || { echo "usage: make daily LOGS=<folder> [TARGET=duckdb|postgres|redshift]" >&2; exit 2; }
	@$(PY) scripts/daily_run.py $(if $(TARGET),--target $(TARGET)) "$(LOGS)"
