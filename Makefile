# fxa-metrics: every entry point a newcomer, cron or CI needs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
STAMP := $(VENV)/.installed

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export PYTHONPATH := $(CURDIR)/scripts

# `make demo` works in data/demo and the default DuckDB file of the duckdb target. Five weeks
# of logs, so that the 28-day windows (MAU, days active) have full-window days and the first
# sign-up cohorts have all three retention weeks; fewer flows a day than the generator's
# default keep the whole demo within two minutes.
DEMO_LOGS := data/demo
DEMO_DAYS := 35
DEMO_FLOWS_PER_DAY := 1000
DEMO_DB := $(CURDIR)/fxa_metrics.duckdb
# Demo only: the key that HMACs the uids of the generated sample logs. Production sets its own
# secret FXA_METRICS_UID_HMAC_KEY in the environment (never in a file); an exported value wins.
DEMO_UID_HMAC_KEY := fxa-metrics-demo-key-not-a-secret
# SQL folders sqlfluff lints (those that exist).
SQL_DIRS := $(wildcard models macros tests analyses)

# Variables that `make help` shows by value where a target's comment names them as $(NAME).
HELP_VARS := DOCS_PORT

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
		| awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}' \
		| sed $(foreach v,$(HELP_VARS),-e 's|\$$($(v))|$($(v))|g')

$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

.PHONY: venv
venv: $(STAMP) ## create the virtualenv and install the pinned packages

.PHONY: demo
demo: export FXA_METRICS_UID_HMAC_KEY ?= $(DEMO_UID_HMAC_KEY)
demo: export FXA_DUCKDB_PATH := $(DEMO_DB)
demo: $(STAMP) ## generate 5 weeks of sample logs, load them, dbt build on DuckDB, KPI summary and report
	$(PY) scripts/generate_events.py --out $(DEMO_LOGS) --days $(DEMO_DAYS) \
		--flows-per-day $(DEMO_FLOWS_PER_DAY)
	$(PY) scripts/load_events.py --target duckdb $(DEMO_LOGS)
	$(PY) scripts/build.py --target duckdb
	$(PY) scripts/kpi_summary.py --database $(DEMO_DB)
	$(PY) scripts/report.py --target duckdb

# `make build`: dbt build under the build lock (scripts/build.py): one build at a time per
# warehouse and no load committed during it; `dbt seed` and `dbt run --empty` first on a fresh
# warehouse. WAIT=<seconds> a running build is waited for (default 600; 0: stop at once, exit
# 75); ARGS go to dbt build as they are.
.PHONY: build
build: $(STAMP) ## dbt build under the build lock (seeds and empty models first on a fresh warehouse) [TARGET= WAIT= ARGS=]
	$(PY) scripts/build.py $(if $(TARGET),--target $(TARGET)) $(if $(WAIT),--wait $(WAIT)) $(ARGS)

.PHONY: report
report: $(STAMP) ## KPI report: one static HTML file (inline SVG charts) in artifacts/ [TARGET=]
	$(PY) scripts/report.py $(if $(TARGET),--target $(TARGET))

# pytest-xdist workers of `make pytest` / `make pytest-fast` (0: no worker processes), and
# sqlfluff's processes (`make test` and `make test-fast` run sqlfluff beside pytest, with one).
PYTEST_WORKERS ?= 2
SQLFLUFF_PROCESSES ?= 2
PYTEST := $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup
STATIC_CHECKS_LOG := scratch/static-checks.log
# pytest's output (also shown live), from which the last line says what was skipped and why
# (scripts/pytest_skips.py; pytest runs with -rs, which lists the skip reasons).
PYTEST_LOG := scratch/pytest.log
PYTEST_FAST_LOG := scratch/pytest-fast.log
SKIPPED = $$($(PY) scripts/pytest_skips.py $(1))

# `make test` runs the static checks (lint, the Redshift check) in the background while pytest
# runs in the foreground, its output live: pytest leaves a core idle at times (waiting on
# Postgres, its last tests), which they fill. Their output follows pytest's; either failing
# fails the target.
.PHONY: test
test: $(STAMP) ## every check CI runs: lint, the Redshift check, all of pytest (DuckDB and Postgres)
	@mkdir -p scratch
	@echo "lint and redshift-check run in the background (output after pytest's)"
	@$(MAKE) --no-print-directory -j 2 --output-sync=target SQLFLUFF_PROCESSES=1 \
		lint redshift-check > $(STATIC_CHECKS_LOG) 2>&1 & static=$$!; \
	pytest_status=0; $(MAKE) --no-print-directory pytest || pytest_status=$$?; \
	static_status=0; wait $$static || static_status=$$?; \
	echo "--- lint and redshift-check (exit $$static_status) ---"; cat $(STATIC_CHECKS_LOG); \
	if [ $$pytest_status -ne 0 ] || [ $$static_status -ne 0 ]; then \
		echo "make test: FAILED (pytest exit $$pytest_status, static checks exit $$static_status; $(call SKIPPED,$(PYTEST_LOG)))"; \
		exit 1; \
	fi
	@echo "make test: all checks passed ($(call SKIPPED,$(PYTEST_LOG)))"

.PHONY: test-fast
test-fast: $(STAMP) ## the fast tier (under a minute): lint and the tests that build no warehouse, side by side
	$(MAKE) --no-print-directory -j 4 --output-sync=target SQLFLUFF_PROCESSES=1 lint pytest-fast
	@echo "make test-fast: all checks passed ($(call SKIPPED,$(PYTEST_FAST_LOG)))"

