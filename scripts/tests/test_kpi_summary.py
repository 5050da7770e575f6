"""The demo's KPI summary (scripts/kpi_summary.py) on a hand-made warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import kpi_summary


def test_summary_totals_the_funnel_and_reports_missing_tables(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema analytics")
    steps = ", ".join(f"flows_{step} bigint" for step in kpi_summary.FUNNEL_STEPS)
    con.execute(
        f"create table analytics.kpi_flow_funnel_daily (day date, flow_kind varchar, "
        f"flows_begun bigint, {steps}, flows_completed bigint)"
    )
    # two days, two kinds; a day outside the last 2 shown days must not count
    con.execute(
        "insert into analytics.kpi_flow_funnel_daily values "
        "('2017-03-01', 'unknown', 100, 100, 100, 100, 100, 0, 0, 0, 0, 100),"
        "('2017-03-02', 'unknown', 10, 8, 6, 4, 3, 0, 0, 0, 0, 1),"
        "('2017-03-03', 'unknown', 20, 15, 10, 5, 4, 0, 0, 0, 0, 2),"
        "('2017-03-03', 'sign_up', 7, 7, 7, 7, 7, 7, 0, 7, 5, 5)"
    )
    text = kpi_summary.summary(con, "analytics", days=2)
    lines = text.splitlines()
    # unknown over 03-02 and 03-03: begun 30, view 23, engage 16, submit 9, attempt 7, done 3
    unknown = next(line.split() for line in lines if line.strip().startswith("unknown"))
    assert unknown == ["unknown", "30", "23", "16", "9", "7", "0", "0", "0", "0", "3"]
    total = next(line.split() for line in lines if line.strip().startswith("all"))
    assert total == ["all", "37", "30", "23", "16", "14", "7", "0", "7", "5", "8"]
    assert text.count("(not built yet)") == 3  # the other three KPI tables
    assert text.startswith("Spec tables (rows): none built yet")
