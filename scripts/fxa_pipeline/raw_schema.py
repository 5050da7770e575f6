"""The raw tables (docs/loader.md): the one definition the loader and its tests share.

The dbt sources (`models/staging/_fxa__sources.yml`) declare the same columns; a pytest test
checks that the two agree, so neither can drift. `raw.loader_settings` (`LOADER_SETTINGS`) is
the loader's own (no model reads it): the fingerprint of the uid HMAC key the warehouse's uids
were HMACed with. `file_removal_sql()` is the one definition of
what removing a file's rows does (retractions first, then the deletes), shared by every sink.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Dialect = Literal["duckdb", "postgres", "redshift"]

RAW_SCHEMA = "raw"

# Longest value (in characters) a string column holds. Redshift's VARCHAR is sized in bytes
# (4 per character are reserved) and a COPY of a
# longer value fails, so the loader rejects a line whose value would not fit (reason
# "field too long") instead of losing a whole file. DuckDB and Postgres use the same limits so
# that every target stores the same rows.
SHORT_TEXT = 256
LONG_TEXT = 2048
RAW_LINE_TEXT = 16383  # rejected lines are truncated to this many characters
REDSHIFT_MAX_VARCHAR = 65535  # bytes


@dataclass(frozen=True)
class Column:
    name: str
    kind: Literal["timestamp", "bigint", "text", "boolean"]
    length: int = 0  # for text columns

    def sql_type(self, dialect: Dialect) -> str:
        if self.kind == "text":
            if dialect == "redshift":
                # Redshift sizes VARCHAR in bytes; a UTF-8 character takes up to 4.
                return f"varchar({min(REDSHIFT_MAX_VARCHAR, 4 * self.length)})"
            return "varchar" if dialect == "duckdb" else "text"
        return self.kind


def _text(name: str, length: int = SHORT_TEXT) -> Column:
    return Column(name, "text", length)


LINEAGE_COLUMNS = (
    _text("source_file", LONG_TEXT),
    Column("source_line", "bigint"),
    Column("loaded_at", "timestamp"),
)

FLOW_EVENT_COLUMNS = (
    Column("timestamp", "timestamp"),
    _text("type", LONG_TEXT),
    _text("flow_id", 64),
    Column("flow_time", "bigint"),
    _text("ua_browser"),
    _text("ua_version"),
    _text("ua_os"),
    _text("context"),
    _text("entrypoint"),
    _text("migration"),
    _text("service"),
    _text("utm_campaign", 100),
    _text("utm_content", 100),
    _text("utm_medium", 100),
    _text("utm_source", 100),
    _text("utm_term", 100),
    _text("locale"),
    _text("uid", 64),
    *LINEAGE_COLUMNS,
)

ACTIVITY_EVENT_COLUMNS = (
    Column("timestamp", "timestamp"),
    _text("type", LONG_TEXT),
    _text("uid", 64),
    _text("device_id", 32),
    _text("service"),
    _text("ua_browser"),
    _text("ua_version"),
    _text("ua_os"),
    *LINEAGE_COLUMNS,
)

REJECTED_LINE_COLUMNS = (
    _text("source_file", LONG_TEXT),
    Column("line_number", "bigint"),
    _text("reason", LONG_TEXT),
    _text("raw_line", RAW_LINE_TEXT),
    Column("loaded_at", "timestamp"),
)

LOAD_LEDGER_COLUMNS = (
    _text("file_name", LONG_TEXT),
    _text("file_sha256", 64),
    Column("lines", "bigint"),
    Column("loaded", "bigint"),
    Column("rejected", "bigint"),
    Column("ignored", "bigint"),
    Column("loaded_at", "timestamp"),
)


@dataclass(frozen=True)
class LedgerRow:
    """One row of load_ledger, its columns in table order (LOAD_LEDGER_COLUMNS)."""

    file_name: str
    file_sha256: str
    lines: int
    loaded: int
    rejected: int
    ignored: int
    loaded_at: datetime


# What a removal of a file's rows (`--force`, a changed file, `--unload`) leaves behind so that
# incremental models can recompute what the deleted rows touched: the distinct flow ids and
# event times (flow events) and the distinct event times and uids (activity events: the
# account-lifecycle tables recompute users) of the deleted rows, stamped `retracted_at` (a
# reload: the new rows' `loaded_at`; an unload: the time of the unload). Written in the same
# transaction as the delete.
RETRACTED_FLOW_EVENT_COLUMNS = (
    _text("flow_id", 64),
    Column("timestamp", "timestamp"),
    _text("source_file", LONG_TEXT),
    Column("retracted_at", "timestamp"),
)

RETRACTED_ACTIVITY_EVENT_COLUMNS = (
    Column("timestamp", "timestamp"),
    _text("uid", 64),
    _text("source_file", LONG_TEXT),
    Column("retracted_at", "timestamp"),
)

# One row per `--unload` of a file: its ledger name and SHA-256 at the time, and when. A file
# whose name is here and not in load_ledger was removed on purpose: loading a folder skips it;
# `--force` loads it again (docs/loader.md#unloaded-files).
UNLOADED_FILE_COLUMNS = (
    _text("file_name", LONG_TEXT),
    _text("file_sha256", 64),
    Column("unloaded_at", "timestamp"),
)

RAW_TABLES: dict[str, tuple[Column, ...]] = {
    "flow_events": FLOW_EVENT_COLUMNS,
    "activity_events": ACTIVITY_EVENT_COLUMNS,
    "rejected_lines": REJECTED_LINE_COLUMNS,
    "load_ledger": LOAD_LEDGER_COLUMNS,
    "retracted_flow_events": RETRACTED_FLOW_EVENT_COLUMNS,
    "retracted_activity_events": RETRACTED_ACTIVITY_EVENT_COLUMNS,
    "unloaded_files": UNLOADED_FILE_COLUMNS,
}

# The loader's settings of the warehouse, one row per name (not a dbt source): the fingerprint
# of the uid HMAC key (`UID_KEY_SETTING`, uid_hmac.HmacKey.fingerprint()), recorded by the first
# load with a key; a load with another key is refused (docs/operations.md#the-uid-hmac-key).
LOADER_SETTINGS = "loader_settings"
LOADER_SETTING_COLUMNS = (
    _text("name", 64),
    _text("value"),
    Column("set_at", "timestamp"),
)
UID_KEY_SETTING = "uid_hmac_key_fingerprint"


def setting_sql(placeholder: str = "%s") -> tuple[str, str, str]:
    """(select, delete, insert) of one setting by name: `select value, set_at ... where name =
    ?`, `delete ... where name = ?`, `insert ... (name, value, set_at) values (?, ?, ?)`."""
    table = f"{quote(RAW_SCHEMA)}.{LOADER_SETTINGS}"
    return (
        f"select {quote('value')}, {quote('set_at')} from {table}"
        f" where {quote('name')} = {placeholder}",
        f"delete from {table} where {quote('name')} = {placeholder}",
        f"insert into {table} ({quote('name')}, {quote('value')}, {quote('set_at')})"
        f" values ({placeholder}, {placeholder}, {placeholder})",
    )


# Event table -> its retraction table.
RETRACTIONS: dict[str, str] = {
    "flow_events": "retracted_flow_events",
    "activity_events": "retracted_activity_events",
}

# Redshift physical design of the raw tables: co-locate a flow's / a user's events with the
# marts built from them, and sort by load time, the incremental models' predicate.
REDSHIFT_TABLE_ATTRIBUTES: dict[str, str] = {
    "flow_events": 'distkey(flow_id) compound sortkey(loaded_at, "timestamp")',
    "activity_events": 'distkey(uid) compound sortkey(loaded_at, "timestamp")',
    "rejected_lines": "diststyle even sortkey(loaded_at)",
    "load_ledger": "diststyle all sortkey(loaded_at)",
    "retracted_flow_events": 'distkey(flow_id) compound sortkey(retracted_at, "timestamp")',
    "retracted_activity_events": 'diststyle even compound sortkey(retracted_at, "timestamp")',
    "unloaded_files": "diststyle all sortkey(unloaded_at)",
    LOADER_SETTINGS: "diststyle all",
}


def utc_now() -> datetime:
    """The loader's clock as the raw tables store times (`loaded_at`, `retracted_at`): UTC,
    without a time zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def quote(name: str) -> str:
    """Quote an identifier: `timestamp` and `raw` are reserved words in Redshift."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal: `'it''s'` (standard SQL, the same on every target)."""
    return "'" + text.replace("'", "''") + "'"


