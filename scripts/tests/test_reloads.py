"""Reloading changes nothing (docs/data-contract.md#the-guarantee): on a copy of the session's
built warehouse of each target (the standard log set, loaded in two halves and built twice),

1. every file loaded again is skipped (the ledger has it) and no raw row changes;
2. every file loaded again with `--force` (rows replaced by the same content), then an
   incremental `dbt run`: the raw tables equal those of the clean load, and every table of
   `analytics` equals that of the clean build, every column but the load times (`loaded_at`,
   `_loaded_at`, `last_loaded_at`, and the load day of load_quality_daily), which are the
   only things a reload may change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_harness import TARGETS, BuiltWarehouse, Warehouse, log_files

# Load times: every column named *loaded_at; load_quality_daily is per load day.
LOAD_DAYS = {"load_quality_daily": {"day"}}
RAW = ("flow_events", "activity_events", "rejected_lines", "load_ledger")


def without_load_times(warehouse: Warehouse, schema: str, table: str) -> list[tuple]:
    columns = [
        name
        for (name,) in warehouse.query(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? order by ordinal_position",
            [schema, table],
        )
        if not name.endswith("loaded_at") and name not in LOAD_DAYS.get(table, set())
    ]
    select = ", ".join(f'"{name}"' for name in columns)
    return sorted(warehouse.query(f'select {select} from "{schema}"."{table}"'), key=repr)


def state(warehouse: Warehouse) -> dict[str, list[tuple]]:
    out = {f"raw.{table}": without_load_times(warehouse, "raw", table) for table in RAW}
    for table in warehouse.tables():
        out[f"analytics.{table}"] = without_load_times(warehouse, "analytics", table)
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_reloading_every_file_changes_nothing(
    built_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    files = log_files(built_warehouse.logs)
    clean = state(built_warehouse.warehouse)
    assert all(clean[f"raw.{table}"] for table in RAW), "nothing to compare"
    with built_warehouse.warehouse.copy(tmp_path / "copy") as warehouse:
        output = warehouse.load(*files)
        assert output.count(": skipped: already loaded") == len(files), output
        warehouse.load(*files, force=True)
        warehouse.dbt("run")
        reloaded = state(warehouse)
    assert reloaded.keys() == clean.keys()
    for name, rows in clean.items():
        assert reloaded[name] == rows, f"{name}: {len(reloaded[name])} rows vs {len(rows)}"
