"""Bulk-load normalised raw rows into Redshift: gzip CSV parts on S3, a manifest, one COPY each.

The Redshift path of the loader (docs/loader.md, docs/redshift.md). Per loaded file:

1. `PartWriter` streams the rows of one raw table into gzip CSV part files on local disk, a new
   part every `part_max_bytes` of uncompressed CSV (default 64 MiB, so a COPY reads several
   parts in parallel and no part is too large to retry).
2. `S3Stager.stage` uploads the parts under `FXA_METRICS_S3_URI` and writes a manifest naming
   exactly those parts (a COPY from a prefix would also pick up strays).
3. `copy_sql` builds the COPY that reads the manifest; `run_file_transaction` runs the
   retractions and deletes of an earlier load (`--force`, a changed file), the COPYs and the
   ledger insert in ONE transaction, so a crash leaves either all of a file's rows or none.

`run_unload_transaction` is `--unload` (unload.run_unload on the Redshift connection): the lock,
the ledger check, the retractions and the deletes in one transaction (nothing is staged).

`FileLoad` strings the three together for one file; `sinks.RedshiftSink` is the loader's
interface to it.

CSV encoding, chosen so that every value round-trips unchanged:
- every non-NULL text value is quoted, an embedded `"` doubled (RFC 4180): commas, quotes,
  newlines, carriage returns, backslashes and any unicode are data, never syntax;
- NULL is a single unquoted NUL byte, loaded by `null as '\\000'`. No stored value can
  contain NUL (neither Redshift VARCHAR nor Postgres text holds one, so the loader strips
  it), hence no value can be mistaken for NULL whatever the quoting rules of the reader.
  A value containing NUL is refused here with a ValueError rather than silently altered;
- integers in decimal, booleans `true`/`false`, timestamps `YYYY-MM-DD HH:MM:SS.ffffff`
  (UTC, no zone) read by `timeformat 'auto'`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fxa_pipeline import interrupts
from fxa_pipeline.raw_schema import (
    RAW_SCHEMA,
    RAW_TABLES,
    Column,
    file_removal_sql,
    literal,
    quote,
    unload_record_sql,
    utc_now,
)
from fxa_pipeline.unload import RemovedRows, run_unload

NULL_BYTE = "\x00"
# How the COPY names NULL_BYTE: Redshift reads '\000' in NULL AS as the NUL character.
NULL_AS_LITERAL = "\\000"
DEFAULT_PART_MAX_BYTES = 64 * 1024 * 1024

# Environment variables (docs/redshift.md lists them all).
ENV_S3_URI = "FXA_METRICS_S3_URI"
ENV_IAM_ROLE = "FXA_METRICS_REDSHIFT_IAM_ROLE"
ENV_S3_REGION = "FXA_METRICS_S3_REGION"
ENV_S3_ENDPOINT = "FXA_METRICS_S3_ENDPOINT_URL"
ENV_PART_MAX_BYTES = "FXA_METRICS_S3_PART_MAX_BYTES"
ENV_KEEP_STAGED = "FXA_METRICS_S3_KEEP_STAGED"

Row = Sequence[object] | Mapping[str, object]

# The raw tables a load fills with COPY (the ledger row is an INSERT; the retraction tables are
# written by INSERT ... SELECT inside Redshift).
COPIED_TABLES = ("flow_events", "activity_events", "rejected_lines")

# A bucket name and key prefix that can go into a single-quoted SQL literal unescaped.
_S3_URI = re.compile(
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>[\w!*().=/-]*)$"
)
# One IAM role ARN, or a comma-separated chain of them (role chaining).
_IAM_ROLE = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class ConfigError(ValueError):
    """A missing or malformed setting; the message says which variable to set."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending in "/"

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.endswith("/"):
            uri += "/"
        match = _S3_URI.match(uri)
        if match is None:
            raise ConfigError(
                f"{ENV_S3_URI}={uri!r} is not of the form s3://bucket/prefix/ "
                "(lowercase bucket name; prefix of letters, digits and !_*().=/-)"
            )
        prefix = match["prefix"]
        return cls(match["bucket"], prefix if prefix != "/" else "")

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass(frozen=True)
class CopySettings:
    """Where parts are staged and how Redshift reads them."""

    location: S3Location
    iam_role: str
    region: str | None = None
    endpoint_url: str | None = None
    part_max_bytes: int = DEFAULT_PART_MAX_BYTES
    keep_staged: bool = False

    def __post_init__(self) -> None:
        if not all(_IAM_ROLE.match(role) for role in self.iam_role.split(",")):
            raise ConfigError(
                f"{ENV_IAM_ROLE}={self.iam_role!r} is not an IAM role ARN "
                "(arn:aws:iam::<account>:role/<name>, or a comma-separated chain)"
            )
        if self.region is not None and not _REGION.match(self.region):
            raise ConfigError(f"{ENV_S3_REGION}={self.region!r} is not an AWS region name")
        if self.part_max_bytes < 1024:
            raise ConfigError(f"{ENV_PART_MAX_BYTES} must be at least 1024 bytes")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CopySettings:
        env = os.environ if environ is None else environ
        missing = [name for name in (ENV_S3_URI, ENV_IAM_ROLE) if not env.get(name)]
        if missing:
            raise ConfigError(
                "the redshift target loads through S3: set "
                + " and ".join(missing)
                + " (see docs/redshift.md)"
            )
        return cls(
            location=S3Location.parse(env[ENV_S3_URI]),
            iam_role=env[ENV_IAM_ROLE],
            region=env.get(ENV_S3_REGION) or None,
            endpoint_url=env.get(ENV_S3_ENDPOINT) or env.get("AWS_ENDPOINT_URL") or None,
            part_max_bytes=int(env.get(ENV_PART_MAX_BYTES) or DEFAULT_PART_MAX_BYTES),
            keep_staged=env.get(ENV_KEEP_STAGED, "").lower() in {"1", "true", "yes"},
        )


