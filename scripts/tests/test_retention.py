"""macros/retention.sql rendered by dbt: effective retention, cut-off dates, refusals.

Cut-off dates are computed by hand from the reference date 2026-11-27 (K days kept = rows on
or after 2026-11-27 - (K - 1) days).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


def compile_inline(vars_yaml: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    dbt = Path(sys.executable).parent / "dbt"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "FXA_DUCKDB_PATH": str(tmp_path / "retention.duckdb"),
    }
    argv = [str(dbt), "--quiet", "compile", "--target", "duckdb", "--inline", INLINE]
    argv += ["--vars", vars_yaml, "--target-path", str(tmp_path / "target")]
    return subprocess.run(
        argv,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def rendered(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("-- "):
            name, _, sql = line[3:].partition(":")
            out[name] = " ".join(sql.split())
    return out


def test_effective_retention_and_cutoffs(tmp_path):
    result = compile_inline(
        "{retention_days: {flow_events: 30, activity_events: 400,"
        " daily_activity_per_device: 500, daily_multi_device_users: 90,"
        " flow_events_sampled_10: 365}, retention_reference_date: '2026-11-27'}",
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sql = rendered(result.stdout)
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
    result = compile_inline("{}", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(rendered(result.stdout).values()) == {""}

    too_short = compile_inline(
        "{retention_days: {daily_activity_per_device: 5}}", tmp_path
    )  # 5 days leave daily_multi_device_users no day with a whole 5-day window
    assert too_short.returncode != 0
    assert "too few for the 5-day window" in too_short.stdout + too_short.stderr

    zero = compile_inline("{retention_days: {flow_events: 0}}", tmp_path)
    assert zero.returncode != 0
    assert "whole number of days >= 1" in zero.stdout + zero.stderr
