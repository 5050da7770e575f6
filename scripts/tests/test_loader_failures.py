"""A failed file never poisons the next; a run-wide failure stops the run with one line naming
its cause (docs/loader.md#failures).

Per-file failures (a missing key for a file with uids, a broken file, a database error of that
file only) roll the file back and the next file starts clean: a new parsing engine, a rolled
back transaction. Run-wide failures (the disk is full, the connection is lost) stop the run at
once: one line on stderr naming the first error (not the follow-on "transaction is aborted")
and what to do, exit status 3, no file started after it. The faults are real where that is
cheap (a full tmpfs under the DuckDB file, a Postgres backend terminated by a second
connection) and injected at a known moment otherwise, always through the loader's own code.
"""

from __future__ import annotations

import errno
import inspect
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import write
from dbt_harness import run_loader
from fxa_pipeline import failures, reading, sinks
from fxa_pipeline.uid_hmac import HmacKey
from test_formats import LOG_LINES

TIME_MS = 1479834000000
COUNTS = (
    "select (select count(*) from raw.flow_events), (select count(*) from raw.activity_events),"
    " (select count(*) from raw.load_ledger)"
)


def flow_lines(seed: int, count: int) -> str:
    """`count` flow events (no uid): files that load without a key."""
    return "\n".join(
        json.dumps(
            {
                "Type": "flowEvent",
                "Fields": {
                    "event": "flow.begin",
                    "flow_id": f"{seed:08x}{number:056x}",
                    "time": TIME_MS + number,
                    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Firefox/60.0",
                },
            }
        )
        for number in range(count)
    )


def ledger(query: Callable[[str], list[tuple]]) -> set[str]:
    return {name for (name,) in query("select file_name from raw.load_ledger")}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


# ---- per-file failures: the next file starts clean --------------------------------------------


def test_missing_key_fails_only_the_file_with_uids(
    tmp_path: Path, raw_warehouse, load, capsys, monkeypatch
) -> None:
    target, query = raw_warehouse
    monkeypatch.delenv("FXA_METRICS_UID_HMAC_KEY")
    with_uid = write(tmp_path / "in" / "a-with-uid.log", "\n".join(LOG_LINES))
    no_uid = [
        write(tmp_path / "in" / f"{c}-no-uid.log", flow_lines(seed, 3))
        for seed, c in ((1, "b"), (2, "c"))
    ]
    assert load(tmp_path / "in", target=target) == 2
    captured = capsys.readouterr()
    assert error_lines(captured.err) == [
        f"error: {with_uid.resolve()}: this file holds uids (or runs of 32 hex characters in "
        "rejected lines, HMACed like uids) and FXA_METRICS_UID_HMAC_KEY is not set, so they "
        "cannot be HMACed; nothing of the file was written. Set FXA_METRICS_UID_HMAC_KEY to the "
        "warehouse's uid HMAC key and rerun."
    ]
    assert "total: 2 files loaded, 0 skipped, 1 failed" in captured.out
    assert ledger(query) == {str(path.resolve()) for path in no_uid}
    assert query(COUNTS) == [(6, 0, 2)]


def test_a_file_that_fails_mid_append_leaves_nothing_behind(
    tmp_path: Path, raw_warehouse, load, capsys, monkeypatch
) -> None:
    """A database error of one file (not run-wide) while its rows stream out of the parsing
    engine: the engine is left with an unfinished result; the next file gets a new one."""
    target, query = raw_warehouse
    sink_class = sinks.DuckDBSink if target == "duckdb" else sinks.PostgresSink
    original = sink_class.append
    calls: list[str] = []

    def failing_append(self: sinks.Sink, table: str, sql: str) -> None:
        calls.append(table)
        if len(calls) == 1:
            reader = self.engine.sql(sql).to_arrow_reader(batch_size=1)
            reader.read_next_batch()  # a result half read, as a failed COPY leaves it
            raise ValueError("a value the target refused (injected)")
        original(self, table, sql)

    monkeypatch.setattr(sink_class, "append", failing_append)
    first = write(tmp_path / "in" / "a.log", flow_lines(1, 5))
    second = write(tmp_path / "in" / "b.log", flow_lines(2, 5))
    assert load(tmp_path / "in", target=target) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [
        f"error: {first.resolve()}: ValueError: a value the target refused (injected)"
    ]
    assert ledger(query) == {str(second.resolve())}
    assert query(COUNTS) == [(5, 0, 1)]


