"""Where normalised rows go: one sink per target, all behind the same small interface.

The loader normalises every batch in the sink's `engine`, an in-memory DuckDB connection (for
the DuckDB target too: its chunks' temp tables must not live inside the file's transaction).
A sink then receives, inside one transaction per file:

- `delete_files(names, retracted_at)`: remove earlier loads of these files (`--force`, changed
  files): first the retractions of their event rows, stamped `retracted_at`, then the rows,
  rejects and ledger rows (raw_schema.file_removal_sql);
- `append(table, query)`: the rows of `query` (a SELECT run on `engine`, columns in raw_schema
  order) appended to `raw.<table>` in bulk: DuckDB `INSERT ... SELECT` of its Arrow batches,
  Postgres `COPY`, Redshift gzip CSV parts staged to S3 and `COPY`
  (fxa_pipeline/redshift_copy.py);
- `write_ledger(row)`: the file's ledger row, last;
- `commit()` or `rollback()` (Postgres: the commit first waits while a build holds the build
  lock, fxa_pipeline/build_lock.py).

`stamp()`, inside the transaction (after the loader lock): the file's `loaded_at` (or an
unload's `retracted_at`): the database's clock where there is one, and later than every stamp
already committed, so that commit order is stamp order and no build's watermark can pass a file
committed after it.

`unload_file(name)` runs a whole unload (`--unload`) in one transaction of its
own (unload.run_unload, the sink providing its steps): the same removal as `delete_files`, only
when the ledger has the name.
`claim_setting(name, value, ...)` records a row of `raw.loader_settings` (the uid key's
fingerprint) in a transaction of its own. After a failed file, `reset_engine()` gives the next
one a new parsing engine; `broken` says whether the connection is lost (docs/loader.md#failures).
Postgres: every transaction that writes takes the loader lock first, the end-of-run ANALYZE
included, and the connection's `application_name` is `fxa-metrics loader <host> pid <pid>`.

`open_sink(target, read_only=True)` opens the target for reading only (`--status`): `query(sql)`
runs the same SQL on every target through the sink's connection; nothing can be written (DuckDB:
a read-only connection, never creating the file; Postgres: read-only transactions; Redshift: no
S3 settings needed).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.csv

from fxa_pipeline import build_lock, interrupts, redshift_copy
from fxa_pipeline.raw_schema import (
    EXISTING_COLUMNS_SQL,
    RAW_SCHEMA,
    RAW_TABLES,
    Dialect,
    LedgerRow,
    added_columns_sql,
    create_all_sql,
    file_removal_sql,
    quote,
    setting_sql,
    unload_record_sql,
    unloaded_at_sql,
    utc_now,
)
from fxa_pipeline.targets import DuckDBTarget, PostgresTarget, RedshiftTarget, Target
from fxa_pipeline.unload import RemovedRows, run_unload

_RAW = quote(RAW_SCHEMA)

# Rows per Arrow batch when a chunk's rows move from the engine to the DuckDB file.
_APPEND_BATCH_ROWS = 122_880

# Postgres advisory lock key: one loader at a time per database.
_LOADER_LOCK = 0x46584131


@dataclass(frozen=True)
class LedgerEntry:
    file_name: str
    file_sha256: str


# The latest stamps committed: ledger load times and retraction times (stamp()).
_LATEST_STAMPS_SQL = " union all ".join(
    f"select max({column}) from {_RAW}.{table}"
    for table, column in (
        ("load_ledger", "loaded_at"),
        ("retracted_flow_events", "retracted_at"),
        ("retracted_activity_events", "retracted_at"),
    )
)
_STAMP_STEP = timedelta(microseconds=1)


def later_stamp(now: datetime, committed: list[datetime | None]) -> datetime:
    """`now`, or 1 µs after the latest committed stamp when that is not earlier."""
    latest = max((stamp for stamp in committed if stamp is not None), default=None)
    return now if latest is None or now > latest else latest + _STAMP_STEP


class SinkError(RuntimeError):
    """The target cannot be reached or written; the message says what to check."""


def new_engine(path: str = ":memory:", memory_share: float = 1.0) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path)
    configure_engine(con, memory_share)
    return con


# DuckDB's own cap on its memory (buffer pool, sorts, caches), the variable dbt's profile reads
# too: without it DuckDB may hold 80% of RAM in cached blocks while a file of a few GiB is
# written, and the loader's RSS grows with the size of its largest file. The loader's DuckDB
# instances share it (the DuckDB target: the file and the parsing engine, half each).
MEMORY_LIMIT_VARIABLE = "FXA_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1536MB"
_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})


def memory_limit_bytes() -> int:
    value = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or DEFAULT_MEMORY_LIMIT
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) ?([KMGT]i?B)", value, re.IGNORECASE)
    if match is None:
        raise SinkError(f"{MEMORY_LIMIT_VARIABLE}={value!r} is not a size such as 1536MB or 2GiB")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def configure_engine(con: duckdb.DuckDBPyConnection, memory_share: float = 1.0) -> None:
    # ISO-8601 times without an offset are read as UTC; insertion order of raw rows is irrelevant.
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = '{int(memory_limit_bytes() * memory_share) // 2**20}MiB'")
    con.execute("set preserve_insertion_order = false")
    con.execute("set enable_progress_bar = false")


def _column_list(table: str) -> str:
    return ", ".join(quote(column.name) for column in RAW_TABLES[table])


class Sink(ABC):
    dialect: Dialect
    _engine: duckdb.DuckDBPyConnection
    _engine_share = 1.0  # of the loader's DuckDB memory limit

    @property
    def engine(self) -> duckdb.DuckDBPyConnection:
        return self._engine

    def reset_engine(self) -> None:
        """A new parsing engine, after a failed file: nothing of that file (a temp table, a
        registration, a result it left unfinished) reaches the next one."""
        old = self._engine
        self._engine = new_engine(memory_share=self._engine_share)
        with contextlib.suppress(duckdb.Error):
            old.close()

    @property
    def broken(self) -> bool:
        """Whether the connection to the target is lost (Postgres)."""
        return False

    def claim_setting(
        self, name: str, value: str, set_at: datetime, *, replace: bool = False
    ) -> tuple[str, datetime] | None:
        """raw.loader_settings' `name`, in one transaction of its own (Postgres: under the
        loader lock): recorded as `value` when there is none, or with `replace`. The (value,
        set_at) recorded before when it is another value (without `replace`, nothing was
        written); None otherwise."""
        placeholder = "?" if self.dialect == "duckdb" else "%s"
        select, delete, insert = setting_sql(placeholder)
        try:
            self.begin_settings()
            rows = self._setting_statement(select, [name], fetch=True)
            if rows and rows[0][0] == value:
                self.rollback_settings()
                return None
            if rows and not replace:
                self.rollback_settings()
                return str(rows[0][0]), rows[0][1]
            self._setting_statement(delete, [name])
            self._setting_statement(insert, [name, value, set_at])
            self.commit_settings()
        except BaseException:
            with contextlib.suppress(Exception):
                self.rollback_settings()
            raise
        return (str(rows[0][0]), rows[0][1]) if rows else None

    # One transaction on the target's connection (RedshiftSink stages its files' rows instead).
    def begin_settings(self) -> None:
        self.begin()

    def commit_settings(self) -> None:
        self.commit()

    def rollback_settings(self) -> None:
        self.rollback()

    def _setting_statement(
        self, sql: str, parameters: list[object], *, fetch: bool = False
    ) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    @abstractmethod
    def ensure_schema(self) -> None: ...

    @abstractmethod
    def ledger_entries(self, file_name: str, sha256: str | None) -> list[LedgerEntry]:
        """Ledger rows with this file name or this SHA-256 (None: by name only)."""

    @abstractmethod
    def unloaded_at(self, file_name: str) -> datetime | None:
        """When `file_name` was last unloaded (raw.unloaded_files), None if never."""

    @abstractmethod
    def begin(self) -> None: ...

    def stamp(self) -> datetime:
        """Inside the transaction, after begin() (the loader lock): a load or retraction time
        (UTC, no time zone) later than every one committed. DuckDB: the local clock (the file
        lock serializes writers)."""
        committed = [row[0] for row in self._rows(_LATEST_STAMPS_SQL)]
        return later_stamp(self._clock(), committed)

    def _clock(self) -> datetime:
        return utc_now()

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def delete_files(self, file_names: list[str], retracted_at: datetime) -> RemovedRows:
        """Inside the file's transaction: retract, then delete, these files' rows; the rows
        written or deleted per table (raw_schema.file_removal_sql)."""
        return self._remove(file_names, retracted_at)

    def unload_file(
        self, file_name: str, retracted_at: datetime | None = None
    ) -> RemovedRows | None:
        """`--unload` of one file in one transaction of its own (unload.run_unload); None, and
        nothing changed, when the file is not in the ledger."""
        return run_unload(self, file_name, retracted_at)

    def in_ledger(self, file_name: str) -> bool:
        return bool(self.ledger_entries(file_name, None))

    def _remove(self, file_names: list[str], retracted_at: datetime) -> RemovedRows:
        raise NotImplementedError

    def record_unload(self, file_name: str, unloaded_at: datetime) -> None:
        """Inside the unload's transaction: the file in raw.unloaded_files (unload_record_sql)."""
        raise NotImplementedError

    @abstractmethod
    def append(self, table: str, query: str) -> None: ...

    @abstractmethod
    def write_ledger(self, row: LedgerRow) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one read statement on the target's connection (no parameters: the same
        text runs on every target)."""

    @abstractmethod
    def close(self) -> None: ...


def _ledger_values(row: LedgerRow) -> tuple[object, ...]:
    return (
        row.file_name,
        row.file_sha256,
        row.lines,
        row.loaded,
        row.rejected,
        row.ignored,
        row.loaded_at,
    )


class DuckDBSink(Sink):
    dialect: Dialect = "duckdb"
    _engine_share = 0.5

    def __init__(self, target: DuckDBTarget, *, read_only: bool = False) -> None:
        path = Path(target.path).expanduser()
        if read_only and not path.exists():
            raise SinkError(
                f"no DuckDB file at {target.path}: nothing has been loaded into this target "
                "(check FXA_DUCKDB_PATH)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(target.path, read_only=read_only)
        except duckdb.Error as error:
            raise SinkError(
                f"cannot open the DuckDB file {target.path} ({error}); check FXA_DUCKDB_PATH and "
                "that no other process (dbt, another loader) holds it open"
            ) from error
        configure_engine(self._con, memory_share=0.5)
        # Checkpoint once per GiB of WAL (and at close) rather than after every file's commit:
        # measured ~20% less CPU for a folder of daily files.
        self._con.execute("set checkpoint_threshold = '1GiB'")
        # Chunks are normalised in an in-memory engine of their own, outside the file's
        # transaction: temp tables replaced inside a transaction are kept until it ends, so a
        # file of a few GiB would hold every chunk's temp tables in memory (measured: 2.9 GiB
        # RSS for a 1.3 GiB file).
        self._engine = new_engine(memory_share=self._engine_share)
        self._path = target.path
        self._read_only = read_only

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The target database's connection (the raw tables)."""
        return self._con

    def ensure_schema(self) -> None:
        for statement in create_all_sql("duckdb"):
            self._con.execute(statement)
        existing = self._con.execute(EXISTING_COLUMNS_SQL).fetchall()
        for statement in added_columns_sql("duckdb", existing):
            self._con.execute(statement)

    def ledger_entries(self, file_name: str, sha256: str | None) -> list[LedgerEntry]:
        rows = self._con.execute(
            f"select file_name, file_sha256 from {_RAW}.load_ledger"
            " where file_name = ? or file_sha256 = ?",
            [file_name, sha256],
        ).fetchall()
        return [LedgerEntry(name, sha) for name, sha in rows]

    def unloaded_at(self, file_name: str) -> datetime | None:
        rows = self._con.execute(unloaded_at_sql("?"), [file_name]).fetchall()
        return rows[0][0] if rows else None

    def begin(self) -> None:
        self._con.execute("begin transaction")

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self._con.execute(sql).fetchall()

    def _setting_statement(
        self, sql: str, parameters: list[object], *, fetch: bool = False
    ) -> list[tuple[Any, ...]]:
        result = self._con.execute(sql, parameters)
        return result.fetchall() if fetch else []

    def record_unload(self, file_name: str, unloaded_at: datetime) -> None:
        statement = unload_record_sql("?")
        self._con.execute(statement.sql, statement.parameters([file_name], unloaded_at))

    def _remove(self, file_names: list[str], retracted_at: datetime) -> RemovedRows:
        removed: RemovedRows = {}
        for statement in file_removal_sql(len(file_names), "?"):
            (count,) = self._con.execute(
                statement.sql, statement.parameters(file_names, retracted_at)
            ).fetchone() or (0,)
            removed[statement.table] = int(count)
        return removed

    def append(self, table: str, query: str) -> None:
        # Arrow batches stream from the engine into the file's transaction (no copy of the
        # whole chunk is held twice).
        rows = self._engine.sql(query).to_arrow_reader(batch_size=_APPEND_BATCH_ROWS)
        self._con.register("_fxa_append_rows", rows)
        try:
            self._con.execute(
                f"insert into {_RAW}.{table} ({_column_list(table)}) select * from _fxa_append_rows"
            )
        finally:
            # after a failed insert this fails too ("transaction is aborted"): never let it
            # replace the insert's error, which names the cause
            with contextlib.suppress(duckdb.Error):
                self._con.unregister("_fxa_append_rows")

    def write_ledger(self, row: LedgerRow) -> None:
        self._con.execute(
            f"insert into {_RAW}.load_ledger ({_column_list('load_ledger')})"
            " values (?, ?, ?, ?, ?, ?, ?)",
            list(_ledger_values(row)),
        )

    def commit(self) -> None:
        self._con.execute("commit")

    def rollback(self) -> None:
        self._con.execute("rollback")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._con.execute(sql).fetchall()

    def close(self) -> None:
        """Checkpoint (the committed files move from the `.wal` file into the database file),
        then close. A checkpoint that fails (a full disk) is reported: the files committed are
        safe in the `.wal` file, which the next process to open the database replays."""
        try:
            if not self._read_only:
                self._con.execute("checkpoint")
        except duckdb.Error as error:
            raise SinkError(
                f"the checkpoint of {self._path} failed ({' '.join(str(error).split())}): the "
                f"files committed are safe in {self._path}.wal, which the next process to open "
                "the database writes into it; free space on its disk, then run the loader again "
                "(or dbt)"
            ) from error
        finally:
            with contextlib.suppress(duckdb.Error):
                self._engine.close()
            with contextlib.suppress(duckdb.Error):
                self._con.close()


