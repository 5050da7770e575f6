"""The static KPI report (scripts/report.py): page content on a hand-made warehouse, then a
headless Chromium rendering of the page with the network disabled.

The warehouse is a DuckDB file built here with exactly the columns of the KPI tables and the
raw load tables, filled with a few hand-written rows, so no dbt run is needed. Every expected
figure is worked out by hand next to its rows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import report

REPO = Path(__file__).resolve().parents[2]
DAY0 = date(2017, 3, 1)
DAYS = [DAY0 + timedelta(days=i) for i in range(5)]
LOADED_AT = datetime(2017, 3, 6, 6, 0, 0)

# Funnel, per day (x 5 days): begun, view, engage, submit, attempt, account created,
# account login, email sent, email verified, completed.
FUNNEL = {
    "sign_up": (10, 10, 8, 6, 5, 4, 0, 4, 3, 3),
    "sign_in": (20, 18, 15, 12, 11, 0, 10, 9, 8, 8),
}
# sign_up: engage 8/10 = 80.0%, completed 3/10 = 30.0%; sign_in: login 10/20 = 50.0%.

# (service, service_name, completed flows a day, p50, p90)
SERVICES = (
    ("sync", "Firefox Sync", 40, 12.0, 45.0),
    ("5882386c6d801776", None, 15, 20.0, 70.0),
    ("dcdb5ae7add825d2", "123done", 5, 8.0, 30.0),
)

# Load ledger: (file, lines, loaded, rejected, ignored). Totals: 3 files, 180 lines, 166 loaded,
# 10 rejected, 4 ignored; rejected share 10 / 180 = 5.6%.
LEDGER = (
    ("logs/a.log", 100, 90, 6, 4),
    ("logs/b.log", 50, 50, 0, 0),
    ("logs/c.csv", 30, 26, 4, 0),
)
# Rejected lines: a.log 5 x invalid json + 1 x unknown event type, c.csv 2 + 2:
# invalid json 7 (70.0%), unknown event type 3 (30.0%).
REJECTED = [("logs/a.log", "invalid json")] * 5 + [("logs/a.log", "unknown event type")]
REJECTED += [("logs/c.csv", "invalid json")] * 2 + [("logs/c.csv", "unknown event type")] * 2

# Active users per day (x 5 days, i = 0..4): DAU 100 + 10 i, WAU 150 + 20 i, MAU 200 + 100 i.
# users_last_seen on the latest day, 2017-03-05: days_seen of its five users (a row of
# 2017-03-01 must not count): 1, 1, 1, 2, 5 -> 1 day 3 (60.0%), 2-6 days 2 (40.0%); the data
# begin on 2017-03-01, less than 28 days before: the distribution is flagged as truncated.
DAYS_SEEN = (1, 1, 1, 2, 5)
# kpi_retention_daily: (cohort_day, service, new_accounts, retained weeks 1, 2, 3), None while
# the week is not over. Totals: sync 240, 5882386c6d801776 (Firefox Notes) 30, NULL 20,
# dcdb5ae7add825d2 6: the top three are sync, Notes and NULL ("(no service)").
RETENTION = (
    ("2017-02-01", "sync", 100, 40, 30, 20),
    ("2017-02-01", "5882386c6d801776", 20, 5, 4, 2),
    ("2017-02-01", None, 10, 3, 2, 1),
    ("2017-02-01", "dcdb5ae7add825d2", 4, 1, 1, 0),
    ("2017-02-15", "sync", 80, 36, 24, None),
    ("2017-02-15", "5882386c6d801776", 10, 4, 2, None),
    ("2017-02-15", None, 10, 2, 1, None),
    ("2017-02-25", "sync", 60, None, None, None),
    ("2017-02-25", "dcdb5ae7add825d2", 2, None, None, None),
)
# Over the cohorts whose week is over: all services 296 new accounts, week 1: (49 + 42) / 234
# = 38.9%, week 2: (37 + 27) / 234 = 27.4%, week 3: 23 / 134 = 17.2%; sync 76 / 180 = 42.2%,
# 54 / 180 = 30.0%, 20 / 100 = 20.0%; Notes 9 / 30, 6 / 30, 2 / 20; NULL 5 / 20, 3 / 20, 1 / 10.
OAUTH_SERVICES = (("sync", "Firefox Sync"), ("5882386c6d801776", "Firefox Notes"))

CHART_TITLES = (
    "Funnel by flow kind: share of flows begun that reached each step",
    "Device connection time: p50 and p90 per day, by service",
    "Engagement ratio per day: daily / monthly active users",
    "Multi-device share per day",
    "Active users per day: DAU, WAU and MAU",
    "Days active in the 28 days up to 2017-03-05",
    "New-account retention by sign-up day: weeks 1, 2 and 3",
)
# The charts an older warehouse draws: no users_last_seen or kpi_retention_daily yet.
OLD_CHART_TITLES = CHART_TITLES[:5]
WARM_UP_LEGEND = "warm-up (window reaches before the loaded data)"


Statement = tuple[str, list[object]]


def warehouse_statements(*, new_columns: bool = True, kpis: bool = True) -> list[Statement]:
    """DDL and rows of the KPI and raw load tables, in SQL that DuckDB and Postgres both run
    (`?` placeholders); `new_columns=False`: an older warehouse, without service_name,
    full_window, weekly_active_users and the account-lifecycle tables."""
    out: list[Statement] = []

    def add(sql: str, *params: object) -> None:
        out.append((sql, list(params)))

    name_col, name_mark = (", service_name varchar", ", ?") if new_columns else ("", "")
    flag_col, flag_mark = (", full_window boolean", ", ?") if new_columns else ("", "")
    add("create schema analytics")
    add("create schema raw")
    add(
        "create table raw.load_ledger (file_name varchar, file_sha256 varchar, lines bigint,"
        " loaded bigint, rejected bigint, ignored bigint, loaded_at timestamp)"
    )
    add(
        "create table raw.rejected_lines (source_file varchar, line_number bigint,"
        " reason varchar, raw_line varchar, loaded_at timestamp)"
    )
    for i, (name, *counts) in enumerate(LEDGER):
        add("insert into raw.load_ledger values (?, ?, ?, ?, ?, ?, ?)",
            name, f"{i:064x}", *counts, LOADED_AT)  # fmt: skip
    for i, (name, reason) in enumerate(REJECTED):
        add("insert into raw.rejected_lines values (?, ?, ?, ?, ?)",
            name, i + 1, reason, "{not json", LOADED_AT)  # fmt: skip
    if not kpis:
        return out
    add(
        "create table analytics.kpi_flow_funnel_daily (day date, flow_kind varchar,"
        " flows_begun bigint, flows_completed bigint, flows_view bigint, flows_engage bigint,"
        " flows_submit bigint, flows_attempt bigint, flows_account_created bigint,"
        " flows_account_login bigint, flows_email_sent bigint, flows_email_verified bigint,"
        " _loaded_at timestamp)"
    )
    for day in DAYS:
        for kind, (begun, *steps, completed) in FUNNEL.items():
            add("insert into analytics.kpi_flow_funnel_daily values"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                day, kind, begun, completed, *steps, LOADED_AT)  # fmt: skip
    add(
        "create table analytics.kpi_device_connection_time_daily (day date, service varchar"
        f"{name_col}, completed_flows bigint, p50_seconds double precision,"
        " p90_seconds double precision, _loaded_at timestamp)"
    )
    for i, day in enumerate(DAYS):
        for service, name, flows, p50, p90 in SERVICES:
            named = [name] if new_columns else []
            add("insert into analytics.kpi_device_connection_time_daily values"
                f" (?, ?{name_mark}, ?, ?, ?, ?)",
                day, service, *named, flows, p50 + i, p90 + 2 * i, LOADED_AT)  # fmt: skip
    for table, columns in (
        ("kpi_engagement_ratio_daily",
         "daily_active_users bigint, monthly_active_users bigint, engagement_ratio"),
        ("kpi_multi_device_usage_daily",
         "device_users bigint, multi_device_users bigint, multi_device_share"),
    ):  # fmt: skip
        add(
            f"create table analytics.{table} (day date, {columns} double precision{flag_col},"
            " _loaded_at timestamp)"
        )
    if new_columns:
        add("alter table analytics.kpi_engagement_ratio_daily add column weekly_active_users"
            " bigint")  # fmt: skip
    for i, day in enumerate(DAYS):
        flag = [i >= 3] if new_columns else []  # days 1-3 warm-up, 4-5 full window
        dau, mau = 100 + 10 * i, 200 + 100 * i
        wau = [150 + 20 * i] if new_columns else []
        add("insert into analytics.kpi_engagement_ratio_daily values"
            f" (?, ?, ?, ?{flag_mark}, ?{', ?' if new_columns else ''})",
            day, dau, mau, dau / mau, *flag, LOADED_AT, *wau)  # fmt: skip
        users, multi = 80, 10 + 2 * i
        add(f"insert into analytics.kpi_multi_device_usage_daily values (?, ?, ?, ?{flag_mark}, ?)",
            day, users, multi, multi / users, *flag, LOADED_AT)  # fmt: skip
    if new_columns:
        lifecycle_statements(add)
    return out


def lifecycle_statements(add: Callable[..., None]) -> None:
    """users_last_seen, kpi_retention_daily and the oauth_services seed (service names)."""
    add(
        "create table analytics.users_last_seen (day date, uid varchar, days_seen_bits bigint,"
        " days_since_seen integer, days_seen integer, first_seen_day date)"
    )
    for i, days_seen in enumerate(DAYS_SEEN):
        bits = (1 << days_seen) - 1  # active on the last days_seen days
        add("insert into analytics.users_last_seen values (?, ?, ?, ?, ?, ?)",
            DAYS[-1], f"{i:064x}", bits, 0, days_seen, DAY0)  # fmt: skip
    add("insert into analytics.users_last_seen values (?, ?, ?, ?, ?, ?)",
        DAY0, f"{99:064x}", 7, 0, 3, DAY0)  # fmt: skip
    add(
        "create table analytics.kpi_retention_daily (cohort_day date, service varchar,"
        " new_accounts bigint, retained_week_1 bigint, retained_week_2 bigint,"
        " retained_week_3 bigint, _loaded_at timestamp)"
    )
    for cohort_day, service, *counts in RETENTION:
        add("insert into analytics.kpi_retention_daily values (?, ?, ?, ?, ?, ?, ?)",
            date.fromisoformat(cohort_day), service, *counts, LOADED_AT)  # fmt: skip
    add("create table analytics.oauth_services (service varchar, service_name varchar)")
    for service, name in OAUTH_SERVICES:
        add("insert into analytics.oauth_services values (?, ?)", service, name)


def build_warehouse(path: Path, *, new_columns: bool = True, kpis: bool = True) -> None:
    with duckdb.connect(str(path)) as con:
        for sql, params in warehouse_statements(new_columns=new_columns, kpis=kpis):
            con.execute(sql, params)


def run_report(path: Path, out: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> str:
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(path))
    monkeypatch.delenv("FXA_TARGET", raising=False)
    assert report.main(["--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out.resolve())
    return out.read_text(encoding="utf-8")


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def text_of(fragment: str) -> str:
    """The visible text, entities decoded (chart labels are SVG <text> elements)."""
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The report of the full hand-made warehouse (built once: rendering takes ~2 s)."""
    folder = tmp_path_factory.mktemp("report")
    database = folder / "warehouse.duckdb"
    build_warehouse(database)
    out = folder / "kpi-report.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FXA_DUCKDB_PATH", str(database))
        mp.delenv("FXA_TARGET", raising=False)
        assert report.main(["--out", str(out)]) == 0
    return out, out.read_text(encoding="utf-8")


