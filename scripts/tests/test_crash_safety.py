"""Crash safety of the loader: killed with SIGKILL, it leaves nothing partial, and a rerun ends
in exactly the tables of one uninterrupted run. (A `dbt build` killed mid-run is a scenario of
test_incremental_scenarios.py.)

- Loader: one transaction per file (docs/data-contract.md#files-as-a-whole). The loader is
  killed while it is inside a file (after the previous file's summary line, before its own);
  at that point every file is either in the ledger with all its rows or absent with none. The
  rerun skips the committed files and loads the rest; the raw tables then equal those of one
  uninterrupted load into a fresh database (all columns but the load time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import hostile_corpus as hc
import pytest
from dbt_harness import scratch_postgres_database

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LOADER = REPO / "scripts" / "load_events.py"
GENERATOR = REPO / "scripts" / "generate_events.py"
DBT = str(Path(sys.executable).with_name("dbt"))
HMAC_KEY = "crash-test-key"
# The spec tables and everything they depend on, with their data tests (unit tests need their
# relation to exist beforehand: dbt reads their input columns' types; they are not what is
# tested here).
BUILD = (
    "build",
    "--select",
    "+flow_events",
    "+flow_metadata",
    "+activity_events",
    "+daily_activity_per_device",
    "+daily_multi_device_users",
    "resource_type:seed",
    "--exclude",
    "test_type:unit",
    "--indirect-selection",
    "cautious",  # no test of a model outside the selection (e.g. the sampled marts)
)
SPEC_TABLES = (
    "flow_events",
    "flow_metadata",
    "activity_events",
    "daily_activity_per_device",
    "daily_multi_device_users",
)


def loader_env(db: Path | str, target: str = "duckdb") -> dict[str, str]:
    """The loader's environment; `db` is the DuckDB file, or on Postgres the database name."""
    where = {"FXA_DUCKDB_PATH": str(db)} if target == "duckdb" else {"PGDATABASE": str(db)}
    return {
        **os.environ,
        "FXA_TARGET": target,
        **where,
        "FXA_METRICS_UID_HMAC_KEY": HMAC_KEY,
        "FXA_LOADER_CHUNK_MB": "1",  # many appends inside each file's transaction
        "PYTHONUNBUFFERED": "1",
    }


