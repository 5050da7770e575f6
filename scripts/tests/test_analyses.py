"""Every dashboard chart's SQL (analyses/) compiles and runs on a built warehouse.

The fixture of kpi_warehouse.py has, each of 3 days, nine flows where flow i logs the first
9 - i events of its path (begin, view, engage, submit, attempt, account.created or .login,
email sent, email verified, complete), even flows signing up and odd ones signing in, and six
users of whom two use two devices. Worked out by hand:
- flow_kind is the intent of the flow's first sign-up or sign-in view (the flow_view_kinds
  seed): sign_up = flows 0, 2, 4, 6; sign_in = flows 1, 3, 5, 7; unknown = flow 8 (it only
  begins). Over the 3 days, step by step from begun: sign_up 12, 12, 12, 9, 9, account
  created 6, email sent 6, verified 3, completed 3 (flow 0); sign_in 12, 12, 9, 9, 6, account
  login 6, email sent 3, verified 3, completed 0; unknown begun 3 and nothing further.
- completions: only flow 0 (service NULL), flow_time 8 * 1000 * 2 = 16 s: p50 = p90 = 16.
- DAU = WAU = MAU = 6 each of the 3 days (ratio 1); multi-device share 2 / 6. Then user 4 on
  03-13 (DAU 1, WAU 1: 03-07..03-13, MAU 6) and user 0 on 03-14 (DAU 1, WAU 2: users 4 and 0
  in 03-08..03-14, MAU 6), both without a device id: no multi-device row for those days.
- days active in the 28 days up to 03-14: users 0 and 4 on 4 days, the other four on 3.
- new accounts: users 3 (no service), 4 and 5 (sync) on 03-01; week 1 (03-08..03-14) is over
  on 03-14: sync 1 of 2 retained (user 4 on 03-13, day 12: still week 1, 50.0%), no service 0
  of 1, all 1 of 3 (33.3%); weeks 2 and 3 are not over: NULL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_harness import PROJECT_ROOT, TARGETS, BuiltWarehouse, Warehouse, scratch_warehouse
from kpi_warehouse import build_kpi_warehouse

ANALYSES = sorted(path.stem for path in (PROJECT_ROOT / "analyses").glob("*.sql"))


def compile_analyses(warehouse: Warehouse) -> Warehouse:
    warehouse.dbt("compile", "--select", "resource_type:analysis")
    return warehouse


@pytest.fixture(scope="module")
def kpi_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The hand-made fixture of kpi_warehouse.py, built on DuckDB, analyses compiled."""
    with scratch_warehouse("duckdb", tmp_path_factory.mktemp("kpi_duckdb")) as warehouse:
        yield compile_analyses(build_kpi_warehouse(warehouse))


def compiled_analysis(warehouse: Warehouse, name: str) -> str:
    path = warehouse.work_dir / "target" / "compiled" / "fxa_metrics" / "analyses" / f"{name}.sql"
    assert path.exists(), f"dbt compile did not write {path}"
    return path.read_text()


def test_every_chart_has_an_analysis() -> None:
    assert set(ANALYSES) >= {
        "funnel_by_step",
        "device_connection_time",
        "engagement_ratio",
        "multi_device_share",
        "active_users",
        "days_active_distribution",
        "new_account_retention",
        "significant_changes_annotations",
    }


@pytest.mark.parametrize("target", TARGETS)
def test_every_analysis_runs(built_warehouse: BuiltWarehouse, tmp_path: Path) -> None:
    """On the standard built warehouse of each target (generated logs): every analysis compiles
    and returns rows."""
    warehouse = compile_analyses(built_warehouse.warehouse.at(tmp_path))
    empty = [name for name in ANALYSES if not warehouse.query(compiled_analysis(warehouse, name))]
    assert not empty, f"analyses returning no rows on {warehouse.target}: {empty}"


def test_every_analysis_runs_on_the_fixture(kpi_warehouse: Warehouse) -> None:
    empty = [n for n in ANALYSES if not kpi_warehouse.query(compiled_analysis(kpi_warehouse, n))]
    assert not empty, f"analyses returning no rows on the fixture: {empty}"


def _funnel(warehouse: Warehouse) -> dict[tuple[str, str], int]:
    rows = warehouse.query(compiled_analysis(warehouse, "funnel_by_step"))
    return {(step, kind): int(flows) for _, step, kind, flows, _ in rows}