def test_a_broken_file_fails_alone(tmp_path: Path, raw_warehouse, load, capsys) -> None:
    target, query = raw_warehouse
    broken = write(tmp_path / "in" / "a.log.gz", flow_lines(1, 400), compress=True)
    broken.write_bytes(broken.read_bytes()[:-40])
    good = write(tmp_path / "in" / "b.log", flow_lines(2, 4))
    assert load(tmp_path / "in", target=target) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith(f"error: {broken.resolve()}: the gzip stream is truncated")
    assert ledger(query) == {str(good.resolve())}


# ---- run-wide failures: one line, exit 3, nothing started after -------------------------------


def _disk_full_error(target: str) -> Exception:
    if target == "duckdb":
        return duckdb.IOException(
            'Could not write file "warehouse.duckdb.wal": No space left on device (injected)'
        )
    import psycopg.errors

    return psycopg.errors.DiskFull(
        'could not extend file "base/16384/16385": No space left on device (injected)'
    )


@pytest.mark.parametrize("how", ["error", "follow-on"])
def test_disk_full_stops_the_run_naming_the_first_error(
    tmp_path: Path, raw_warehouse, load, capsys, monkeypatch, how: str
) -> None:
    """The second file's second chunk finds the disk full. `follow-on`: the engine reports
    it as later statements do ("transaction is aborted"), the disk-full error as its cause."""
    target, query = raw_warehouse
    monkeypatch.setenv("FXA_LOADER_CHUNK_MB", str(3000 / 2**20))  # a few lines per chunk
    sink_class = sinks.DuckDBSink if target == "duckdb" else sinks.PostgresSink
    original = sink_class.append
    calls: list[str] = []

    def filling_append(self: sinks.Sink, table: str, sql: str) -> None:
        calls.append(next(c for c in "abc" if f"/{c}.log'" in sql))
        if calls.count("b") == 2:  # b.log's first chunk went in, its second finds the disk full
            full = _disk_full_error(target)
            if how == "error":
                raise full
            try:
                raise full
            except Exception:
                raise RuntimeError("Current transaction is aborted (please ROLLBACK)")  # noqa: B904
        original(self, table, sql)

    monkeypatch.setattr(sink_class, "append", filling_append)
    files = [write(tmp_path / "in" / f"{c}.log", flow_lines(n, 30)) for n, c in enumerate("abc")]
    assert load(tmp_path / "in", target=target) == failures.RUN_STOPPED_EXIT
    captured = capsys.readouterr()
    (line,) = error_lines(captured.err)
    error_type = "IOException" if target == "duckdb" else "DiskFull"
    assert line.startswith(f"error: stopped: the disk is full ({error_type}: "), line
    assert "No space left on device (injected)" in line
    assert f"while loading {files[1].resolve()}; nothing of it was written" in line, line
    assert "1 file committed, 1 not started. To do: free space on the disk that holds" in line
    assert "aborted" not in line
    assert "c" not in calls  # not started
    assert ledger(query) == {str(files[0].resolve())}
    assert "total: 1 files loaded, 0 skipped, 0 failed" in captured.out


def test_only_the_engine_says_what_is_run_wide_never_the_data() -> None:
    """An error that quotes the data being loaded (a log line saying "No space left on
    device") fails one file; the engine's own I/O, connection and SQLSTATE errors stop the
    run; the first error of a chain is named, not its follow-on."""
    import psycopg.errors

    quoting = [
        psycopg.errors.StringDataRightTruncation(
            'value too long CONTEXT: COPY flow_events, line 1: "No space left on device"'
        ),
        duckdb.ConversionException("Could not convert 'server closed the connection' to INT64"),
    ]
    assert [failures.run_wide(error, "the target") for error in quoting] == [None, None]
    kinds = {
        duckdb.IOException('Could not write "a.wal": No space left on device'): "the disk is full",
        psycopg.errors.DiskFull("could not extend file"): "the disk is full",
        OSError(errno.ENOSPC, "No space left on device"): "the disk is full",
        psycopg.errors.AdminShutdown("terminating connection"): "the connection to the database "
        "was lost",
        psycopg.OperationalError("consuming input failed: server closed the connection"): "the "
        "connection to the database was lost",
        duckdb.FatalException("database has been invalidated"): "the database cannot be written",
    }
    for error, kind in kinds.items():
        found = failures.run_wide(error, "the target")
        assert found is not None and found.kind == kind, error
    try:
        try:
            raise duckdb.IOException("No space left on device")
        except duckdb.Error:
            raise duckdb.TransactionException("Current transaction is aborted (please ROLLBACK)")  # noqa: B904
    except duckdb.Error as error:
        assert failures.one_line(failures.first_error(error)) == (
            "IOException: No space left on device"
        )