# ---------------------------------------------------------------------------------------------
# CSV encoding


def _type_error(column: Column, expected: str, value: object) -> TypeError:
    return TypeError(f"column {column.name}: expected {expected}, got {type(value).__name__}")


def _encoder(column: Column) -> Callable[[object], str]:
    """The field encoder of one column (see the module docstring for the encoding)."""

    def text(value: object) -> str:
        if value is None:
            return NULL_BYTE
        if type(value) is not str:
            raise _type_error(column, "str", value)
        if NULL_BYTE in value:
            raise ValueError("a value contains a NUL character, which no target can store")
        return '"' + value.replace('"', '""') + '"'

    def bigint(value: object) -> str:
        if value is None:
            return NULL_BYTE
        if type(value) is not int:
            raise _type_error(column, "int", value)
        return str(value)

    def boolean(value: object) -> str:
        if value is None:
            return NULL_BYTE
        if type(value) is not bool:
            raise _type_error(column, "bool", value)
        return "true" if value else "false"

    def timestamp(value: object) -> str:
        if value is None:
            return NULL_BYTE
        if not isinstance(value, dt.datetime):
            raise _type_error(column, "datetime", value)
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")

    return {"text": text, "bigint": bigint, "boolean": boolean, "timestamp": timestamp}[column.kind]


def encode_value(value: object, column: Column) -> str:
    """One CSV field for `value` in `column`."""
    return _encoder(column)(value)


