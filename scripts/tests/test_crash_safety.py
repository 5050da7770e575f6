"""Crash safety: a loader or a `dbt build` killed with SIGKILL leaves nothing partial,
and a rerun ends in exactly the tables of one uninterrupted run.

- Loader: one transaction per file (docs/data-contract.md#files-as-a-whole). The loader is
  killed while it is inside a file (after the previous file's summary line, before its own);
  at that point every file is either in the ledger with all its rows or absent with none. The
  rerun skips the committed files and loads the rest; the raw tables then equal those of one
  uninterrupted load into a fresh database (all columns but the load time).
- dbt: a `dbt build` killed mid-run, then rerun, gives the five spec tables of a clean build
  over the same raw tables (every column, `_loaded_at` included: the raw tables are copied).
"""

from __future__ import annotations

import os
import re
import shutil
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


def _dbt(
    db: Path | str, tmp: Path, *args: str, target: str = "duckdb"
) -> tuple[list[str], dict[str, str]]:
    """dbt `args` on the DuckDB file or the Postgres database `db`: the command and its env."""
    where = {"FXA_DUCKDB_PATH": str(db)} if target == "duckdb" else {"PGDATABASE": str(db)}
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(REPO),
        **where,
        "FXA_TARGET": target,
    }
    paths = ["--project-dir", str(REPO), "--target-path", str(tmp / "target")]
    command = [DBT, *args, "--target", target, *paths, "--log-path", str(tmp / "logs")]
    return command, env


def spec_tables(db: Path | str, target: str = "duckdb") -> dict[str, list[tuple]]:
    """Every row (all columns) of the five spec tables, sorted by repr."""
    out: dict[str, list[tuple]] = {}
    with raw_query(target, db) as query:
        for table in SPEC_TABLES:
            out[table] = sorted(query(f"select * from analytics.{table}"), key=repr)
    return out


@pytest.fixture(scope="module")
def generated_logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("crash-logs") / "logs"
    command = [sys.executable, str(GENERATOR), "--out", str(out), "--days", "2"]
    command += ["--flows-per-day", "150", "--seed", "13", "--legacy-days", "1"]
    done = subprocess.run(command, env=loader_env(out / "unused"), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    return sorted(p for p in out.iterdir() if p.is_dir())  # the day folders and legacy/


def kill_after(command: list[str], env: dict[str, str], finished_nodes: int) -> bool:
    """Run dbt; SIGKILL it as soon as `finished_nodes` nodes have reported. True if killed."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        if re.search(r"\d+ of \d+ (OK|PASS|WARN)", line):
            seen += 1
            if seen >= finished_nodes:
                proc.send_signal(signal.SIGKILL)
                break
    proc.communicate()
    return proc.returncode == -signal.SIGKILL


@contextmanager
def build_copies(target: str, raw: Path | str, tmp: Path) -> Iterator[tuple[Path | str, ...]]:
    """Two exact copies of the loaded database `raw` (load times included): clean, crashed."""
    if target == "duckdb":
        clean, crashed = tmp / "clean.duckdb", tmp / "crashed.duckdb"
        shutil.copy(raw, clean)
        shutil.copy(raw, crashed)
        yield clean, crashed
        return
    with (
        scratch_postgres_database("clean", template=str(raw)) as clean_db,
        scratch_postgres_database("crashed", template=str(raw)) as crashed_db,
    ):
        yield clean_db, crashed_db


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def test_dbt_build_killed_mid_run_then_rerun_equals_a_clean_build(
    tmp_path: Path, generated_logs: list[Path], target: str
) -> None:
    # not raw.duckdb: its catalog would shadow the schema
    with scratch_raw(target, tmp_path / "loaded.duckdb") as raw:
        done = subprocess.run(
            [sys.executable, str(LOADER), *map(str, generated_logs)],
            env=loader_env(raw, target),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

        # The same raw tables (load times included) for both builds.
        with build_copies(target, raw, tmp_path) as (clean, crashed):
            command, env = _dbt(clean, tmp_path / "clean", *BUILD, target=target)
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stdout[-3000:]
            nodes = len(re.findall(r"\d+ of \d+ (?:OK|PASS|WARN)", done.stdout))

            # Killed half-way through, then run again.
            command, env = _dbt(crashed, tmp_path / "crashed", *BUILD, target=target)
            assert kill_after(command, env, max(2, nodes // 2)), "dbt build ended before the kill"
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stdout[-3000:]
            assert spec_tables(crashed, target) == spec_tables(clean, target)
