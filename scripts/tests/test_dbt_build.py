"""`dbt build` passes, unit tests and data tests included, on DuckDB and on Postgres, on a fresh
and on a grown warehouse.

The session's built warehouse of each target (conftest.py, dbt_harness.build_standard_warehouse)
loads the first half of the standard generated log set, runs `dbt seed` and `dbt run --empty`
(a unit test reads its model's relation for the column types) and `dbt build`; then loads the
other half (the rest of the days and the legacy CSV day, older than all of them) and runs
`dbt build` again, so that every model's incremental path and every data test also run on a
grown warehouse. Both builds must succeed; each must have run models and data tests, the first
the unit tests too (they read only their given rows: running them again on the grown warehouse
would prove nothing new).
"""

from __future__ import annotations

import pytest
from dbt_harness import TARGETS, BuiltWarehouse

# What the standard warehouse's builds run, at least (the project has more of each); the
# unit tests in the fresh build only.
AT_LEAST = {"model": 20, "seed": 3, "unit_test": 20, "test": 100}


@pytest.mark.parametrize("target", TARGETS)
def test_dbt_build_passes_on_a_fresh_and_a_grown_warehouse(
    built_warehouse: BuiltWarehouse,
) -> None:
    assert [run.label for run in built_warehouse.builds] == ["fresh", "grown"]
    for run in built_warehouse.builds:
        assert run.success, (
            f"dbt build on the {run.label} warehouse failed: {run.exception}\n"
            + "\n".join(run.problems)
        )
        for resource_type, minimum in AT_LEAST.items():
            if resource_type == "unit_test" and run.label == "grown":
                continue
            ran = run.count(resource_type)
            assert ran >= minimum, f"{run.label} build ran {ran} {resource_type}(s)"
    fresh, grown = (run.row_counts for run in built_warehouse.builds)
    for table in (
        "flow_events",
        "flow_metadata",
        "activity_events",
        "kpi_flow_funnel_daily",
        "users_first_seen",
        "users_last_seen",
    ):
        assert 0 < fresh.get(table, 0) < grown.get(table, 0), (table, fresh, grown)


# On Postgres every incremental run looks up its changes by load time and deletes its touched
# units: each table it reads that way carries an index (the raw tables from the loader's DDL,
# the models from recompute_indexes()), or the run scans whole tables that grow with history.
POSTGRES_INDEXED = {
    ("raw", "flow_events"): {"loaded_at"},
    ("raw", "activity_events"): {"loaded_at"},
    ("raw", "retracted_flow_events"): {"retracted_at"},
    ("raw", "retracted_activity_events"): {"retracted_at"},
    ("analytics", "flow_events"): {"flow_id", "_loaded_at"},
    ("analytics", "flow_metadata"): {"flow_id", "_loaded_at"},
    ("analytics", "flow_events_sampled_10"): {"flow_id", "_loaded_at"},
    ("analytics", "activity_events"): {"timestamp", "_loaded_at", "uid"},
    ("analytics", "activity_events_sampled_50"): {"timestamp", "_loaded_at"},
    ("analytics", "daily_multi_device_users"): {"day", "_loaded_at"},
    ("analytics", "kpi_engagement_ratio_daily"): {"day", "_loaded_at"},
    ("analytics", "users_first_seen"): {"uid", "_loaded_at"},
    ("analytics", "users_last_seen"): {"day", "_loaded_at", "uid"},
    ("analytics", "kpi_retention_daily"): {"cohort_day", "_loaded_at"},
}


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["postgres"])
def test_postgres_tables_carry_the_incremental_lookup_indexes(
    built_warehouse: BuiltWarehouse,
) -> None:
    indexed: dict[tuple[str, str], set[str]] = {}
    for schema, table, definition in built_warehouse.warehouse.query(
        "select schemaname, tablename, indexdef from pg_indexes"
        " where schemaname in ('raw', 'analytics')"
    ):
        columns = definition[definition.index("(") + 1 : definition.rindex(")")]
        indexed.setdefault((schema, table), set()).add(columns.replace('"', ""))
    for table, columns in POSTGRES_INDEXED.items():
        assert columns <= indexed.get(table, set()), f"{table}: indexes {indexed.get(table)}"