@pytest.mark.postgres
def test_lost_postgres_connection_stops_the_run(
    tmp_path: Path, postgres_database: str, hmac_key: str, postgres, capsys, monkeypatch
) -> None:
    """A second connection terminates the loader's backend while the second file streams its
    rows: one line, exit 3, the third file not started."""
    import psycopg

    original = sinks.PostgresSink.append
    calls: list[str] = []

    def terminated_append(self: sinks.PostgresSink, table: str, sql: str) -> None:
        calls.append(next(c for c in "abc" if f"/{c}.log'" in sql))
        if calls.count("b") == 1 and calls[-1] == "b":  # the first rows of b.log
            with psycopg.connect(dbname=postgres_database, autocommit=True) as other:
                (terminated,) = other.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity"
                    " where datname = %s and pid <> pg_backend_pid()"
                    " and backend_type = 'client backend'",
                    [postgres_database],
                ).fetchone()
                assert terminated
        original(self, table, sql)

    monkeypatch.setattr(sinks.PostgresSink, "append", terminated_append)
    files = [write(tmp_path / "in" / f"{c}.log", flow_lines(n, 5)) for n, c in enumerate("abc")]
    status = run_loader(tmp_path / "in", target="postgres")
    captured = capsys.readouterr()
    assert status == failures.RUN_STOPPED_EXIT, captured.err
    (line,) = error_lines(captured.err)
    assert line.startswith("error: stopped: the connection to the database was lost ("), line
    assert "terminating connection due to administrator command" in line
    assert f"while loading {files[1].resolve()}; nothing of it was written" in line, line
    assert "1 file committed, 1 not started" in line
    assert "c" not in calls  # not started
    assert {name for (name,) in postgres("select file_name from raw.load_ledger")} == {
        str(files[0].resolve())
    }


# ---- a real full disk (DuckDB on a small tmpfs) -----------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (skips unless this process may mount one)."""
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> None:
    """Write a file on `disk` until it is full."""
    with (disk / "filler").open("ab") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC


@pytest.mark.integration
def test_a_real_full_disk_stops_the_run_and_names_the_wal(
    tmp_path: Path, small_disk: Path, hmac_key: str, capsys, monkeypatch
) -> None:
    database = small_disk / "warehouse.duckdb"
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(database))
    monkeypatch.delenv("FXA_TARGET", raising=False)
    files = [
        write(tmp_path / "in" / f"{c}.log", flow_lines(n, 4000)) for n, c in enumerate("abcdef")
    ]
    status = run_loader(tmp_path / "in")
    captured = capsys.readouterr()
    assert status == failures.RUN_STOPPED_EXIT, captured
    (line,) = error_lines(captured.err)
    assert line.startswith("error: stopped: the disk is full ("), line
    assert "No space left on device" in line
    assert "rollback failed" not in captured.err
    loaded = captured.out.count(": 4,000 lines, 4,000 loaded")
    assert 0 < loaded < len(files) - 1, captured.out
    assert f"{len(files) - loaded - 1} not started" in line, (line, captured.out)

    # A run that commits its file but then finds the disk full at the checkpoint (when the
    # DuckDB file takes the rows the .wal file holds): it says so, names the .wal file, and
    # does not exit 0.
    for path in small_disk.iterdir():
        path.unlink()
    small = write(tmp_path / "small" / "z.log", flow_lines(99, 50))
    original = sinks.DuckDBSink.close

    def close_on_a_full_disk(self: sinks.DuckDBSink) -> None:
        fill(small_disk)
        original(self)

    monkeypatch.setattr(sinks.DuckDBSink, "close", close_on_a_full_disk)
    status = run_loader(small)
    captured = capsys.readouterr()
    assert status == failures.RUN_STOPPED_EXIT, captured
    assert f"{small.resolve()}: 50 lines, 50 loaded" in captured.out
    (line,) = error_lines(captured.err)
    assert line.startswith(f"error: the disk is full: the checkpoint of {database} failed"), line
    assert f"safe in {database}.wal" in line


