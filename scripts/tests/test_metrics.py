"""Every semantic-layer metric equals its KPI table, for every day, on DuckDB and Postgres.

The metrics (models/semantic/_semantic__models.yml) are a second definition of each KPI, over
the marts instead of the KPI tables' own SQL: if the two drift apart (a filter, an expression,
a grain), a dashboard built on one disagrees with an analysis built on the other. MetricFlow
renders each metric query here (one set-up per warehouse, no `mf` process), the SQL runs on a
built warehouse (DuckDB: a month of logs; Postgres: the session's warehouse), and the result is
compared with the KPI table row by row: counts exactly, ratios and percentiles within 1e-9,
NULL only equal to NULL. A KPI row missing from the metric's result, or a metric row with a
non-zero value missing from the table, is a difference too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import BuiltWarehouse, LogSet, Warehouse, scratch_warehouse
from fxa_pipeline.semantic import MetricSql
from kpi_summary import FUNNEL_STEPS

# A month of a few flows a day: every window of the KPIs (7 and 28 days, retention weeks 1-3)
# has days before and after its warm-up.
LONG_LOGS = LogSet(days=30, flows_per_day=20, seed=7, legacy_days=0)

STEPS = FUNNEL_STEPS  # kpi_flow_funnel_daily's step columns, in funnel order


@dataclass(frozen=True)
class Comparison:
    """Metrics grouped by `group_by` against the KPI table's `keys`, each metric against a SQL
    expression over the table's row."""

    table: str
    keys: Sequence[str]
    group_by: Sequence[str]
    metrics: dict[str, str]  # metric -> expression over the KPI table
    where: str = "1 = 1"


def _ratio(numerator: str, denominator: str) -> str:
    return (
        f"case when {denominator} = 0 then null else "
        f"cast({numerator} as double precision) / {denominator} end"
    )


COMPARISONS = [
    Comparison(
        "kpi_flow_funnel_daily",
        ["day", "flow_kind"],
        ["metric_time__day", "flow__flow_kind"],
        {
            "flows_begun": "flows_begun",
            "flows_completed": "flows_completed",
            "completion_rate": _ratio("flows_completed", "flows_begun"),
            **{f"flows_reached_{step}": f"flows_{step}" for step in STEPS},
            **{f"conversion_to_{step}": _ratio(f"flows_{step}", "flows_begun") for step in STEPS},
        },
    ),
    *(
        Comparison(
            "kpi_flow_funnel_daily",
            ["day"],
            ["metric_time__day"],
            {f"{kind}_completion_rate": _ratio("flows_completed", "flows_begun")},
            where=f"flow_kind = '{kind}'",
        )
        for kind in ("sign_up", "sign_in")
    ),
    Comparison(
        "kpi_device_connection_time_daily",
        ["day", "service"],
        ["metric_time__day", "flow__service"],
        {
            "flows_completed": "completed_flows",
            "p50_seconds_to_complete": "p50_seconds",
            "p90_seconds_to_complete": "p90_seconds",
        },
    ),
    Comparison(
        "kpi_engagement_ratio_daily",
        ["day"],
        ["metric_time__day"],
        {
            "daily_active_users": "daily_active_users",
            "weekly_active_users": "weekly_active_users",
            "monthly_active_users": "monthly_active_users",
            "engagement_ratio": "engagement_ratio",
        },
    ),
    Comparison(
        "kpi_multi_device_usage_daily",
        ["day"],
        ["metric_time__day"],
        {
            "device_users": "device_users",
            "multi_device_users": "multi_device_users",
            "multi_device_share": "multi_device_share",
        },
    ),
    Comparison(
        "kpi_retention_daily",
        ["cohort_day", "service"],
        ["metric_time__day", "cohort__service"],
        {
            "new_accounts": "new_accounts",
            **{f"retained_week_{k}": f"retained_week_{k}" for k in (1, 2, 3)},
            **{
                f"retention_week_{k}": _ratio(f"retained_week_{k}", "new_accounts")
                for k in (1, 2, 3)
            },
        },
    ),
]


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "date") and callable(value.date):  # a timestamp: its day
        return value.date()
    return value


