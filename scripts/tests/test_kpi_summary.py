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
    assert text.count("(not built yet)") == 4  # the other four KPI tables
    assert text.startswith("Spec tables (rows): none built yet")


def _window_and_service_tables(con: duckdb.DuckDBPyConnection, *, new_columns: bool) -> None:
    flag = ", full_window boolean" if new_columns else ""
    name = ", service_name varchar" if new_columns else ""
    con.execute("create schema analytics")
    con.execute(
        "create table analytics.kpi_engagement_ratio_daily (day date, daily_active_users "
        f"bigint, monthly_active_users bigint, engagement_ratio double{flag})"
    )
    con.execute(
        "create table analytics.kpi_multi_device_usage_daily (day date, device_users bigint, "
        f"multi_device_users bigint, multi_device_share double{flag})"
    )
    con.execute(
        "create table analytics.kpi_device_connection_time_daily (day date, service varchar"
        f"{name}, completed_flows bigint, p50_seconds double, p90_seconds double)"
    )
    extra = (", false", ", true", ", 'Firefox Sync'") if new_columns else ("", "", "")
    con.execute(
        "insert into analytics.kpi_engagement_ratio_daily values "
        f"('2017-03-01', 1, 4, 0.25{extra[0]}), ('2017-03-02', 2, 4, 0.5{extra[1]})"
    )
    con.execute(
        "insert into analytics.kpi_multi_device_usage_daily values "
        f"('2017-03-01', 4, 1, 0.25{extra[0]}), ('2017-03-02', 4, 2, 0.5{extra[1]})"
    )
    con.execute(
        "insert into analytics.kpi_device_connection_time_daily values "
        f"('2017-03-02', 'sync'{extra[2]}, 3, 10.0, 20.0)"
    )


def test_summary_shows_full_window_and_service_name(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    _window_and_service_tables(con, new_columns=True)
    lines = kpi_summary.summary(con, "analytics", days=7).splitlines()
    headers = [line.split() for line in lines if line.strip().startswith("day ")]
    assert headers[0] == ["day", "service", "service_name", "completed_flows", "p50_seconds",
                          "p90_seconds"]  # fmt: skip
    assert headers[1][-1] == headers[2][-1] == "full_window"
    rows = [line.split() for line in lines if line.strip().startswith("2017-03-0")]
    assert rows[0] == ["2017-03-02", "sync", "Firefox", "Sync", "3", "10.0", "20.0"]
    # engagement and multi-device: the first day is warm-up, the second has the full window
    assert [row[-1] for row in rows[1:]] == ["False", "True", "False", "True"]


def test_summary_of_a_warehouse_without_the_new_columns(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    _window_and_service_tables(con, new_columns=False)
    text = kpi_summary.summary(con, "analytics", days=7)
    assert "full_window" not in text and "service_name" not in text
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("2017-03-0")]
    assert rows[0] == ["2017-03-02", "sync", "3", "10.0", "20.0"]
    assert rows[1] == ["2017-03-01", "1", "4", "0.25"]


def test_summary_shows_wau_and_the_first_cohorts_retention(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    _window_and_service_tables(con, new_columns=True)
    con.execute("alter table analytics.kpi_engagement_ratio_daily add column weekly_active_users "
                "bigint")  # fmt: skip
    con.execute("update analytics.kpi_engagement_ratio_daily set weekly_active_users = 3")
    con.execute(
        "create table analytics.kpi_retention_daily as select * from (values"
        " (date '2017-03-01', 'sync', 8, 4, 2, 1), (date '2017-03-01', null, 2, 1, 1, 0),"
        " (date '2017-03-02', 'sync', 5, 2, 1, null), (date '2017-03-03', 'sync', 4, 1, null,"
        " null), (date '2017-03-04', 'sync', 9, null, null, null))"
        " t(cohort_day, service, new_accounts, retained_week_1, retained_week_2,"
        " retained_week_3)"
    )
    lines = kpi_summary.summary(con, "analytics", days=7).splitlines()
    engagement = next(line.split() for line in lines if "daily_active_users" in line)
    assert engagement[:4] == ["day", "daily_active_users", "weekly_active_users",
                              "monthly_active_users"]  # fmt: skip
    start = next(i for i, line in enumerate(lines) if line.startswith("Sign-up retention"))
    header, _, *rows = lines[start + 1 :]
    assert header.split() == ["cohort_day", "new_accounts", "week_1", "week_2", "week_3"]
    # the first three cohorts, services summed: 03-01 10 accounts, 5 / 3 / 1 retained;
    # 03-02 week 3 and 03-03 weeks 2 and 3 are not over (blank); 03-04 is not shown
    assert [row.split() for row in rows] == [
        ["2017-03-01", "10", "50.0", "30.0", "10.0"],
        ["2017-03-02", "5", "40.0", "20.0"],
        ["2017-03-03", "4", "25.0"],
    ]