# ---- Postgres: two loaders serialise, never deadlock ------------------------------------------

LOCK_WAIT_SQL = (
    "select count(*) from pg_stat_activity where datname = %s and application_name = %s"
    " and wait_event_type = 'Lock' and wait_event = 'advisory'"
)
TIMEOUT = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


class InProcessLoader(threading.Thread):
    """load_events.main() in a thread of this process (its messages in pytest's capture)."""

    def __init__(self, *paths: Path) -> None:
        super().__init__(daemon=True)
        self.paths = paths
        self.status: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.status = run_loader(*self.paths, target="postgres")
        except BaseException as error:  # reported by the test
            self.error = error


@pytest.mark.postgres
def test_the_closing_analyze_waits_for_the_loader_lock(
    tmp_path: Path, postgres_database: str, hmac_key: str, monkeypatch
) -> None:
    """The ANALYZE a loader runs as it closes takes the loader lock: another loader holding
    it (here a second connection, from right after the file's commit) makes it wait."""
    import psycopg

    other = psycopg.connect(dbname=postgres_database, autocommit=True)
    original = sinks.PostgresSink.commit

    def commit_then_lock(self: sinks.PostgresSink) -> None:
        file_commit = bool(self._appended)  # not the commit of the key's fingerprint
        original(self)
        if file_commit:
            other.execute("select pg_advisory_lock(%s)", [sinks._LOADER_LOCK])

    monkeypatch.setattr(sinks.PostgresSink, "commit", commit_then_lock)
    loader = InProcessLoader(write(tmp_path / "a.log", flow_lines(1, 5)))
    with other:
        loader.start()
        name = sinks.application_name()

        def analyze_waits() -> bool:
            assert loader.is_alive(), "the loader ended without waiting for the lock"
            (waiting,) = other.execute(LOCK_WAIT_SQL, [postgres_database, name]).fetchone()
            return bool(waiting)

        wait_for(analyze_waits, "the closing ANALYZE waits for the loader lock")
        other.execute("select pg_advisory_unlock(%s)", [sinks._LOADER_LOCK])
        loader.join(TIMEOUT)
    assert loader.error is None and loader.status == 0, loader.error


@pytest.mark.postgres
def test_a_second_loader_waits_for_the_first_to_analyze(
    tmp_path: Path, postgres_database: str, hmac_key: str, monkeypatch
) -> None:
    """The first loader is held inside its closing ANALYZE (after it took the loader lock);
    a second loader (another process) starts and waits for the lock, found by its
    application_name in pg_stat_activity; the first is let go: both exit 0, no deadlock."""
    import psycopg
    from test_loader_signals import LoaderProcess, loader_env

    holding, release = threading.Event(), threading.Event()
    original_lock = sinks.PostgresSink._lock

    def lock_then_hold(cursor: object) -> None:
        original_lock(cursor)
        if any(frame.function == "_analyze" for frame in inspect.stack()):
            holding.set()
            assert release.wait(TIMEOUT)

    monkeypatch.setattr(sinks.PostgresSink, "_lock", staticmethod(lock_then_hold))
    first = InProcessLoader(write(tmp_path / "first" / "a.log", flow_lines(1, 5)))
    first.start()
    try:
        assert holding.wait(TIMEOUT), f"the closing ANALYZE never took the lock: {first.error}"
        write(tmp_path / "second" / "b.log", flow_lines(2, 5))
        env = {**loader_env("postgres", postgres_database), "FXA_METRICS_UID_HMAC_KEY": hmac_key}
        second = LoaderProcess(env, tmp_path / "second")
        name = f"fxa-metrics loader {socket.gethostname()} pid {second.process.pid}"[:63]
        with psycopg.connect(dbname=postgres_database, autocommit=True) as other:
            wait_for(
                lambda: bool(other.execute(LOCK_WAIT_SQL, [postgres_database, name]).fetchone()[0]),
                "the second loader waits for the loader lock",
            )
    finally:
        release.set()
        first.join(TIMEOUT)
    status = second.finish()
    assert first.error is None and first.status == 0, first.error
    assert status == 0, second.err
    assert [line for line in second.err if "%" not in line] == [], second.err  # progress only