class PostgresSink(Sink):
    """Postgres via psycopg 3: rows streamed with COPY ... FROM STDIN (FORMAT csv)."""

    dialect: Dialect = "postgres"

    def __init__(self, target: PostgresTarget, *, read_only: bool = False) -> None:
        import psycopg

        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(
                **target.conninfo(), autocommit=False, application_name=application_name()
            )
        except psycopg.Error as error:
            raise SinkError(
                f"cannot connect to Postgres at {target.host}:{target.port} database "
                f"{target.dbname} as {target.user} ({str(error).strip()}); check the PG* "
                "variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)"
            ) from error
        self._conn.read_only = read_only  # every transaction READ ONLY
        self._engine = new_engine()
        # Tables appended to by the current file, and by committed files of this run.
        self._appended: set[str] = set()
        self._committed: set[str] = set()

    def ensure_schema(self) -> None:
        with self._conn.cursor() as cursor:
            self._lock(cursor)
            for statement in create_all_sql("postgres"):
                cursor.execute(statement)
            cursor.execute(EXISTING_COLUMNS_SQL)
            for statement in added_columns_sql("postgres", cursor.fetchall()):
                cursor.execute(statement)
        self._conn.commit()

    def ledger_entries(self, file_name: str, sha256: str | None) -> list[LedgerEntry]:
        with self._conn.cursor() as cursor:
            cursor.execute(
                f"select file_name, file_sha256 from {_RAW}.load_ledger"
                " where file_name = %s or file_sha256 = %s",
                [file_name, sha256],
            )
            rows = cursor.fetchall()
        return [LedgerEntry(name, sha) for name, sha in rows]

    def unloaded_at(self, file_name: str) -> datetime | None:
        with self._conn.cursor() as cursor:
            cursor.execute(unloaded_at_sql("%s"), [file_name])
            rows = cursor.fetchall()
        return rows[0][0] if rows else None

    @property
    def broken(self) -> bool:
        return bool(self._conn.broken or self._conn.closed)

    def _setting_statement(
        self, sql: str, parameters: list[object], *, fetch: bool = False
    ) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall() if fetch else []

    def begin(self) -> None:
        with self._conn.cursor() as cursor:
            self._lock(cursor)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def _clock(self) -> datetime:
        # The server's clock, as the raw tables store times: UTC without a time zone.
        ((now,),) = self._rows("select clock_timestamp() at time zone 'UTC'")
        return now

    @staticmethod
    def _lock(cursor: Any) -> None:
        """The loader lock, for the transaction. Another loader may hold it for as long as it
        loads a file: a signal stops the wait at once (psycopg cancels it on the server)."""
        with interrupts.interruptible_wait():
            cursor.execute("select pg_advisory_xact_lock(%s)", [_LOADER_LOCK])

    def record_unload(self, file_name: str, unloaded_at: datetime) -> None:
        statement = unload_record_sql("%s")
        with self._conn.cursor() as cursor:
            cursor.execute(statement.sql, statement.parameters([file_name], unloaded_at))

    def _remove(self, file_names: list[str], retracted_at: datetime) -> RemovedRows:
        removed: RemovedRows = {}
        with self._conn.cursor() as cursor:
            for statement in file_removal_sql(len(file_names), "%s"):
                cursor.execute(statement.sql, statement.parameters(file_names, retracted_at))
                removed[statement.table] = cursor.rowcount
                self._appended.add(statement.table)  # changed: ANALYZEd at the end of the run
        return removed

    def append(self, table: str, query: str) -> None:
        self._appended.add(table)
        reader = self._engine.sql(query).to_arrow_reader(batch_size=100_000)
        options = pyarrow.csv.WriteOptions(include_header=False, quoting_style="needed")
        statement = f"copy {_RAW}.{table} ({_column_list(table)}) from stdin (format csv)"
        with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                buffer = io.BytesIO()
                pyarrow.csv.write_csv(batch, buffer, options)
                copy.write(buffer.getbuffer())

    def write_ledger(self, row: LedgerRow) -> None:
        with self._conn.cursor() as cursor:
            cursor.execute(
                f"insert into {_RAW}.load_ledger ({_column_list('load_ledger')})"
                " values (%s, %s, %s, %s, %s, %s, %s)",
                list(_ledger_values(row)),
            )

    def commit(self) -> None:
        with self._conn.cursor() as cursor:  # never while a build reads the raw tables
            build_lock.wait_for_build(cursor)
        self._conn.commit()
        self._committed |= self._appended
        self._appended = set()

    def rollback(self) -> None:
        self._conn.rollback()
        self._appended = set()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
        self._conn.rollback()  # end the read's transaction
        return rows

    def close(self) -> None:
        try:
            self._analyze()
        finally:
            self._conn.close()
            self._engine.close()

    def _analyze(self) -> None:
        """Fresh planner statistics for the tables this run wrote. A day's rows carry
        `loaded_at` values above the histogram autovacuum last saw, so without them Postgres
        estimates the next incremental build's `loaded_at > watermark` at a row or two and may
        pick nested loops (measured: minutes instead of seconds for activity_events)."""
        if not self._committed or self.broken or interrupts.requested() is not None:
            return  # interrupted: exit promptly; the next run that writes them analyzes them
        tables = ", ".join(f"{_RAW}.{table}" for table in sorted(self._committed))
        # Under the loader lock, like every other write of the raw tables: ANALYZE locks the
        # tables one after the other, and another loader's schema DDL (ensure_schema) locks
        # them in another order; outside the lock the two deadlocked.
        try:
            with self._conn.cursor() as cursor:
                self._lock(cursor)
                cursor.execute(f"analyze {tables}")
            self._conn.commit()
        except BaseException:
            with contextlib.suppress(self._psycopg.Error):
                self._conn.rollback()
            raise
        self._committed = set()


