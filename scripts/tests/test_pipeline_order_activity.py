"""Activity marts are independent of load order: incremental builds == one full rebuild.

Synthetic activity events are cut into "files" (one per event day, a file loaded twice, late
files for old days), the files are inserted into `raw.activity_events` in a shuffled order with
increasing `loaded_at`, and the activity models are built incrementally after every file. The
three marts must then equal, row for row (`_loaded_at` included), what `--full-refresh` builds
from the same raw data (CONTRACT.md section 3).

Rows go straight into the raw table (as the loader would store them) so that this test proves
the models alone; the loader's end-to-end order test covers the files.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner
from fxa_pipeline.raw_schema import create_all_sql

PROJECT_DIR = Path(__file__).resolve().parents[2]
ACTIVITY_MARTS = ("activity_events", "daily_activity_per_device", "daily_multi_device_users")
SELECTOR = "+daily_multi_device_users"
EVENT_TYPES = (
    "account.login",
    "account.signed",
    "account.keyfetch",
    "device.created",
    "device.updated",
    "account.confirmed",
)
FIRST_DAY = dt.datetime(2017, 3, 1)
DAYS = 12

Row = tuple[object, ...]


def make_files(seed: int) -> list[list[Row]]:
    """Event rows (the 8 spec columns) grouped into files; some events appear in two files."""
    rng = random.Random(seed)
    files: dict[int, list[Row]] = {day: [] for day in range(DAYS)}
    for user in range(30):
        uid = f"{seed:08x}{user:056x}"
        devices = [f"{user:016x}{device:016x}" for device in range(rng.randint(1, 3))]
        for day in rng.sample(range(DAYS), rng.randint(1, 6)):
            for _ in range(rng.randint(1, 4)):
                timestamp = FIRST_DAY + dt.timedelta(
                    days=day, milliseconds=rng.randrange(86_400_000)
                )
                device = None if rng.random() < 0.2 else rng.choice(devices)
                row = (
                    timestamp,
                    rng.choice(EVENT_TYPES),
                    uid,
                    device,
                    rng.choice(("sync", None)),
                    "Firefox",
                    rng.choice(("51", "52")),
                    "Linux",
                )
                # an event near midnight may be logged in the next day's file
                files[min(day + rng.randint(0, 1), DAYS - 1)].append(row)
    ordered = [files[day] for day in range(DAYS)]
    ordered.append(list(ordered[3]))  # a file loaded twice (duplicate events)
    ordered.append(rng.sample(ordered[5], len(ordered[5]) // 2))  # duplicates in a late file
    return ordered


def insert_file(database: Path, rows: list[Row], number: int, loaded_at: dt.datetime) -> None:
    con = duckdb.connect(str(database))
    try:
        con.executemany(
            "insert into raw.activity_events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, f"file-{number}.log", line, loaded_at) for line, row in enumerate(rows, 1)],
        )
    finally:
        con.close()


def dbt(runner: dbtRunner, *args: str) -> None:
    result = runner.invoke(
        [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target",
            "duckdb",
            "--quiet",
        ]
    )
    assert result.success, f"dbt {' '.join(args)} failed: {result.exception}"


def snapshot(database: Path) -> dict[str, Counter[tuple[object, ...]]]:
    con = duckdb.connect(str(database))
    try:
        return {
            table: Counter(con.execute(f"select * from analytics.{table}").fetchall())
            for table in ACTIVITY_MARTS
        }
    finally:
        con.close()


@pytest.mark.integration
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_builds_in_any_load_order_equal_full_refresh(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "activity.duckdb"
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(database))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    con = duckdb.connect(str(database))
    for statement in create_all_sql("duckdb"):
        con.execute(statement)
    con.close()

    files = make_files(seed)
    order = list(range(len(files)))
    random.Random(seed).shuffle(order)
    loaded_at = dt.datetime(2017, 4, 1)
    parsed = dbtRunner().invoke(
        ["parse", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--quiet"]
    )
    assert parsed.success, parsed.exception
    runner = dbtRunner(manifest=parsed.result)  # parse once, build many times
    dbt(runner, "run", "--select", SELECTOR)  # empty tables: the first incremental run has no rows
    for number in order:
        loaded_at += dt.timedelta(minutes=1)
        insert_file(database, files[number], number, loaded_at)
        dbt(runner, "run", "--select", SELECTOR)
    incremental = snapshot(database)

    dbt(runner, "run", "--select", SELECTOR, "--full-refresh")
    full_refresh = snapshot(database)

    assert sum(incremental["daily_multi_device_users"].values()) > 0, "no multi-device user"
    for table in ACTIVITY_MARTS:
        assert incremental[table] == full_refresh[table], f"{table} differs (seed {seed})"