@pytest.mark.postgres
def test_an_error_before_the_first_file_is_one_line(
    tmp_path: Path, postgres_database: str, hmac_key: str
) -> None:
    """A loader waiting for the lock to prepare the raw tables loses its connection (a second
    connection terminates its backend): one line naming the cause, exit 3, no traceback."""
    import psycopg
    from test_loader_signals import LoaderProcess, loader_env

    write(tmp_path / "in" / "a.log", flow_lines(1, 5))
    env = loader_env("postgres", postgres_database)
    with psycopg.connect(dbname=postgres_database, autocommit=True) as other:
        other.execute("select pg_advisory_lock(%s)", [sinks._LOADER_LOCK])
        loader = LoaderProcess(env, tmp_path / "in")
        name = f"fxa-metrics loader {socket.gethostname()} pid {loader.process.pid}"[:63]
        wait_for(
            lambda: bool(other.execute(LOCK_WAIT_SQL, [postgres_database, name]).fetchone()[0]),
            "the loader waits for the loader lock",
        )
        other.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s",
            [name],
        )
        status = loader.finish()
    assert status == failures.RUN_STOPPED_EXIT, loader.err
    assert len(loader.err) == 1, loader.err
    assert loader.err[0].startswith(
        "error: stopped: the connection to the database was lost (AdminShutdown: terminating "
        "connection due to administrator command); 0 files committed, 1 not started. To do: "
        "check that the postgres target ("
    ), loader.err


# ---- a file that changes between its hashing and its reading, or while it is read -------------


def test_a_file_rotated_between_hashing_and_reading_is_rolled_back(
    tmp_path: Path, raw_warehouse, load, capsys, monkeypatch
) -> None:
    """Day 3's log is hashed; before it is read, it is rotated (renamed) and the next day's
    log takes its name. The file is rolled back: the ledger never pairs day 3's SHA-256 with
    day 4's rows, so day 3 (under its new name) and day 4 both load on the next run."""
    target, query = raw_warehouse
    path = write(tmp_path / "in" / "auth.log", flow_lines(3, 10))
    rotated = tmp_path / "in" / "auth.log.1"
    original = reading.iter_chunks
    rotations = []

    def rotate_then_read(*args: object, **kwargs: object) -> Iterator[reading.Chunk]:
        if not rotations:
            os.replace(path, rotated)
            write(path, flow_lines(4, 7))
            rotations.append(path)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reading, "iter_chunks", rotate_then_read)
    sizes = len(flow_lines(3, 10)), len(flow_lines(4, 7))
    assert load(path, target=target) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line == (
        f"error: {path.resolve()}: the file changed between its hashing and its reading "
        f"(another file under its name (inode); size {sizes[0]:,} is now {sizes[1]:,} bytes; "
        "modification time): it was rotated, replaced or written to meanwhile; nothing of it "
        "was written. Load it again once nothing writes to it any more"
    )
    assert query(COUNTS) == [(0, 0, 0)]

    assert load(tmp_path / "in", target=target) == 0
    assert query("select file_name, lines from raw.load_ledger order by 1") == [
        (str(path.resolve()), 7),
        (str(rotated.resolve()), 10),
    ]
    assert query("select file_name, file_sha256 from raw.load_ledger order by 1") == [
        (str(p.resolve()), reading.sha256_of(p)) for p in (path, rotated)
    ]