def big_log(path: Path, lines: int, seed: int) -> None:
    """`lines` valid events (a flow of 9 flow events and one activity event per 10 lines)."""
    flow = hc.dumps(hc.envelope(hc.flow_fields(flow_id="FID", flow_time=-7, time=-8)))
    activity = hc.dumps(hc.envelope(hc.activity_fields(uid="UID", time=-8), "activityEvent"))
    flow = flow.replace(b"%", b"%%").replace(b'"FID"', b'"%s"').replace(b"-7", b"%d")
    flow = flow.replace(b"-8", b"%d")
    activity = activity.replace(b"%", b"%%").replace(b'"UID"', b'"%s"').replace(b"-8", b"%d")
    with path.open("wb") as out:
        for i in range(lines):
            if i % 10 == 9:
                out.write(activity % (b"%032x" % i, hc.TIME_MS + i) + b"\n")
            else:
                flow_id = b"%08x%056x" % (seed, i // 10)
                out.write(flow % (flow_id, i % 10, hc.TIME_MS + i) + b"\n")


Query = Callable[..., list[tuple]]


@contextmanager
def raw_query(target: str, db: Path | str, *, read_only: bool = True) -> Iterator[Query]:
    """query(sql, params=()) -> rows, on the DuckDB file or the Postgres database `db`.

    Write parameters as `?`; on Postgres they become `%s`.
    """
    if target == "duckdb":
        # Read-write replays the WAL of a killed process.
        with duckdb.connect(str(db), read_only=read_only) as con:
            yield lambda sql, params=(): con.execute(sql, list(params)).fetchall()
        return
    import psycopg

    with psycopg.connect(dbname=str(db), autocommit=True) as conn:
        yield lambda sql, params=(): conn.execute(sql.replace("?", "%s"), list(params)).fetchall()


def raw_snapshot(db: Path | str, target: str = "duckdb") -> dict[str, list[tuple]]:
    """Every raw table's rows, sorted, without the load time (which differs between runs)."""
    out: dict[str, list[tuple]] = {}
    with raw_query(target, db) as query:
        for table in ("flow_events", "activity_events", "rejected_lines", "load_ledger"):
            columns = [
                r[0]
                for r in query(
                    "select column_name from information_schema.columns where table_schema = "
                    "'raw' and table_name = ? and column_name <> 'loaded_at' order by 1",
                    [table],
                )
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = query(f'select {select} from "raw".{table}')
            out[table] = sorted(rows, key=repr)
    return out


def check_all_or_nothing(db: Path | str, files: list[Path], target: str = "duckdb") -> set[str]:
    """Each file: in the ledger with exactly its rows, or absent with none. Returns those in."""
    committed: set[str] = set()
    with raw_query(target, db, read_only=False) as query:
        tables = {
            r[0]
            for r in query(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            )
        }
        for file in files:
            name = str(file.resolve())
            stored = 0
            if "flow_events" in tables:
                for table in ("flow_events", "activity_events", "rejected_lines"):
                    stored += query(
                        f'select count(*) from "raw".{table} where source_file = ?', [name]
                    )[0][0]
            ledger = []
            if "load_ledger" in tables:
                ledger = query(
                    'select loaded + rejected from "raw".load_ledger where file_name = ?', [name]
                )
            if ledger:
                assert ledger == [(stored,)], (name, ledger, stored)
                committed.add(name)
            else:
                assert stored == 0, f"{name}: {stored} rows without a ledger row (partial load)"
    return committed


def database_opened(db: Path | str, target: str) -> bool:
    """Whether the loader has opened the database (DuckDB: the file; Postgres: its tables)."""
    if target == "duckdb":
        return Path(db).exists()
    with raw_query(target, db) as query:
        return query("select to_regclass('raw.load_ledger') is not null")[0][0]


@contextmanager
def scratch_raw(target: str, path: Path) -> Iterator[Path | str]:
    """An empty database for the loader: the DuckDB file `path`, or a throwaway Postgres one."""
    if target == "duckdb":
        yield path
        return
    with scratch_postgres_database("crash") as name:
        yield name


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def test_loader_killed_mid_file_then_rerun_equals_one_clean_load(
    tmp_path: Path, target: str
) -> None:
    data = tmp_path / "in"
    data.mkdir()
    files = [data / "a.log", data / "b.log"]
    for seed, file in enumerate(files, start=1):
        big_log(file, 20_000, seed)

    with (
        scratch_raw(target, tmp_path / "reference.duckdb") as reference,
        scratch_raw(target, tmp_path / "crashed.duckdb") as db,
    ):
        done = subprocess.run(
            [sys.executable, str(LOADER), str(data)],
            env=loader_env(reference, target),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

        # 1. Killed inside the first file, a second after the loader opened the database.
        killed_at = []
        for delay in (1.0, None):
            proc = subprocess.Popen(
                [sys.executable, str(LOADER), str(data)],
                env=loader_env(db, target),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            if delay is not None:
                deadline = time.monotonic() + 60
                while not database_opened(db, target) and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(delay)  # the loader has opened the database: now inside a.log
            else:
                # 2. Killed inside the second file: right after the first file's summary line.
                first = proc.stdout.readline()
                assert str(files[0].resolve()) in first, first
                time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
            assert proc.returncode == -signal.SIGKILL
            assert str(files[1].resolve()) + ":" not in out, "b.log finished before the kill"
            killed_at.append(check_all_or_nothing(db, files, target))
        assert killed_at[1] == {str(files[0].resolve())}

        # 3. The rerun completes: the committed file is skipped, the other loaded.
        done = subprocess.run(
            [sys.executable, str(LOADER), str(data)],
            env=loader_env(db, target),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "skipped" in done.stdout
        assert raw_snapshot(db, target) == raw_snapshot(reference, target)
