"""Smoke test of the pipeline benchmark: `bench_pipeline.py --quick` runs end to end and its JSON
has every field. Never asserts a time: benchmarks print numbers, tests do not judge them (a
shared 2-core machine makes any time threshold flaky)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent

MEASUREMENT = {"wall_s", "cpu_s", "peak_rss_mib", "load_average_start", "load_average_end"}


@pytest.mark.integration
def test_quick_benchmark_writes_every_field(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
    command = [sys.executable, str(SCRIPTS / "bench_pipeline.py"), "--quick", "--no-postgres"]
    command += ["--work", str(tmp_path / "work"), "--out", str(out)]
    run = subprocess.run(command, check=True, env=env, cwd=SCRIPTS.parent, capture_output=True,
                         text=True)  # fmt: skip
    results = json.loads(out.read_text())

    machine = results["machine"]
    assert machine["cores"] >= 1
    assert len(machine["load_average_1_5_15"]) == 3
    assert {"python", "duckdb", "dbt"} <= set(machine["versions"])
    assert results["repeat"] == 1
    assert "postgres" not in results

    duck = results["duckdb"]
    assert {"days", "flows_per_day", "history_lines", "extra_day_lines"} <= set(duck["size"])
    assert set(duck["raw_rows"]) == {"flow_events", "activity_events"}
    load = duck["load"]
    assert MEASUREMENT == set(load["loader"]) == set(load["floor"])
    assert {"lines", "loader_lines_per_s", "floor_lines_per_s", "ratio", "target", "met"} <= set(
        load
    )
    build = duck["full_build"]
    assert MEASUREMENT == set(build["dbt"]) == set(build["floor"]) == set(build["dbt_empty_build"])
    assert {"events", "events_per_s", "ratio", "ratio_without_dbt_fixed_cost", "met"} <= set(build)
    inc = duck["incremental"]
    for side in ("after_1_day", "after_n_days"):
        assert MEASUREMENT == set(inc[side]["load"]) == set(inc[side]["build"])
        assert "wall_s" in inc[side]
    assert {"ratio", "build_ratio", "target", "met"} <= set(inc)
    assert {"loader", "dbt", "target", "met"} <= set(duck["peak_rss_mib"])
    profile = duck["model_seconds_last_run"]
    assert {"full_build", "incremental_after_1_day", "incremental_after_n_days"} == set(profile)
    assert "flow_metadata" in profile["full_build"]
    lifecycle = {"users_first_seen", "users_last_seen", "kpi_retention_daily"}
    for models in profile.values():  # the account-lifecycle tables are built and timed too
        assert lifecycle | {"kpi_engagement_ratio_daily"} <= set(models)
    printed = run.stdout.split("model seconds (full build / incremental day after all days):")
    assert len(printed) == 2 and all(model in printed[1] for model in lifecycle)
    assert all(len(v) == 1 for v in duck["runs"].values())
    for step in duck["runs"].values():  # every step says how loaded the machine was
        assert set(step[0]) == MEASUREMENT