def create_table_sql(table: str, dialect: Dialect) -> str:
    definition = LOADER_SETTING_COLUMNS if table == LOADER_SETTINGS else RAW_TABLES[table]
    columns = ",\n    ".join(f"{quote(c.name)} {c.sql_type(dialect)}" for c in definition)
    attributes = ""
    if dialect == "redshift":
        attributes = "\n" + REDSHIFT_TABLE_ATTRIBUTES[table]
    return f"create table if not exists {quote(RAW_SCHEMA)}.{table} (\n    {columns}\n){attributes}"


# Postgres indexes of the raw tables: the incremental models read the rows loaded (or
# retracted) after their watermark, every run; without an index that is a scan of the whole
# table (Redshift sorts these tables by the same columns, DuckDB prunes by zone maps).
POSTGRES_INDEXES: dict[str, str] = {
    "flow_events": "loaded_at",
    "activity_events": "loaded_at",
    "retracted_flow_events": "retracted_at",
    "retracted_activity_events": "retracted_at",
}


# Redshift has no advisory locks: the build lock is a LOCK of this empty table, held by the
# build's open transaction and taken by the loader before each COMMIT (fxa_pipeline/build_lock.py).
REDSHIFT_BUILD_LOCK_TABLE = f"{quote(RAW_SCHEMA)}.build_lock"
REDSHIFT_BUILD_LOCK_DDL = (
    f"create table if not exists {REDSHIFT_BUILD_LOCK_TABLE} (holder varchar(256)) diststyle all"
)


