"""Benchmark the loader against its floor: DuckDB alone reading the same files into a table.

    python scripts/bench_load.py [--events 1000000] [--runs 3] [--work benchmarks/scratch/load]

Generates about `--events` log lines once (scripts/generate_events.py, cached), then for each
run times, each in a fresh process and a fresh DuckDB file:
- the loader: `load_events.py --target duckdb FILES...`;
- the floor: `create table as select * from read_json(...)` over the JSON-lines files,
  `read_csv` over the CSV exports and over the text-mode logs (one VARCHAR column), into a table.
Prints medians, lines/s, the ratio loader/floor and the loader's peak RSS. Not a test: numbers
only (the target is `TARGETS["duckdb"]["load"]` of fxa_pipeline/benchmarking.py, the load
target of docs/performance.md). `scripts/bench_pipeline.py`
measures this and the dbt stages together; both share `fxa_pipeline/benchmarking.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from fxa_pipeline.benchmarking import (
    ROOT,
    TARGETS,
    bench_env,
    classify,
    count_lines,
    duckdb_read_floor,
    generate_logs,
    loader_command,
    log_files,
    remove_duckdb,
    run_measured,
)

LINES_PER_FLOW = 16  # about what generate_events.py writes per flow begun (all files)
DAYS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about this many lines")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true", help="gzip-compressed input files")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "benchmarks" / "scratch" / "load", help="scratch dir"
    )
    args = parser.parse_args(argv)
    data = args.work / "data"
    flows = max(1, round(args.events / (LINES_PER_FLOW * DAYS)))
    source = generate_logs(data, DAYS, flows, args.seed, args.gzip)
    files = log_files(data)
    lines = count_lines(files)
    size = sum(p.stat().st_size for p in files)
    groups = classify(files)
    print(f"input: {len(files)} files, {lines:,} lines, {size / 2**20:,.0f} MiB on disk ({source})")
    print(
        f"floor: read_json over {len(groups[0])}, read_csv over {len(groups[1])} CSV and "
        f"{len(groups[2])} text-mode files"
    )
    loader_db = args.work / "loader.duckdb"
    env = bench_env(FXA_DUCKDB_PATH=str(loader_db))
    loader_runs, floor_runs = [], []
    for run in range(args.runs):
        # Alternate the order so that neither side always gets the warmer cache.
        for side in ("loader", "floor") if run % 2 else ("floor", "loader"):
            if side == "loader":
                remove_duckdb(loader_db)
                loader_runs.append(run_measured(loader_command("duckdb", files), env))
            else:
                floor_runs.append(duckdb_read_floor(args.work / "floor.duckdb", files))
        print(
            f"run {run + 1}: loader {loader_runs[-1].wall_s:.2f} s, "
            f"floor {floor_runs[-1].wall_s:.2f} s"
        )
    loader = statistics.median(m.wall_s for m in loader_runs)
    floor = statistics.median(m.wall_s for m in floor_runs)
    peak = max(m.peak_rss_mib for m in loader_runs)
    print()
    print(f"{'':24}{'seconds':>10}{'lines/s':>12}")
    print(f"{'loader (load_events.py)':24}{loader:>10.2f}{lines / loader:>12,.0f}")
    print(f"{'floor (DuckDB read_*)':24}{floor:>10.2f}{lines / floor:>12,.0f}")
    target = TARGETS["duckdb"]["load"]
    print(
        f"ratio loader / floor: {loader / floor:.2f} (target <= {target}); medians of {args.runs}"
    )
    print(f"loader peak RSS: {peak:,.0f} MiB; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
