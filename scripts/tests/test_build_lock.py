"""The build lock (scripts/build.py, fxa_pipeline/build_lock.py, macros/build_lock.sql) and the
load stamps (Sink.stamp): overlapping builds and loads on Postgres, the first build of a fresh
warehouse on both targets, and a seeded concurrency soak.

Every interleaving is forced: a lock held by a test connection, the build's pause point (the
var `pause_before_model`), a loader process seen waiting in pg_locks. The tests poll for a
state of the server (a session waiting on a lock), never sleep and hope.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import (
    SCRIPTS,
    TARGETS,
    LogSet,
    Warehouse,
    differences_from_full_rebuild,
    log_files,
    scratch_warehouse,
)
from fxa_pipeline.build_lock import BUILD_LOCK_KEY, EXIT_BUSY

LOGS = LogSet(days=2, flows_per_day=40, seed=11, legacy_days=0)
LOADER_LOCK_KEY = 0x46584131  # sinks._LOADER_LOCK
PAUSE_KEY = 0x46584150  # macros/build_lock.sql, pause_point()


@pytest.fixture
def logs(log_sets: Callable[[LogSet], Path]) -> list[Path]:
    return log_files(log_sets(LOGS))


def _connect(warehouse: Warehouse, application: str = "fxa-metrics test") -> Any:
    import psycopg

    return psycopg.connect(
        dbname=warehouse.env["PGDATABASE"], autocommit=True, application_name=application
    )


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll the server until `condition` holds; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.05)


def waiting_on(warehouse: Warehouse, key: int, mode: str | None = None) -> int:
    """Sessions waiting (not granted) on the advisory lock `key` (bigint form)."""
    sql = (
        "select count(*) from pg_locks where locktype = 'advisory' and not granted"
        f" and classid = {key >> 32} and objid = {key & 0xFFFFFFFF} and objsubid = 1"
    )
    if mode:
        sql += f" and mode = '{mode}'"
    return int(warehouse.query(sql)[0][0])


@contextmanager
def holding(warehouse: Warehouse, key: int, application: str) -> Iterator[Any]:
    """A session-level advisory lock `key`, held by a test connection named `application`."""
    connection = _connect(warehouse, application)
    try:
        connection.execute("select pg_advisory_lock(%s)", [key])
        yield connection
    finally:
        connection.close()


def _analytics_tables(warehouse: Warehouse) -> list[str]:
    return warehouse.tables()


def assert_equals_full_rebuild(warehouse: Warehouse, work_dir: Path) -> None:
    differences = differences_from_full_rebuild(warehouse, work_dir)
    assert not differences, "tables differ from a full rebuild:\n" + "\n".join(
        f"  {table}: {what}" for table, what in differences.items()
    )


# ---- one build at a time ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.integration
def test_a_build_stops_with_one_line_naming_the_running_build_and_writes_nothing(
    logs: list[Path], tmp_path: Path
) -> None:
    """While another session holds the build lock: `build.py --wait 0` and a short wait exit 75
    with one line naming the holder (application name, server pid, since when) and write
    nothing; a hand-run `dbt build` stops at its on-run-start hook. Released: the build runs
    and equals a full rebuild."""
    with scratch_warehouse("postgres", tmp_path / "warehouse") as warehouse:
        warehouse.load(*logs)
        with holding(warehouse, BUILD_LOCK_KEY, "nightly build on host-a") as holder:
            holder_pid = holder.info.backend_pid
            status, messages = warehouse.build_status(wait=0)
            assert status == EXIT_BUSY
            lines = messages.strip().splitlines()
            assert len(lines) == 1, messages
            assert "'nightly build on host-a'" in lines[0]
            assert f"server pid {holder_pid}" in lines[0] and "since " in lines[0]
            assert "nothing was written" in lines[0]

            status, messages = warehouse.build_status(wait=0.3)
            assert status == EXIT_BUSY
            lines = messages.strip().splitlines()
            assert len(lines) == 2, messages  # told once that it waits, then the stop
            assert lines[0].startswith("waiting up to 0.3 s for the build 'nightly build")
            assert lines[1].startswith("error: build not started after waiting 0.3 s")
            assert _analytics_tables(warehouse) == []  # not even the fresh warehouse's seeds

            result = warehouse.dbt_result("build")
            assert not result.success
            assert "a build holds the build lock ('nightly build on host-a'" in str(
                result.exception
            )
            assert _analytics_tables(warehouse) == []

        status, messages = warehouse.build_status(wait=0)
        assert (status, messages) == (0, "")
        assert_equals_full_rebuild(warehouse, tmp_path / "rebuild")


@pytest.mark.postgres
@pytest.mark.integration
def test_a_second_build_waits_for_the_first_and_never_inserts_twice(
    logs: list[Path], tmp_path: Path
) -> None:
    """Finding: a new file loaded into a built warehouse, two builds started together left
    duplicates. Now the second waits for the lock (held here by a test session standing for
    the first build), then builds once: no duplicate, every table equals a full rebuild."""
    with scratch_warehouse("postgres", tmp_path / "warehouse") as warehouse:
        warehouse.load(*logs[:-1])
        assert warehouse.build_status()[0] == 0
        warehouse.load(logs[-1])
        results: dict[str, tuple[int, str]] = {}
        said = io.StringIO()
        with holding(warehouse, BUILD_LOCK_KEY, "first build"):
            second = threading.Thread(
                target=lambda: results.setdefault(
                    "second", warehouse.build_status(wait=300, messages=said)
                )
            )
            second.start()
            wait_until(lambda: "waiting up to" in said.getvalue(), "the second build's wait")
            assert second.is_alive()  # waiting for the first
        second.join()
        status, messages = results["second"]
        assert status == 0, messages
        assert messages.startswith("waiting up to 300 s for the build 'first build'")
        assert_equals_full_rebuild(warehouse, tmp_path / "rebuild")


MODEL_LOCK_CLASS = 0x46584D4C  # macros/build_lock.sql, model_lock()


@pytest.mark.postgres
@pytest.mark.integration
def test_two_hand_run_builds_build_a_model_one_after_the_other(
    logs: list[Path], tmp_path: Path
) -> None:
    """Two `dbt run`s started by hand (no build lock) on a warehouse with a new file: each
    model's transaction-level lock makes the second wait for the first's commit and read its
    watermark. Forced: a test session holds flow_events' model lock until both wait on it;
    then flow_events holds the new file once, equal to a full rebuild."""
    with scratch_warehouse("postgres", tmp_path / "warehouse") as warehouse:
        warehouse.load(*logs[:-1])
        assert warehouse.build_status()[0] == 0
        warehouse.load(logs[-1])
        ((objid,),) = warehouse.query("select hashtext('model.fxa_metrics.flow_events')")
        waiting = (
            "select count(*) from pg_locks where locktype = 'advisory' and not granted"
            f" and classid = {MODEL_LOCK_CLASS} and objid = {objid & 0xFFFFFFFF}"
            " and objsubid = 2"
        )
        results = {}
        holder = _connect(warehouse, "model lock holder")
        try:
            holder.execute("select pg_advisory_lock(%s, %s)", [MODEL_LOCK_CLASS, objid])
            in_process = threading.Thread(
                target=lambda: results.setdefault(
                    "in-process", warehouse.dbt_result("run", "--select", "flow_events").success
                )
            )
            in_process.start()
            wait_until(lambda: warehouse.query(waiting)[0][0] == 1, "the first run's wait")
            dbt = str(Path(sys.executable).parent / "dbt")
            other = subprocess.Popen(
                [dbt, "run", "--select", "flow_events", "--target", "postgres"],
                cwd=SCRIPTS.parent,
                env={
                    **os.environ,
                    **warehouse.env,
                    "DBT_TARGET_PATH": str(tmp_path / "target-other"),
                    "DBT_LOG_PATH": str(tmp_path / "logs-other"),
                },
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            wait_until(
                lambda: warehouse.query(waiting)[0][0] == 2 or other.poll() is not None,
                "both runs waiting on flow_events' lock",
            )
            assert other.poll() is None, other.communicate()[0][-3000:]
        finally:
            holder.close()
        in_process.join()
        output, _ = other.communicate(timeout=600)
        assert results["in-process"] and other.returncode == 0, output[-3000:]
        differences = differences_from_full_rebuild(warehouse, tmp_path / "rebuild")
        assert "flow_events" not in differences, differences["flow_events"]


# ---- no load commits during a build -------------------------------------------------------


def _split_engage(source: Path, out: Path) -> tuple[Path, Path]:
    """`source` without its flow.*.engage lines, and a file of those lines only."""
    lines = source.read_text().splitlines(keepends=True)
    engage = [line for line in lines if '.engage"' in line]
    assert engage, f"{source} has no flow.*.engage event"
    rest = out / "without-engage" / source.name
    only = out / "engage-only" / source.name
    for path, chosen in ((rest, [line for line in lines if line not in engage]), (only, engage)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(chosen))
    return rest, only


@pytest.mark.postgres
@pytest.mark.integration
def test_a_load_waits_for_the_build_and_the_funnel_stays_right(
    logs: list[Path], tmp_path: Path
) -> None:
    """Finding: a file of flow.*.engage events committed after flow_events read the raw tables
    and before flow_metadata did (one dbt thread) left flow_funnel and kpi_flow_funnel_daily
    wrong for good. The build is paused before flow_metadata; the load started then waits for
    the build lock (seen in pg_locks) instead of committing; after both, one more build:
    every table equals a full rebuild."""
    content = next(path for path in logs if path.name.startswith("content"))
    without_engage, engage_only = _split_engage(content, tmp_path / "split")
    with scratch_warehouse("postgres", tmp_path / "warehouse") as warehouse:
        warehouse.env["FXA_DBT_THREADS"] = "1"
        warehouse.load(*[path for path in logs if path != content], without_engage)
        assert warehouse.build_status()[0] == 0
        results: dict[str, tuple[int, str]] = {}
        with holding(warehouse, PAUSE_KEY, "pause point"):
            build = threading.Thread(
                target=lambda: results.setdefault(
                    "build",
                    warehouse.build_status("--vars", "{pause_before_model: flow_metadata}"),
                )
            )
            build.start()
            wait_until(lambda: waiting_on(warehouse, PAUSE_KEY) == 1, "the build's pause")
            loader = warehouse.loader_process(engage_only)
            # The loader either waits for the build lock (shared, before COMMIT) or, without
            # the lock, commits in the middle of the build and exits.
            wait_until(
                lambda: waiting_on(warehouse, BUILD_LOCK_KEY, "ShareLock") == 1
                or loader.poll() is not None,
                "the loader waiting for the build lock, or done",
            )
            loader_waited = loader.poll() is None
        build.join()
        loader_output, _ = loader.communicate(timeout=300)
        assert loader.returncode == 0, loader_output
        assert results["build"][0] == 0, results["build"][1]
        assert warehouse.build_status()[0] == 0
        assert_equals_full_rebuild(warehouse, tmp_path / "rebuild")
        assert loader_waited, "the loader committed while the build was running"
        assert "waiting for the build 'fxa-metrics build " in loader_output


# ---- load times follow commit order ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.parametrize("first", ["load", "unload"])
def test_stamps_follow_commit_order(first: str, logs: list[Path], tmp_path: Path) -> None:
    """A loader (or an unload) that reached its transaction first but waits for the loader
    lock, which a second loader takes and commits under: the first one's stamp (`loaded_at`,
    or `retracted_at`) must still be later than the second's, or a build between the two
    commits would set a watermark past the first one's rows, never to read them."""
    from fxa_pipeline.discovery import ledger_name
    from fxa_pipeline.loader import Loader
    from fxa_pipeline.sinks import PostgresSink
    from fxa_pipeline.targets import resolve_target
    from fxa_pipeline.uid_hmac import HmacKey

    with scratch_warehouse("postgres", tmp_path / "warehouse") as warehouse:
        warehouse.load(logs[0])
        with warehouse._environment():
            loaders = {}
            for role in ("first", "second"):
                sink = PostgresSink(resolve_target("postgres"))  # type: ignore[arg-type]
                loaders[role] = Loader(sink, HmacKey.from_environment())
        first_sink, second_sink = loaders["first"].sink, loaders["second"].sink
        about_to_lock, may_lock = threading.Event(), threading.Event()
        begin = first_sink.begin

        def begin_when_told() -> None:
            about_to_lock.set()
            may_lock.wait()
            begin()

        first_sink.begin = begin_when_told  # type: ignore[method-assign]
        if first == "load":
            work = threading.Thread(target=loaders["first"].load_paths, args=([logs[1]],))
        else:
            work = threading.Thread(target=loaders["first"].unload_paths, args=([logs[0]],))
        try:
            work.start()
            assert about_to_lock.wait(120)
            with second_sink._conn.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute("select pg_advisory_lock(%s)", [LOADER_LOCK_KEY])
            may_lock.set()
            wait_until(
                lambda: waiting_on(warehouse, LOADER_LOCK_KEY) == 1, "the first loader's wait"
            )
            loaders["second"].load_paths([logs[-1]])  # commits first
            with second_sink._conn.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute("select pg_advisory_unlock(%s)", [LOADER_LOCK_KEY])
            second_sink.commit()
            work.join()
        finally:
            may_lock.set()
            work.join()
            first_sink.close()
            second_sink.close()
        assert loaders["first"].summary.committed and loaders["second"].summary.committed
        ((second_stamp,),) = warehouse.query(
            "select loaded_at from raw.load_ledger where file_name = ?", [ledger_name(logs[-1])]
        )
        if first == "load":
            ((first_stamp,),) = warehouse.query(
                "select loaded_at from raw.load_ledger where file_name = ?",
                [ledger_name(logs[1])],
            )
        else:
            ((first_stamp,),) = warehouse.query(
                "select max(retracted_at) from (select retracted_at from"
                " raw.retracted_flow_events union all select retracted_at from"
                " raw.retracted_activity_events) as retracted"
            )
        assert first_stamp > second_stamp, (first_stamp, second_stamp)


