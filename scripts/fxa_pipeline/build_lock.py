"""The build lock: one `dbt build` at a time per warehouse, and no load committed during one
(docs/operations.md#one-build-at-a-time).

`scripts/build.py` (`make build`, and `make daily`'s build step) holds the lock for the whole
build, on a connection of its own:

- Postgres: the session-level advisory lock `BUILD_LOCK_KEY`, on a connection whose
  `application_name` names the build (`fxa-metrics build <host> pid <pid>`), so that
  `pg_locks` joined to `pg_stat_activity` says who holds it and since when;
- Redshift (no advisory locks): `lock raw.build_lock` in a transaction left open for the build;
- DuckDB: nothing to take: the DuckDB file admits one writing process at a time already.

The loader waits for that lock (shared, transaction-level, just before COMMIT: `wait_for_build`)
so a load or an unload never commits while a build reads the raw tables: each model of a build
sees the same raw rows, and a file committed after the build is in the next one.

A hand-run `dbt build` takes no lock (dbt closes its hooks' connections, so a hook cannot hold a
session lock for the run); its `on-run-start` hook (macros/build_lock.sql) stops it at once when
a build holds the lock, and each model takes a transaction-level lock of its own, so that even
two hand-run builds never insert the same rows twice.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from fxa_pipeline import interrupts
from fxa_pipeline.raw_schema import RAW_SCHEMA, REDSHIFT_BUILD_LOCK_DDL, REDSHIFT_BUILD_LOCK_TABLE
from fxa_pipeline.targets import DuckDBTarget, PostgresTarget, RedshiftTarget, Target

# Postgres advisory lock key of the build lock (bigint form; 'FXAB'). macros/build_lock.sql
# holds the same number.
BUILD_LOCK_KEY = 0x46584142

# Exit status of a build that did not start because another one holds the lock (EX_TEMPFAIL:
# try again later). Nothing was written.
EXIT_BUSY = 75

# Seconds a build waits for another one to finish before it gives up (--wait).
WAIT_VARIABLE = "FXA_BUILD_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 600.0

# The Postgres backend pid of the build lock's session, for dbt's on-run-start hook: the
# build that holds the lock may run.
HOLDER_VARIABLE = "FXA_BUILD_LOCK_PID"

_APPLICATION_PREFIX = "fxa-metrics build"


def default_wait() -> float:
    value = os.environ.get(WAIT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{WAIT_VARIABLE}={value!r} is not a number of seconds") from None
    if seconds < 0:
        raise ValueError(f"{WAIT_VARIABLE}={value!r}: the wait cannot be negative")
    return seconds


@dataclass(frozen=True)
class Holder:
    """The session holding the build lock, as the database reports it."""

    pid: int
    application: str
    since: datetime | None

    def describe(self) -> str:
        name = f"'{self.application}'" if self.application else "a session"
        since = f", since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return f"{name} (server pid {self.pid}{since})"


class BuildBusy(RuntimeError):
    """Another build holds the lock and did not release it within the wait."""

    def __init__(self, holder: Holder | None, waited: float) -> None:
        self.holder = holder
        self.waited = waited
        who = holder.describe() if holder else "another session"
        waited_text = f" after waiting {waited:g} s" if waited else ""
        super().__init__(
            f"build not started{waited_text}: the build lock is held by {who}; nothing was "
            "written. Rerun when it has finished (see docs/operations.md#one-build-at-a-time)."
        )


def application_name() -> str:
    """`fxa-metrics build <host> pid <pid>`: who holds the lock, for pg_stat_activity."""
    return f"{_APPLICATION_PREFIX} {socket.gethostname()} pid {os.getpid()}"[:63]


# ---- Postgres ------------------------------------------------------------------------------


def postgres_holder_sql(key: int = BUILD_LOCK_KEY, shared: bool = False) -> str:
    """(pid, application_name, backend_start in UTC) of the sessions holding the advisory lock
    `key` (bigint form: classid = high 32 bits, objid = low 32 bits, objsubid = 1) in this
    database, exclusively (or, with `shared`, in any mode), the current session excluded."""
    return (
        "select activity.pid, activity.application_name,"
        " activity.backend_start at time zone 'UTC'"
        " from pg_locks as locks"
        " inner join pg_stat_activity as activity on activity.pid = locks.pid"
        " where locks.locktype = 'advisory' and locks.granted"
        " and locks.database = (select oid from pg_database where datname = current_database())"
        f" and locks.classid = {key >> 32} and locks.objid = {key & 0xFFFFFFFF}"
        " and locks.objsubid = 1"
        + ("" if shared else " and locks.mode = 'ExclusiveLock'")
        + " and locks.pid <> pg_backend_pid()"
        " order by activity.backend_start limit 1"
    )


def postgres_holder(cursor: Any) -> Holder | None:
    cursor.execute(postgres_holder_sql())
    row = cursor.fetchone()
    return Holder(int(row[0]), row[1] or "", row[2]) if row else None


def wait_for_build(cursor: Any, err: TextIO | None = None, what: str = "committing") -> None:
    """Postgres, inside a loader's transaction just before COMMIT: wait while a build holds the
    build lock (a shared, transaction-level lock: loaders never wait for each other here), and
    say so once on `err`. A signal stops the wait (interrupts.interruptible_wait)."""
    cursor.execute("select pg_try_advisory_xact_lock_shared(%s)", [BUILD_LOCK_KEY])
    row = cursor.fetchone()
    if row and row[0]:
        return
    holder = postgres_holder(cursor)
    stream = err or sys.stderr
    who = holder.describe() if holder else "another session"
    stream.write(f"waiting for the build {who} to finish before {what}\n")
    stream.flush()
    with interrupts.interruptible_wait():
        cursor.execute("select pg_advisory_xact_lock_shared(%s)", [BUILD_LOCK_KEY])


class BuildLock(ABC):
    """The build lock of one target, held from `acquire()` to `release()`."""

    # The server's id of the lock's session (Postgres backend pid), for the dbt hook.
    session_id: str = ""

    @abstractmethod
    def acquire(self, wait: float, err: TextIO) -> None:
        """Take the lock, waiting up to `wait` seconds (saying once on `err` who holds it);
        raise BuildBusy when it is still held then."""

    @abstractmethod
    def missing_relations(self, relations: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (schema, name) of `relations` the warehouse does not have."""

    @abstractmethod
    def release(self) -> None: ...


