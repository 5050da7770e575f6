"""Whatever the order files are loaded in, incremental builds equal a full rebuild
(docs/data-contract.md#the-guarantee).

For each seed: generate a few days of logs (flows crossing midnight, flows whose first day is
cut off, a legacy CSV day, duplicates), load the files one by one in an order shuffled by the
seed with `dbt run` of the compared models after each file, then compare every row of every
compared table with a `--full-refresh` build of the same raw data. They must be identical.

COMPARED_MODELS are the five spec tables; the test builds them with their ancestors after
each file and compares them all.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from dbt_harness import Warehouse, generate_logs, log_files, scratch_warehouse

pytestmark = pytest.mark.integration

# analytics tables compared row by row; each is built with its ancestors after every file.
COMPARED_MODELS: tuple[str, ...] = (
    "flow_events",
    "flow_metadata",
    "activity_events",
    "daily_activity_per_device",
    "daily_multi_device_users",
)
SEEDS = (11, 23, 47)
DAYS = 3
FLOWS_PER_DAY = 300
LEGACY_DAYS = 1

TARGETS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module")
def logs_for_seed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """Logs per seed, generated once for both targets (and only for the seeds selected)."""
    generated: dict[int, Path] = {}

    def get(seed: int) -> Path:
        if seed not in generated:
            out = tmp_path_factory.mktemp(f"logs-{seed}") / "logs"
            generated[seed] = generate_logs(
                out, seed=seed, days=DAYS, flows_per_day=FLOWS_PER_DAY, legacy_days=LEGACY_DAYS
            )
        return generated[seed]

    return get


def build_selection() -> list[str]:
    return ["--select", *(f"+{model}" for model in COMPARED_MODELS)]


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    return {model: warehouse.rows(model) for model in COMPARED_MODELS}


def describe_difference(model: str, incremental: list[tuple], full: list[tuple]) -> str:
    only_incremental = sorted(set(incremental) - set(full), key=repr)
    only_full = sorted(set(full) - set(incremental), key=repr)
    return (
        f"{model}: {len(incremental)} rows after shuffled incremental loads, {len(full)} after "
        f"a full refresh; {len(only_incremental)} only incremental, e.g. "
        f"{only_incremental[:3]}; {len(only_full)} only full refresh, e.g. {only_full[:3]}"
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", TARGETS)
def test_shuffled_incremental_loads_equal_full_refresh(
    target: str, seed: int, logs_for_seed: Callable[[int], Path], tmp_path: Path
) -> None:
    files = log_files(logs_for_seed(seed))
    assert len(files) >= 5, f"expected several log files, got {files}"
    random.Random(seed).shuffle(files)

    with scratch_warehouse(target, tmp_path) as warehouse:
        for path in files:
            warehouse.load(path)
            warehouse.dbt("run", *build_selection())
        incremental = snapshot(warehouse)
        # the data tests (invariants, grain, catalogue) hold on the incrementally built tables
        warehouse.dbt("seed")
        # (cautious: only tests whose every parent is selected; tests of models this test
        # does not build, e.g. the sampled tables, stay out; seeds so the catalogue test runs)
        warehouse.dbt(
            "test",
            "--select",
            *COMPARED_MODELS,
            "resource_type:seed",
            "--indirect-selection",
            "cautious",
            "--exclude",
            "test_type:unit",
        )

        warehouse.dbt("run", "--full-refresh", *build_selection())
        full = snapshot(warehouse)

    for model in COMPARED_MODELS:
        assert full[model], f"{model} is empty after a full refresh: nothing was compared"
        assert incremental[model] == full[model], describe_difference(
            model, incremental[model], full[model]
        )


def test_comparison_sees_a_changed_row() -> None:
    """The diff helper the assertion relies on reports a row that differs in one column."""
    message = describe_difference("t", [(1, "a"), (2, "b")], [(1, "a"), (2, "c")])
    assert "1 only incremental" in message
    assert "(2, 'b')" in message
    assert "(2, 'c')" in message