class RowEncoder:
    """Encodes rows of one table; the per-column encoders are chosen once."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)
        self.encoders = tuple(_encoder(column) for column in columns)

    def __call__(self, row: Row) -> str:
        """One CSV line (with its `\\n`) for a row given in column order or as a mapping."""
        if isinstance(row, dict):
            values: Sequence[object] = [row.get(column.name) for column in self.columns]
        else:
            values = row
            if len(values) != len(self.encoders):
                raise ValueError(f"row has {len(values)} values for {len(self.columns)} columns")
        return (
            ",".join([encode(value) for encode, value in zip(self.encoders, values, strict=True)])
            + "\n"
        )


def encode_row(row: Row, columns: Sequence[Column]) -> str:
    """One CSV line (with its `\\n`) for a row given in column order or as a mapping."""
    return RowEncoder(columns)(row)


@dataclass(frozen=True)
class Part:
    path: Path
    rows: int
    raw_bytes: int  # uncompressed CSV bytes


@dataclass
class PartWriter:
    """Streams CSV lines into gzip parts of at most `max_bytes` uncompressed bytes each.

    A single line longer than `max_bytes` gets a part of its own (a row is never split).
    """

    directory: Path
    stem: str
    columns: Sequence[Column]
    max_bytes: int = DEFAULT_PART_MAX_BYTES
    parts: list[Part] = field(default_factory=list)
    _file: gzip.GzipFile | None = None
    _path: Path | None = None
    _rows: int = 0
    _bytes: int = 0
    _buffer: list[bytes] = field(default_factory=list)
    _buffered: int = 0
    _encode: RowEncoder | None = None

    def write(self, rows: Iterable[Row]) -> None:
        encode = self._encode = self._encode or RowEncoder(self.columns)
        for row in rows:
            line = encode(row).encode("utf-8")
            if self._file is not None and self._bytes + len(line) > self.max_bytes:
                self._close_part()
            if self._file is None:
                self._path = self.directory / f"{self.stem}.{len(self.parts):05d}.csv.gz"
                self._file = gzip.GzipFile(self._path, "wb", compresslevel=6, mtime=0)
            self._buffer.append(line)
            self._buffered += len(line)
            if self._buffered >= 1 << 20:  # compress in 1 MiB blocks, not line by line
                self._flush()
            self._rows += 1
            self._bytes += len(line)

    def _flush(self) -> None:
        if self._buffer:
            assert self._file is not None
            self._file.write(b"".join(self._buffer))
            self._buffer.clear()
            self._buffered = 0

    def _close_part(self) -> None:
        assert self._file is not None and self._path is not None
        self._flush()
        self._file.close()
        self.parts.append(Part(self._path, self._rows, self._bytes))
        self._file, self._path, self._rows, self._bytes = None, None, 0, 0

    def close(self) -> list[Part]:
        if self._file is not None:
            self._close_part()
        return self.parts

    @property
    def rows(self) -> int:
        return sum(part.rows for part in self.parts) + self._rows


# ---------------------------------------------------------------------------------------------
# S3 staging


class S3Client(Protocol):
    """The few boto3 S3 client methods used here (a boto3 client satisfies it)."""

    def upload_file(self, Filename: str, Bucket: str, Key: str) -> None: ...

    def put_object(self, **kwargs: Any) -> Any: ...

    def delete_objects(self, **kwargs: Any) -> Any: ...


def make_s3_client(settings: CopySettings) -> S3Client:
    """A boto3 S3 client; credentials come from the standard AWS chain."""
    import boto3  # imported here so that the DuckDB/Postgres paths never need it

    client: S3Client = boto3.client(
        "s3", region_name=settings.region, endpoint_url=settings.endpoint_url
    )
    return client


def manifest_json(entries: Sequence[tuple[str, int]]) -> str:
    """A COPY manifest listing (url, compressed length) entries, each mandatory."""
    return json.dumps(
        {
            "entries": [
                {"url": url, "mandatory": True, "meta": {"content_length": length}}
                for url, length in entries
            ]
        },
        indent=1,
    )


@dataclass(frozen=True)
class StagedTable:
    table: str
    columns: tuple[Column, ...]
    manifest_url: str
    rows: int
    keys: tuple[str, ...]  # every object written, manifest included


def staging_prefix(location: S3Location, file_sha256: str, now: dt.datetime | None = None) -> str:
    """A key prefix unique to one load of one file: <prefix>loads/<utc time>-<sha>-<random>/."""
    now = now or dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return f"{location.prefix}loads/{stamp}-{file_sha256[:16]}-{uuid.uuid4().hex[:8]}/"


@dataclass
class S3Stager:
    client: S3Client
    settings: CopySettings

    def stage(self, key_prefix: str, table: str, parts: Sequence[Part]) -> StagedTable:
        """Upload a table's parts and their manifest; returns what the COPY needs."""
        location = self.settings.location
        keys: list[str] = []
        entries: list[tuple[str, int]] = []
        for index, part in enumerate(parts):
            key = f"{key_prefix}{table}/part-{index:05d}.csv.gz"
            self.client.upload_file(Filename=str(part.path), Bucket=location.bucket, Key=key)
            keys.append(key)
            entries.append((location.url(key), part.path.stat().st_size))
        manifest_key = f"{key_prefix}{table}.manifest"
        self.client.put_object(
            Bucket=location.bucket,
            Key=manifest_key,
            Body=manifest_json(entries).encode("utf-8"),
            ContentType="application/json",
        )
        keys.append(manifest_key)
        return StagedTable(
            table=table,
            columns=RAW_TABLES[table],
            manifest_url=location.url(manifest_key),
            rows=sum(part.rows for part in parts),
            keys=tuple(keys),
        )

    def delete(self, staged: Iterable[StagedTable]) -> None:
        keys = [key for table in staged for key in table.keys]
        for start in range(0, len(keys), 1000):  # the S3 API's batch limit
            self.client.delete_objects(
                Bucket=self.settings.location.bucket,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]},
            )


# ---------------------------------------------------------------------------------------------
# SQL


def _literal(text: str) -> str:
    """`literal(text)`, refusing what a COPY option's string would read otherwise."""
    if "\\" in text or NULL_BYTE in text:
        raise ValueError(f"refusing to put {text!r} into a COPY string literal")
    return literal(text)


