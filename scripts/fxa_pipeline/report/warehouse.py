"""Read-only access to the warehouse of any target, for the KPI report.

One small interface over the three targets: which columns each table has (from
`information_schema.columns`, which DuckDB, Postgres and Redshift all provide) and the rows of a
query. Only `select` statements are ever sent; DuckDB is opened read-only and Postgres sessions
are read-only too, so the report cannot change a warehouse it reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, cast

from fxa_pipeline.targets import DuckDBTarget, PostgresTarget, Target

# The schemas the report reads: the dbt models and the loader's raw tables.
SCHEMAS = ("analytics", "raw")


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened; the message says what to set or run."""


class _Connection(Protocol):
    def cursor(self) -> Any: ...

    def close(self) -> None: ...


def _plain(value: object) -> object:
    """Database values as plain Python: Decimal sums (Postgres, Redshift) become numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass
class Warehouse:
    """A DB-API connection and the columns of every table in the report's schemas."""

    connection: _Connection
    description: str  # where the data came from, for the page header (no password)
    _columns: dict[tuple[str, str], set[str]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        schemas = ", ".join(f"'{schema}'" for schema in SCHEMAS)
        for schema, table, column in self.rows(
            "select table_schema, table_name, column_name from information_schema.columns "
            f"where table_schema in ({schemas})"
        ):
            self._columns.setdefault((str(schema), str(table)), set()).add(str(column).lower())

    def columns(self, schema: str, table: str) -> set[str] | None:
        """The table's column names, or None when the table does not exist (not built yet)."""
        return self._columns.get((schema, table))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            return [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


def _open_duckdb(target: DuckDBTarget) -> Warehouse:
    import duckdb

    if not os.path.exists(target.path):
        raise WarehouseError(
            f"{target.path} does not exist: run `make demo` (or load and `dbt build`) first, "
            "or set FXA_DUCKDB_PATH"
        )
    try:
        connection = duckdb.connect(target.path, read_only=True)
    except duckdb.Error as error:
        raise WarehouseError(f"cannot open {target.path} read-only: {error}") from error
    return Warehouse(connection, f"DuckDB file {os.path.abspath(target.path)}")


def _open_postgres(target: PostgresTarget) -> Warehouse:
    import psycopg

    try:
        connection = psycopg.connect(
            **target.conninfo(),
            autocommit=True,
            connect_timeout=10,
            options="-c default_transaction_read_only=on",
        )
    except psycopg.Error as error:
        raise WarehouseError(
            f"cannot connect to Postgres at {target.host}:{target.port} database "
            f"{target.dbname} as {target.user} ({error}); check PGHOST, PGPORT, PGUSER, "
            "PGPASSWORD, PGDATABASE"
        ) from error
    return Warehouse(
        connection, f"Postgres {target.user}@{target.host}:{target.port}/{target.dbname}"
    )


def _open_redshift() -> Warehouse:
    from fxa_pipeline import redshift_copy

    try:
        connection = redshift_copy.connect_redshift()
    except Exception as error:  # ConfigError or the driver's own connection errors
        raise WarehouseError(
            f"cannot connect to Redshift ({error}); check REDSHIFT_HOST, REDSHIFT_PORT, "
            "REDSHIFT_USER, REDSHIFT_PASSWORD, REDSHIFT_DATABASE"
        ) from error
    env = os.environ.get
    where = (
        f"Redshift {env('REDSHIFT_USER', 'fxa_metrics')}@{env('REDSHIFT_HOST')}:"
        f"{env('REDSHIFT_PORT', '5439')}/{env('REDSHIFT_DATABASE', 'fxa')}"
    )
    return Warehouse(cast(_Connection, connection), where)


def open_warehouse(target: Target) -> Warehouse:
    if isinstance(target, DuckDBTarget):
        return _open_duckdb(target)
    if isinstance(target, PostgresTarget):
        return _open_postgres(target)
    return _open_redshift()


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