@pytest.mark.parametrize("change", ["appended", "rewritten"])
def test_a_file_that_changes_while_it_is_read_is_rolled_back(
    tmp_path: Path, raw_warehouse, load, capsys, monkeypatch, change: str
) -> None:
    """After the first chunk was loaded, lines are appended to the file (a log still being
    written), or bytes not read yet are rewritten in place with the same size and time (the
    file is larger than the reader's read-ahead): rolled back."""
    target, query = raw_warehouse
    monkeypatch.setenv("FXA_LOADER_CHUNK_MB", "0.25")
    text = flow_lines(1, 12_000) + "\n"
    assert len(text) > 2 * reading.READ_BYTES
    path = write(tmp_path / "auth.log", text)
    before = path.stat()
    original = reading.iter_chunks

    def change_after_the_first_chunk(*args: object, **kwargs: object) -> Iterator[reading.Chunk]:
        for number, chunk in enumerate(original(*args, **kwargs)):  # type: ignore[arg-type]
            yield chunk
            if number == 0 and change == "appended":
                with path.open("a") as handle:
                    handle.write(flow_lines(2, 3) + "\n")
            elif number == 0:
                data = path.read_bytes()
                with path.open("r+b") as handle:  # the same inode, size and time
                    handle.write(data.replace(b"flow.begin", b"flow.BEGIN"))
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    monkeypatch.setattr(reading, "iter_chunks", change_after_the_first_chunk)
    assert load(path, target=target) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith(f"error: {path.resolve()}: the file changed while it was read ("), line
    assert "SHA-256 " in line and "nothing of it was written" in line
    assert (f"size {len(text):,} is now" in line) == (change == "appended"), line
    assert query(COUNTS) == [(0, 0, 0)]


# ---- the uid HMAC key's fingerprint -----------------------------------------------------------


def test_a_load_with_another_uid_key_is_refused_before_anything_is_written(
    tmp_path: Path, raw_warehouse, load, capsys, monkeypatch
) -> None:
    """The first load with a key records its fingerprint (never the key); a load with another
    key is refused whole, files without uids too; --new-uid-key records the new one."""
    target, query = raw_warehouse
    first_key = os.environ["FXA_METRICS_UID_HMAC_KEY"]
    first = write(tmp_path / "a.log", "\n".join(LOG_LINES))
    assert load(first, target=target) == 0
    settings = query("select name, value from raw.loader_settings")
    assert settings == [("uid_hmac_key_fingerprint", HmacKey(first_key.encode()).fingerprint())]
    assert first_key not in settings[0][1] and len(settings[0][1]) == 16
    capsys.readouterr()

    monkeypatch.setenv("FXA_METRICS_UID_HMAC_KEY", "another key")
    second = write(tmp_path / "b.log", "\n".join(LOG_LINES[2:]))
    no_uid = write(tmp_path / "c.log", flow_lines(1, 3))
    assert load(second, no_uid, target=target) == 2
    captured = capsys.readouterr()
    (line,) = error_lines(captured.err)
    fingerprint = HmacKey(b"another key").fingerprint()
    assert line.startswith(
        f"error: FXA_METRICS_UID_HMAC_KEY is not the key the uids of the {target} target ("
    ), line
    assert (
        f"(its fingerprint is {fingerprint}; raw.loader_settings records {settings[0][1]}" in line
    )
    assert "nothing was loaded" in line and "docs/operations.md#the-uid-hmac-key" in line
    assert "total: 0 files loaded, 0 skipped, 0 failed" in captured.out
    assert ledger(query) == {str(first.resolve())}

    # Without a key, a file with no uid needs none and is not refused.
    monkeypatch.delenv("FXA_METRICS_UID_HMAC_KEY")
    assert load(no_uid, target=target) == 0
    assert ledger(query) == {str(first.resolve()), str(no_uid.resolve())}

    # A rotation on purpose: the new key's fingerprint replaces the old one.
    monkeypatch.setenv("FXA_METRICS_UID_HMAC_KEY", "another key")
    capsys.readouterr()
    assert run_loader_with("--new-uid-key", "--target", target, str(second)) == 0
    (line,) = error_lines(capsys.readouterr().err)
    assert (
        line.startswith(f"warning: the uid HMAC key of the {target} target (")
        and f"is now the key of fingerprint {fingerprint} (it was {settings[0][1]}, since " in line
    )
    assert query("select value from raw.loader_settings") == [(fingerprint,)]
    assert load(second, target=target) == 0  # skipped, the new key accepted
    monkeypatch.setenv("FXA_METRICS_UID_HMAC_KEY", first_key)
    assert load(first, target=target) == 2


def run_loader_with(*argv: str) -> int:
    import load_events

    return load_events.main(list(argv))