def test_page_is_self_contained(page: tuple[Path, str]) -> None:
    _, html = page
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"<script\b|<link\b|<iframe\b|<img\b|@import|url\(\s*['\"]?http", html)
    assert "not built yet" not in html


def test_each_chart_is_inline_svg_with_marks_and_title(page: tuple[Path, str]) -> None:
    _, html = page
    charts = svgs(html)
    assert len(charts) == len(CHART_TITLES)
    for svg, title in zip(charts, CHART_TITLES, strict=True):
        assert title in text_of(svg)
        assert re.search(r'class="mark-(rect|line|symbol)', svg), title
        assert re.search(r"<path[^>]* d=\"M", svg), title
        assert 'class="mark-text role-axis-title"' in svg, f"{title}: axis titles"
    funnel, connection, engagement, multi, active, days_seen, retention = map(text_of, charts)
    assert "(% of the kind's flows begun)" in funnel
    assert "sign_up (50 flows begun)" in funnel and "sign_in (100 flows begun)" in funnel
    # shares: sign_up engage 40/50, completed 15/50; sign_in login 50/100
    assert {"80.0%", "30.0%", "50.0%"} <= set(funnel.split())
    assert "Time to connect a device (seconds)" in connection
    assert "Firefox Sync (200 completed)" in connection
    assert "5882386c6d801776 (75 completed)" in connection  # no service_name: the id
    assert "123done (25 completed)" in connection
    assert "Engagement ratio, DAU / MAU (%)" in engagement
    assert "Multi-device users (% of device users)" in multi
    for chart in (engagement, multi, active):
        assert WARM_UP_LEGEND in chart and "full window" in chart
    assert "Active users (distinct uids)" in active
    for measure in ("(DAU)", "(WAU, 7 days)", "(MAU, 28 days)"):
        assert measure in active
    assert "Days active in the 28-day window (days_seen)" in days_seen
    assert "Users (distinct uids)" in days_seen
    assert "the 5 users active at least once" in days_seen
    assert "Retained (% of new accounts)" in retention
    for group in (
        "all services (296 new accounts)",
        "Firefox Sync (240 new accounts)",
        "Firefox Notes (30 new accounts)",
        "(no service) (20 new accounts)",
    ):
        assert group in retention  # fmt: skip
    assert "dcdb5ae7add825d2" not in retention  # the fourth service is not drawn
    # one reading guide under each chart
    assert html.count("<figcaption><b>How to read:</b>") == len(CHART_TITLES)