.PHONY: lint lint-python lint-sql lint-references
lint: lint-python lint-sql lint-references ## ruff (lint + format check), sqlfluff on the SQL, no references to documents outside the repo

lint-python: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lint-sql: $(STAMP)
	mkdir -p scratch
	FXA_DUCKDB_PATH=$(CURDIR)/scratch/lint.duckdb $(VENV)/bin/sqlfluff lint --processes $(SQLFLUFF_PROCESSES) $(SQL_DIRS)

lint-references: $(STAMP)
	$(PY) scripts/check_references.py

.PHONY: pytest
pytest: $(STAMP) ## every Python test, dbt builds included (Postgres ones skip without PG* variables; the last line says what was skipped)
	@mkdir -p $(dir $(PYTEST_LOG))
	$(PYTEST) -rs --durations=15 2>&1 | tee $(PYTEST_LOG)
	@echo "make pytest: passed ($(call SKIPPED,$(PYTEST_LOG)))"

.PHONY: pytest-fast
pytest-fast: $(STAMP) ## the tests not marked integration: parsers, rules, HMAC, helpers, dbt parse, docs coverage
	@mkdir -p $(dir $(PYTEST_FAST_LOG))
	$(PYTEST) -rs -m "not integration" --hypothesis-profile=fast 2>&1 | tee $(PYTEST_FAST_LOG)
	@echo "make pytest-fast: passed ($(call SKIPPED,$(PYTEST_FAST_LOG)))"

.PHONY: redshift-check
redshift-check: $(STAMP) ## compile every model and analysis, and render every metric, for Redshift offline; parse it with sqlfluff
	$(PY) scripts/check_redshift_sql.py

.PHONY: clean
clean: ## remove build output, scratch databases and demo logs (keeps .venv and fxa_metrics.duckdb)
	rm -rf target dbt_packages logs scratch $(DEMO_LOGS) .pytest_cache .ruff_cache .hypothesis

.PHONY: bench-load
bench-load: $(STAMP) ## loader lines/s vs DuckDB's own read_json/read_csv of the same files (~1M lines)
	$(PY) scripts/bench_load.py

# --- docs site -------------------------------------------------------------------------
DOCS_PORT ?= 8080

.PHONY: docs
docs: $(STAMP) ## generate the dbt docs site into target/ (needs a built warehouse for the catalog)
	$(DBT) docs generate

.PHONY: docs-serve
docs-serve: docs ## serve the docs site on http://127.0.0.1:$(DOCS_PORT) (Ctrl-C to stop)
	$(DBT) docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

# --- semantic layer -------------------------------------------------------------------
# M=<metric>[,<metric>...] BY=<group-by>[,...] (default metric_time__day), START=/END= (YYYY-MM-DD;
# default the 28 days up to the latest day with data), TARGET=, SQL=1 prints the SQL (for
# Redash) instead of running it. docs/metrics.md lists the metrics.
.PHONY: metrics
metrics: $(STAMP) ## query a KPI of the semantic layer: M=<metrics> BY=<dimensions> [START= END= TARGET= SQL=1]; without M, the list
	@$(PY) scripts/metrics.py $(if $(M),--metrics "$(M)",--list) $(if $(BY),--by "$(BY)") \
		$(if $(START),--start "$(START)") $(if $(END),--end "$(END)") \
		$(if $(TARGET),--target "$(TARGET)") $(if $(filter-out 0,$(SQL)),--sql)

# --- daily cron run ----------------------------------------------------------------------
# Optional: FULL_REFRESH=1, VARS='<yaml>' (dbt --vars), SELECT='<spec>' (dbt build --select),
# TARGET_PATH=<dir> (dbt's artifacts; else $DBT_TARGET_PATH, else target/), LOG_FILE=<file>.
# The values reach the script through the environment, so that quotes and spaces in them
# (YAML, selection specs) need no escaping here.
.PHONY: daily
daily: export DAILY_LOGS := $(LOGS)
daily: export DAILY_VARS := $(VARS)
daily: export DAILY_SELECT := $(SELECT)
daily: export DAILY_TARGET_PATH := $(TARGET_PATH)
daily: export DAILY_LOG_FILE := $(LOG_FILE)
daily: ## cron: load LOGS=<folder>, dbt source freshness, dbt build; one summary line [TARGET= FULL_REFRESH=1 VARS= SELECT= TARGET_PATH= LOG_FILE=]
	@test -n "$$DAILY_LOGS" || { echo "usage: make daily LOGS=<folder> [TARGET=duckdb|postgres|redshift] [FULL_REFRESH=1] [VARS='<yaml>'] [SELECT='<spec>'] [TARGET_PATH=<dir>] [LOG_FILE=<file>]" >&2; exit 2; }
	@$(PY) scripts/daily_run.py $(if $(TARGET),--target $(TARGET)) \
		$(if $(filter-out 0,$(FULL_REFRESH)),--full-refresh) \
		$(if $(VARS),--vars "$$DAILY_VARS") \
		$(if $(SELECT),--select "$$DAILY_SELECT") \
		$(if $(TARGET_PATH),--target-path "$$DAILY_TARGET_PATH") \
		$(if $(LOG_FILE),--log-file "$$DAILY_LOG_FILE") \
		"$$DAILY_LOGS"

# --- performance -------------------------------------------------------------------------
.PHONY: bench
bench: $(STAMP) ## pipeline vs its floors: load, full build, incremental day, RSS [ARGS='--days 7 --flows-per-day 50000']
	$(PY) scripts/bench_pipeline.py $(ARGS)