def test_funnel_chart_falls_step_by_step(kpi_warehouse: Warehouse) -> None:
    funnel = _funnel(kpi_warehouse)
    first_steps = ("begun", "view", "engage", "submit", "attempt")
    assert [funnel[(step, "sign_up")] for step in first_steps] == [12, 12, 12, 9, 9]
    assert [funnel[(step, "sign_in")] for step in first_steps] == [12, 12, 9, 9, 6]
    assert [funnel.get((step, "unknown"), 0) for step in first_steps] == [3, 0, 0, 0, 0]
    assert funnel[("account_created", "sign_up")] == 6
    assert funnel[("email_sent", "sign_up")] == 6
    assert funnel[("email_verified", "sign_up")] == 3
    assert funnel[("completed", "sign_up")] == 3
    assert funnel[("account_login", "sign_in")] == 6
    assert funnel[("email_sent", "sign_in")] == 3
    assert funnel[("completed", "sign_in")] == 0


def test_device_connection_chart(kpi_warehouse: Warehouse) -> None:
    rows = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "device_connection_time"))
    assert [(service, flows, p50, p90) for _, service, flows, p50, p90 in rows] == [
        ("sync (no service)", 1, 16.0, 16.0)
    ] * 3


def test_engagement_and_multi_device_charts(kpi_warehouse: Warehouse) -> None:
    engagement = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "engagement_ratio"))
    assert [(dau, mau, ratio) for _, dau, mau, ratio, _ in engagement] == [(6, 6, 1.0)] * 3 + [
        (1, 6, 1 / 6)
    ] * 2
    multi = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "multi_device_share"))
    assert [(users, multi, share) for _, users, multi, share, _ in multi] == [(6, 2, 2 / 6)] * 3
    assert all(0 < share < 1 for _, _, _, share, _ in multi)


def test_analyses_read_only_analytics_tables() -> None:
    """Dashboards read the analytics schema: no source(), no staging model in a chart."""
    for path in (PROJECT_ROOT / "analyses").glob("*.sql"):
        text = path.read_text()
        assert "source(" not in text, f"{path.name} reads a raw source"
        assert "stg_" not in text, f"{path.name} reads a staging model"


def test_active_users_chart(kpi_warehouse: Warehouse) -> None:
    rows = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "active_users"))
    assert [(str(day), dau, wau, mau) for day, dau, wau, mau, _ in rows] == [
        ("2017-03-01", 6, 6, 6),
        ("2017-03-02", 6, 6, 6),
        ("2017-03-03", 6, 6, 6),
        ("2017-03-13", 1, 1, 6),
        ("2017-03-14", 1, 2, 6),
    ]
    assert not any(full_window for *_, full_window in rows)  # 3 to 14 days of data: warm-up


def test_days_active_chart(kpi_warehouse: Warehouse) -> None:
    rows = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "days_active_distribution"))
    assert [(str(day), days_seen, users) for day, days_seen, users in rows] == [
        ("2017-03-14", 3, 4),
        ("2017-03-14", 4, 2),
    ]


def test_retention_chart(kpi_warehouse: Warehouse) -> None:
    rows = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "new_account_retention"))
    # cohort_day, service_group, new accounts, retained weeks 1-3, the same in percent
    assert [(str(row[0]), *row[1:]) for row in rows] == [
        ("2017-03-01", "(all services)", 3, 1, None, None, 33.3, None, None),
        ("2017-03-01", "(no service)", 1, 0, None, None, 0.0, None, None),
        ("2017-03-01", "Firefox Sync", 2, 1, None, None, 50.0, None, None),
    ]


def redash_snippets() -> list[str]:
    """The SQL blocks of the docs block `querying_days_seen_bits` (the docs site's "Querying
    the bits in Redash")."""
    import re

    docs = (PROJECT_ROOT / "models" / "marts" / "_marts__docs.md").read_text()
    block = docs.split("{% docs querying_days_seen_bits %}", 1)[1].split("{% enddocs %}", 1)[0]
    return re.findall(r"```sql\n(.*?)```", block, re.S)


def test_redash_snippets_parse_as_redshift() -> None:
    from check_redshift_sql import check_sql

    snippets = redash_snippets()
    assert len(snippets) >= 4
    for sql in snippets:
        assert check_sql(sql, "querying_days_seen_bits") == []


@pytest.mark.parametrize("target", TARGETS)
def test_redash_snippets_run(built_warehouse: BuiltWarehouse) -> None:
    """Every query of the Redash section runs as written and returns rows on the built
    warehouse. Its data span 4 days (2017-02-28 to 2017-03-03): the example day and the
    regular users' threshold (14 of 28 days) are set to fit them."""
    warehouse = built_warehouse.warehouse
    fitted = {"date '2017-03-28'": "date '2017-03-02'", "days_seen >= 14": "days_seen >= 2"}
    for sql in redash_snippets():
        for example, value in fitted.items():
            sql = sql.replace(example, value)
        assert warehouse.query(sql), sql