def test_warm_up_days_are_grey_and_dashed(page: tuple[Path, str]) -> None:
    _, html = page
    engagement, active = svgs(html)[2], svgs(html)[4]
    assert 'stroke="#a3a3a3"' in engagement
    for chart in (engagement, active):
        assert 'stroke-dasharray="5,4"' in chart
        band = re.search(
            r'class="mark-rect[^>]*><path[^>]* d="M0,0h(\d+)[^>]*fill="#d4d4d4"', chart
        )
        assert band, "a grey band behind the warm-up days"
        assert int(band[1]) > 100  # three of the four day steps of the axis
        assert ">warm-up</text>" in chart


def cells(html: str, section: str) -> list[str]:
    body = html.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    return re.findall(r"<td[^>]*>([^<]*)</td>", body)


def assert_tables(html: str) -> None:
    quality = cells(html, "load-quality")
    # totals: files, lines, loaded, rejected, ignored, rejected share
    assert quality[:6] == ["3", "180", "166", "10", "4", "5.6%"]
    assert quality[6:12] == ["invalid json", "7", "70.0%", "unknown event type", "3", "30.0%"]
    assert quality[12:20] == ["logs/a.log", "100", "6", "6.0%", "logs/c.csv", "30", "4", "13.3%"]
    assert "from raw.load_ledger" in html
    # funnel, sign_up over 5 days: begun, view ... email verified, completed
    funnel = cells(html, "funnel")
    assert funnel[:11] == ["sign_up", "50", "50", "40", "30", "25", "20", "0", "20", "15", "15"]
    assert funnel[11:13] == ["sign_in", "100"]
    services = cells(html, "connection-time")
    assert services == ["Firefox Sync", "sync", "200", "5882386c6d801776", "5882386c6d801776",
                        "75", "123done", "dcdb5ae7add825d2", "25"]  # fmt: skip


