"""The KPI tables built incrementally over two loads equal a full rebuild (DuckDB).

Load 1: every flow event of the fixture and the activity of its last day; `dbt build`.
Load 2, later: the activity of the first two days (a late file for old days: it changes DAU
and MAU of days 1-3 and the multi-device counts), and an earlier `flow.begin` of a day-2 flow,
logged at 23:50 on day 1, which moves that flow from day 2 to day 1 in the funnel and the
device connection KPI. Then `dbt build` again (incremental), and `dbt build --full-refresh`
from the same raw data must give identical KPI tables, `_loaded_at` included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kpi_warehouse import (
    DAYS,
    LOADED_AT,
    Warehouse,
    dbt_environment,
    fixture_rows,
    hex_id,
    insert_duckdb,
    raw_row,
)

pytestmark = pytest.mark.integration

KPI_TABLES = {
    "kpi_flow_funnel_daily": "day, flow_kind",
    "kpi_device_connection_time_daily": "day, service",
    "kpi_engagement_ratio_daily": "day",
    "kpi_multi_device_usage_daily": "day",
}


def _snapshot(warehouse: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: warehouse.query(f"select * from analytics.{table} order by {order}")
        for table, order in KPI_TABLES.items()
    }


def test_two_loads_equal_a_full_rebuild(tmp_path: Path) -> None:
    rows = fixture_rows()
    first_day = DAYS[0].date()
    late_days = {DAYS[0].date(), DAYS[1].date()}
    activity_late = [row for row in rows["activity_events"] if row[0].date() in late_days]
    activity_first = [row for row in rows["activity_events"] if row[0].date() not in late_days]
    database = tmp_path / "kpi.duckdb"
    insert_duckdb(database, {"flow_events": rows["flow_events"], "activity_events": activity_first})
    warehouse = Warehouse("duckdb", dbt_environment(FXA_DUCKDB_PATH=str(database)), tmp_path / "t")
    warehouse.build()
    before = _snapshot(warehouse)

    second_load = LOADED_AT + timedelta(days=10)
    moved_flow = hex_id(f"flow-{DAYS[1]:%Y%m%d}-8", 64)  # flow 8 of day 2 only begins
    early_begin = raw_row(
        "flow_events",
        timestamp=datetime.combine(first_day, datetime.min.time())
        + timedelta(hours=23, minutes=50),
        type="flow.begin",
        flow_id=moved_flow,
        flow_time=0,
        loaded_at=second_load,
    )
    late_activity = [(*row[:-1], second_load) for row in activity_late]
    insert_duckdb(database, {"flow_events": [early_begin], "activity_events": late_activity})
    warehouse.build()
    incremental = _snapshot(warehouse)

    # The late data did change the tables (the test would prove nothing otherwise) ...
    assert incremental != before
    funnel = {(day, kind): begun for day, kind, begun, *_ in incremental["kpi_flow_funnel_daily"]}
    assert funnel[(DAYS[0].date(), "unknown")] == 6  # flows 4..8 of day 1 and the moved flow
    assert funnel[(DAYS[1].date(), "unknown")] == 4
    # ... and the incremental result is the full rebuild's.
    warehouse.dbt(
        "build", "--full-refresh", "--exclude", "resource_type:test", "resource_type:unit_test"
    )
    assert _snapshot(warehouse) == incremental
