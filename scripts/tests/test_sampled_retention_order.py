"""Sampled models and retention under shuffled incremental loads equal a full rebuild.

Files of the standard generated log set are loaded in three shuffled batches with `dbt run` of the
marts (sampled ones included) after each, under a retention that trims every kind of table
(vars below, reference date fixed). Every row of every mart must then equal a
`--full-refresh` build, and the data tests (sampled_by_cohort included: whole flows and users,
rate, the sample's own retention) must pass on the incrementally built tables.

Cut-offs by hand, reference 2017-03-03 (the generator's days are 2017-03-01..03, legacy 02-28):
- flow_events / flow_metadata: 2 days -> flows with no event on or after 03-02 dropped;
- flow_events_sampled_10 (and flow_metadata_sampled_10): 1 day -> from 03-03;
- activity_events, daily_activity_per_device: 8 days -> from 02-24 (nothing dropped);
- daily_multi_device_users: 8 - 5 = 3 days -> from 03-01 (the legacy day dropped);
- activity_events_sampled_50: 3 days -> from 03-01.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from dbt_harness import STANDARD_LOGS, TARGETS, LogSet, log_files, scratch_warehouse

pytestmark = pytest.mark.integration

PARENTS = (
    "flow_events",
    "flow_metadata",
    "activity_events",
    "daily_activity_per_device",
    "daily_multi_device_users",
)
SAMPLES = tuple(
    f"{table}_sampled_{rate}"
    for table in ("flow_events", "flow_metadata", "activity_events")
    for rate in (10, 50)
)
VARS = (
    "{retention_reference_date: '2017-03-03', retention_days: {flow_events: 2,"
    " activity_events: 8, flow_events_sampled_10: 1, activity_events_sampled_50: 3}}"
)
SELECT = ["--select", "models/staging", "models/marts", "--vars", VARS]
TIME_COLUMN = {"flow_events": 0, "activity_events": 0, "daily_multi_device_users": 0}


@pytest.mark.parametrize("target", TARGETS)
def test_sampled_and_retained_tables_equal_full_refresh(
    target: str, tmp_path: Path, log_sets: Callable[[LogSet], Path]
) -> None:
    files = log_files(log_sets(STANDARD_LOGS))
    random.Random(5).shuffle(files)
    models = PARENTS + SAMPLES

    with scratch_warehouse(target, tmp_path / "work") as warehouse:
        warehouse.dbt("seed", "--vars", VARS)  # flow_metadata reads the flow_view_kinds seed
        for batch in (files[0::3], files[1::3], files[2::3]):  # 3 loads keep CI time down
            warehouse.load(*batch)
            warehouse.dbt("run", *SELECT)
        incremental = warehouse.snapshot(models)
        warehouse.dbt("test", *SELECT, "--exclude", "test_type:unit")
        warehouse.dbt("run", "--full-refresh", *SELECT)
        full = warehouse.snapshot(models)

    for model in models:
        assert full[model], f"{model} is empty: nothing was compared"
        assert incremental[model] == full[model], model

    def earliest(model: str, column: int = 0) -> object:
        return min(row[column] for row in full[model])

    # the retention really trimmed: flows need an event on or after the cut-off
    by_flow: dict[str, dt.datetime] = {}
    for row in full["flow_events"]:
        by_flow[row[2]] = max(by_flow.get(row[2], row[0]), row[0])
    assert min(by_flow.values()) >= dt.datetime(2017, 3, 2)
    assert earliest("flow_metadata", 1) >= dt.datetime(2017, 3, 2)
    assert earliest("flow_metadata_sampled_10", 1) >= dt.datetime(2017, 3, 3)
    assert earliest("daily_multi_device_users") >= dt.date(2017, 3, 1)
    assert earliest("activity_events_sampled_50") >= dt.datetime(2017, 3, 1)
    assert earliest("activity_events") < dt.datetime(2017, 3, 1)  # legacy day kept (8 days)
    # samples are the documented share of their parents (ids are uniformly random)
    for table, id_column in (("flow_metadata", 0), ("activity_events", 2)):
        everyone = {row[id_column] for row in full[table]}
        half = {row[id_column] for row in full[f"{table}_sampled_50"]}
        assert 0.35 < len(half) / len(everyone) < 0.65, table
