"""Every dashboard chart's SQL (analyses/) compiles and runs on a built warehouse.

The fixture of kpi_warehouse.py has, each of 3 days, nine flows where flow i logs the first
9 - i events of its path (begin, view, engage, submit, attempt, account.created or .login,
email sent, email verified, complete), even flows signing up and odd ones signing in, and six
users of whom two use two devices. Worked out by hand:
- the kind is the intent: flows 0..7 log their view (2 events or more), so the even ones are
  sign_up (0, 2, 4, 6: 9, 7, 5, 3 events) and the odd ones sign_in (1, 3, 5, 7: 8, 6, 4, 2
  events); flow 8 only begins, has no outcome either, so it is unknown. Over the 3 days:
  sign_up begun 12, view 12, engage 12 (3 events or more), submit 9, attempt 9 (flows 0, 2,
  4), account_created 6 (0, 2), email_sent 6, email_verified 3, completed 3 (flow 0);
  sign_in begun 12, engage 9, attempt 6, account_login 6 (1, 3), email_sent 3, completed 0;
  unknown begun 3 and no step.
- completions: only flow 0 (service NULL), flow_time 8 * 1000 * 2 = 16 s: p50 = p90 = 16.
- DAU = MAU = 6 every day (ratio 1); multi-device share 2 / 6; no day has a full window (the
  first loaded day, day 1, is after day - 27 and day - 5 of each of the three days).
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
    sign_up = ["begun", "view", "engage", "submit", "attempt", "account_created", "email_sent"]
    assert [funnel[(step, "sign_up")] for step in sign_up] == [12, 12, 12, 9, 9, 6, 6]
    assert funnel[("email_verified", "sign_up")] == 3
    assert funnel[("completed", "sign_up")] == 3
    sign_in = ["begun", "view", "engage", "submit", "attempt", "account_login", "email_sent"]
    assert [funnel[(step, "sign_in")] for step in sign_in] == [12, 12, 9, 9, 6, 6, 3]
    assert funnel[("completed", "sign_in")] == 0
    assert [funnel[(step, "unknown")] for step in ("begun", "view", "engage")] == [3, 0, 0]


def test_device_connection_chart(kpi_warehouse: Warehouse) -> None:
    rows = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "device_connection_time"))
    assert [(service, flows, p50, p90) for _, service, flows, p50, p90 in rows] == [
        ("sync (no service)", 1, 16.0, 16.0)
    ] * 3


def test_engagement_and_multi_device_charts(kpi_warehouse: Warehouse) -> None:
    engagement = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "engagement_ratio"))
    assert [row[1:] for row in engagement] == [(6, 6, 1.0, False)] * 3
    multi = kpi_warehouse.query(compiled_analysis(kpi_warehouse, "multi_device_share"))
    assert [row[1:] for row in multi] == [(6, 2, 2 / 6, False)] * 3


def test_analyses_read_only_analytics_tables() -> None:
    """Dashboards read the analytics schema: no source(), no staging model in a chart."""
    for path in (PROJECT_ROOT / "analyses").glob("*.sql"):
        text = path.read_text()
        assert "source(" not in text, f"{path.name} reads a raw source"
        assert "stg_" not in text, f"{path.name} reads a staging model"
