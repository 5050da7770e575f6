"""macros/retention.sql rendered by dbt: effective retention, cut-off dates, refusals.

Cut-off dates are computed by hand from the reference date 2026-11-27 (K days kept = rows on
or after 2026-11-27 - (K - 1) days).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_harness import Warehouse, base_environment

MODELS = [
    "flow_events",
    "flow_metadata",
    "activity_events",
    "daily_activity_per_device",
    "daily_multi_device_users",
    "flow_events_sampled_10",
    "flow_metadata_sampled_10",
    "activity_events_sampled_50",
]
INLINE = (
    "{%- for name in " + repr(MODELS) + " %}\n"
    "-- {{ name }}: {{ fxa_metrics.retention_delete("
    "api.Relation.create(schema='analytics', identifier=name)) | replace('\\n', ' ') }}\n"
    "{%- endfor %}\nselect 1"
)

pytestmark = pytest.mark.integration


def compile_inline(vars_yaml: str, tmp_path: Path) -> tuple[bool, str]:
    """`dbt compile --inline` of INLINE with `vars_yaml` (dbt_harness, in this process):
    (success, the compiled SQL or the error)."""
    env = {**base_environment(), "FXA_DUCKDB_PATH": str(tmp_path / "retention.duckdb")}
    warehouse = Warehouse("duckdb", env, tmp_path)
    try:
        result = warehouse.dbt_result("compile", "--inline", INLINE, "--vars", vars_yaml)
    except AssertionError as error:  # the project does not even parse with these vars
        return False, str(error)
    if not result.success:
        nodes = getattr(result.result, "results", None) or []
        return False, " ".join([str(result.exception), *(str(n.message) for n in nodes)])
    (node,) = result.result.results
    return True, node.node.compiled_code


def rendered(sql: str) -> dict[str, str]:
    out = {}
    for line in sql.splitlines():
        if line.startswith("-- "):
            name, _, sql = line[3:].partition(":")
            out[name] = " ".join(sql.split())
    return out


def test_effective_retention_and_cutoffs(tmp_path):
    ok, compiled = compile_inline(
        "{retention_days: {flow_events: 30, activity_events: 400,"
        " daily_activity_per_device: 500, daily_multi_device_users: 90,"
        " flow_events_sampled_10: 365}, retention_reference_date: '2026-11-27'}",
        tmp_path,
    )
    assert ok, compiled
    sql = rendered(compiled)
    assert sql == {
        # whole flows: those without an event on or after the cut-off
        "flow_events": 'delete from "analytics"."flow_events"'
        " where \"timestamp\" < cast('2026-10-29' as timestamp) and flow_id not in"
        ' (select flow_id from "analytics"."flow_events"'
        " where \"timestamp\" >= cast('2026-10-29' as timestamp))",
        # not configured itself, but trimmed with flow_events (the smaller of the two)
        "flow_metadata": 'delete from "analytics"."flow_metadata"'
        " where begin_time < cast('2026-10-29' as timestamp)",
        "activity_events": 'delete from "analytics"."activity_events"'
        " where \"timestamp\" < cast('2025-10-24' as timestamp)",
        # 500 asked, but its input activity_events keeps 400
        "daily_activity_per_device": 'delete from "analytics"."daily_activity_per_device"'
        " where day < cast('2025-10-24' as date)",
        # 90 asked, below 400 - 5: its own value wins
        "daily_multi_device_users": 'delete from "analytics"."daily_multi_device_users"'
        " where day < cast('2026-08-30' as date)",
        # 365 asked, but flow_events keeps 30
        "flow_events_sampled_10": 'delete from "analytics"."flow_events_sampled_10"'
        " where \"timestamp\" < cast('2026-10-29' as timestamp) and flow_id not in"
        ' (select flow_id from "analytics"."flow_events_sampled_10"'
        " where \"timestamp\" >= cast('2026-10-29' as timestamp))",
        # trimmed with flow_events_sampled_10, its flows' events
        "flow_metadata_sampled_10": 'delete from "analytics"."flow_metadata_sampled_10"'
        " where begin_time < cast('2026-10-29' as timestamp)",
        # no own entry: follows activity_events
        "activity_events_sampled_50": 'delete from "analytics"."activity_events_sampled_50"'
        " where \"timestamp\" < cast('2025-10-24' as timestamp)",
    }


def test_default_keeps_everything_and_bad_values_are_refused(tmp_path):
    ok, compiled = compile_inline("{}", tmp_path)
    assert ok, compiled
    assert set(rendered(compiled).values()) == {""}

    # 5 days leave daily_multi_device_users no day with a whole 5-day window
    ok, error = compile_inline("{retention_days: {daily_activity_per_device: 5}}", tmp_path)
    assert not ok
    assert "too few for the 5-day window" in error

    ok, error = compile_inline("{retention_days: {flow_events: 0}}", tmp_path)
    assert not ok
    assert "whole number of days >= 1" in error
