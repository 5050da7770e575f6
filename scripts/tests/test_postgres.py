"""The Postgres sink (COPY) stores exactly what the DuckDB sink stores."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import write
from test_formats import ACTIVITY_CSV, FLOW_CSV, LOG_LINES
from test_rejections import LOG_CASES

pytestmark = pytest.mark.postgres

TABLE_QUERIES = {
    "flow_events": 'select "timestamp", "type", flow_id, flow_time, ua_browser, ua_version,'
    " ua_os, context, entrypoint, migration, service, utm_campaign, utm_content, utm_medium,"
    " utm_source, utm_term, locale, uid, source_file, source_line from raw.flow_events"
    " order by source_file, source_line",
    "activity_events": 'select "timestamp", "type", uid, device_id, service, ua_browser,'
    " ua_version, ua_os, source_file, source_line from raw.activity_events"
    " order by source_file, source_line",
    "rejected_lines": "select source_file, line_number, reason, raw_line from raw.rejected_lines"
    " order by source_file, line_number",
    "load_ledger": "select file_name, file_sha256, lines, loaded, rejected, ignored"
    " from raw.load_ledger order by file_name",
}


def test_postgres_equals_duckdb(
    tmp_path: Path, postgres, hmac_key, duckdb_path, load, query
) -> None:
    folder = tmp_path / "logs"
    write(folder / "auth.log", "\n".join(LOG_LINES) + "\n")
    write(folder / "bad.log", "\n".join(line for line, _ in LOG_CASES))
    write(folder / "flow.csv", FLOW_CSV)
    write(folder / "events.csv.gz", ACTIVITY_CSV, compress=True)
    assert load(folder, target="postgres") == 0
    assert load(folder) == 0
    for table, sql in TABLE_QUERIES.items():
        expected = query(sql)
        assert expected, table
        assert postgres(sql) == expected, table


def test_postgres_reload_force_and_loaded_at(tmp_path: Path, postgres, hmac_key, load) -> None:
    path = write(tmp_path / "auth.log", "\n".join(LOG_LINES))
    assert load(path, target="postgres") == 0
    counts = "select (select count(*) from raw.flow_events), (select count(*) from raw.load_ledger)"
    assert postgres(counts) == [(4, 1)]
    assert load(path, target="postgres") == 0
    assert postgres(counts) == [(4, 1)]
    assert load(path, target="postgres", force=True) == 0
    assert postgres(counts) == [(4, 1)]
    # One loaded_at per file load, shared by the ledger row and the file's rows.
    assert postgres(
        "select count(distinct loaded_at) from (select loaded_at from raw.flow_events"
        " union all select loaded_at from raw.load_ledger) as t"
    ) == [(1,)]


def test_postgres_failure_mid_file_leaves_no_rows(
    tmp_path: Path, postgres, hmac_key, load, monkeypatch
) -> None:
    from fxa_pipeline import sinks

    path = write(tmp_path / "auth.log", "\n".join(LOG_LINES * 20))
    monkeypatch.setenv("FXA_LOADER_CHUNK_MB", str(3000 / 2**20))
    original = sinks.PostgresSink.append
    calls = []

    def failing_append(self, table: str, query_sql: str) -> None:
        calls.append(table)
        if len(calls) > 2:
            raise duckdb.IOException("network gone (injected)")
        original(self, table, query_sql)

    monkeypatch.setattr(sinks.PostgresSink, "append", failing_append)
    assert load(path, target="postgres") == 1
    assert postgres(
        "select (select count(*) from raw.flow_events) + (select count(*) from"
        " raw.activity_events) + (select count(*) from raw.load_ledger)"
    ) == [(0,)]


def test_postgres_load_refreshes_planner_statistics(
    tmp_path: Path, postgres, hmac_key, load
) -> None:
    """The raw tables a run wrote are analyzed at its end (stale `loaded_at` histograms made
    the next incremental build pick nested loops), and only those."""
    analyzed = (
        "select relname from pg_stat_user_tables where schemaname = 'raw'"
        " and last_analyze is not null order by relname"
    )
    assert load(write(tmp_path / "empty.log", "\n"), target="postgres") == 0
    assert postgres(analyzed) == []  # nothing appended: nothing analyzed
    assert load(write(tmp_path / "auth.log", "\n".join(LOG_LINES)), target="postgres") == 0
    assert postgres(analyzed) == [("activity_events",), ("flow_events",)]