class RedshiftSink(Sink):
    """Redshift: rows normalised in an in-memory DuckDB like the Postgres path; each `append`
    streams its query's rows into gzip CSV parts on local disk; `commit` uploads them to S3
    (`FXA_METRICS_S3_URI`) and runs, in one transaction, the deletes of `delete_files`, one
    `COPY ... FROM 's3://.../<table>.manifest'` per table and the ledger insert
    (fxa_pipeline/redshift_copy.py, docs/redshift.md).

    Nothing reaches the database before `commit`, so the transaction lasts only as long as the
    COPYs, not as long as the parsing; a failure before it leaves no trace but local files.
    `connection`, `s3_client` and `settings` can be given (tests); by default they come from the
    REDSHIFT_* and FXA_METRICS_S3_* variables and the standard AWS credential chain.
    """

    dialect: Dialect = "redshift"

    def __init__(
        self,
        target: RedshiftTarget,
        *,
        connection: redshift_copy.Connection | None = None,
        s3_client: redshift_copy.S3Client | None = None,
        settings: redshift_copy.CopySettings | None = None,
        read_only: bool = False,
    ) -> None:
        # Reading needs no S3: the settings and the client are only made for loading.
        self._settings: redshift_copy.CopySettings | None = settings
        self._s3: redshift_copy.S3Client | None = s3_client
        if not read_only:
            try:
                self._settings = settings or redshift_copy.CopySettings.from_env()
            except redshift_copy.ConfigError as error:
                raise SinkError(str(error)) from error
            self._s3 = s3_client or redshift_copy.make_s3_client(self._settings)
        self._conn = connection or self._connect(target)
        self._engine = new_engine()
        self._load: redshift_copy.FileLoad | None = None
        self._delete: list[str] = []
        self._retracted_at: datetime | None = None
        self._ledger: LedgerRow | None = None

    @staticmethod
    def _connect(target: RedshiftTarget) -> redshift_copy.Connection:
        import redshift_connector

        try:
            connection: redshift_copy.Connection = redshift_connector.connect(
                host=target.host,
                port=target.port,
                database=target.dbname,
                user=target.user,
                password=target.password,
            )
        except Exception as error:
            raise SinkError(
                f"cannot connect to Redshift at {target.host}:{target.port} database "
                f"{target.dbname} as {target.user} ({error}); check the REDSHIFT_* variables "
                "(REDSHIFT_HOST, REDSHIFT_PORT, REDSHIFT_USER, REDSHIFT_PASSWORD, "
                "REDSHIFT_DATABASE)"
            ) from error
        return connection

    def ensure_schema(self) -> None:
        cursor = self._conn.cursor()
        for statement in create_all_sql("redshift"):
            cursor.execute(statement)
        cursor.execute(EXISTING_COLUMNS_SQL)
        for statement in added_columns_sql("redshift", cursor.fetchall()):
            cursor.execute(statement)
        self._conn.commit()

    def ledger_entries(self, file_name: str, sha256: str | None) -> list[LedgerEntry]:
        cursor = self._conn.cursor()
        cursor.execute(
            f"select file_name, file_sha256 from {_RAW}.load_ledger"
            " where file_name = %s or file_sha256 = %s",
            [file_name, sha256],
        )
        rows = cursor.fetchall()
        self._conn.rollback()  # end the read's implicit transaction
        return [LedgerEntry(name, sha) for name, sha in rows]

    def unloaded_at(self, file_name: str) -> datetime | None:
        cursor = self._conn.cursor()
        cursor.execute(unloaded_at_sql("%s"), [file_name])
        rows = cursor.fetchall()
        self._conn.rollback()  # end the read's implicit transaction
        return rows[0][0] if rows else None

    def begin_settings(self) -> None:
        self._discard()
        cursor = self._conn.cursor()
        cursor.execute(redshift_copy.LOCK_SQL)  # the loader lock, as a file's COPY takes it

    def commit_settings(self) -> None:
        self._conn.commit()

    def rollback_settings(self) -> None:
        self._conn.rollback()

    def _setting_statement(
        self, sql: str, parameters: list[object], *, fetch: bool = False
    ) -> list[tuple[Any, ...]]:
        cursor = self._conn.cursor()
        cursor.execute(sql, parameters)
        return list(cursor.fetchall()) if fetch else []

    def begin(self) -> None:
        self._discard()
        if self._settings is None or self._s3 is None:
            raise RuntimeError("RedshiftSink: opened read-only")
        # the staging prefix carries the file's SHA-256, known from the ledger row (set in
        # write_ledger; the prefix is built at commit)
        self._load = redshift_copy.FileLoad(self._settings, self._s3, "")
        self._delete = []
        self._retracted_at = None
        self._ledger = None

    def _current(self) -> redshift_copy.FileLoad:
        if self._load is None:
            raise RuntimeError("RedshiftSink: begin() was not called")
        return self._load

    def delete_files(self, file_names: list[str], retracted_at: datetime) -> RemovedRows:
        """Staged: the removal runs in the commit's transaction (nothing is removed yet)."""
        self._current()
        self._delete.extend(file_names)
        self._retracted_at = retracted_at
        return {}

    def append(self, table: str, query: str) -> None:
        load = self._current()
        reader = self._engine.sql(query).to_arrow_reader(batch_size=100_000)
        for batch in reader:
            if batch.num_rows:
                columns = [column.to_pylist() for column in batch.columns]
                load.add_rows(table, zip(*columns, strict=True))

    def write_ledger(self, row: LedgerRow) -> None:
        self._current().file_sha256 = row.file_sha256
        self._ledger = row

    def commit(self) -> None:
        load = self._current()
        if self._ledger is None:
            raise RuntimeError("RedshiftSink: commit() before write_ledger()")
        try:
            load.commit(
                self._conn,
                _ledger_values(self._ledger),
                delete_files=self._delete,
                retracted_at=self._retracted_at,
            )
        finally:
            self._load = None

    def unload_file(
        self, file_name: str, retracted_at: datetime | None = None
    ) -> RemovedRows | None:
        # Nothing to stage: the lock, the ledger check and the removal in one transaction.
        # (The stamp is the local clock: Redshift's loaded_at is written into the staged rows
        # before the loader lock is taken.)
        self._discard()
        return redshift_copy.run_unload_transaction(
            self._conn, file_name, retracted_at or utc_now()
        )

    def stamp(self) -> datetime:
        return utc_now()

    def _discard(self) -> None:
        if self._load is not None:
            self._load.close()
            self._load = None

    def rollback(self) -> None:
        self._discard()
        self._conn.rollback()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self._conn.cursor()
        cursor.execute(sql)
        rows = list(cursor.fetchall())
        self._conn.rollback()  # end the read's implicit transaction
        return rows

    def close(self) -> None:
        self._discard()
        self._conn.close()
        self._engine.close()


def application_name() -> str:
    """How the loader's connection shows in Postgres' pg_stat_activity (and the server's log,
    with %a in log_line_prefix): `fxa-metrics loader <host> pid <pid>`."""
    return f"fxa-metrics loader {socket.gethostname()} pid {os.getpid()}"[:63]


def open_sink(target: Target, *, read_only: bool = False) -> Sink:
    """The sink of `target`; with `read_only`, for `query()` only."""
    if isinstance(target, DuckDBTarget):
        return DuckDBSink(target, read_only=read_only)
    if isinstance(target, PostgresTarget):
        return PostgresSink(target, read_only=read_only)
    return RedshiftSink(target, read_only=read_only)
