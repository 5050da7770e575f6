"""Idempotent reloads, --force, changed files, the HMAC key, privacy, and all-or-nothing files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import FIREFOX_50_WINDOWS, FLOW_A, UID_A, UID_B, write
from fxa_pipeline import sinks
from test_formats import ACTIVITY_CSV, FLOW_CSV, LOG_LINES

COUNTS = (
    "select (select count(*) from raw.flow_events), (select count(*) from raw.activity_events),"
    " (select count(*) from raw.rejected_lines), (select count(*) from raw.load_ledger)"
)


def make_folder(root: Path) -> Path:
    folder = root / "logs"
    write(folder / "auth.log", "\n".join([*LOG_LINES, "not json at all"]) + "\n")
    write(folder / "old" / "flow.csv", FLOW_CSV + "\n")
    write(folder / "old" / "events.csv.gz", ACTIVITY_CSV, compress=True)
    return folder


def test_second_run_loads_nothing_and_force_keeps_counts(
    tmp_path: Path, hmac_key, duckdb_path, load, query, capsys
) -> None:
    folder = make_folder(tmp_path)
    assert load(folder) == 0
    first = query(COUNTS)
    assert first == [(6, 4, 1, 3)]
    capsys.readouterr()

    assert load(folder) == 0
    out = capsys.readouterr().out
    assert out.count("skipped: already loaded") == 3
    assert "total: 0 files loaded, 3 skipped" in out
    assert query(COUNTS) == first

    assert load(folder, force=True) == 0
    assert "total: 3 files loaded, 0 skipped" in capsys.readouterr().out
    assert query(COUNTS) == first


def test_same_content_under_another_name_is_skipped(
    tmp_path: Path, hmac_key, duckdb_path, load, query, capsys
) -> None:
    original = write(tmp_path / "a.log", "\n".join(LOG_LINES))
    copy = write(tmp_path / "copy" / "a.log", "\n".join(LOG_LINES))
    assert load(original) == 0
    assert load(copy) == 0
    assert f"skipped: already loaded as {original.resolve()}" in capsys.readouterr().out
    assert query("select count(*) from raw.load_ledger") == [(1,)]


def test_changed_file_is_replaced_with_a_warning(
    tmp_path: Path, hmac_key, duckdb_path, load, query, capsys
) -> None:
    path = write(tmp_path / "auth.log", "\n".join(LOG_LINES))
    assert load(path) == 0
    write(path, "\n".join(LOG_LINES[:3]))
    assert load(path) == 0
    assert "changed since it was loaded" in capsys.readouterr().err
    assert query(COUNTS) == [(3, 0, 0, 1)]
    assert query("select lines from raw.load_ledger") == [(3,)]


def test_missing_key_refuses_the_file_and_writes_nothing(
    tmp_path: Path, duckdb_path, load, query, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("FXA_METRICS_UID_HMAC_KEY", raising=False)
    no_uid = write(tmp_path / "a-no-uid.log", LOG_LINES[0])
    with_uid = write(tmp_path / "b-with-uid.log", "\n".join(LOG_LINES))
    assert load(no_uid, with_uid) == 2
    err = capsys.readouterr().err
    assert "FXA_METRICS_UID_HMAC_KEY is not set" in err
    assert str(with_uid.resolve()) in err
    # The file without uids loaded; nothing of the other one did.
    assert query("select file_name from raw.load_ledger") == [(str(no_uid.resolve()),)]
    assert query(COUNTS) == [(1, 0, 0, 1)]


def test_missing_key_also_refuses_uids_in_rejected_lines(
    tmp_path: Path, duckdb_path, load, query, monkeypatch
) -> None:
    monkeypatch.delenv("FXA_METRICS_UID_HMAC_KEY", raising=False)
    path = write(tmp_path / "a.log", '{"Type": "activityEvent", "Fields": {"uid": "' + UID_A)
    assert load(path) == 2
    assert query(COUNTS) == [(0, 0, 0, 0)]


def test_no_raw_uid_or_agent_in_any_table(
    tmp_path: Path, hmac_key, duckdb_path, load, query
) -> None:
    bad = json.dumps({"Type": "activityEvent", "Fields": {"uid": UID_B, "time": "junk"}})
    truncated = '{"Type": "flowEvent", "Fields": {"uid":"' + UID_B + '", "flow_id": "'
    write(tmp_path / "in" / "a.log", "\n".join([*LOG_LINES, bad, truncated]))
    assert load(tmp_path / "in") == 0
    assert query("select count(*) from raw.rejected_lines") == [(2,)]
    tables = query(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where data_type = 'VARCHAR'"
    )
    assert len(tables) > 20
    secrets = (UID_A, UID_B, FIREFOX_50_WINDOWS, "12345")
    scans = [
        f'select \'{schema}.{table}.{column}\', count(*) from "{schema}"."{table}" where '
        + " or ".join(f"contains(\"{column}\", '{secret}')" for secret in secrets)
        for schema, table, column in tables
    ]
    hits = query(" union all ".join(scans))
    assert len(hits) == len(tables)
    assert [column for column, count in hits if count] == []


def test_failure_mid_file_leaves_no_rows(
    tmp_path: Path, hmac_key, duckdb_path, load, query, monkeypatch, capsys
) -> None:
    good = write(tmp_path / "a-good.log", LOG_LINES[0])
    assert load(good) == 0
    flows = [
        json.dumps(
            {
                "Type": "flowEvent",
                "Fields": {"event": "flow.begin", "flow_id": FLOW_A, "time": 1479834000000 + i},
            }
        )
        for i in range(400)
    ]
    path = write(tmp_path / "b-big.log", "\n".join(flows))
    monkeypatch.setenv("FXA_LOADER_CHUNK_MB", str(2000 / 2**20))  # ~2000-byte chunks
    calls = []
    original = sinks.DuckDBSink.append

    def failing_append(self, table: str, query_sql: str) -> None:
        calls.append(table)
        if len(calls) > 1:
            raise duckdb.IOException("disk on fire (injected)")
        original(self, table, query_sql)

    monkeypatch.setattr(sinks.DuckDBSink, "append", failing_append)
    assert load(path) == 1
    assert "disk on fire" in capsys.readouterr().err
    assert calls == ["flow_events", "flow_events"]  # the first chunk was appended
    assert query(COUNTS) == [(1, 0, 0, 1)]
    assert query("select file_name from raw.load_ledger") == [(str(good.resolve()),)]

    monkeypatch.setattr(sinks.DuckDBSink, "append", original)
    assert load(path) == 0
    assert query(COUNTS) == [(401, 0, 0, 2)]


def test_truncated_gzip_fails_the_file(
    tmp_path: Path, hmac_key, duckdb_path, load, query, capsys
) -> None:
    path = write(tmp_path / "a.log.gz", "\n".join(LOG_LINES * 50), compress=True)
    path.write_bytes(path.read_bytes()[:-40])
    assert load(path) == 1
    assert "gzip stream is truncated or corrupt" in capsys.readouterr().err
    assert query(COUNTS) == [(0, 0, 0, 0)]


def test_redshift_target_says_what_is_missing(tmp_path: Path, load, capsys, monkeypatch) -> None:
    monkeypatch.delenv("FXA_METRICS_S3_URI", raising=False)
    monkeypatch.delenv("FXA_METRICS_REDSHIFT_IAM_ROLE", raising=False)
    path = write(tmp_path / "a.log", LOG_LINES[0])
    assert load(path, target="redshift") == 1
    err = capsys.readouterr().err
    assert "FXA_METRICS_S3_URI and FXA_METRICS_REDSHIFT_IAM_ROLE" in err
    assert "docs/redshift.md" in err


def test_missing_path_is_a_clear_error(tmp_path: Path, duckdb_path, load, capsys) -> None:
    assert load(tmp_path / "nope") == 1
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize("chunk_mb", [str(300 / 2**20), str(1 / 2**20)])
def test_tiny_chunks_give_the_same_rows(
    tmp_path: Path, hmac_key, duckdb_path, load, query, monkeypatch, chunk_mb
) -> None:
    from test_formats import ACTIVITY_COLUMNS, EXPECTED_ACTIVITY, EXPECTED_FLOW, FLOW_COLUMNS

    monkeypatch.setenv("FXA_LOADER_CHUNK_MB", chunk_mb)
    path = write(tmp_path / "auth.log", "\n".join(LOG_LINES) + "\n")
    assert load(path) == 0
    assert query(FLOW_COLUMNS) == EXPECTED_FLOW
    assert query(ACTIVITY_COLUMNS) == EXPECTED_ACTIVITY
    assert query("select lines, loaded, rejected, ignored from raw.load_ledger") == [(8, 6, 0, 2)]


def test_memory_limit_is_applied_and_a_bad_one_refused(
    tmp_path: Path, hmac_key, duckdb_path, load, query, capsys, monkeypatch
) -> None:
    from fxa_pipeline.sinks import DuckDBSink
    from fxa_pipeline.targets import DuckDBTarget

    monkeypatch.setenv("FXA_DUCKDB_MEMORY_LIMIT", "300MB")
    sink = DuckDBSink(DuckDBTarget(str(tmp_path / "limits.duckdb")))
    try:
        for con in (sink.engine, sink.connection):
            (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
            # the file and the parsing engine share 300 MB: 150 MB = 143 MiB each
            assert limit.startswith("143.") and limit.endswith("MiB")
    finally:
        sink.close()

    monkeypatch.setenv("FXA_DUCKDB_MEMORY_LIMIT", "lots")
    path = write(tmp_path / "a.log", LOG_LINES[0])
    assert load(path) == 1
    assert "FXA_DUCKDB_MEMORY_LIMIT='lots' is not a size" in capsys.readouterr().err
    # refused before anything was created
    assert query("select count(*) from duckdb_tables() where schema_name = 'raw'") == [(0,)]