def qualified(table: str) -> str:
    return f"{quote(RAW_SCHEMA)}.{quote(table)}"


def copy_sql(staged: StagedTable, settings: CopySettings) -> str:
    """The COPY of one staged table. Every option is explained in docs/redshift.md."""
    columns = ", ".join(quote(column.name) for column in staged.columns)
    options = [
        f"from {_literal(staged.manifest_url)}",
        f"iam_role {_literal(settings.iam_role)}",
        *([f"region {_literal(settings.region)}"] if settings.region else []),
        "manifest",
        "format as csv",
        "gzip",
        f"null as '{NULL_AS_LITERAL}'",
        "encoding as utf8",
        "timeformat 'auto'",
        "compupdate off",
        "statupdate off",
    ]
    return f"copy {qualified(staged.table)} ({columns})\n" + "\n".join(options)


def ledger_insert_sql() -> str:
    columns = RAW_TABLES["load_ledger"]
    names = ", ".join(quote(column.name) for column in columns)
    params = ", ".join("%s" for _ in columns)
    return f"insert into {qualified('load_ledger')} ({names}) values ({params})"


# Taken first in every file's transaction: loaders on one cluster load one file at a time, so
# two of them never both pass the ledger check for the same file and load it twice.
LOCK_SQL = f"lock {qualified('load_ledger')}"

# Taken last, just before COMMIT: waits while a build holds the build lock (its open
# transaction's LOCK of this table, fxa_pipeline/build_lock.py), so that no file is committed
# while a build reads the raw tables.
BUILD_GATE_SQL = f"lock {qualified('build_lock')}"


class Cursor(Protocol):
    def execute(self, operation: str, parameters: Sequence[object] = ..., /) -> Any: ...


class Connection(Protocol):
    """A DB-API connection with autocommit off (redshift_connector, psycopg)."""

    def cursor(self) -> Any: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def _ledger_values(ledger_row: Row) -> list[object]:
    columns = RAW_TABLES["load_ledger"]
    if isinstance(ledger_row, Mapping):
        return [ledger_row[column.name] for column in columns]
    return list(ledger_row)


def run_file_transaction(
    connection: Connection,
    staged: Sequence[StagedTable],
    settings: CopySettings,
    ledger_row: Row,
    *,
    delete_files: Sequence[str] = (),
    retracted_at: dt.datetime | None = None,
) -> None:
    """Lock, retractions and deletes of earlier loads (`delete_files`, retractions stamped
    `retracted_at`), COPYs and the ledger row of one file: all or nothing."""
    values = _ledger_values(ledger_row)
    if delete_files and retracted_at is None:
        raise ValueError("deleting a file's rows needs the retraction time")
    transaction = _Transaction(connection)
    try:
        transaction.begin()
        with interrupts.stoppable_work():
            if delete_files and retracted_at is not None:
                transaction.delete_files(list(delete_files), retracted_at)
            for table in staged:
                interrupts.check()
                transaction.cursor.execute(copy_sql(table, settings))
            transaction.cursor.execute(ledger_insert_sql(), values)
        transaction.commit()
    except BaseException:
        transaction.rollback()
        raise