def create_all_sql(dialect: Dialect) -> list[str]:
    statements = [f"create schema if not exists {quote(RAW_SCHEMA)}"]
    statements += [create_table_sql(table, dialect) for table in (*RAW_TABLES, LOADER_SETTINGS)]
    if dialect == "redshift":
        statements.append(REDSHIFT_BUILD_LOCK_DDL)
    if dialect == "postgres":
        statements += [
            f"create index if not exists {table}_{column}_idx"
            f" on {quote(RAW_SCHEMA)}.{table} ({quote(column)})"
            for table, column in POSTGRES_INDEXES.items()
        ]
    return statements


# The raw tables' columns as the warehouse has them (every target has information_schema).
EXISTING_COLUMNS_SQL = (
    "select table_name, column_name from information_schema.columns"
    f" where table_catalog = current_database() and table_schema = '{RAW_SCHEMA}'"
)


def added_columns_sql(dialect: Dialect, existing: Iterable[tuple[str, str]]) -> list[str]:
    """`alter table ... add column` for each column of a raw table that exists without it: a
    warehouse whose tables an older loader created (such as `retracted_activity_events`
    before it recorded the uid). `create table if not exists` creates missing tables only.
    Tables that do not exist yet are left to it; the added columns are nullable, and every
    insert names its columns, so their position does not matter."""
    have: dict[str, set[str]] = {}
    for table, column in existing:
        have.setdefault(table.lower(), set()).add(column.lower())
    return [
        f"alter table {quote(RAW_SCHEMA)}.{quote(table)}"
        f" add column {quote(column.name)} {column.sql_type(dialect)}"
        for table, columns in RAW_TABLES.items()
        if table in have
        for column in columns
        if column.name.lower() not in have[table]
    ]


@dataclass(frozen=True)
class RemovalStatement:
    """One statement of `file_removal_sql()`. Its parameters: the retraction time first when
    `stamped`, then the file names."""

    sql: str
    table: str  # the table written to (retraction) or deleted from
    stamped: bool

    def parameters(self, file_names: Sequence[str], retracted_at: object) -> list[object]:
        return [retracted_at, *file_names] if self.stamped else list(file_names)


def file_removal_sql(file_count: int, placeholder: str = "%s") -> list[RemovalStatement]:
    """Remove every row of `file_count` files (by `source_file` / the ledger's `file_name`),
    in this order: the retractions (set-based, the DISTINCT keys of the rows about to be
    deleted), then the deletes from the event tables, the rejected lines and the ledger.
    `placeholder` is the driver's (`?` for DuckDB, `%s` for psycopg and redshift_connector).
    Run them in one transaction (an unload: after `unload_record_sql`)."""
    if file_count < 1:
        return []
    names = ", ".join([placeholder] * file_count)
    schema = quote(RAW_SCHEMA)
    statements = []
    for table, retraction in RETRACTIONS.items():
        keys = [c.name for c in RAW_TABLES[retraction] if c.name != "retracted_at"]
        key_list = ", ".join(quote(name) for name in keys)
        statements.append(
            RemovalStatement(
                f"insert into {schema}.{quote(retraction)} ({key_list}, {quote('retracted_at')})"
                f" select {key_list}, cast({placeholder} as timestamp) from ("
                f"select distinct {key_list} from {schema}.{quote(table)}"
                f" where {quote('source_file')} in ({names})) as removed",
                retraction,
                stamped=True,
            )
        )
    for table in (*RETRACTIONS, "rejected_lines"):
        statements.append(
            RemovalStatement(
                f"delete from {schema}.{quote(table)} where {quote('source_file')} in ({names})",
                table,
                stamped=False,
            )
        )
    statements.append(
        RemovalStatement(
            f"delete from {schema}.{quote('load_ledger')} where {quote('file_name')} in ({names})",
            "load_ledger",
            stamped=False,
        )
    )
    return statements


def unload_record_sql(placeholder: str = "%s") -> RemovalStatement:
    """An unload's record of its file in unloaded_files: its ledger name and SHA-256, stamped
    with the unload's time (parameters: the time, then the file name). Run in the unload's
    transaction, before `file_removal_sql` deletes the ledger row it reads."""
    schema, name, sha256 = quote(RAW_SCHEMA), quote("file_name"), quote("file_sha256")
    return RemovalStatement(
        f"insert into {schema}.{quote('unloaded_files')} ({name}, {sha256}, {quote('unloaded_at')})"
        f" select {name}, {sha256}, cast({placeholder} as timestamp)"
        f" from {schema}.{quote('load_ledger')} where {name} = {placeholder}",
        "unloaded_files",
        stamped=True,
    )


def unloaded_at_sql(placeholder: str = "%s") -> str:
    """The last time a file name was unloaded (one parameter: the name; NULL: never)."""
    return (
        f"select max({quote('unloaded_at')}) from {quote(RAW_SCHEMA)}.{quote('unloaded_files')}"
        f" where {quote('file_name')} = {placeholder}"
    )
