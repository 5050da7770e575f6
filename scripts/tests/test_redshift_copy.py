"""The Redshift load path: CSV parts, S3 upload (local moto server), COPY SQL, one transaction.

No network beyond 127.0.0.1: the S3 API is a moto server the fixture starts on a free port.
The parts are read back with Python's own `csv` module, independent of the encoder.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlfluff
from conftest import property_examples
from fxa_pipeline import redshift_copy as rc
from fxa_pipeline.raw_schema import (
    RAW_TABLES,
    RETRACTIONS,
    Column,
    create_table_sql,
    file_removal_sql,
    unload_record_sql,
    unloaded_at_sql,
)
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

BUCKET = "fxa-metrics-test"
ROLE = "arn:aws:iam::123456789012:role/fxa-metrics-copy"
FLOW = RAW_TABLES["flow_events"]
REJECTED = RAW_TABLES["rejected_lines"]

HOSTILE = [
    'a "quoted" word',
    "comma, separated, values",
    "line one\nline two\r\nline three\r",
    "back\\slash \\N \\\\N \\0 \\000",
    "\\N",
    "NULL",
    "null",
    "",
    " leading and trailing spaces ",
    '"',
    '""',
    "'; drop table raw.load_ledger; --",
    "Robert'); delete from \"raw\".\"flow_events\" where ('1'='1",
    "ünïcödé ✓ 火狐 🦊 \u200b zero-width",
    "tab\tseparated",
    ",",
    "\n",
]


def flow_row(type_: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {column.name: None for column in FLOW}
    row.update(
        timestamp=dt.datetime(2016, 11, 22, 17, 0, 0, 123000),
        type=type_,
        flow_id="ab" * 32,
        flow_time=5321,
        source_file="logs/2016-11-22.log.gz",
        source_line=1,
        loaded_at=dt.datetime(2026, 11, 27, 3, 0, 0),
    )
    row.update(overrides)
    return row


def decode_part(data: bytes, columns: tuple[Column, ...]) -> list[dict[str, object]]:
    """Parse a part as Redshift would: RFC 4180 CSV, an unquoted NUL field is NULL."""
    rows = []
    text = gzip.decompress(data).decode("utf-8")
    for fields in csv.reader(io.StringIO(text, newline="")):
        assert len(fields) == len(columns)
        row: dict[str, object] = {}
        for value, column in zip(fields, columns, strict=True):
            if value == "\x00":
                row[column.name] = None
            elif column.kind == "bigint":
                row[column.name] = int(value)
            elif column.kind == "timestamp":
                row[column.name] = dt.datetime.fromisoformat(value)
            else:
                row[column.name] = value
        rows.append(row)
    return rows


# --- encoding -------------------------------------------------------------------------------


def test_encode_row_by_hand():
    row = flow_row('say "hi", bye', flow_time=0, ua_browser="Firefox")
    line = rc.encode_row(row, FLOW)
    fields = line.split(",")
    assert line.endswith("\n")
    assert fields[0] == "2016-11-22 17:00:00.123000"
    assert fields[1:3] == ['"say ""hi""', ' bye"']  # the comma is inside the quotes
    assert fields[4] == "0"
    assert fields[5] == '"Firefox"'
    assert fields[6] == "\x00"  # ua_version NULL


def test_encode_value_types_and_refusals():
    ts = Column("t", "timestamp")
    aware = dt.datetime(2016, 11, 22, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert rc.encode_value(aware, ts) == "2016-11-22 17:00:00.000000"
    assert rc.encode_value(True, Column("b", "boolean")) == "true"
    assert rc.encode_value(-7, Column("n", "bigint")) == "-7"
    with pytest.raises(ValueError, match="NUL"):
        rc.encode_value("a\x00b", Column("s", "text"))
    with pytest.raises(TypeError):
        rc.encode_value(True, Column("n", "bigint"))
    with pytest.raises(TypeError):
        rc.encode_value(5, Column("s", "text"))
    with pytest.raises(ValueError, match="values for"):
        rc.encode_row(("a",), FLOW)


# Any text a log can hold: no NUL (no target stores it), no lone surrogate (not UTF-8).
STORABLE_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))


@hypothesis_settings(max_examples=property_examples(200), deadline=None)
@given(st.lists(st.one_of(st.none(), STORABLE_TEXT)))
def test_any_nul_free_text_round_trips(values):
    columns = tuple(Column(f"c{i}", "text") for i in range(len(values) + 1))
    row = [*values, "end"]
    data = gzip.compress(rc.encode_row(row, columns).encode("utf-8"))
    (decoded,) = decode_part(data, columns)
    assert list(decoded.values()) == row


def test_parts_are_bounded_and_keep_every_row(tmp_path: Path):
    rows = [flow_row(f"event.{i:03d}", source_line=1000 + i) for i in range(100)]
    line_bytes = len(rc.encode_row(rows[0], FLOW).encode())
    writer = rc.PartWriter(tmp_path, "flow_events", FLOW, max_bytes=line_bytes * 10 + 5)
    writer.write(rows[:37])
    writer.write(rows[37:])
    parts = writer.close()
    assert [p.rows for p in parts] == [10] * 10  # every line has the same size
    assert all(p.raw_bytes <= line_bytes * 10 + 5 for p in parts)
    back = [r for p in parts for r in decode_part(p.path.read_bytes(), FLOW)]
    assert back == rows


def test_a_line_larger_than_a_part_gets_its_own_part(tmp_path: Path):
    writer = rc.PartWriter(tmp_path, "t", FLOW, max_bytes=1024)
    writer.write([flow_row("a"), flow_row("x" * 3000), flow_row("b")])
    assert [p.rows for p in writer.close()] == [1, 1, 1]


# --- settings -------------------------------------------------------------------------------


def test_settings_from_env_and_clear_errors():
    env = {rc.ENV_S3_URI: "s3://fxa-bucket/some/prefix", rc.ENV_IAM_ROLE: ROLE}
    s = rc.CopySettings.from_env(env)
    assert s.location == rc.S3Location("fxa-bucket", "some/prefix/")
    assert s.endpoint_url is None and s.part_max_bytes == 64 * 1024 * 1024
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    assert rc.CopySettings.from_env(env).endpoint_url == "http://127.0.0.1:9"
    env[rc.ENV_S3_ENDPOINT] = "http://127.0.0.1:10"
    assert rc.CopySettings.from_env(env).endpoint_url == "http://127.0.0.1:10"
    with pytest.raises(rc.ConfigError, match="FXA_METRICS_REDSHIFT_IAM_ROLE"):
        rc.CopySettings.from_env({rc.ENV_S3_URI: "s3://b-1/p/"})
    with pytest.raises(rc.ConfigError, match="s3://bucket/prefix/"):
        rc.CopySettings.from_env({rc.ENV_S3_URI: "s3://b/p'x/", rc.ENV_IAM_ROLE: ROLE})
    with pytest.raises(rc.ConfigError, match="IAM role"):
        rc.CopySettings.from_env({rc.ENV_S3_URI: "s3://bkt/p/", rc.ENV_IAM_ROLE: "x' --"})
    assert rc.S3Location.parse("s3://bkt/").prefix == ""


# --- COPY SQL -------------------------------------------------------------------------------


def staged(table: str = "rejected_lines") -> rc.StagedTable:
    return rc.StagedTable(
        table,
        RAW_TABLES[table],
        f"s3://{BUCKET}/p/loads/x/{table}.manifest",
        3,
        ("k",),
    )


def test_copy_sql_is_exactly_as_documented():
    s = rc.CopySettings(rc.S3Location(BUCKET, "p/"), ROLE, region="us-west-2")
    assert rc.copy_sql(staged(), s) == (
        'copy "raw"."rejected_lines" ("source_file", "line_number", "reason", "raw_line", '
        '"loaded_at")\n'
        f"from 's3://{BUCKET}/p/loads/x/rejected_lines.manifest'\n"
        f"iam_role '{ROLE}'\n"
        "region 'us-west-2'\n"
        "manifest\n"
        "format as csv\n"
        "gzip\n"
        "null as '\\000'\n"
        "encoding as utf8\n"
        "timeformat 'auto'\n"
        "compupdate off\n"
        "statupdate off"
    )


@pytest.mark.parametrize("table", ["flow_events", "activity_events", "rejected_lines"])
def test_generated_sql_parses_as_redshift(table):
    s = rc.CopySettings(rc.S3Location(BUCKET, ""), ROLE)
    statements = [
        rc.copy_sql(staged(table), s),
        rc.ledger_insert_sql(),
        rc.LOCK_SQL,
        rc.BUILD_GATE_SQL,
    ]
    removal = [statement.sql for statement in file_removal_sql(2)]
    assert len(removal) == 6
    unload = [unload_record_sql().sql, unloaded_at_sql()]
    for sql in [*statements, *removal, *unload]:
        parsed = sqlfluff.parse(sql.replace("%s", "'x'"), dialect="redshift")
        assert "unparsable" not in json.dumps(parsed)


def test_retraction_tables_ddl_for_redshift():
    ddl = {table: create_table_sql(table, "redshift") for table in RETRACTIONS.values()}
    assert ddl["retracted_flow_events"] == (
        'create table if not exists "raw".retracted_flow_events (\n'
        '    "flow_id" varchar(256),\n'
        '    "timestamp" timestamp,\n'
        '    "source_file" varchar(8192),\n'
        '    "retracted_at" timestamp\n'
        ')\ndistkey(flow_id) compound sortkey(retracted_at, "timestamp")'
    )
    assert ddl["retracted_activity_events"].endswith(
        ')\ndiststyle even compound sortkey(retracted_at, "timestamp")'
    )
    for sql in ddl.values():
        parsed = sqlfluff.parse(sql, dialect="redshift")
        assert "unparsable" not in json.dumps(parsed)


def test_unloaded_files_ddl_for_redshift():
    ddl = create_table_sql("unloaded_files", "redshift")
    assert ddl == (
        'create table if not exists "raw".unloaded_files (\n'
        '    "file_name" varchar(8192),\n'
        '    "file_sha256" varchar(256),\n'
        '    "unloaded_at" timestamp\n'
        ")\ndiststyle all sortkey(unloaded_at)"
    )
    assert "unparsable" not in json.dumps(sqlfluff.parse(ddl, dialect="redshift"))


def test_sqlfluff_would_catch_broken_sql():
    with pytest.raises(Exception, match=r"[Pp]ars"):
        sqlfluff.parse("copy raw.t from from 's3://x' csv csv ((", dialect="redshift")


def test_literals_refuse_backslashes():
    settings = rc.CopySettings(rc.S3Location(BUCKET, ""), ROLE)
    bad = rc.StagedTable("rejected_lines", REJECTED, "s3://b/a\\' or 1=1", 0, ())
    with pytest.raises(ValueError, match="refusing"):
        rc.copy_sql(bad, settings)


# --- S3 upload against a local server --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings = rc.CopySettings.from_env(
        {
            rc.ENV_S3_URI: f"s3://{BUCKET}/fxa/raw/",
            rc.ENV_IAM_ROLE: ROLE,
            rc.ENV_S3_ENDPOINT: s3_endpoint,
            rc.ENV_PART_MAX_BYTES: "4096",
        }
    )
    client = rc.make_s3_client(settings)
    import boto3

    raw = boto3.client("s3", endpoint_url=s3_endpoint)
    existing = [b["Name"] for b in raw.list_buckets().get("Buckets", [])]
    if BUCKET not in existing:
        raw.create_bucket(Bucket=BUCKET)
    return settings, client, raw


def _hostile_flow_rows() -> list[dict[str, object]]:
    rows = []
    for i, text in enumerate(HOSTILE * 6):
        rows.append(
            flow_row(
                text,
                source_line=i,
                ua_browser=text,
                utm_term=None if i % 3 else text,
                locale=None,
                flow_time=i * 1000,
            )
        )
    return rows


def test_upload_then_read_back_equals_input(s3, tmp_path: Path):
    settings, client, raw = s3
    rows = _hostile_flow_rows()
    writer = rc.PartWriter(tmp_path, "flow_events", FLOW, settings.part_max_bytes)
    writer.write(rows)
    parts = writer.close()
    assert len(parts) > 1  # 4 KiB parts: the upload really is multi-part
    stager = rc.S3Stager(client, settings)
    prefix = rc.staging_prefix(settings.location, "f" * 64, dt.datetime(2026, 11, 27, 3, 4, 5))
    assert prefix.startswith("fxa/raw/loads/20261127T030405Z-ffffffffffffffff-")
    table = stager.stage(prefix, "flow_events", parts)
    assert table.rows == len(rows)
    assert table.manifest_url == f"s3://{BUCKET}/{prefix}flow_events.manifest"

    manifest_key = table.manifest_url.removeprefix(f"s3://{BUCKET}/")
    manifest = json.loads(raw.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    back = []
    for entry in manifest["entries"]:
        assert entry["mandatory"] is True
        key = entry["url"].removeprefix(f"s3://{BUCKET}/")
        body = raw.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert entry["meta"]["content_length"] == len(body)
        back.extend(decode_part(body, FLOW))
    assert back == rows
    assert len(manifest["entries"]) == len(parts)

    stager.delete([table])
    listed = raw.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    assert listed.get("KeyCount", 0) == 0


# --- the transaction ------------------------------------------------------------------------


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.rows: list[tuple] = []
        self.rowcount = -1

    def execute(self, sql: str, params: object = None) -> None:
        self.connection.statements.append((sql, list(params) if params else None))
        self.connection.log.append(sql.split("\n")[0] + (f" {list(params)}" if params else ""))
        if self.connection.fail_on and self.connection.fail_on in sql:
            raise RuntimeError("Load into table failed (stl_load_errors)")
        self.rows = next(
            (rows for start, rows in self.connection.results.items() if sql.startswith(start)),
            [],
        )
        self.rowcount = self.connection.rowcount if sql.startswith(("insert", "delete")) else -1

    def fetchall(self) -> list[tuple]:
        return self.rows


class FakeConnection:
    """Records every statement; commit/rollback appear in the log as COMMIT/ROLLBACK."""

    def __init__(
        self,
        fail_on: str | None = None,
        results: dict[str, list[tuple]] | None = None,
        rowcount: int = -1,
    ) -> None:
        self.log: list[str] = []
        self.statements: list[tuple[str, list[object] | None]] = []
        self.fail_on = fail_on
        self.results = results or {}  # statement prefix -> the rows it returns
        self.rowcount = rowcount  # what inserts and deletes report

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        self.log.append("COMMIT")

    def rollback(self) -> None:
        self.log.append("ROLLBACK")

    def close(self) -> None:
        self.log.append("CLOSE")


LEDGER = {
    "file_name": "logs/a.log",
    "file_sha256": "c" * 64,
    "lines": 5,
    "loaded": 3,
    "rejected": 1,
    "ignored": 1,
    "loaded_at": dt.datetime(2026, 11, 27, 3, 0),
}


def test_file_load_is_one_transaction(s3):
    settings, client, raw = s3
    load = rc.FileLoad(settings, client, "c" * 64)
    load.add_rows("flow_events", _hostile_flow_rows()[:2])
    load.add_rows("flow_events", _hostile_flow_rows()[2:3])
    load.add_rows("rejected_lines", [("logs/a.log", 4, "not json", "{oops", LEDGER["loaded_at"])])
    connection = FakeConnection()
    loaded_at = LEDGER["loaded_at"]
    copied = load.commit(
        connection, LEDGER, delete_files=["logs/a.log", "logs/b.log"], retracted_at=loaded_at
    )
    assert copied == {"flow_events": 3, "rejected_lines": 1}
    ledger_values = ["logs/a.log", "c" * 64, 5, 3, 1, 1, dt.datetime(2026, 11, 27, 3, 0)]
    files = "['logs/a.log', 'logs/b.log']"
    stamped = f"[{loaded_at!r}, 'logs/a.log', 'logs/b.log']"
    assert connection.log == [
        'lock "raw"."load_ledger"',
        'insert into "raw"."retracted_flow_events" ("flow_id", "timestamp", "source_file", '
        '"retracted_at") select "flow_id", "timestamp", "source_file", cast(%s as timestamp) '
        'from (select distinct "flow_id", "timestamp", "source_file" from "raw"."flow_events" '
        f'where "source_file" in (%s, %s)) as removed {stamped}',
        'insert into "raw"."retracted_activity_events" ("timestamp", "uid", "source_file", '
        '"retracted_at") select "timestamp", "uid", "source_file", cast(%s as timestamp) from ('
        'select distinct "timestamp", "uid", "source_file" from "raw"."activity_events" where '
        f'"source_file" in (%s, %s)) as removed {stamped}',
        f'delete from "raw"."flow_events" where "source_file" in (%s, %s) {files}',
        f'delete from "raw"."activity_events" where "source_file" in (%s, %s) {files}',
        f'delete from "raw"."rejected_lines" where "source_file" in (%s, %s) {files}',
        f'delete from "raw"."load_ledger" where "file_name" in (%s, %s) {files}',
        'copy "raw"."flow_events" ("timestamp", "type", "flow_id", "flow_time", "ua_browser", '
        '"ua_version", "ua_os", "context", "entrypoint", "migration", "service", '
        '"utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term", "locale", '
        '"uid", "source_file", "source_line", "loaded_at")',
        'copy "raw"."rejected_lines" ("source_file", "line_number", "reason", "raw_line", '
        '"loaded_at")',
        'insert into "raw"."load_ledger" ("file_name", "file_sha256", "lines", "loaded", '
        '"rejected", "ignored", "loaded_at") values (%s, %s, %s, %s, %s, %s, %s) '
        f"{ledger_values}",
        'lock "raw"."build_lock"',  # waits while a build runs
        "COMMIT",
    ]
    # the staged objects are gone once the transaction is over
    assert raw.list_objects_v2(Bucket=BUCKET, Prefix="fxa/raw/loads/").get("KeyCount", 0) == 0


def test_no_force_no_delete_and_failure_rolls_back(s3):
    settings, client, raw = s3
    load = rc.FileLoad(settings, client, "d" * 64)
    load.add_rows("activity_events", [])
    load.add_rows("rejected_lines", [("logs/a.log", 4, "bad", "x", LEDGER["loaded_at"])])
    connection = FakeConnection(fail_on='copy "raw"."rejected_lines"')
    with pytest.raises(RuntimeError, match="stl_load_errors"):
        load.commit(connection, LEDGER)
    assert not any(line.startswith("delete") for line in connection.log)
    assert not any("activity_events" in line for line in connection.log)  # no rows, no COPY
    assert connection.log[-1] == "ROLLBACK"
    assert "COMMIT" not in connection.log
    assert not any(line.startswith("insert") for line in connection.log)
    assert raw.list_objects_v2(Bucket=BUCKET, Prefix="fxa/raw/loads/").get("KeyCount", 0) == 0


# --- the loader's RedshiftSink ----------------------------------------------------------------


def _staged_rows(raw, connection: FakeConnection) -> dict[str, list[dict[str, object]]]:
    """The rows each COPY of the recorded statements would load, read back from S3."""
    out: dict[str, list[dict[str, object]]] = {}
    for sql, _ in connection.statements:
        if not sql.startswith("copy "):
            continue
        table = sql.split('"')[3]
        manifest_url = sql.split("from '")[1].split("'")[0]
        key = manifest_url.removeprefix(f"s3://{BUCKET}/")
        manifest = json.loads(raw.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        for entry in manifest["entries"]:
            part_key = entry["url"].removeprefix(f"s3://{BUCKET}/")
            body = raw.get_object(Bucket=BUCKET, Key=part_key)["Body"].read()
            out.setdefault(table, []).extend(decode_part(body, RAW_TABLES[table]))
    return out


def test_loader_through_redshift_sink_copies_what_duckdb_stores(
    s3, tmp_path: Path, hmac_key, duckdb_path, load, query
):
    """The same file through the real loader: the rows staged for Redshift's COPY are the rows
    the DuckDB target stores (loaded_at aside: each load has its own)."""
    from conftest import UID_A, write
    from fxa_pipeline import sinks
    from fxa_pipeline.loader import Loader
    from fxa_pipeline.targets import RedshiftTarget
    from fxa_pipeline.uid_hmac import HmacKey
    from test_formats import LOG_LINES

    damaged = '{"Fields": {"ui": "' + UID_A + '", "userAgent": "Mozilla/5.0 (X11; Linux)"'
    path = write(tmp_path / "auth.log", "\n".join([*LOG_LINES, "not json", damaged, ""]) + "\n")
    assert load(path) == 0

    settings, client, raw = s3
    keep = dataclasses.replace(settings, keep_staged=True)
    connection = FakeConnection()
    sink = sinks.RedshiftSink(
        RedshiftTarget("redshift.invalid", 5439, "u", "db"),
        connection=connection,
        s3_client=client,
        settings=keep,
    )
    out, err = io.StringIO(), io.StringIO()
    summary = Loader(sink, HmacKey.from_environment(), out=out, err=err).load_paths([path])
    assert summary.loaded_files == 1, err.getvalue()

    creates = [sql for sql, _ in connection.statements if sql.startswith("create")]
    assert len(creates) == 10  # schema + 7 raw tables + loader_settings + build lock, Redshift DDL
    assert all("distkey" in sql or "diststyle" in sql for sql in creates[1:])
    body = [line for line in connection.log if not line.startswith(("create", "select"))]
    assert body[0] == "COMMIT"  # ensure_schema
    # the key's fingerprint, recorded by this first load, under the loader lock
    assert body[1] == 'lock "raw"."load_ledger"'
    assert body[2].startswith('delete from "raw".loader_settings')
    assert body[3].startswith('insert into "raw".loader_settings')
    assert body[4] == "COMMIT"
    body = body[4:]
    assert body[1] == "ROLLBACK"  # the ledger look-up's read-only transaction
    assert body[2] == "ROLLBACK"  # the look-up of an unload of the file's name
    assert body[3] == 'lock "raw"."load_ledger"'
    assert [line.split(" (")[0] for line in body[4:-3]] == [
        'copy "raw"."flow_events"',
        'copy "raw"."activity_events"',
        'copy "raw"."rejected_lines"',
    ]
    assert body[-3].startswith('insert into "raw"."load_ledger"')
    assert body[-2] == 'lock "raw"."build_lock"'  # waits while a build runs
    assert body[-1] == "COMMIT"

    staged = _staged_rows(raw, connection)
    for table in ("flow_events", "activity_events", "rejected_lines"):
        names = [c.name for c in RAW_TABLES[table] if c.name != "loaded_at"]
        columns = ", ".join(f'"{name}"' for name in names)
        expected = sorted(query(f"select {columns} from raw.{table}"), key=repr)
        got = sorted(
            (tuple(row[name] for name in names) for row in staged.get(table, [])), key=repr
        )
        assert got == expected, table
        assert expected, table  # the file really has rows of every kind
    # the rejected lines are redacted before they are staged: the uid whose key is broken
    # (a run of exactly 32 hex characters) and the user agent
    staged_text = json.dumps([row["raw_line"] for row in staged["rejected_lines"]])
    assert UID_A not in staged_text and "Mozilla" not in staged_text
    assert HmacKey.from_environment().hexdigest(UID_A) in staged_text  # type: ignore[union-attr]

    _, ledger_params = connection.statements[-2]  # before the build gate
    assert ledger_params is not None
    assert ledger_params[0] == str(path.resolve())
    assert ledger_params[2:6] == list(
        query("select lines, loaded, rejected, ignored from raw.load_ledger")[0]
    )


def test_redshift_sink_without_s3_settings_says_what_to_set(monkeypatch):
    from fxa_pipeline import sinks
    from fxa_pipeline.targets import RedshiftTarget

    monkeypatch.delenv(rc.ENV_S3_URI, raising=False)
    with pytest.raises(sinks.SinkError, match="FXA_METRICS_S3_URI"):
        sinks.RedshiftSink(RedshiftTarget("redshift.invalid", 5439, "u", "db"))


def test_add_rows_refuses_the_ledger(s3):
    settings, client, _ = s3
    load = rc.FileLoad(settings, client, "e" * 64)
    with pytest.raises(ValueError):
        load.add_rows("load_ledger", [])
    load.close()


def test_main_prints_the_copy(monkeypatch):
    monkeypatch.setenv(rc.ENV_S3_URI, f"s3://{BUCKET}/p/")
    monkeypatch.setenv(rc.ENV_IAM_ROLE, ROLE)
    out: list[str] = []
    assert rc.main(["activity_events"], out=out.append) == 0
    assert out[0].startswith('copy "raw"."activity_events" ("timestamp", "type", "uid"')
    assert out[0].endswith("statupdate off;")


# --- retractions and --unload on the Redshift path ---------------------------------------------


def _redshift_loader(s3, connection: FakeConnection, **options):
    from fxa_pipeline import sinks
    from fxa_pipeline.loader import Loader
    from fxa_pipeline.targets import RedshiftTarget
    from fxa_pipeline.uid_hmac import HmacKey

    settings, client, _ = s3
    sink = sinks.RedshiftSink(
        RedshiftTarget("redshift.invalid", 5439, "u", "db"),
        connection=connection,
        s3_client=client,
        settings=settings,
    )
    out, err = io.StringIO(), io.StringIO()
    loader = Loader(sink, HmacKey.from_environment(), out=out, err=err, **options)
    return loader, out, err


def _transaction(connection: FakeConnection) -> list[tuple[str, list[object] | None]]:
    """The statements of the last transaction (from the lock on)."""
    statements = connection.statements
    start = max(i for i, (sql, _) in enumerate(statements) if sql == rc.LOCK_SQL)
    return statements[start:]


def test_redshift_force_reload_retracts_then_deletes_then_copies(s3, tmp_path: Path, hmac_key):
    from conftest import write
    from test_formats import LOG_LINES

    path = write(tmp_path / "auth.log", "\n".join(LOG_LINES) + "\n")
    name = str(path.resolve())
    connection = FakeConnection()
    loader, _, err = _redshift_loader(s3, connection, force=True)
    summary = loader.load_paths([path])
    assert summary.loaded_files == 1, err.getvalue()
    statements = _transaction(connection)
    kinds = [sql.split(" (")[0].split(" where")[0] for sql, _ in statements]
    assert kinds == [
        'lock "raw"."load_ledger"',
        'insert into "raw"."retracted_flow_events"',
        'insert into "raw"."retracted_activity_events"',
        'delete from "raw"."flow_events"',
        'delete from "raw"."activity_events"',
        'delete from "raw"."rejected_lines"',
        'delete from "raw"."load_ledger"',
        'copy "raw"."flow_events"',
        'copy "raw"."activity_events"',
        'insert into "raw"."load_ledger"',
        'lock "raw"."build_lock"',  # waits while a build runs
    ]
    ledger_params = statements[-2][1]
    assert ledger_params is not None
    loaded_at = ledger_params[6]
    for sql, params in statements[1:3]:
        assert "select distinct" in sql and "cast(%s as timestamp)" in sql
        assert params == [loaded_at, name]  # stamped with the new rows' loaded_at
    for _, params in statements[3:7]:
        assert params == [name]
    assert connection.log[-1] == "COMMIT"


def test_redshift_unload_is_one_transaction_without_staging(s3, tmp_path: Path, hmac_key):
    raw = s3[2]
    staged_before = raw.list_objects_v2(Bucket=BUCKET, Prefix="fxa/raw/").get("KeyCount", 0)
    path = tmp_path / "gone.log"  # need not exist
    name = str(path.resolve())
    ledger_check = 'select count(*) from "raw"."load_ledger"'
    connection = FakeConnection(results={ledger_check: [(1,)]}, rowcount=2)
    loader, out, err = _redshift_loader(s3, connection)
    summary = loader.unload_paths([path])
    assert summary.exit_code == 0, err.getvalue()
    statements = _transaction(connection)
    assert statements[1] == (ledger_check + " where file_name = %s", [name])
    kinds = [sql.split(" (")[0].split(" where")[0] for sql, _ in statements[2:]]
    assert kinds == [
        'insert into "raw"."unloaded_files"',  # remembered: a later load of it skips it
        'insert into "raw"."retracted_flow_events"',
        'insert into "raw"."retracted_activity_events"',
        'delete from "raw"."flow_events"',
        'delete from "raw"."activity_events"',
        'delete from "raw"."rejected_lines"',
        'delete from "raw"."load_ledger"',
        'lock "raw"."build_lock"',  # waits while a build runs
    ]
    stamp = statements[2][1][0]  # type: ignore[index]
    assert isinstance(stamp, dt.datetime) and stamp.tzinfo is None
    assert statements[2][1] == statements[3][1] == [stamp, name]  # the unload's one time
    assert connection.log[-1] == "COMMIT"
    assert f"{name}: unloaded, 6 rows removed (2 flow events, 2 activity events, 2 rejected" in (
        out.getvalue()
    )
    # nothing staged
    assert raw.list_objects_v2(Bucket=BUCKET, Prefix="fxa/raw/").get("KeyCount", 0) == staged_before

    # Not in the ledger: rolled back before anything was written, exit 1.
    connection = FakeConnection(results={ledger_check: [(0,)]})
    loader, out, err = _redshift_loader(s3, connection)
    assert loader.unload_paths([path]).exit_code == 1
    assert f"error: {name}: not loaded" in err.getvalue()
    assert not any(sql.startswith(("insert", "delete")) for sql, _ in connection.statements)
    assert connection.log[-1] == "ROLLBACK"