class _Transaction:
    """One transaction on `connection`, as the loader runs it on Redshift: `LOCK_SQL` first,
    `BUILD_GATE_SQL` just before the commit; the steps of an unload (unload.UnloadSteps)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor()

    def begin(self) -> None:
        """`LOCK_SQL`: another loader may hold the lock while it copies a file; a signal stops
        the wait at once (nothing is written yet)."""
        with interrupts.interruptible_wait():
            self.cursor.execute(LOCK_SQL)

    def stamp(self) -> dt.datetime:
        return utc_now()

    def in_ledger(self, file_name: str) -> bool:
        self.cursor.execute(
            f"select count(*) from {qualified('load_ledger')} where file_name = %s", [file_name]
        )
        ((count,),) = self.cursor.fetchall() or [(0,)]
        return bool(count)

    def record_unload(self, file_name: str, unloaded_at: dt.datetime) -> None:
        record = unload_record_sql("%s")
        self.cursor.execute(record.sql, record.parameters([file_name], unloaded_at))

    def delete_files(self, file_names: list[str], retracted_at: dt.datetime) -> RemovedRows:
        """The retractions, then the deletes, of these files' rows (raw_schema.file_removal_sql);
        the rows each statement wrote or deleted, by table (-1 when the driver cannot tell)."""
        removed: RemovedRows = {}
        for statement in file_removal_sql(len(file_names), "%s"):
            self.cursor.execute(statement.sql, statement.parameters(file_names, retracted_at))
            count = getattr(self.cursor, "rowcount", -1)
            removed[statement.table] = count if isinstance(count, int) else -1
        return removed

    def commit(self) -> None:
        """After `BUILD_GATE_SQL`: a running build may hold it for as long as it builds; a
        signal stops the wait (the transaction is rolled back)."""
        with interrupts.interruptible_wait():
            self.cursor.execute(BUILD_GATE_SQL)
        interrupts.check()  # the last moment the transaction can still be rolled back
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()


def run_unload_transaction(
    connection: Connection, file_name: str, retracted_at: dt.datetime
) -> RemovedRows | None:
    """`--unload` of one file: lock, ledger check, its record in unloaded_files, retractions,
    deletes, in one transaction. None (rolled back, nothing changed) when the ledger has no row
    with this name."""
    return run_unload(_Transaction(connection), file_name, retracted_at)


@dataclass
class FileLoad:
    """Everything one loaded file sends to Redshift, from the first row to the commit.

    `add_rows` streams rows to local gzip parts; `commit` uploads them, runs the single
    transaction and deletes the staged objects (unless FXA_METRICS_S3_KEEP_STAGED is set;
    an S3 lifecycle rule on the prefix is the safety net, docs/redshift.md).
    """

    settings: CopySettings
    client: S3Client
    file_sha256: str
    _tmp: tempfile.TemporaryDirectory[str] = field(init=False)
    _writers: dict[str, PartWriter] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="fxa-redshift-")

    def add_rows(self, table: str, rows: Iterable[Row]) -> None:
        if table not in COPIED_TABLES:
            raise ValueError(f"{table!r} is not a raw event table")
        writer = self._writers.get(table)
        if writer is None:
            writer = PartWriter(
                Path(self._tmp.name), table, RAW_TABLES[table], self.settings.part_max_bytes
            )
            self._writers[table] = writer
        writer.write(rows)

    def commit(
        self,
        connection: Connection,
        ledger_row: Row,
        *,
        delete_files: Sequence[str] = (),
        retracted_at: dt.datetime | None = None,
    ) -> dict[str, int]:
        """Upload, then the one transaction; returns the rows copied per table."""
        stager = S3Stager(self.client, self.settings)
        prefix = staging_prefix(self.settings.location, self.file_sha256)
        staged: list[StagedTable] = []
        try:
            for table, writer in self._writers.items():
                interrupts.check()  # nothing is in the database yet; what is staged is deleted
                parts = writer.close()
                if parts:  # no COPY for a table that got no rows from this file
                    staged.append(stager.stage(prefix, table, parts))
            run_file_transaction(
                connection,
                staged,
                self.settings,
                ledger_row,
                delete_files=delete_files,
                retracted_at=retracted_at,
            )
        finally:
            if staged and not self.settings.keep_staged:
                stager.delete(staged)
            self.close()
        return {table.table: table.rows for table in staged}

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._tmp.cleanup()


def connect_redshift(environ: Mapping[str, str] | None = None) -> Connection:
    """A redshift_connector connection from the REDSHIFT_* variables profiles.yml uses."""
    import redshift_connector  # installed with dbt-redshift

    env = os.environ if environ is None else environ
    if not env.get("REDSHIFT_HOST"):
        raise ConfigError("set REDSHIFT_HOST (and REDSHIFT_USER, REDSHIFT_PASSWORD, ...)")
    connection: Connection = redshift_connector.connect(
        host=env["REDSHIFT_HOST"],
        port=int(env.get("REDSHIFT_PORT", "5439")),
        database=env.get("REDSHIFT_DATABASE", "fxa"),
        user=env.get("REDSHIFT_USER", "fxa_metrics"),
        password=env.get("REDSHIFT_PASSWORD", ""),
    )
    return connection


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Print the COPY statement a load would run for a raw table (for review and debugging)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("table", choices=sorted(COPIED_TABLES))
    parser.add_argument("--manifest", default=None, help="manifest URL (default: an example)")
    args = parser.parse_args(argv)
    try:
        settings = CopySettings.from_env()
    except ConfigError as error:
        parser.error(str(error))
    manifest = args.manifest or settings.location.url(
        f"{settings.location.prefix}loads/<load>/{args.table}.manifest"
    )
    staged = StagedTable(args.table, RAW_TABLES[args.table], manifest, 0, ())
    out(copy_sql(staged, settings) + ";")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
