"""Read-only access to the KPI tables of any target, for `kpi_summary.py` and the KPI report.

One small interface over the three targets: which tables and columns exist (from
`information_schema.columns`, which DuckDB, Postgres and Redshift all provide), the rows of a
query, and `NotBuilt` for a table or columns the warehouse does not have yet (a new or older
warehouse is reported, never a failure). Only `select` statements are ever sent; DuckDB is opened
read-only and Postgres sessions are read-only too, so a reader cannot change the warehouse it
reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, cast

from fxa_pipeline.targets import DuckDBTarget, PostgresTarget, Target

# The schemas read by default: the dbt models and the loader's raw tables.
SCHEMAS = ("analytics", "raw")


class KpiReaderError(RuntimeError):
    """The warehouse cannot be opened; the message says what to set or run."""


@dataclass(frozen=True)
class NotBuilt:
    """A table, or some of its columns, the warehouse does not have yet."""

    table: str  # schema-qualified
    columns: tuple[str, ...] = ()  # empty: the whole table is missing

    def message(self) -> str:
        if not self.columns:
            return f"{self.table}: not built yet"
        return f"{self.table}: column{'s' if len(self.columns) > 1 else ''} " + (
            f"{', '.join(self.columns)} not built yet"
        )


class _Connection(Protocol):
    def cursor(self) -> Any: ...

    def close(self) -> None: ...


def _plain(value: object) -> object:
    """Database values as plain Python: Decimal sums (Postgres, Redshift) become numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass
class KpiReader:
    """A DB-API connection and the columns of every table in the schemas it reads."""

    connection: _Connection
    description: str  # where the data came from, for the report's header (no password)
    schemas: Sequence[str] = SCHEMAS
    _columns: dict[tuple[str, str], set[str]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        schemas = ", ".join(f"'{schema}'" for schema in self.schemas)
        for schema, table, column in self.rows(
            "select table_schema, table_name, column_name from information_schema.columns "
            f"where table_schema in ({schemas})"
        ):
            self._columns.setdefault((str(schema), str(table)), set()).add(str(column).lower())

    def tables(self, schema: str) -> set[str]:
        """The names of the schema's tables (and views)."""
        return {table for table_schema, table in self._columns if table_schema == schema}

    def columns(self, schema: str, table: str) -> set[str] | None:
        """The table's column names, or None when the table does not exist (not built yet)."""
        return self._columns.get((schema, table))

    def required(self, schema: str, table: str, wanted: Sequence[str]) -> NotBuilt | None:
        """None when the table has every `wanted` column, else what is not built yet."""
        columns = self.columns(schema, table)
        if columns is None:
            return NotBuilt(f"{schema}.{table}")
        absent = missing(columns, wanted)
        return NotBuilt(f"{schema}.{table}", tuple(absent)) if absent else None

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The column names and the rows of a `select`."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            header = [str(column[0]) for column in cursor.description]
            return header, [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.query(sql)[1]

    def close(self) -> None:
        self.connection.close()


def _open_duckdb(target: DuckDBTarget, schemas: Sequence[str]) -> KpiReader:
    import duckdb

    if not os.path.exists(target.path):
        raise KpiReaderError(
            f"{target.path} does not exist: run `make demo` (or load and `dbt build`) first, "
            "or set FXA_DUCKDB_PATH"
        )
    try:
        connection = duckdb.connect(target.path, read_only=True)
    except duckdb.Error as error:
        raise KpiReaderError(f"cannot open {target.path} read-only: {error}") from error
    return KpiReader(connection, f"DuckDB file {os.path.abspath(target.path)}", schemas)


def _open_postgres(target: PostgresTarget, schemas: Sequence[str]) -> KpiReader:
    import psycopg

    try:
        connection = psycopg.connect(
            **target.conninfo(),
            autocommit=True,
            connect_timeout=10,
            options="-c default_transaction_read_only=on",
        )
    except psycopg.Error as error:
        raise KpiReaderError(
            f"cannot connect to Postgres at {target.host}:{target.port} database "
            f"{target.dbname} as {target.user} ({error}); check PGHOST, PGPORT, PGUSER, "
            "PGPASSWORD, PGDATABASE"
        ) from error
    return KpiReader(
        connection, f"Postgres {target.user}@{target.host}:{target.port}/{target.dbname}", schemas
    )


def _open_redshift(schemas: Sequence[str]) -> KpiReader:
    from fxa_pipeline import redshift_copy

    try:
        connection = redshift_copy.connect_redshift()
    except Exception as error:  # ConfigError or the driver's own connection errors
        raise KpiReaderError(
            f"cannot connect to Redshift ({error}); check REDSHIFT_HOST, REDSHIFT_PORT, "
            "REDSHIFT_USER, REDSHIFT_PASSWORD, REDSHIFT_DATABASE"
        ) from error
    env = os.environ.get
    where = (
        f"Redshift {env('REDSHIFT_USER', 'fxa_metrics')}@{env('REDSHIFT_HOST')}:"
        f"{env('REDSHIFT_PORT', '5439')}/{env('REDSHIFT_DATABASE', 'fxa')}"
    )
    return KpiReader(cast(_Connection, connection), where, schemas)


def open_kpi_reader(target: Target, schemas: Sequence[str] = SCHEMAS) -> KpiReader:
    """A read-only reader of the target's `schemas` (KpiReaderError, saying why, if unreachable)."""
    if isinstance(target, DuckDBTarget):
        return _open_duckdb(target, schemas)
    if isinstance(target, PostgresTarget):
        return _open_postgres(target, schemas)
    return _open_redshift(schemas)


def as_date(value: object) -> date:
    """A `day` value as a date (drivers return date, datetime or an ISO string)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def missing(columns: set[str], wanted: Sequence[str]) -> list[str]:
    return [name for name in wanted if name not in columns]
