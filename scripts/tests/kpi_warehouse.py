"""A small scratch warehouse for the KPI, analyses and docs tests.

Builds the raw tables from `fxa_pipeline.raw_schema`, fills them with a hand-made fixture of
three days (flows going through the funnel step by step, completions, users on one or two
devices), then runs `dbt seed` and `dbt run` into a database that is never the one you work
in (a DuckDB file under the test's temporary folder, or a throwaway Postgres database), with
its own dbt target path so that the worktree's `target/` is left alone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fxa_pipeline.raw_schema import RAW_TABLES, create_all_sql, quote

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = str(Path(sys.executable).with_name("dbt"))
DAYS = (datetime(2017, 3, 1), datetime(2017, 3, 2), datetime(2017, 3, 3))
LOADED_AT = datetime(2017, 3, 4, 6, 0, 0)
# Each day has nine flows; flow i logs the first 9 - i events of its path, so flow 0 completes
# and flow 8 only begins (the expectations are worked out in test_analyses.py).
FLOWS_PER_DAY = 9


def hex_id(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _flow_rows() -> list[tuple[Any, ...]]:
    """Raw flow events: per day, flow i reaches fewer steps as i grows (a falling funnel)."""
    rows: list[dict[str, Any]] = []
    for day in DAYS:
        for i in range(FLOWS_PER_DAY):
            flow_id = hex_id(f"flow-{day:%Y%m%d}-{i}", 64)
            sign_up = i % 2 == 0
            view = "signup" if sign_up else "signin"
            path = [
                "flow.begin",
                f"flow.{view}.view",
                f"flow.{view}.engage",
                f"flow.{view}.submit",
                f"flow.{view}.attempt",
                "account.created" if sign_up else "account.login",
                "email.verification.sent" if sign_up else "email.confirmation.sent",
                "account.verified" if sign_up else "account.confirmed",
                "flow.complete",
            ]
            reached = len(path) - i
            begin = day + timedelta(hours=8, minutes=i)
            for step, event in enumerate(path[:reached]):
                flow_time = step * 1000 * (i + 2)
                rows.append(
                    {
                        "timestamp": begin + timedelta(milliseconds=flow_time),
                        "type": event,
                        "flow_id": flow_id,
                        "flow_time": flow_time,
                        "ua_browser": "Firefox",
                        "ua_version": "51",
                        "ua_os": "Windows 10",
                        "service": "sync" if i % 3 else None,
                        "source_line": len(rows) + 1,
                    }
                )
    return [_as_tuple("flow_events", row) for row in rows]


def _activity_rows() -> list[tuple[Any, ...]]:
    """Raw activity events: six users a day, two of them on two devices."""
    rows: list[dict[str, Any]] = []
    for day in DAYS:
        for user in range(6):
            devices = [0, 1] if user < 2 else [0]
            for device in devices:
                rows.append(
                    {
                        "timestamp": day + timedelta(hours=9, minutes=user * 5 + device),
                        "type": "account.signed",
                        "uid": hex_id(f"user-{user}", 64),
                        "device_id": hex_id(f"device-{user}-{device}", 32),
                        "service": "sync",
                        "source_line": len(rows) + 1,
                    }
                )
    return [_as_tuple("activity_events", row) for row in rows]


def raw_row(table: str, **values: Any) -> tuple[Any, ...]:
    """One raw row of `table` (unspecified columns NULL, fixture lineage)."""
    return _as_tuple(table, values)


def _as_tuple(table: str, values: dict[str, Any]) -> tuple[Any, ...]:
    values = {"source_file": f"/fixture/{table}.log", "loaded_at": LOADED_AT, **values}
    return tuple(values.get(column.name) for column in RAW_TABLES[table])


def _insert_sql(table: str, row_count: int, placeholder: str) -> str:
    columns = ", ".join(quote(column.name) for column in RAW_TABLES[table])
    one_row = "(" + ", ".join([placeholder] * len(RAW_TABLES[table])) + ")"
    values = ", ".join([one_row] * row_count)
    return f"insert into {quote('raw')}.{table} ({columns}) values {values}"


def fixture_rows() -> dict[str, list[tuple[Any, ...]]]:
    return {"flow_events": _flow_rows(), "activity_events": _activity_rows()}


@dataclass
class Warehouse:
    """A built scratch warehouse: run dbt on it and query it."""

    target: str
    environment: dict[str, str]
    target_path: Path

    def dbt(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        command = [DBT, *arguments, "--target", self.target, "--target-path", str(self.target_path)]
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def build(self) -> None:
        """Seeds and models only: the tests of `dbt build` are the dbt suites' job."""
        self.dbt("build", "--exclude", "resource_type:test", "resource_type:unit_test")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.target == "duckdb":
            import duckdb

            with duckdb.connect(self.environment["FXA_DUCKDB_PATH"], read_only=True) as con:
                return con.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.environment["KPI_TEST_DSN"]) as con:
            return con.execute(sql).fetchall()


def dbt_environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "PYTHONPATH": str(PROJECT_ROOT / "scripts"),
        **extra,
    }


def insert_duckdb(database: Path, rows_by_table: dict[str, list[tuple[Any, ...]]]) -> None:
    """Create the raw tables if needed and append rows (one multi-row insert per table)."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        for statement in create_all_sql("duckdb"):
            con.execute(statement)
        for table, rows in rows_by_table.items():
            if rows:
                con.execute(_insert_sql(table, len(rows), "?"), [v for row in rows for v in row])


def build_duckdb(folder: Path) -> Warehouse:
    database = folder / "kpi.duckdb"
    insert_duckdb(database, fixture_rows())
    environment = dbt_environment(FXA_DUCKDB_PATH=str(database))
    warehouse = Warehouse("duckdb", environment, folder / "target")
    warehouse.build()
    return warehouse


def build_postgres(folder: Path, admin_dsn: str, database: str) -> Warehouse:
    """Create `database` on the server of `admin_dsn` (dropping a leftover), build it."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as con:
        con.execute(f"drop database if exists {quote(database)}")
        con.execute(f"create database {quote(database)}")
    dsn = f"{admin_dsn} dbname={database}"
    with psycopg.connect(dsn) as con:
        for statement in create_all_sql("postgres"):
            con.execute(statement)
        for table, rows in fixture_rows().items():
            con.execute(_insert_sql(table, len(rows), "%s"), [v for row in rows for v in row])
    environment = dbt_environment(PGDATABASE=database, KPI_TEST_DSN=dsn)
    warehouse = Warehouse("postgres", environment, folder / "target")
    warehouse.build()
    return warehouse


def drop_postgres(admin_dsn: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as con:
        con.execute(f"drop database if exists {quote(database)} with (force)")
