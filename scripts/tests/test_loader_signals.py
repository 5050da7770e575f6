"""SIGINT and SIGTERM stop the loader cleanly (docs/loader.md#signals).

The loader runs as `python scripts/load_events.py` on three files of a few dozen chunks each
(FXA_LOADER_CHUNK_MB small, a progress line after every chunk), and is signalled in turn
during the first file, between two files and during the last file; a last run completes the
load. After every interrupted run: exit status 128 + the signal, the one-line message as the
last line of stderr (naming the files committed and the file rolled back), no traceback, every
file in the ledger with all its rows or absent with none, and no file started after the
signal. The signals alternate so that each target sees both at every point across the two
orders.

Then, in-process: a second signal during the rollback does not cut it short; a second signal
during a file's work stops it at once; Ctrl-C without the handlers (a KeyboardInterrupt) ends
the same way; `--unload` is interrupted like a load; a loader waiting for another's lock
(Postgres) stops at once; the Redshift transaction rolls back instead of committing.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import duckdb
import load_events
import pytest
from dbt_harness import scratch_postgres_database
from fxa_pipeline import interrupts, redshift_copy, sinks
from fxa_pipeline.interrupts import Interrupted
from fxa_pipeline.loader import Loader
from fxa_pipeline.raw_schema import RAW_TABLES
from fxa_pipeline.targets import DuckDBTarget
from fxa_pipeline.uid_hmac import HmacKey

REPO = Path(__file__).resolve().parents[2]
LOADER = REPO / "scripts" / "load_events.py"
KEY = "signals-test-key"
TIME_MS = 1479834000000
LINES_PER_FILE = 1500
# (lines, loaded, rejected, ignored) of every generated file: a rejected line every 50, an
# activity event every 10 (but those), flow events otherwise.
FILE_COUNTS = (1500, 1470, 30, 0)
CHUNK_MB = "0.015"  # about 75 lines: 20 chunks per file
TIMEOUT = 60.0


def log_line(seed: int, number: int) -> str:
    if number % 50 == 49:  # cut short: invalid JSON
        return '{"Type": "flowEvent", "Fields": {"event": "flow.begin", "flow_id": "' + "ab" * 8
    if number % 10 == 9:
        fields: dict[str, object] = {
            "event": "account.login",
            "uid": f"{seed:08x}{number:024x}",
            "time": TIME_MS + number,
        }
        return json.dumps({"Type": "activityEvent", "Fields": fields})
    fields = {
        "event": "flow.begin",
        "flow_id": f"{seed:08x}{number // 10:056x}",
        "flow_time": number % 10,
        "time": TIME_MS + number,
        "entrypoint": "signals",
    }
    return json.dumps({"Type": "flowEvent", "Fields": fields})


def make_files(folder: Path, count: int = 3) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for seed in range(1, count + 1):
        path = folder / f"{chr(ord('a') + seed - 1)}.log"
        path.write_text("\n".join(log_line(seed, i) for i in range(LINES_PER_FILE)) + "\n")
        files.append(path)
    return files


# ---- the warehouse ----------------------------------------------------------------------------


@contextmanager
def scratch_database(target: str, tmp_path: Path) -> Iterator[str]:
    """The DuckDB file, or a throwaway Postgres database; its name for loader_env."""
    if target == "duckdb":
        yield str(tmp_path / "signals.duckdb")
        return
    with scratch_postgres_database("signals") as name:
        yield name


def loader_env(target: str, database: str) -> dict[str, str]:
    where = {"FXA_DUCKDB_PATH": database} if target == "duckdb" else {"PGDATABASE": database}
    return {
        **os.environ,
        "FXA_TARGET": target,
        **where,
        "FXA_METRICS_UID_HMAC_KEY": KEY,
        "FXA_LOADER_CHUNK_MB": CHUNK_MB,
        "FXA_LOADER_PROGRESS_SECONDS": "0",  # a progress line after every chunk
    }


def query(target: str, database: str, sql: str) -> list[tuple[Any, ...]]:
    if target == "duckdb":
        if not Path(database).exists():
            return []
        with duckdb.connect(database, read_only=True) as con:
            return con.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(dbname=database, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def committed_files(target: str, database: str, files: list[Path]) -> set[str]:
    """Every file in the ledger with all its rows, or absent with none; the names in."""
    tables = {name for (name,) in query(target, database, _RAW_TABLES_SQL)}
    if not tables:
        return set()
    ledger = {
        name: tuple(counts)
        for name, *counts in query(
            target,
            database,
            'select file_name, lines, loaded, rejected, ignored from "raw".load_ledger',
        )
    }
    stored: dict[str, int] = {}
    for table in ("flow_events", "activity_events", "rejected_lines"):
        for name, count in query(
            target, database, f'select source_file, count(*) from "raw".{table} group by 1'
        ):
            stored[name] = stored.get(name, 0) + count
    for file in files:
        name = str(file.resolve())
        if name in ledger:
            assert ledger[name] == FILE_COUNTS, (name, ledger[name])
            assert stored.get(name) == FILE_COUNTS[1] + FILE_COUNTS[2], (name, stored.get(name))
        else:
            assert name not in stored, f"{name}: {stored[name]} rows without a ledger row"
    assert set(ledger) <= {str(file.resolve()) for file in files}
    return set(ledger)


_RAW_TABLES_SQL = (
    "select table_name from information_schema.tables"
    " where table_schema = 'raw' and table_name = 'load_ledger'"
)


# ---- the loader process -----------------------------------------------------------------------


class LoaderProcess:
    """`load_events.py` on a folder, its stderr read line by line as it comes."""

    def __init__(self, env: dict[str, str], folder: Path, stdout: int | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(LOADER), str(folder)],
            env=env,
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        self.out: list[str] = []
        self.signalled_after = 0
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._read_err, daemon=True)]
        if stdout is None:
            assert self.process.stdout is not None
            self.read_stdout(self.process.stdout)
        self._threads[0].start()

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.err.append(line.rstrip("\n"))
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def read_stdout(self, stream: IO[str]) -> None:
        def read() -> None:
            self.out.extend(line.rstrip("\n") for line in stream)

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait_for_progress(self, file: Path, percent: float = 0.0) -> None:
        """Until a progress line of `file` at `percent` or more has been printed."""
        prefix = f"{file.resolve()}: "
        deadline = time.monotonic() + TIMEOUT
        while True:
            line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert line is not None, "the loader ended first:\n" + "\n".join(self.err)
            progress = line.startswith(prefix) and "%" in line
            if progress and float(line[len(prefix) :].split("%")[0]) >= percent:
                return

    def signal(self, signum: int) -> None:
        self.signalled_after = len(self.err)  # stderr lines read before the signal
        self.process.send_signal(signum)

    def finish(self) -> int:
        status = self.process.wait(timeout=TIMEOUT)
        for thread in self._threads:
            thread.join(timeout=TIMEOUT)
        return status


def wait_until_blocked_writing(pid: int) -> None:
    """Until process `pid` sleeps in a write to a full pipe (Linux: /proc/<pid>/wchan names
    pipe_write), or a few seconds have passed where the kernel does not say."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            wchan = Path(f"/proc/{pid}/wchan").read_text()
        except OSError:
            wchan = ""
        if "pipe_write" in wchan:
            return
        time.sleep(0.02)