# ---- a fresh warehouse --------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("target", TARGETS)
def test_the_first_build_of_a_fresh_warehouse_passes(
    target: str, logs: list[Path], tmp_path: Path
) -> None:
    """The README's two commands on a fresh warehouse: load, then `make build`'s entry, which
    runs `dbt seed` and `dbt run --empty` first (unit tests need their model's relation), then
    the whole `dbt build` (unit tests included): it passes the first time."""
    with scratch_warehouse(target, tmp_path / "warehouse") as warehouse:
        warehouse.load(*logs)
        status, messages = warehouse.build_status()
        assert (status, messages) == (0, "")
        assert "flow_funnel" in warehouse.tables()
        assert warehouse.build_status() == (0, "")  # and again: nothing to bootstrap


# ---- a seeded concurrency soak --------------------------------------------------------------

# A longer soak by hand: FXA_SOAK_ROUNDS=20 FXA_SOAK_SEED=7 pytest -k soak -s
SOAK_ROUNDS = int(os.environ.get("FXA_SOAK_ROUNDS", "2"))
SOAK_SEED = int(os.environ.get("FXA_SOAK_SEED", "20261205"))


class _InProcessBuild(threading.Thread):
    """build.py's main() in this process (dbt in-process), in a thread."""

    def __init__(self, warehouse: Warehouse) -> None:
        super().__init__()
        self.warehouse = warehouse
        self.outcome: tuple[int, str] = (-1, "did not run")

    def run(self) -> None:
        self.outcome = self.warehouse.build_status(wait=600)