def test_table_numbers(page: tuple[Path, str]) -> None:
    assert_tables(page[1])


def test_active_users_and_days_seen(page: tuple[Path, str]) -> None:
    _, html = page
    section = html.split('<section id="active-users">', 1)[1].split("</section>", 1)[0]
    # the latest day, i = 4: DAU 140, WAU 230, MAU 600; 3 warm-up days of 5
    assert (
        "Latest day 2017-03-05: DAU 140, WAU 230, MAU 600 (DAU / WAU 60.9%, DAU / MAU 23.3%); "
        "3 warm-up days of 5."
    ) in section
    assert cells(html, "active-users") == [
        "1 day", "3", "60.0%", "2-6 days", "2", "40.0%", "7-13 days", "0", "0.0%",
        "14-20 days", "0", "0.0%", "21-27 days", "0", "0.0%", "all 28 days", "0", "0.0%",
        "total", "5", "100.0%",
    ]  # fmt: skip
    assert "The loaded data begin on 2017-03-01, fewer than 28 days before 2017-03-05" in section


def test_retention_table(page: tuple[Path, str]) -> None:
    _, html = page
    assert cells(html, "retention") == [
        "all services", "", "296", "38.9% of 234", "27.4% of 234", "17.2% of 134",
        "Firefox Sync", "sync", "240", "42.2% of 180", "30.0% of 180", "20.0% of 100",
        "Firefox Notes", "5882386c6d801776", "30", "30.0% of 30", "20.0% of 30", "10.0% of 20",
        "(no service)", "", "20", "25.0% of 20", "15.0% of 20", "10.0% of 10",
    ]  # fmt: skip
    assert "(3 of 4 services)" in html