class NoBuildLock(BuildLock):
    """DuckDB: the file itself admits one writing process; nothing to take."""

    def __init__(self, target: DuckDBTarget) -> None:
        self._path = Path(target.path).expanduser()

    def acquire(self, wait: float, err: TextIO) -> None:
        return None

    def missing_relations(self, relations: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        if not self._path.exists():
            return list(relations)
        import duckdb

        con = duckdb.connect(str(self._path))
        try:
            found = set(
                con.execute(
                    "select table_schema, table_name from information_schema.tables"
                    " where table_catalog = current_database()"
                ).fetchall()
            )
        finally:
            con.close()
        return [relation for relation in relations if relation not in found]

    def release(self) -> None:
        return None


class PostgresBuildLock(BuildLock):
    def __init__(self, target: PostgresTarget, poll_seconds: float = 0.5) -> None:
        import psycopg

        self._conn = psycopg.connect(
            **target.conninfo(), autocommit=True, application_name=application_name()
        )
        self._poll = poll_seconds
        (pid,) = self._conn.execute("select pg_backend_pid()").fetchone() or (0,)
        self.session_id = str(pid)

    def acquire(self, wait: float, err: TextIO) -> None:
        deadline = time.monotonic() + wait
        told = False
        while True:
            row = self._conn.execute("select pg_try_advisory_lock(%s)", [BUILD_LOCK_KEY]).fetchone()
            if row and row[0]:
                return
            with self._conn.cursor() as cursor:
                holder = postgres_holder(cursor)
            if time.monotonic() >= deadline:
                raise BuildBusy(holder, wait)
            if not told:
                who = holder.describe() if holder else "another session"
                err.write(f"waiting up to {wait:g} s for the build {who} to finish\n")
                err.flush()
                told = True
            with interrupts.interruptible_wait():
                time.sleep(min(self._poll, max(deadline - time.monotonic(), 0.0)))

    def missing_relations(self, relations: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        found = set(
            self._conn.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        )
        return [relation for relation in relations if relation not in found]

    def release(self) -> None:
        # Closing the session releases a session-level lock too (also when the process dies).
        self._conn.close()


class RedshiftBuildLock(BuildLock):
    """`lock raw.build_lock` in a transaction kept open for the build; `statement_timeout`
    bounds the wait. Checked offline only (the SQL parses as Redshift)."""

    CREATE_SQL = REDSHIFT_BUILD_LOCK_DDL
    LOCK_SQL = f"lock {REDSHIFT_BUILD_LOCK_TABLE}"
    HOLDER_SQL = (
        "select transactions.pid, transactions.txn_owner, transactions.txn_start"
        " from svv_transactions as transactions"
        " where transactions.relation = ("
        "select tables.table_id from svv_table_info as tables"
        f" where tables.schema = '{RAW_SCHEMA}' and tables.\"table\" = 'build_lock')"
        " and transactions.granted and transactions.pid <> pg_backend_pid()"
        " order by transactions.txn_start limit 1"
    )

    def __init__(self, target: RedshiftTarget, connection: Any = None) -> None:
        if connection is None:
            import redshift_connector

            connection = redshift_connector.connect(
                host=target.host,
                port=target.port,
                database=target.dbname,
                user=target.user,
                password=target.password,
                application_name=application_name(),
            )
        self._conn = connection

    def acquire(self, wait: float, err: TextIO) -> None:
        cursor = self._conn.cursor()
        cursor.execute(self.CREATE_SQL)
        self._conn.commit()
        cursor.execute(f"set statement_timeout to {max(int(wait * 1000), 1)}")
        try:
            cursor.execute(self.LOCK_SQL)
        except Exception:
            self._conn.rollback()
            cursor.execute(self.HOLDER_SQL)
            row = cursor.fetchone()
            self._conn.rollback()
            holder = Holder(int(row[0]), str(row[1]), row[2]) if row else None
            raise BuildBusy(holder, wait) from None
        cursor.execute("set statement_timeout to 0")

    def missing_relations(self, relations: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        cursor = self._conn.cursor()
        cursor.execute("select table_schema, table_name from information_schema.tables")
        found = {(str(schema), str(name)) for schema, name in cursor.fetchall()}
        return [relation for relation in relations if relation not in found]

    def release(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()


def open_build_lock(target: Target) -> BuildLock:
    if isinstance(target, DuckDBTarget):
        return NoBuildLock(target)
    if isinstance(target, PostgresTarget):
        return PostgresBuildLock(target)
    return RedshiftBuildLock(target)


# ---- the build -----------------------------------------------------------------------------

# Runs one dbt command (its arguments after `dbt`, the target included); its exit status.
DbtCall = Callable[[Sequence[str]], int]


def project_relations(project: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(seeds, models) of the project as (schema, relation name): models/staging/ in the
    `staging` schema, every other model and seed in `analytics` (dbt_project.yml)."""
    seeds = [("analytics", path.stem) for path in sorted((project / "seeds").glob("*.csv"))]
    models = [
        (
            "staging" if "staging" in path.relative_to(project / "models").parts else "analytics",
            path.stem,
        )
        for path in sorted((project / "models").rglob("*.sql"))
    ]
    return seeds, models


def run_build(
    target: Target,
    dbt_args: Sequence[str],
    dbt: DbtCall,
    *,
    project: Path,
    wait: float,
    err: TextIO | None = None,
    vars_yaml: str | None = None,
) -> int:
    """Take the build lock (waiting up to `wait` seconds), bootstrap a fresh warehouse
    (`dbt seed` and `dbt run --empty` of the relations it lacks: unit tests need their model's
    relation), then `dbt build <dbt_args>`; release the lock. EXIT_BUSY, with one line on
    `err` naming the build that holds the lock, when it is not free in time."""
    err = err or sys.stderr
    lock = open_build_lock(target)
    try:
        try:
            lock.acquire(wait, err)
        except BuildBusy as busy:
            err.write(f"error: {busy}\n")
            err.flush()
            return EXIT_BUSY
        previous = os.environ.get(HOLDER_VARIABLE)
        os.environ[HOLDER_VARIABLE] = lock.session_id
        try:
            vars_args = ["--vars", vars_yaml] if vars_yaml else []
            seeds, models = project_relations(project)
            if lock.missing_relations(seeds):
                status = dbt(["seed", *vars_args])
                if status != 0:
                    return status
            missing = lock.missing_relations(models)
            if missing:
                names = [name for _, name in missing]
                status = dbt(["run", "--empty", "--select", *names, *vars_args])
                if status != 0:
                    return status
            return dbt(["build", *dbt_args, *vars_args])
        finally:
            if previous is None:
                os.environ.pop(HOLDER_VARIABLE, None)
            else:
                os.environ[HOLDER_VARIABLE] = previous
    finally:
        lock.release()
