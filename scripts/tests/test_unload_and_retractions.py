"""Retractions and `--unload` (docs/loader.md "Removing a file's rows"), on DuckDB and Postgres.

Whenever the loader deletes a file's event rows (`--force`, a changed file, `--unload`) it first
writes the DISTINCT (flow_id, timestamp) / (timestamp, uid) of those rows to
`raw.retracted_flow_events` / `raw.retracted_activity_events`, in the same transaction, stamped
`retracted_at`: the new rows' `loaded_at` for a reload, the time of the unload for an unload.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FLOW_A, FLOW_B, UID_A, QueryFn, write
from dbt_harness import release_duckdb_files, run_loader

T0 = 1479834000000  # 2016-11-22T17:00:00Z, epoch ms


def flow(flow_id: str, ms: int, event: str = "flow.begin", flow_time: int = 0) -> str:
    fields = {"event": event, "flow_id": flow_id, "flow_time": flow_time, "time": ms}
    return json.dumps({"Type": "flowEvent", "Fields": fields})


def activity(ms: int, event: str = "account.signed") -> str:
    fields = {"event": event, "uid": UID_A, "time": ms}
    return json.dumps({"Type": "activityEvent", "Fields": fields})


# 5 flow events with 3 distinct (flow_id, timestamp), 3 activity events with 2 distinct
# timestamps, one rejected line.
A_LINES = [
    flow(FLOW_A, T0),
    flow(FLOW_A, T0),  # a duplicate log line
    flow(FLOW_A, T0 + 500, "flow.signup.view", 500),
    flow(FLOW_A, T0 + 500, "flow.signup.engage", 500),  # same flow and time, another event
    flow(FLOW_B, T0 + 1000),
    activity(T0 + 2000),
    activity(T0 + 2000, "account.login"),
    activity(T0 + 3000),
    "not json",
]
B_LINES = [flow(FLOW_B, T0 + 9000, "flow.complete", 8000), activity(T0 + 9000)]


def ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def unload(*paths: Path, target: str = "duckdb") -> int:
    return run_loader(*paths, target=target, unload=True)


def counts(query: QueryFn, name: str) -> tuple[int, ...]:
    (row,) = query(
        "select"
        f" (select count(*) from raw.flow_events where source_file = '{name}'),"
        f" (select count(*) from raw.activity_events where source_file = '{name}'),"
        f" (select count(*) from raw.rejected_lines where source_file = '{name}'),"
        f" (select count(*) from raw.load_ledger where file_name = '{name}')"
    )
    return tuple(row)


def flow_retractions(query: QueryFn) -> list[tuple]:
    return sorted(
        query(
            'select flow_id, "timestamp", source_file, retracted_at from raw.retracted_flow_events'
        )
    )


def activity_retractions(query: QueryFn) -> list[tuple]:
    return sorted(
        query('select "timestamp", source_file, retracted_at from raw.retracted_activity_events')
    )


def test_unload_removes_exactly_the_file_and_records_retractions(
    tmp_path: Path, raw_warehouse, load, capsys
) -> None:
    target, query = raw_warehouse
    a = write(tmp_path / "logs" / "a.log", "\n".join(A_LINES) + "\n")
    b = write(tmp_path / "logs" / "b.log", "\n".join(B_LINES) + "\n")
    assert load(a, b, target=target) == 0
    name_a, name_b = str(a.resolve()), str(b.resolve())
    assert counts(query, name_a) == (5, 3, 1, 1)
    b_before = counts(query, name_b)
    assert b_before == (1, 1, 0, 1)
    (loaded_at,) = query(f"select loaded_at from raw.load_ledger where file_name = '{name_a}'")[0]
    uids = query(f"select distinct uid from raw.activity_events where source_file = '{name_a}'")
    capsys.readouterr()

    before = datetime.now(UTC).replace(tzinfo=None)
    assert unload(a, target=target) == 0
    after = datetime.now(UTC).replace(tzinfo=None)
    out = capsys.readouterr().out
    assert (
        f"{name_a}: unloaded, 9 rows removed (5 flow events, 3 activity events, 1 rejected lines)\n"
    ) in out
    assert "total: 1 files unloaded, 0 not loaded, 0 failed; 9 rows removed" in out

    assert counts(query, name_a) == (0, 0, 0, 0)
    assert counts(query, name_b) == b_before  # the other file is untouched

    flows = flow_retractions(query)
    assert [row[:3] for row in flows] == sorted(
        [
            (FLOW_A, ts(T0), name_a),
            (FLOW_A, ts(T0 + 500), name_a),
            (FLOW_B, ts(T0 + 1000), name_a),
        ]
    )
    activities = activity_retractions(query)
    assert [row[:2] for row in activities] == [(ts(T0 + 2000), name_a), (ts(T0 + 3000), name_a)]
    # the uid of the removed rows (as stored: its HMAC), so that the tables built per user
    # recompute that user
    assert len(uids) == 1 and len(uids[0][0]) == 64
    assert query("select distinct uid from raw.retracted_activity_events") == uids
    stamps = {row[-1] for row in flows + activities}
    assert len(stamps) == 1  # one unload, one stamp
    (stamp,) = stamps
    assert before <= stamp <= after  # now, in UTC, as loaded_at is taken
    assert stamp > loaded_at

    # A second unload of the same file: not loaded, exit 1, nothing changes.
    assert unload(a, target=target) == 1
    captured = capsys.readouterr()
    assert f"error: {name_a}: not loaded" in captured.err
    assert "total: 0 files unloaded, 1 not loaded, 0 failed; 0 rows removed" in captured.out
    assert flow_retractions(query) == flows
    assert counts(query, name_b) == b_before


def test_force_reload_retracts_with_the_new_loaded_at(tmp_path: Path, raw_warehouse, load) -> None:
    target, query = raw_warehouse
    a = write(tmp_path / "a.log", "\n".join(A_LINES) + "\n")
    name = str(a.resolve())
    assert load(a, target=target) == 0
    (first,) = query("select distinct loaded_at from raw.flow_events")[0]
    assert flow_retractions(query) == []  # a first load retracts nothing

    assert load(a, target=target, force=True) == 0
    (second,) = query("select distinct loaded_at from raw.flow_events")[0]
    assert query("select loaded_at from raw.load_ledger") == [(second,)]
    assert second > first
    assert counts(query, name) == (5, 3, 1, 1)  # the rows are back, once
    assert flow_retractions(query) == sorted(
        [
            (FLOW_A, ts(T0), name, second),
            (FLOW_A, ts(T0 + 500), name, second),
            (FLOW_B, ts(T0 + 1000), name, second),
        ]
    )
    assert activity_retractions(query) == [
        (ts(T0 + 2000), name, second),
        (ts(T0 + 3000), name, second),
    ]


def test_changed_file_retracts_its_old_rows(tmp_path: Path, raw_warehouse, load, capsys) -> None:
    target, query = raw_warehouse
    path = write(tmp_path / "a.log", "\n".join(A_LINES) + "\n")
    name = str(path.resolve())
    assert load(path, target=target) == 0
    write(path, "\n".join(B_LINES) + "\n")
    assert load(path, target=target) == 0
    assert "changed since it was loaded" in capsys.readouterr().err
    (loaded_at,) = query("select loaded_at from raw.load_ledger")[0]
    # the old content's keys, stamped with the new content's load time
    assert flow_retractions(query) == sorted(
        [
            (FLOW_A, ts(T0), name, loaded_at),
            (FLOW_A, ts(T0 + 500), name, loaded_at),
            (FLOW_B, ts(T0 + 1000), name, loaded_at),
        ]
    )
    assert [row[0] for row in activity_retractions(query)] == [ts(T0 + 2000), ts(T0 + 3000)]
    assert counts(query, name) == (1, 1, 0, 1)


def test_unload_a_folder_a_deleted_file_and_an_unknown_one(
    tmp_path: Path, raw_warehouse, load, capsys
) -> None:
    target, query = raw_warehouse
    folder = tmp_path / "logs"
    a = write(folder / "a.log", "\n".join(A_LINES) + "\n")
    b = write(folder / "sub" / "b.log", "\n".join(B_LINES) + "\n")
    gone = write(tmp_path / "gone.log", flow(FLOW_B, T0 + 50_000) + "\n")
    assert load(folder, gone, target=target) == 0
    gone.unlink()  # a file deleted since it was loaded can still be unloaded by its path
    never = tmp_path / "never-loaded.log"
    capsys.readouterr()

    assert unload(never, folder, gone, target=target) == 1  # one file was not loaded
    captured = capsys.readouterr()
    assert f"error: {never.resolve()}: not loaded" in captured.err
    for path in (a, b, gone):
        assert f"{path.resolve()}: unloaded, " in captured.out
    assert "total: 3 files unloaded, 1 not loaded, 0 failed; 12 rows removed" in captured.out
    assert query("select count(*) from raw.load_ledger") == [(0,)]
    for table in ("flow_events", "activity_events", "rejected_lines"):
        assert query(f"select count(*) from raw.{table}") == [(0,)], table
    sources = {row[2] for row in flow_retractions(query)}
    assert sources == {str(a.resolve()), str(b.resolve()), str(gone.resolve())}


def test_unload_summary_has_thousands_separators(tmp_path: Path, raw_warehouse, load, capsys):
    target, query = raw_warehouse
    lines = [flow(FLOW_A, T0 + i, "flow.signup.view", i) for i in range(1234)]
    path = write(tmp_path / "big.log", "\n".join(lines) + "\n")
    assert load(path, target=target) == 0
    capsys.readouterr()
    assert unload(path, target=target) == 0
    out = capsys.readouterr().out
    assert "1,234 rows removed (1,234 flow events, 0 activity events, 0 rejected lines)" in out
    assert query("select count(*) from raw.retracted_flow_events") == [(1234,)]


def test_unload_is_one_transaction(tmp_path: Path, hmac_key, duckdb_path, load, query, monkeypatch):
    """A failure in the middle of an unload (here: the delete of the rejected lines) leaves
    the file loaded and no retraction behind, and the run goes on to the next file."""
    from fxa_pipeline import raw_schema, sinks

    a = write(tmp_path / "a.log", "\n".join(A_LINES) + "\n")
    b = write(tmp_path / "b.log", "\n".join(B_LINES) + "\n")
    assert load(a, b) == 0
    original = raw_schema.file_removal_sql

    def failing(file_count: int, placeholder: str = "%s") -> list[raw_schema.RemovalStatement]:
        statements = original(file_count, placeholder)
        return [
            raw_schema.RemovalStatement(
                s.sql.replace('"rejected_lines"', '"no_such_table"'), s.table, s.stamped
            )
            for s in statements
        ]

    monkeypatch.setattr(sinks, "file_removal_sql", failing)
    assert unload(a, b) == 1
    assert counts(query, str(a.resolve())) == (5, 3, 1, 1)
    assert counts(query, str(b.resolve())) == (1, 1, 0, 1)
    assert flow_retractions(query) == []
    monkeypatch.setattr(sinks, "file_removal_sql", original)
    assert unload(a, b) == 0
    assert query("select count(*) from raw.load_ledger") == [(0,)]


def test_unload_and_force_cannot_be_combined(tmp_path: Path, duckdb_path, capsys) -> None:
    import load_events

    with pytest.raises(SystemExit) as exit_info:
        load_events.main(["--unload", "--force", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unloaded_file_stays_unloaded_until_loaded_with_force(
    tmp_path: Path, raw_warehouse, load, capsys
) -> None:
    """A file removed with --unload and still in the folder is skipped by every later load of
    the folder (as the daily run does), with the time of the unload and how to load it again;
    --status lists it; --force loads it again, after which it is an ordinary loaded file."""
    import load_events

    target, query = raw_warehouse
    folder = tmp_path / "logs"
    a = write(folder / "a.log", "\n".join(A_LINES) + "\n")
    write(folder / "b.log", "\n".join(B_LINES) + "\n")
    name_a = str(a.resolve())
    assert load(folder, target=target) == 0
    before = datetime.now(UTC).replace(tzinfo=None)
    assert unload(a, target=target) == 0
    after = datetime.now(UTC).replace(tzinfo=None)
    capsys.readouterr()

    outputs = []
    for _ in range(2):  # every later run of the folder
        assert load(folder, target=target) == 0
        assert counts(query, name_a) == (0, 0, 0, 0)
        outputs.append(capsys.readouterr().out)
    (remembered,) = query("select file_name, file_sha256, unloaded_at from raw.unloaded_files")
    assert remembered[:2] == (name_a, hashlib.sha256(a.read_bytes()).hexdigest())
    assert before <= remembered[2] <= after
    for out in outputs:
        assert (
            f"{name_a}: skipped: unloaded on {remembered[2]:%Y-%m-%d %H:%M:%S} UTC; load it again "
            f"with: load_events.py --force {name_a}\n"
        ) in out
        assert "total: 0 files loaded, 2 skipped, 0 failed;" in out

    release_duckdb_files()  # --status opens the file read-only
    assert load_events.main(["--target", target, "--status"]) == 0
    shown = capsys.readouterr().out
    assert "files unloaded, not loaded again" in shown
    assert f"{remembered[2]:%Y-%m-%d %H:%M:%S}  {name_a}" in shown

    # on purpose: --force loads it again, and it is no longer listed as unloaded
    assert load(a, target=target, force=True) == 0
    assert counts(query, name_a) == (5, 3, 1, 1)
    assert load(folder, target=target) == 0
    assert f"{name_a}: skipped: already loaded\n" in capsys.readouterr().out
    release_duckdb_files()
    assert load_events.main(["--target", target, "--status"]) == 0
    assert "files unloaded" not in capsys.readouterr().out

    # unloaded again: skipped again, from its latest unload
    assert unload(a, target=target) == 0
    assert load(folder, target=target) == 0
    assert f"{name_a}: skipped: unloaded on " in capsys.readouterr().out
    assert query("select count(*) from raw.unloaded_files") == [(2,)]


def test_a_raw_table_of_an_older_loader_gains_its_new_columns(
    tmp_path: Path, raw_warehouse, load
) -> None:
    """A warehouse whose raw.retracted_activity_events an older loader created, without the
    uid it now records: the next run adds the column (create table if not exists alone would
    not), and an unload then records the uid."""
    target, query = raw_warehouse
    a = write(tmp_path / "a.log", "\n".join(A_LINES) + "\n")
    b = write(tmp_path / "b.log", "\n".join(B_LINES) + "\n")
    assert load(b, target=target) == 0
    try:
        query("alter table raw.retracted_activity_events drop column uid")
    except Exception as error:  # psycopg's query() fetches rows, which an alter has none of
        assert "didn't produce records" in str(error), error
    columns = "select column_name from information_schema.columns where table_schema = 'raw'"
    assert ("uid",) not in query(f"{columns} and table_name = 'retracted_activity_events'")
    assert load(a, target=target) == 0
    assert unload(a, target=target) == 0
    uids = query("select distinct uid from raw.retracted_activity_events")
    assert len(uids) == 1 and len(uids[0][0]) == 64