def test_retention_weeks_not_over_are_left_out_not_zero(tmp_path: Path) -> None:
    """The chart's points: a week that is not over has none (a zero would read as churn)."""
    from fxa_pipeline.kpi_tables import KpiReader
    from fxa_pipeline.report import charts, data

    database = tmp_path / "retention.duckdb"
    build_warehouse(database)
    retention = data.read_retention(KpiReader(duckdb.connect(str(database)), "test"))
    assert isinstance(retention, data.Retention)
    values = charts.retention_spec(retention)["data"]["values"]
    drawn = {(v["group"].split(" (")[0], v["day"], v["week"][:6]) for v in values}
    # 4 groups: 2017-02-01 weeks 1-3, 2017-02-15 weeks 1-2, 2017-02-25 nothing
    assert len(values) == len(drawn) == 4 * 5
    assert ("Firefox Sync", "2017-02-15", "week 3") not in drawn
    assert not any(day == "2017-02-25" for _, day, _ in drawn)
    # dcdb5ae7add825d2's week-3 retention of 2017-02-01 is a real 0 of 4: it counts in "all"
    sync_week_3 = next(v for v in values if v["group"].startswith("all") and
                       v["day"] == "2017-02-01" and v["week"].startswith("week 3"))  # fmt: skip
    assert sync_week_3["share"] == 23 / 134


def test_old_warehouse_is_reported_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    database = tmp_path / "old.duckdb"
    build_warehouse(database, new_columns=False)
    html = run_report(database, tmp_path / "out" / "old.html", monkeypatch, capsys)
    assert len(svgs(html)) == len(OLD_CHART_TITLES)
    for table in ("users_last_seen", "kpi_retention_daily"):
        assert f"analytics.{table}: not built yet" in html
    assert (
        "analytics.kpi_engagement_ratio_daily: columns weekly_active_users, full_window "
        "not built yet"
    ) in html
    active = text_of(svgs(html)[4])
    assert "Active users per day: DAU and MAU" in active
    assert "(DAU)" in active and "(MAU, 28 days)" in active and "WAU" not in active
    assert "analytics.kpi_device_connection_time_daily: column service_name not built yet" in html
    assert "analytics.kpi_engagement_ratio_daily: column full_window not built yet" in html
    assert WARM_UP_LEGEND not in html
    assert "window unknown (full_window not built yet)" in text_of(svgs(html)[2])


def test_missing_and_empty_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    database = tmp_path / "new.duckdb"
    build_warehouse(database, kpis=False)
    with duckdb.connect(str(database)) as con:
        con.execute("delete from raw.rejected_lines; delete from raw.load_ledger")
        con.execute("create table analytics.kpi_engagement_ratio_daily (day date)")
    html = run_report(database, tmp_path / "new.html", monkeypatch, capsys)
    assert svgs(html) == []
    for table in ("kpi_flow_funnel_daily", "kpi_device_connection_time_daily"):
        assert f"analytics.{table}: not built yet" in html
    assert (
        "analytics.kpi_engagement_ratio_daily: columns engagement_ratio, daily_active_users, "
        "monthly_active_users not built yet"
    ) in html
    assert "No rejected lines." in html
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html.split('id="load-quality"', 1)[1])
    assert cells[:6] == ["0", "0", "0", "0", "0", "-"]


def test_daily_load_quality_model_is_preferred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    database = tmp_path / "daily.duckdb"
    build_warehouse(database, kpis=False)
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create table analytics.load_quality_daily as select * from (values"
            " (date '2017-03-01', 2, 120, 4), (date '2017-03-02', 1, 80, 6))"
            " t(day, files, lines, rejected)"
        )
    html = run_report(database, tmp_path / "daily.html", monkeypatch, capsys)
    section = html.split('<section id="load-quality">', 1)[1]
    assert "from analytics.load_quality_daily" in section
    # 3 files, 200 lines, 10 rejected (5.0%); loaded and ignored are not in this model
    assert re.findall(r"<td[^>]*>([^<]*)</td>", section)[:6] == ["3", "200", "-", "10", "-", "5.0%"]