def _same(expected: Any, actual: Any) -> bool:
    """Equal (NULL only to NULL), floats within 1e-9."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=1e-9)
    return expected == actual


def _missing(values: tuple[Any, ...]) -> bool:
    """A row only one side has: fine when all its values are 0 or NULL (a KPI table has no
    row for a group with nothing to count, a metric may have one)."""
    return all(value in (None, 0) for value in values)


def differences(warehouse: Warehouse, metric_sql: MetricSql, comparison: Comparison) -> list[str]:
    """Every (key, metric) where the metric's value differs from the KPI table's."""
    metrics = list(comparison.metrics)
    select = ", ".join([*comparison.keys, *comparison.metrics.values()])
    kpi_sql = f"select {select} from analytics.{comparison.table} where {comparison.where}"
    # MetricFlow orders its output columns by kind of metric: select them by name.
    columns = ", ".join([*comparison.group_by, *metrics])
    metric_query = metric_sql.sql(metrics, comparison.group_by)
    metric_rows, kpi_rows = warehouse.queries(
        [(f"select {columns} from (\n{metric_query}\n) as metric_query", ()), (kpi_sql, ())]
    )
    width = len(comparison.keys)

    def by_key(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        values = [tuple(_value(v) for v in row) for row in rows]
        return {row[:width]: row[width:] for row in values}

    found, expected = by_key(metric_rows), by_key(kpi_rows)
    problems = []
    for key in sorted(set(found) | set(expected), key=repr):
        if (key not in found and _missing(expected[key])) or (
            key not in expected and _missing(found[key])
        ):
            continue
        want = expected.get(key, (None,) * len(metrics))
        got = found.get(key, (None,) * len(metrics))
        for metric, wanted, actual in zip(metrics, want, got, strict=True):
            if not _same(wanted, actual):
                problems.append(
                    f"{comparison.table} {dict(zip(comparison.keys, key, strict=True))}: "
                    f"{metric} = {actual!r}, table says {wanted!r}"
                )
    return problems


@pytest.fixture(scope="module")
def metric_sql_of() -> Callable[[Warehouse], MetricSql]:
    """One MetricFlow set-up per warehouse of the module."""
    made: dict[str, MetricSql] = {}

    def get(warehouse: Warehouse) -> MetricSql:
        if warehouse.database not in made:
            made[warehouse.database] = MetricSql(warehouse.semantic_manifest(), warehouse.target)
        return made[warehouse.database]

    return get


@pytest.fixture(scope="module")
def long_warehouse(
    tmp_path_factory: pytest.TempPathFactory, log_sets: Callable[[LogSet], Path]
) -> Iterator[Warehouse]:
    """DuckDB, LONG_LOGS loaded and built (models only): long enough for every window."""
    with scratch_warehouse("duckdb", tmp_path_factory.mktemp("metrics_long")) as warehouse:
        warehouse.load(log_sets(LONG_LOGS))
        warehouse.dbt("seed")
        warehouse.dbt("run")
        yield warehouse


@pytest.mark.integration
@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda c: f"{c.table}-{c.where}")
def test_metric_equals_kpi_table_duckdb(
    comparison: Comparison,
    long_warehouse: Warehouse,
    metric_sql_of: Callable[[Warehouse], MetricSql],
) -> None:
    """On 30 days of logs, so that a metric's window (7 or 28 days, the retention weeks)
    cannot drift unnoticed."""
    assert long_warehouse.query(f"select count(*) from analytics.{comparison.table}")[0][0] > 0
    assert differences(long_warehouse, metric_sql_of(long_warehouse), comparison) == []


@pytest.mark.integration
def test_long_logs_close_retention_weeks(long_warehouse: Warehouse) -> None:
    """The 30 days hold cohorts whose three weeks are over, with users back, and cohorts whose
    weeks are not: both sides of the NULL rule are compared."""
    over, back, open_weeks = long_warehouse.query(
        "select count(retained_week_3), sum(retained_week_3),"
        " sum(case when retained_week_1 is null then 1 else 0 end)"
        " from analytics.kpi_retention_daily"
    )[0]
    assert over > 0 and back > 0 and open_weeks > 0


@pytest.mark.parametrize("target", ["postgres"])
@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda c: f"{c.table}-{c.where}")
def test_metric_equals_kpi_table_postgres(
    target: str,
    comparison: Comparison,
    built_warehouse: BuiltWarehouse,
    metric_sql_of: Callable[[Warehouse], MetricSql],
) -> None:
    """On the session's Postgres warehouse: MetricFlow's Postgres SQL (casts, percentiles)."""
    del target
    warehouse = built_warehouse.warehouse
    kpi_rows = warehouse.query(f"select count(*) from analytics.{comparison.table}")[0][0]
    assert kpi_rows > 0 or comparison.table == "kpi_retention_daily", comparison.table
    assert differences(warehouse, metric_sql_of(warehouse), comparison) == []


def test_every_metric_is_compared(tmp_path: Path) -> None:
    """A metric added to the semantic layer must be added to a comparison above (the helper
    metrics, denominators of the retention rates, are compared through the rates)."""
    compared = {metric for comparison in COMPARISONS for metric in comparison.metrics}
    with scratch_warehouse("duckdb", tmp_path) as warehouse:
        defined = set(MetricSql(warehouse.semantic_manifest(), "duckdb").metric_names)
    helpers = {f"new_accounts_week_{k}_over" for k in (1, 2, 3)}
    assert defined - helpers - compared == set()
    assert helpers <= defined


@pytest.mark.integration
def test_mf_validate_configs_passes(tmp_path: Path) -> None:
    """`mf validate-configs` (MetricFlow's own checks of the semantic models and metrics,
    without the warehouse) passes with no error and no warning. mf reads the semantic manifest
    at <project>/target/, so it runs on a copy of the project, not on the shared target/."""
    import shutil
    import subprocess
    import sys

    from dbt_harness import PROJECT_ROOT, base_environment

    project = tmp_path / "project"
    for name in ("dbt_project.yml", "profiles.yml"):
        project.mkdir(exist_ok=True)
        shutil.copy(PROJECT_ROOT / name, project / name)
    for folder in ("models", "macros", "seeds", "tests", "analyses", "docs"):
        shutil.copytree(PROJECT_ROOT / folder, project / folder)
    env = {**os.environ, **base_environment(), "DBT_PROFILES_DIR": str(project)}
    env["FXA_DUCKDB_PATH"] = str(tmp_path / "validate.duckdb")
    bin_dir = Path(sys.executable).parent
    for command in (
        [bin_dir / "dbt", "parse", "--quiet"],
        [bin_dir / "mf", "validate-configs", "--skip-dw"],
    ):
        result = subprocess.run(
            [str(part) for part in command], cwd=project, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert "ERRORS: 0, FUTURE_ERRORS: 0, WARNINGS: 0" in result.stdout, result.stdout
