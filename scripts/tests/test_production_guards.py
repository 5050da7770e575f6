"""The dbt guards of production runs (RELIABILITY.md) can fail: each is run on a tiny DuckDB holding
hand-made raw tables, once with data that must trip it and once with data that must not.

- `row_count_within_factor_of_trailing_median` on `raw.flow_events` / `raw.activity_events`;
- `share_at_most` (rejected / lines) on `raw.load_ledger`;
- source freshness of the raw tables (`dbt source freshness`).

All guards are `severity: warn`: a tripped guard makes `dbt test` report WARN and exit 0, so the
cron run alerts without failing. The expectations below are computed by hand from the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_harness import Warehouse, base_environment
from fxa_pipeline.raw_schema import RAW_TABLES, create_all_sql

pytestmark = pytest.mark.integration

FLOW_GUARD = "raw_flow_events_daily_row_count_within_factor_of_trailing_median"
ACTIVITY_GUARD = "raw_activity_events_daily_row_count_within_factor_of_trailing_median"
LEDGER_GUARD = "raw_load_ledger_rejected_share_per_file_at_most_limit"
GUARDS = (FLOW_GUARD, ACTIVITY_GUARD, LEDGER_GUARD)

LOADED_AT = datetime(2016, 12, 1, 3, 0, 0)


def _events(table: str, counts: dict[date, int], loaded_at: datetime = LOADED_AT) -> list[tuple]:
    """`count` rows per event day, every other column NULL but the ones the guards read."""
    names = [c.name for c in RAW_TABLES[table]]
    rows = []
    for day, count in counts.items():
        for i in range(count):
            row = dict.fromkeys(names)
            row["timestamp"] = datetime(day.year, day.month, day.day, 12, 0, 0) + timedelta(
                seconds=i
            )
            row["type"] = "flow.begin" if table == "flow_events" else "account.signed"
            row["loaded_at"] = loaded_at
            rows.append(tuple(row[n] for n in names))
    return rows


def _ledger(files: Iterable[tuple[str, int, int]], loaded_at: datetime = LOADED_AT) -> list[tuple]:
    """(file, lines, rejected) -> ledger rows, the rest loaded."""
    return [(f, "0" * 64, lines, lines - rej, rej, 0, loaded_at) for f, lines, rej in files]


def _days(first: date, n: int, count: int) -> dict[date, int]:
    return {first + timedelta(days=i): count for i in range(n)}


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _values(rows: list[tuple]) -> str:
    """One multi-row VALUES list (one statement, not one INSERT per row)."""
    return ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)


def _make_db(path: Path, tables: dict[str, list[tuple]]) -> None:
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        for statement in create_all_sql("duckdb"):
            con.execute(statement)
        for table, rows in tables.items():
            if rows:
                con.execute(f'insert into "raw".{table} select * from (values {_values(rows)})')
    finally:
        con.close()


def _dbt(
    tmp: Path, db: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[bool, dict[str, Any]]:
    """Run dbt (dbt_harness: in this process, the project parsed once): whether it succeeded,
    and each node's result by its name."""
    env = {**base_environment(), "FXA_DUCKDB_PATH": str(db), **(env or {})}
    result = Warehouse("duckdb", env, tmp).dbt_result(*args)
    results = getattr(result.result, "results", None) or []
    # (the project's on-run-start hook, macros/build_lock.sql, is a result too: not a node)
    nodes = [r for r in results if r.node.resource_type != "operation"]
    return bool(result.success), {r.node.name: r for r in nodes}


def _guard_results(
    tmp: Path, db: Path, *extra: str, env: dict[str, str] | None = None
) -> dict[str, tuple[str, int]]:
    """Run the three guards; name -> (status, failures)."""
    success, results = _dbt(tmp, db, "test", "--select", *GUARDS, *extra, env=env)
    assert success  # warn never fails the run
    by_name = {name: (str(r.status), r.failures) for name, r in results.items()}
    assert set(by_name) == set(GUARDS), by_name
    return by_name