@pytest.mark.postgres
def test_report_on_postgres(
    postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The same page from a Postgres warehouse (sums come back as numeric there)."""
    import psycopg

    with psycopg.connect(dbname=postgres_database) as con:
        for sql, params in warehouse_statements():
            con.execute(sql.replace("?", "%s"), params)
    out = tmp_path / "pg.html"
    assert report.main(["--target", "postgres", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    html = out.read_text(encoding="utf-8")
    assert f"Postgres {os.environ.get('PGUSER', 'postgres')}@" in html
    assert len(svgs(html)) == len(CHART_TITLES)
    assert "not built yet" not in html
    assert_tables(html)


def test_missing_database_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(tmp_path / "absent.duckdb"))
    monkeypatch.delenv("FXA_TARGET", raising=False)
    assert report.main(["--out", str(tmp_path / "x.html")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


# --- the page in a real browser -----------------------------------------------------------


def browser_required() -> bool:
    return os.environ.get("FXA_REQUIRE_BROWSER") == "1"


def find_chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "needs Debian's chromium for the browser test: apt-get install chromium"
    if browser_required():
        pytest.fail(f"FXA_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    pytest.skip(message)


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with every network request sent to a closed local port."""
    command = [
        binary,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def png_colours(png: bytes) -> int:
    """Distinct RGB(A) pixel values of an 8-bit PNG (standard library only)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour_type = header[8], header[9]
    assert depth == 8 and colour_type in (2, 6), "an 8-bit RGB or RGBA screenshot"
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = previous[x], previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 0xFF
        if y % 4 == 0:  # every 4th row is plenty to tell a chart from a blank page
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, bpp))
        previous = line
    return len(colours)


@pytest.mark.integration
def test_page_renders_in_headless_chromium(page: tuple[Path, str], tmp_path: Path) -> None:
    binary = find_chromium()
    html_path, _ = page
    artifacts = REPO / "artifacts"
    artifacts.mkdir(exist_ok=True)
    screenshot = artifacts / "kpi-report-test.png"  # the test page's, not `make report`'s
    screenshot.unlink(missing_ok=True)
    shot = chromium(
        binary,
        tmp_path / "profile-shot",
        f"--screenshot={screenshot}",
        "--window-size=1280,4000",
        html_path.as_uri(),
    )
    assert screenshot.exists(), f"no screenshot: {shot.stderr[-2000:]}"
    dom = chromium(binary, tmp_path / "profile-dom", "--dump-dom", html_path.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    assert len(svgs(rendered)) == len(CHART_TITLES)
    visible = text_of(rendered)
    for title in CHART_TITLES:
        assert title in visible
    for svg, title in zip(svgs(rendered), CHART_TITLES, strict=True):
        # the browser drew marks: a line, bar or symbol mark with a path in each chart
        marks = re.findall(r'class="mark-(?:line|rect|symbol) role-mark[^"]*".*?</g>', svg, re.S)
        assert any(re.search(r'<path[^>]* d="M', mark) for mark in marks), title
    for error in ("not built yet", "Traceback", "Error", "ERR_", "This page"):
        assert error not in visible
    data = screenshot.read_bytes()
    assert len(data) > 80_000, f"a {len(data)}-byte screenshot is too small for seven charts"
    assert png_colours(data) > 64, "the screenshot looks blank"


def test_without_chromium_the_browser_test_skips_unless_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("FXA_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        find_chromium()
    monkeypatch.setenv("FXA_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="FXA_REQUIRE_BROWSER=1"):
        find_chromium()


def test_svg_ids_are_scoped_per_chart() -> None:
    from fxa_pipeline.report.charts import scope_ids

    svg = '<clipPath id="clip1"/><g clip-path="url(#clip1)"/><use href="#clip1"/>'
    assert scope_ids(svg, "f") == (
        '<clipPath id="f-clip1"/><g clip-path="url(#f-clip1)"/><use href="#f-clip1"/>'
    )