def full_pipe() -> tuple[int, int]:
    """(read end, write end) of a pipe whose buffer is already full: the first write to it
    blocks until the read end is read."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    size = fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ)
    os.write(write_end, b"\n" * size)
    return read_end, write_end


# ---- the three points -------------------------------------------------------------------------


def during_file(file: Path) -> Callable[[dict[str, str], Path, int], LoaderProcess]:
    """A run signalled right after the first progress line of `file` (19 chunks to go)."""

    def run(env: dict[str, str], folder: Path, signum: int) -> LoaderProcess:
        loader = LoaderProcess(env, folder)
        loader.wait_for_progress(file)
        loader.signal(signum)
        return loader

    return run


def between_files(first: Path) -> Callable[[dict[str, str], Path, int], LoaderProcess]:
    """A run signalled after `first` committed, before the next file: its stdout is a full
    pipe, so the loader blocks writing `first`'s summary line (the first thing it writes
    there, right after the commit) until the signal has been sent."""

    def run(env: dict[str, str], folder: Path, signum: int) -> LoaderProcess:
        read_end, write_end = full_pipe()
        loader = LoaderProcess(env, folder, stdout=write_end)
        os.close(write_end)
        loader.wait_for_progress(first, percent=100.0)
        wait_until_blocked_writing(loader.process.pid)
        loader.signal(signum)
        loader.read_stdout(os.fdopen(read_end, encoding="utf-8"))
        return loader

    return run


def message(signum: int, committed: list[Path], rolled_back: Path | None, not_started: int) -> str:
    names = ", ".join(str(path.resolve()) for path in committed)
    files = "file" if len(committed) == 1 else "files"
    return (
        f"interrupted ({signal.Signals(signum).name}): {len(committed)} {files} committed"
        + (f" ({names})" if committed else "")
        + f"; rolled back: {rolled_back.resolve() if rolled_back else 'none'}"
        + f"; not started: {not_started} file{'' if not_started == 1 else 's'}"
    )


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
@pytest.mark.parametrize(
    "signals",
    [
        pytest.param((signal.SIGINT, signal.SIGTERM, signal.SIGINT), id="INT-TERM-INT"),
        pytest.param((signal.SIGTERM, signal.SIGINT, signal.SIGTERM), id="TERM-INT-TERM"),
    ],
)
@pytest.mark.integration  # three loader processes on files large enough to be caught mid-way
def test_signal_during_first_file_between_files_and_during_last_file(
    tmp_path: Path, target: str, signals: tuple[int, int, int]
) -> None:
    a, b, c = files = make_files(tmp_path / "in")
    folder = tmp_path / "in"
    steps = [
        # (when, committed by the run, rolled back, not started, committed in the end)
        (during_file(a), [], a, 2, set()),
        (between_files(a), [a], None, 2, {a}),
        (during_file(c), [b], c, 0, {a, b}),  # a is skipped: loaded by the previous run
    ]
    with scratch_database(target, tmp_path) as database:
        env = loader_env(target, database)
        for (when, committed, rolled_back, not_started, in_ledger), signum in zip(
            steps, signals, strict=True
        ):
            loader = when(env, folder, signum)
            status = loader.finish()
            err = "\n".join(loader.err)
            assert status == 128 + signum, err
            assert "Traceback" not in err, err
            assert loader.err[-1] == message(signum, committed, rolled_back, not_started), err
            assert sum("interrupted" in line for line in loader.err) == 1, err
            after = files[files.index(rolled_back) + 1 :] if rolled_back else [b, c]
            if rolled_back is not None:  # stopped at the next chunk, not at the file's end
                late = [line for line in loader.err[loader.signalled_after :] if "%" in line]
                assert len(late) <= 2, late
            for file in after:  # no file was started after the signal
                assert str(file.resolve()) not in err + "\n".join(loader.out), file
            assert committed_files(target, database, files) == {
                str(file.resolve()) for file in in_ledger
            }

        done = subprocess.run(
            [sys.executable, str(LOADER), str(folder)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count("skipped: already loaded") == 2, done.stdout
        assert f"{c.resolve()}: 1,500 lines, 1,470 loaded, 30 rejected, 0 ignored" in done.stdout
        assert committed_files(target, database, files) == {str(f.resolve()) for f in files}


# ---- in-process: second signals, Ctrl-C, --unload ---------------------------------------------


@pytest.fixture
def duckdb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    database = str(tmp_path / "inprocess.duckdb")
    for name, value in loader_env("duckdb", database).items():
        monkeypatch.setenv(name, value)
    return database


def run_main(*argv: str) -> tuple[int, list[str]]:
    err = io.StringIO()
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stderr", err)
        patch.setattr(sys, "stdout", out)
        status = load_events.main(list(argv))
    return status, err.getvalue().splitlines()


def test_a_second_signal_during_the_rollback_does_not_cut_it_short(
    tmp_path: Path, duckdb_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, _ = files = make_files(tmp_path / "in")
    appends: list[str] = []
    rollbacks: list[str] = []
    append, rollback = sinks.DuckDBSink.append, sinks.DuckDBSink.rollback

    def signalling_append(self: sinks.DuckDBSink, table: str, sql: str) -> None:
        append(self, table, sql)
        appends.append(table)
        if len(appends) == 3:  # the last append of a.log's first chunk
            os.kill(os.getpid(), signal.SIGTERM)

    def signalled_rollback(self: sinks.DuckDBSink) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # a second and a third signal, mid-rollback
        os.kill(os.getpid(), signal.SIGTERM)
        rollbacks.append("signalled")
        rollback(self)
        rollbacks.append("done")

    monkeypatch.setattr(sinks.DuckDBSink, "append", signalling_append)
    monkeypatch.setattr(sinks.DuckDBSink, "rollback", signalled_rollback)
    status, err = run_main(str(tmp_path / "in"))
    assert status == 143, err
    assert err[-1] == message(signal.SIGTERM, [], a, 2), err
    assert rollbacks == ["signalled", "done"]
    assert len(appends) == 3  # stopped before the next chunk
    assert committed_files("duckdb", duckdb_env, files) == set()
    assert not query("duckdb", duckdb_env, 'select * from "raw".flow_events')
    assert str(b.resolve()) not in "\n".join(err)


def test_a_second_signal_stops_the_work_at_once(
    tmp_path: Path, duckdb_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _, _ = files = make_files(tmp_path / "in")
    appends: list[str] = []
    append = sinks.DuckDBSink.append

    def signalling_append(self: sinks.DuckDBSink, table: str, sql: str) -> None:
        appends.append(table)
        if len(appends) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # recorded: the append goes on
            appends.append("after the first signal")
            os.kill(os.getpid(), signal.SIGINT)  # raises here
            appends.append("after the second signal")
        append(self, table, sql)

    monkeypatch.setattr(sinks.DuckDBSink, "append", signalling_append)
    status, err = run_main(str(tmp_path / "in"))
    assert status == 130, err
    assert err[-1] == message(signal.SIGINT, [], a, 2), err
    assert appends == ["flow_events", "activity_events", "after the first signal"]
    assert committed_files("duckdb", duckdb_env, files) == set()


def test_ctrl_c_without_the_handlers_rolls_back_and_stops(tmp_path: Path) -> None:
    """A KeyboardInterrupt (the loader used from another program, no handlers installed)."""
    a, b, c = files = make_files(tmp_path / "in")
    database = tmp_path / "plain.duckdb"
    sink = sinks.DuckDBSink(DuckDBTarget(str(database)))
    appends_of_b: list[str] = []
    append = sink.append

    def interrupted_append(table: str, sql: str) -> None:
        if str(b.resolve()) in sql:
            appends_of_b.append(table)
            if len(appends_of_b) == 3:  # b.log's second chunk
                raise KeyboardInterrupt
        append(table, sql)

    sink.append = interrupted_append  # type: ignore[method-assign]
    out, err = io.StringIO(), io.StringIO()
    chunk_bytes = 64 * 1024  # 4 chunks a file
    loader = Loader(sink, HmacKey(KEY.encode()), chunk_bytes=chunk_bytes, out=out, err=err)
    try:
        summary = loader.load_paths(files)
    finally:
        sink.close()
    assert summary.exit_code == 130
    assert summary.committed == [str(a.resolve())]
    assert err.getvalue().splitlines()[-1] == message(signal.SIGINT, [a], b, 1)
    assert committed_files("duckdb", str(database), files) == {str(a.resolve())}
    assert str(c.resolve()) not in out.getvalue() + err.getvalue()


def test_unload_is_interrupted_like_a_load(
    tmp_path: Path, duckdb_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = make_files(tmp_path / "in")
    monkeypatch.setenv("FXA_LOADER_CHUNK_MB", "1")  # one chunk a file: the load is quick
    status, err = run_main(str(tmp_path / "in"))
    assert status == 0, err
    remove = sinks.DuckDBSink._remove
    removals: list[list[str]] = []

    def signalling_remove(
        self: sinks.DuckDBSink, names: list[str], retracted_at: datetime
    ) -> dict[str, int]:
        removals.append(names)
        removed = remove(self, names, retracted_at)
        if len(removals) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # the deletes of b.log are done, not committed
        return removed

    monkeypatch.setattr(sinks.DuckDBSink, "_remove", signalling_remove)
    status, err = run_main("--unload", str(tmp_path / "in"))
    a, b, c = files
    assert status == 143, err
    expected = message(signal.SIGTERM, [a], b, 1).replace("committed", "unloaded")
    assert err[-1] == expected, err
    assert committed_files("duckdb", duckdb_env, files) == {str(b.resolve()), str(c.resolve())}


# ---- Postgres: a loader waiting for another's lock --------------------------------------------


@pytest.mark.postgres
def test_a_loader_waiting_for_the_lock_stops_at_once(tmp_path: Path) -> None:
    import psycopg

    files = make_files(tmp_path / "in")
    with scratch_postgres_database("signals_lock") as database:
        env = loader_env("postgres", database)
        with psycopg.connect(dbname=database, autocommit=True) as other:
            other.execute("select pg_advisory_lock(%s)", [sinks._LOADER_LOCK])
            loader = LoaderProcess(env, tmp_path / "in")
            deadline = time.monotonic() + TIMEOUT
            while not other.execute(
                "select count(*) from pg_stat_activity where datname = %s"
                " and wait_event_type = 'Lock' and query like '%%pg_advisory_xact_lock%%'",
                [database],
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the loader never waited for the lock"
                time.sleep(0.05)
            signalled = time.monotonic()
            loader.signal(signal.SIGTERM)
            status = loader.finish()
            assert time.monotonic() - signalled < 5.0
        assert status == 143, loader.err
        assert loader.err[-1] == message(signal.SIGTERM, [], None, 3), loader.err
        assert committed_files("postgres", database, files) == set()


# ---- Redshift: the COPY transaction -----------------------------------------------------------


class RecordingConnection:
    """A DB-API connection that records statements; the first COPY receives a signal."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def cursor(self) -> RecordingConnection:
        return self

    def execute(self, sql: str, parameters: object = None) -> None:
        self.log.append(sql.split()[0])
        if sql.startswith("copy") and self.log.count("copy") == 1:
            interrupts.request(signal.SIGTERM)

    def fetchall(self) -> list[tuple[object, ...]]:
        return [(1,)]

    def commit(self) -> None:
        self.log.append("COMMIT")

    def rollback(self) -> None:
        self.log.append("ROLLBACK")


def test_redshift_transaction_rolls_back_at_a_signal() -> None:
    settings = redshift_copy.CopySettings(
        location=redshift_copy.S3Location("bucket", "fxa/"),
        iam_role="arn:aws:iam::123456789012:role/loader",
    )
    staged = [
        redshift_copy.StagedTable(table, RAW_TABLES[table], f"s3://bucket/{table}.manifest", 1, ())
        for table in ("flow_events", "activity_events")
    ]
    connection = RecordingConnection()
    ledger = ("a.log", "c" * 64, 1, 1, 0, 0, datetime(2026, 11, 27))
    with interrupts.handling(), pytest.raises(Interrupted) as raised:
        redshift_copy.run_file_transaction(connection, staged, settings, ledger)
    assert raised.value.signum == signal.SIGTERM
    assert connection.log == ["lock", "copy", "ROLLBACK"]  # no second COPY, no COMMIT

    unload = RecordingConnection()
    with interrupts.handling():
        interrupts.request(signal.SIGINT)
        with pytest.raises(Interrupted):
            redshift_copy.run_unload_transaction(unload, "a.log", datetime(2026, 11, 27))
    assert unload.log == ["ROLLBACK"]  # the lock is not even waited for
