"""One way for integration tests to drive the loader and dbt on a scratch warehouse.

    with scratch_warehouse("duckdb", tmp_path) as warehouse:
        warehouse.load(path)                                  # scripts/load_events.py
        warehouse.dbt("run", "--select", "+flow_metadata")    # dbt, in this process
        rows = warehouse.rows("flow_metadata")                # sorted rows of analytics.<table>

dbt runs in-process (`dbtRunner`) on a manifest parsed once per warehouse: a `dbt` subprocess
per call would spend most of its time importing dbt and parsing the project, and the
shuffled-order tests call dbt after every file. The DuckDB file is released after every dbt
call so that the loader (a subprocess, as cron runs it) can write to it.

The scratch warehouse is never the one you work in: DuckDB gets a file under the test's
temporary folder; Postgres gets a database `<PGDATABASE>_it_<random>` on the PG* server,
created for the test and dropped after it (the PG* user needs CREATEDB).
"""

from __future__ import annotations

import gc
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT_ROOT / "scripts"
# Sample logs only: production sets its own secret key (never committed).
TEST_HMAC_KEY = "fxa-metrics-test-key-not-a-secret"


def base_environment() -> dict[str, str]:
    """The variables every dbt / loader / generator call of the tests needs."""
    return {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "PYTHONPATH": str(SCRIPTS),
        "FXA_METRICS_UID_HMAC_KEY": os.environ.get("FXA_METRICS_UID_HMAC_KEY", TEST_HMAC_KEY),
    }


def generate_logs(out: Path, *, seed: int, days: int, flows_per_day: int, legacy_days: int) -> Path:
    """Run scripts/generate_events.py into `out`; return `out`."""
    command = [
        sys.executable,
        str(SCRIPTS / "generate_events.py"),
        "--out",
        str(out),
        "--days",
        str(days),
        "--flows-per-day",
        str(flows_per_day),
        "--seed",
        str(seed),
        "--legacy-days",
        str(legacy_days),
    ]
    _check(subprocess.run(command, env={**os.environ, **base_environment()}, **_CAPTURE))
    return out


def log_files(folder: Path) -> list[Path]:
    """The generator's input files in `folder`, sorted by path (manifest.json excluded)."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.name != "manifest.json" and not path.name.startswith(".")
    )


_CAPTURE: dict[str, Any] = {"capture_output": True, "text": True, "check": False}


def _check(result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode != 0:
        raise AssertionError(
            f"command failed (exit {result.returncode}): {' '.join(result.args)}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )


@dataclass
class Warehouse:
    """A scratch database on one dbt target, with the environment that points at it."""

    target: str
    env: dict[str, str]
    work_dir: Path
    _manifest: Any = field(default=None, repr=False)

    def load(self, *paths: Path) -> None:
        """Load files with scripts/load_events.py, as the daily run does."""
        command = [
            sys.executable,
            str(SCRIPTS / "load_events.py"),
            "--target",
            self.target,
            *map(str, paths),
        ]
        _check(subprocess.run(command, env={**os.environ, **self.env}, **_CAPTURE))

    def dbt(self, *args: str) -> Any:
        """Run one dbt command on this warehouse; fail the test if it does not succeed."""
        from dbt.cli.main import dbtRunner

        with self._environment():
            if self._manifest is None:
                parsed = dbtRunner().invoke(["parse", *self._common_args()])
                self._release()
                if not parsed.success:
                    raise AssertionError(f"dbt parse failed: {parsed.exception}")
                self._manifest = parsed.result
            result = dbtRunner(manifest=self._manifest).invoke([*args, *self._common_args()])
            self._release()
        if not result.success:
            failures = []
            for node in getattr(result.result, "results", None) or []:
                if str(node.status) not in {"success", "pass", "warn", "skipped"}:
                    failures.append(f"{node.node.unique_id}: {node.status}: {node.message}")
            raise AssertionError(
                f"dbt {' '.join(args)} failed on {self.target}: {result.exception}\n"
                + "\n".join(failures)
            )
        return result.result

    def rows(self, table: str, schema: str = "analytics") -> list[tuple[Any, ...]]:
        """Every row of `schema.table`, all columns in table order, sorted (NULLs first)."""
        sql = f"select * from {schema}.{table}"
        if self.target == "duckdb":
            import duckdb

            connection = duckdb.connect(self.env["FXA_DUCKDB_PATH"], read_only=True)
            try:
                fetched = connection.execute(sql).fetchall()
            finally:
                connection.close()
        else:
            import psycopg

            with psycopg.connect(dbname=self.env["PGDATABASE"]) as connection:
                fetched = connection.execute(sql).fetchall()
        return sorted(fetched, key=_sort_key)

    def _common_args(self) -> list[str]:
        return [
            "--target",
            self.target,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(self.work_dir / "target"),
            "--log-path",
            str(self.work_dir / "logs"),
            "--quiet",
        ]

    @contextmanager
    def _environment(self) -> Iterator[None]:
        saved = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _release(self) -> None:
        """Close dbt-duckdb's process-wide connection so that other processes can write."""
        if self.target != "duckdb":
            return
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        DuckDBConnectionManager.close_all_connections()
        gc.collect()


def _sort_key(row: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    return tuple((value is not None, value) for value in row)


def require_postgres() -> None:
    """Skip without PGHOST (locally); with FXA_REQUIRE_POSTGRES=1 (CI) fail instead."""
    if os.environ.get("PGHOST"):
        return
    reason = "needs Postgres: set PGHOST, PGPORT, PGUSER, PGDATABASE (PGPASSWORD if needed)"
    if os.environ.get("FXA_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"FXA_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def scratch_warehouse(target: str, work_dir: Path) -> Iterator[Warehouse]:
    """A fresh, empty warehouse on `target` (`duckdb` or `postgres`), removed afterwards."""
    env = base_environment()
    if target == "duckdb":
        env["FXA_DUCKDB_PATH"] = str(work_dir / "warehouse.duckdb")
        yield Warehouse(target, env, work_dir)
        return
    if target != "postgres":
        raise ValueError(f"unknown target {target!r}: expected duckdb or postgres")
    with scratch_postgres_database("it") as name:
        env["PGDATABASE"] = name
        yield Warehouse(target, env, work_dir)


@contextmanager
def scratch_postgres_database(tag: str, template: str | None = None) -> Iterator[str]:
    """A new, empty database `<PGDATABASE>_<tag>_<random>` on the PG* server; its name.

    With `template`, an exact copy of that database instead (`create database ... template`:
    no other connection may be open to it meanwhile).
    Dropped afterwards (forcibly: a killed client's backend may still be attached).
    """
    require_postgres()
    import psycopg
    from psycopg import sql

    maintenance_db = os.environ.get("PGDATABASE", "postgres")
    name = f"{maintenance_db}_{tag}_{secrets.token_hex(4)}"
    with psycopg.connect(dbname=maintenance_db, autocommit=True) as connection:
        create = sql.SQL("create database {}").format(sql.Identifier(name))
        if template is not None:
            create += sql.SQL(" template {}").format(sql.Identifier(template))
        connection.execute(create)
    try:
        yield name
    finally:
        with psycopg.connect(dbname=maintenance_db, autocommit=True) as connection:
            connection.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
