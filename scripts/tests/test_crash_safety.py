"""Crash safety of the loader: killed with SIGKILL, it leaves nothing partial, and a rerun ends
in exactly the tables of one uninterrupted run. (A `dbt build` killed mid-run is a scenario of
test_incremental_scenarios.py.)

- Loader: one transaction per file (docs/data-contract.md#files-as-a-whole). The loader is
  killed while it is inside a file (after the previous file's summary line, before its own);
  at that point every file is either in the ledger with all its rows or absent with none. The
  rerun skips the committed files and loads the rest; the raw tables then equal those of one
  uninterrupted load into a fresh database (all columns but the load time). The killed runs
  are processes of scripts/load_events.py (a kill needs one); the clean load and the rerun
  go through dbt_harness.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import hostile_corpus as hc
import pytest
from dbt_harness import SCRIPTS, TARGETS, Warehouse, scratch_warehouse

pytestmark = pytest.mark.integration

LOADER = SCRIPTS / "load_events.py"
RAW = ("flow_events", "activity_events", "rejected_lines", "load_ledger")


def big_log(path: Path, lines: int, seed: int) -> None:
    """`lines` valid events (a flow of 9 flow events and one activity event per 10 lines)."""
    flow = hc.dumps(hc.envelope(hc.flow_fields(flow_id="FID", flow_time=-7, time=-8)))
    activity = hc.dumps(hc.envelope(hc.activity_fields(uid="UID", time=-8), "activityEvent"))
    flow = flow.replace(b"%", b"%%").replace(b'"FID"', b'"%s"').replace(b"-7", b"%d")
    flow = flow.replace(b"-8", b"%d")
    activity = activity.replace(b"%", b"%%").replace(b'"UID"', b'"%s"').replace(b"-8", b"%d")
    with path.open("wb") as out:
        for i in range(lines):
            if i % 10 == 9:
                out.write(activity % (b"%032x" % i, hc.TIME_MS + i) + b"\n")
            else:
                flow_id = b"%08x%056x" % (seed, i // 10)
                out.write(flow % (flow_id, i % 10, hc.TIME_MS + i) + b"\n")


def raw_snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every raw table's rows, sorted, without the load time (which differs between runs)."""
    out: dict[str, list[tuple]] = {}
    for table in RAW:
        columns = [
            r[0]
            for r in warehouse.query(
                "select column_name from information_schema.columns where table_schema = "
                "'raw' and table_name = ? and column_name <> 'loaded_at' order by 1",
                [table],
            )
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        rows = warehouse.query(f'select {select} from "raw".{table}')
        out[table] = sorted(rows, key=repr)
    return out


def check_all_or_nothing(warehouse: Warehouse, files: list[Path]) -> set[str]:
    """Each file: in the ledger with exactly its rows, or absent with none. Returns those in.
    (On DuckDB, opening the file read-write replays the WAL of the killed process.)"""
    committed: set[str] = set()
    tables = {
        r[0]
        for r in warehouse.query(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )
    }
    for file in files:
        name = str(file.resolve())
        stored = 0
        if "flow_events" in tables:
            for table in ("flow_events", "activity_events", "rejected_lines"):
                stored += warehouse.query(
                    f'select count(*) from "raw".{table} where source_file = ?', [name]
                )[0][0]
        ledger = []
        if "load_ledger" in tables:
            ledger = warehouse.query(
                'select loaded + rejected from "raw".load_ledger where file_name = ?', [name]
            )
        if ledger:
            assert ledger == [(stored,)], (name, ledger, stored)
            committed.add(name)
        else:
            assert stored == 0, f"{name}: {stored} rows without a ledger row (partial load)"
    return committed


def database_opened(warehouse: Warehouse) -> bool:
    """Whether the loader has opened the database (DuckDB: the file; Postgres: its tables)."""
    if warehouse.target == "duckdb":
        return Path(warehouse.env["FXA_DUCKDB_PATH"]).exists()
    return warehouse.query("select to_regclass('raw.load_ledger') is not null")[0][0]


def start_loader(warehouse: Warehouse, data: Path) -> subprocess.Popen[str]:
    """scripts/load_events.py on `warehouse`, as a process that can be killed."""
    env = {**os.environ, **warehouse.env, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(LOADER), "--target", warehouse.target, str(data)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("target", TARGETS)
def test_loader_killed_mid_file_then_rerun_equals_one_clean_load(
    tmp_path: Path, target: str
) -> None:
    data = tmp_path / "in"
    data.mkdir()
    files = [data / "a.log", data / "b.log"]
    for seed, file in enumerate(files, start=1):
        big_log(file, 20_000, seed)

    with (
        scratch_warehouse(target, tmp_path / "reference") as reference,
        scratch_warehouse(target, tmp_path / "crashed") as crashed,
    ):
        for warehouse in (reference, crashed):
            warehouse.env["FXA_LOADER_CHUNK_MB"] = "1"  # many appends inside each file
        reference.load(data)

        # 1. Killed inside the first file, a second after the loader opened the database.
        killed_at = []
        for delay in (1.0, None):
            proc = start_loader(crashed, data)
            assert proc.stdout is not None
            if delay is not None:
                deadline = time.monotonic() + 60
                while not database_opened(crashed) and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(delay)  # the loader has opened the database: now inside a.log
            else:
                # 2. Killed inside the second file: right after the first file's summary line.
                first = proc.stdout.readline()
                assert str(files[0].resolve()) in first, first
                time.sleep(0.3)
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
            assert proc.returncode == -signal.SIGKILL
            assert str(files[1].resolve()) + ":" not in out, "b.log finished before the kill"
            killed_at.append(check_all_or_nothing(crashed, files))
        assert killed_at[1] == {str(files[0].resolve())}

        # 3. The rerun completes: the committed file is skipped, the other loaded.
        assert "skipped" in crashed.load(data)
        assert raw_snapshot(crashed) == raw_snapshot(reference)
