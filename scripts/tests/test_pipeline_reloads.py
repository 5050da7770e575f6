"""Idempotency and order independence of the whole pipeline (docs/data-contract.md#the-guarantee).

A cron that reruns, an operator who reloads a folder, a `--force` after a fix, files arriving
in any order with builds in between: the warehouse must end where one clean load and one clean
build of the same files ends. The messy history here, on one warehouse:

1. half of the files, in an order shuffled by the seed, loaded in two batches with a build
   after each (file-by-file shuffles are `test_pipeline_order.py`'s);
2. the same files again (all skipped: the ledger already has them);
3. two of them again with `--force` (their rows replaced), build;
4. the other half at once, build;
5. every file with `--force`, build.

Then: the raw tables equal those of one clean load (but for load times), the five spec tables
equal those of one clean build on a second warehouse (but for `_loaded_at`, which is a load
time), and they also equal a `--full-refresh` of the same warehouse, every column included.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import SCRIPTS, Warehouse, generate_logs, log_files, scratch_warehouse

pytestmark = pytest.mark.integration

SPEC_TABLES = (
    "flow_events",
    "flow_metadata",
    "activity_events",
    "daily_activity_per_device",
    "daily_multi_device_users",
)
RAW_TABLES = ("flow_events", "activity_events", "rejected_lines", "load_ledger")
LOAD_TIMES = {"loaded_at", "_loaded_at"}
SEED = 29

TARGETS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def load(warehouse: Warehouse, *args: str | Path) -> str:
    """scripts/load_events.py with arguments (files, `--force`); returns its stdout."""
    command = [sys.executable, str(SCRIPTS / "load_events.py"), "--target", warehouse.target]
    done = subprocess.run(
        [*command, *map(str, args)],
        env={**os.environ, **warehouse.env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def build(warehouse: Warehouse, *extra: str) -> None:
    warehouse.dbt("run", "--select", *(f"+{table}" for table in SPEC_TABLES), *extra)


def rows_without_load_times(warehouse: Warehouse, table: str, schema: str) -> list[tuple]:
    """The rows of `schema.table` without its load-time columns, sorted."""
    columns = [name for name in _columns(warehouse, table, schema) if name not in LOAD_TIMES]
    select = ", ".join(f'"{name}"' for name in columns)
    return sorted(_fetch(warehouse, f'select {select} from "{schema}"."{table}"'), key=repr)


def _columns(warehouse: Warehouse, table: str, schema: str) -> list[str]:
    sql = (
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    return [row[0] for row in _fetch(warehouse, sql)]


def _fetch(warehouse: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    if warehouse.target == "duckdb":
        import duckdb

        with duckdb.connect(warehouse.env["FXA_DUCKDB_PATH"], read_only=True) as connection:
            return connection.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(dbname=warehouse.env["PGDATABASE"]) as connection:
        return connection.execute(sql).fetchall()  # type: ignore[arg-type]


def state(warehouse: Warehouse) -> dict[str, list[tuple]]:
    out = {f"raw.{t}": rows_without_load_times(warehouse, t, "raw") for t in RAW_TABLES}
    for table in SPEC_TABLES:
        out[f"analytics.{table}"] = rows_without_load_times(warehouse, table, "analytics")
    return out


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("reload-logs") / "logs"
    generate_logs(out, seed=SEED, days=3, flows_per_day=150, legacy_days=1)
    return log_files(out)


@pytest.mark.parametrize("target", TARGETS)
def test_reloads_forced_reloads_and_shuffled_builds_equal_one_clean_build(
    target: str, logs: list[Path], tmp_path: Path
) -> None:
    assert len(logs) >= 6, logs
    (tmp_path / "clean").mkdir()
    (tmp_path / "messy").mkdir()
    with scratch_warehouse(target, tmp_path / "clean") as clean:
        load(clean, *logs)
        build(clean)
        expected = state(clean)
    assert all(expected[f"analytics.{t}"] for t in SPEC_TABLES), "nothing to compare"

    order = list(logs)
    random.Random(SEED).shuffle(order)
    first, second = order[: len(order) // 2], order[len(order) // 2 :]
    with scratch_warehouse(target, tmp_path / "messy") as messy:
        for batch in (first[:2], first[2:]):  # 1
            load(messy, *batch)
            build(messy)
        out = load(messy, *first)  # 2
        assert out.count(": skipped: already loaded") == len(first), out
        load(messy, "--force", *first[:2])  # 3
        build(messy)
        load(messy, *second)  # 4
        build(messy)
        load(messy, "--force", *order)  # 5
        build(messy)
        got = state(messy)
        incremental = {t: messy.rows(t) for t in SPEC_TABLES}
        build(messy, "--full-refresh")
        full = {t: messy.rows(t) for t in SPEC_TABLES}

    for name, rows in expected.items():
        assert got[name] == rows, f"{name}: {len(got[name])} rows vs {len(rows)} in a clean run"
    for table in SPEC_TABLES:
        assert incremental[table] == full[table], f"{table} differs from its full refresh"