def _build_process(warehouse: Warehouse) -> subprocess.Popen[str]:
    argv = [sys.executable, str(SCRIPTS / "build.py"), "--target", warehouse.target]
    return subprocess.Popen(
        [*argv, "--wait", "600", "--quiet"],
        env={
            **os.environ,
            **warehouse.env,
            # dbt's artifacts and logs beside the warehouse, its partial parse reused
            "DBT_TARGET_PATH": str(warehouse.work_dir / "target-build-py"),
            "DBT_LOG_PATH": str(warehouse.work_dir / "logs-build-py"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def soak_round(
    warehouse: Warehouse,
    rng: random.Random,
    to_load: list[Path],
    to_unload: list[Path],
    unloaded: set[Path],
) -> list[str]:
    """Start, in a seeded random order, a loader process per file of `to_load` (with `--force`
    for a file of `unloaded`: an unloaded file is loaded again only on purpose), an unload
    process per file of `to_unload`, a build in this process and a build.py process; wait for
    all; fail unless each exits 0. The order the actions were started in."""
    starts: list[tuple[str, Callable[[], Any]]] = [
        (
            f"load {path.parent.name}/{path.name}",
            lambda path=path: warehouse.loader_process(path, force=path in unloaded),
        )
        for path in to_load
    ]
    starts += [
        (
            f"unload {path.parent.name}/{path.name}",
            lambda path=path: warehouse.loader_process(path, unload=True),
        )
        for path in to_unload
    ]
    in_process = _InProcessBuild(warehouse)
    starts.append(("build in-process", lambda: in_process.start() or in_process))
    starts.append(("build.py", lambda: _build_process(warehouse)))
    rng.shuffle(starts)
    started = []
    for name, start in starts:
        started.append((name, start()))
        time.sleep(rng.uniform(0, 0.3))  # varies the interleaving; no outcome relies on it
    failed = []
    for name, handle in started:  # every one waited for, before anything is asserted
        if isinstance(handle, _InProcessBuild):
            handle.join()
            status, output = handle.outcome
        else:
            output, _ = handle.communicate(timeout=600)
            status = handle.returncode
        if status != 0:
            failed.append(f"{name} exited {status}:\n{output[-4000:]}")
    order = [name for name, _ in started]
    assert not failed, f"order {' -> '.join(order)}:\n" + "\n".join(failed)
    return order


@pytest.mark.postgres
@pytest.mark.integration
def test_concurrency_soak(log_sets: Callable[[LogSet], Path], tmp_path: Path) -> None:
    """Rounds of loads, unloads and two builds started together in a seeded random order,
    then one quiet build: every table equals a full rebuild (no row twice, none missed)."""
    files = log_files(log_sets(LogSet(days=3, flows_per_day=25, seed=23, legacy_days=1)))
    rng = random.Random(SOAK_SEED)
    with scratch_warehouse("postgres", tmp_path / "warehouse") as warehouse:
        warehouse.load(files[0])
        assert warehouse.build_status()[0] == 0
        loaded, unloaded = {files[0]}, set()
        orders = []
        for _ in range(SOAK_ROUNDS):
            new = [path for path in files if path not in loaded]
            to_load = rng.sample(new, k=min(len(new), rng.randint(1, 2)))
            to_unload = rng.sample(sorted(loaded), k=1) if rng.random() < 0.6 else []
            orders.append(soak_round(warehouse, rng, to_load, to_unload, unloaded))
            print(f"soak round {len(orders)}: {' -> '.join(orders[-1])}")
            loaded = (loaded | set(to_load)) - set(to_unload)
            unloaded = (unloaded | set(to_unload)) - set(to_load)
        assert warehouse.build_status()[0] == 0
        ledger = {name for (name,) in warehouse.query("select file_name from raw.load_ledger")}
        assert ledger == {str(path.resolve()) for path in loaded}, orders
        assert_equals_full_rebuild(warehouse, tmp_path / "rebuild")


# ---- Redshift, offline ------------------------------------------------------------------------


def test_redshift_build_lock_sql_parses_as_redshift() -> None:
    """The Redshift build lock's statements (the lock table, its LOCK, the holder query) and
    the loader's gate parse with sqlfluff's redshift dialect (no Redshift here to run them)."""
    import json

    import sqlfluff
    from fxa_pipeline import redshift_copy
    from fxa_pipeline.build_lock import RedshiftBuildLock

    statements = [
        RedshiftBuildLock.CREATE_SQL,
        RedshiftBuildLock.LOCK_SQL,
        RedshiftBuildLock.HOLDER_SQL,
        "set statement_timeout to 1000",
        redshift_copy.BUILD_GATE_SQL,
    ]
    for sql in statements:
        parsed = sqlfluff.parse(sql, dialect="redshift")
        assert "unparsable" not in json.dumps(parsed), sql


def test_redshift_build_lock_waits_with_a_timeout_and_names_the_holder() -> None:
    """A Redshift build lock: LOCK under statement_timeout = the wait; when it times out, the
    holder from svv_transactions, and nothing left open."""
    from datetime import datetime

    from fxa_pipeline.build_lock import BuildBusy, RedshiftBuildLock
    from fxa_pipeline.targets import RedshiftTarget

    class Cursor:
        def __init__(self, log: list[str]) -> None:
            self.log = log

        def execute(self, sql: str) -> None:
            self.log.append(sql)
            if sql.startswith("lock "):
                raise RuntimeError("canceling statement due to statement timeout")

        def fetchone(self) -> tuple[Any, ...]:
            return (4242, "etl", datetime(2026, 12, 5, 6, 0, 0))

    class Connection:
        def __init__(self) -> None:
            self.log: list[str] = []

        def cursor(self) -> Cursor:
            return Cursor(self.log)

        def commit(self) -> None:
            self.log.append("COMMIT")

        def rollback(self) -> None:
            self.log.append("ROLLBACK")

        def close(self) -> None:
            self.log.append("CLOSE")

    connection = Connection()
    lock = RedshiftBuildLock(RedshiftTarget("h", 5439, "u", "d"), connection=connection)
    with pytest.raises(BuildBusy) as busy:
        lock.acquire(2.5, io.StringIO())
    assert "'etl' (server pid 4242, since 2026-12-05 06:00:00 UTC)" in str(busy.value)
    assert "set statement_timeout to 2500" in connection.log
    lock.release()
    assert connection.log[-2:] == ["ROLLBACK", "CLOSE"]