@pytest.fixture(scope="module")
def dbt_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module's database file and dbt's target/ (one database name: the
    project is parsed once)."""
    return tmp_path_factory.mktemp("guards")


def test_guards_warn_on_a_drop_and_a_bad_file(dbt_tmp: Path) -> None:
    db = dbt_tmp / "guards.duckdb"  # one path: the profile stays the same, parsing partial
    first = date(2016, 11, 1)
    flow = _days(first, 10, 10)  # median 10
    flow[date(2016, 11, 11)] = 3  # 3 * 3 = 9 < 10: a drop
    flow[date(2099, 1, 1)] = 1  # future-dated: never the "latest day"
    activity = _days(first, 10, 10)
    activity[date(2016, 11, 11)] = 30  # 30 <= 10 * 3: no alert at the boundary
    ledger = [("a.log", 1000, 10), ("b.log", 100, 2), ("empty.log", 0, 0)]  # 0.01 ok, 0.02 not
    _make_db(
        db,
        {
            "flow_events": _events("flow_events", flow),
            "activity_events": _events("activity_events", activity),
            "load_ledger": _ledger(ledger),
        },
    )
    assert _guard_results(dbt_tmp, db) == {
        FLOW_GUARD: ("warn", 1),
        ACTIVITY_GUARD: ("pass", 0),
        LEDGER_GUARD: ("warn", 1),
    }


def test_guards_warn_on_a_spike_and_respect_their_vars(dbt_tmp: Path) -> None:
    db = dbt_tmp / "guards.duckdb"  # one path: the profile stays the same, parsing partial
    first = date(2016, 11, 1)
    flow = _days(first, 10, 10)
    flow[date(2016, 11, 11)] = 31  # 31 > 10 * 3: a spike
    # Only 6 days of history (< 7): no baseline yet, so even a 100x jump passes.
    activity = _days(first, 6, 10)
    activity[date(2016, 11, 7)] = 1000
    ledger = [("b.log", 100, 2), ("c.log", 100, 50)]
    _make_db(
        db,
        {
            "flow_events": _events("flow_events", flow),
            "activity_events": _events("activity_events", activity),
            "load_ledger": _ledger(ledger),
        },
    )
    assert _guard_results(dbt_tmp, db) == {
        FLOW_GUARD: ("warn", 1),
        ACTIVITY_GUARD: ("pass", 0),
        LEDGER_GUARD: ("warn", 2),
    }
    # The thresholds are vars: a looser factor and limit silence the flow and b.log alerts,
    # a shorter required history arms the activity guard.
    loose = "{raw_row_count_anomaly_factor: 4, raw_rejected_share_limit: 0.05, "
    loose += "raw_row_count_min_trailing_days: 5}"
    assert _guard_results(dbt_tmp, db, "--vars", loose) == {
        FLOW_GUARD: ("pass", 0),
        ACTIVITY_GUARD: ("warn", 1),
        LEDGER_GUARD: ("warn", 1),
    }


def test_the_daily_run_checks_the_rejected_share_of_the_files_it_loaded_only(
    dbt_tmp: Path,
) -> None:
    """With FXA_DAILY_RUN_STARTED_AT (scripts/daily_run.py sets it to the run's start), the
    rejected-share guard reads only the files loaded since: a bad file of an earlier day does
    not warn in every later run; a bad file of this run does. Without it, every file."""
    db = dbt_tmp / "guards.duckdb"  # one path: the profile stays the same, parsing partial
    yesterday, today = datetime(2016, 12, 1, 3, 0, 0), datetime(2016, 12, 2, 3, 0, 0)
    started = {"FXA_DAILY_RUN_STARTED_AT": "2016-12-02 02:59:59.123456"}
    ledger = _ledger([("old-bad.log", 100, 50)], yesterday)
    _make_db(db, {"load_ledger": ledger + _ledger([("new.log", 100, 0)], today)})
    assert _guard_results(dbt_tmp, db)[LEDGER_GUARD] == ("warn", 1)
    assert _guard_results(dbt_tmp, db, env=started)[LEDGER_GUARD] == ("pass", 0)
    _make_db(db, {"load_ledger": ledger + _ledger([("new-bad.log", 100, 2)], today)})
    assert _guard_results(dbt_tmp, db, env=started)[LEDGER_GUARD] == ("warn", 1)


def test_guards_pass_on_steady_data(dbt_tmp: Path) -> None:
    db = dbt_tmp / "guards.duckdb"  # one path: the profile stays the same, parsing partial
    first = date(2016, 10, 1)
    counts = {first + timedelta(days=i): 20 + (i % 5) for i in range(40)}  # 20..24 a day
    _make_db(
        db,
        {
            "flow_events": _events("flow_events", counts),
            "activity_events": _events("activity_events", counts),
            "load_ledger": _ledger([("a.log", 500, 5), ("b.log", 3, 0)]),
        },
    )
    assert _guard_results(dbt_tmp, db) == dict.fromkeys(GUARDS, ("pass", 0))


def test_source_freshness_warns_then_errors(dbt_tmp: Path) -> None:
    """warn after `raw_freshness_warn_hours` (36), error after `raw_freshness_error_hours` (72);
    `rejected_lines` has no freshness (a clean load writes no rejected line)."""
    db = dbt_tmp / "guards.duckdb"  # one path: the profile stays the same, parsing partial
    now = datetime.now(UTC).replace(tzinfo=None)
    day = {date(2016, 11, 1): 1}
    _make_db(
        db,
        {
            "flow_events": _events("flow_events", day, now - timedelta(hours=40)),
            "activity_events": _events("activity_events", day, now - timedelta(hours=80)),
            "load_ledger": _ledger([("a.log", 1, 0)], now - timedelta(hours=1)),
        },
    )
    # an error-level staleness fails the cron step
    success, results = _dbt(dbt_tmp, db, "source", "freshness", "--select", "source:fxa")
    assert not success
    status = {name: str(r.status) for name, r in results.items()}
    assert status == {"flow_events": "warn", "activity_events": "error", "load_ledger": "pass"}
