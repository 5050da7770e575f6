"""Benchmark the whole pipeline against its floors: load, full build, incremental day.

    python scripts/bench_pipeline.py [--days 30] [--flows-per-day 300000] [--repeat 3]
    python scripts/bench_pipeline.py --quick          # tiny size, one repeat: a smoke test

Generates DAYS + 1 days of logs once with generate_events.py (cached under
benchmarks/scratch/; generation is never measured): DAYS days (plus the legacy CSV export) are
the history, the last day is the "extra day" of the incremental stage. Then, on DuckDB, each
step a fresh child process measured from outside (wall, CPU user+sys, its own peak RSS):

1. load: `load_events.py` of the history files into a fresh database, vs the floor: DuckDB
   alone `read_json`/`read_csv` of the same files into tables (fresh database file);
2. full build: `dbt build --full-refresh` of every model, tests excluded
   (`--exclude-resource-type test unit_test`), vs the floor: one `create table as select *`
   copy of each raw table; plus `dbt build --empty` of the same models, dbt's fixed cost
   (every dbt call but the first of a run reads dbt's saved parse, as cron's runs do);
3. incremental: load + `dbt build` of the extra day after 1 day of history (the last history
   day) and after DAYS days, and their ratio (does the cost grow with history?);
4. peak RSS of the loader and of dbt (largest over every run of each);
5. with PGHOST set (and not --no-postgres), the same on Postgres at --pg-days x
   --pg-flows-per-day, in PGDATABASE (its raw, staging and analytics schemas are dropped);
   the load floor there is `COPY` of each file's lines into a one-column text table.

Medians of --repeat runs. Prints a table; writes JSON (machine, sizes, medians, every run) to
benchmarks/scratch/results/<YYYY-MM-DD>.json, outside git (--quick: benchmarks/scratch/quick.json;
or --out); docs/performance.md keeps the latest figures and one baseline per target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fxa_pipeline.benchmarking import (
    ROOT,
    TARGETS,
    Measurement,
    as_dicts,
    bench_env,
    count_lines,
    duckdb_read_floor,
    generate_logs,
    loader_command,
    log_files,
    machine,
    median_of,
    remove_duckdb,
    run_measured,
)

DBT = str(Path(sys.executable).with_name("dbt"))
NO_TESTS = ["--exclude-resource-type", "test", "unit_test"]

DUCKDB_COPY_FLOOR = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create schema if not exists bench_floor")
for table in ("flow_events", "activity_events"):
    con.execute(f"create or replace table bench_floor.{table} as select * from raw.{table}")
con.execute("checkpoint")
con.execute("drop schema bench_floor cascade")
con.execute("checkpoint")
"""

DUCKDB_COUNTS = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps({t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                  for t in ("flow_events", "activity_events")}))
"""

POSTGRES_READ_FLOOR = """
import gzip, sys, psycopg
files = [f for f in sys.argv[1].split("\\n") if f]
with psycopg.connect() as conn:
    conn.execute("drop schema if exists bench_floor cascade")
    conn.execute("create schema bench_floor")
    conn.execute("create table bench_floor.lines (line text)")
    copy_sql = ("copy bench_floor.lines (line) from stdin with (format csv, "
                "delimiter E'\\\\x1f', quote E'\\\\x1e')")
    with conn.cursor() as cur:
        for name in files:
            with open(name, "rb") as probe:
                opener = gzip.open if probe.read(2) == b"\\x1f\\x8b" else open
            with opener(name, "rb") as handle, cur.copy(copy_sql) as copy:
                while block := handle.read(1 << 20):
                    copy.write(block)
    conn.commit()
    conn.execute("drop schema bench_floor cascade")
"""

POSTGRES_COPY_FLOOR = """
import psycopg
with psycopg.connect() as conn:
    conn.execute("drop schema if exists bench_floor cascade")
    conn.execute("create schema bench_floor")
    for table in ("flow_events", "activity_events"):
        conn.execute(f"create table bench_floor.{table} as select * from raw.{table}")
    conn.commit()
    conn.execute("drop schema bench_floor cascade")
"""

POSTGRES_COUNTS = """
import json, psycopg
with psycopg.connect() as conn:
    print(json.dumps({t: conn.execute(f"select count(*) from raw.{t}").fetchone()[0]
                      for t in ("flow_events", "activity_events")}))
"""


@dataclass
class BenchTarget:
    """One target of the benchmark: how to start afresh and how to measure its floors."""

    target: str
    env: dict[str, str]
    work: Path
    fresh: Callable[[], None]
    read_floor: Callable[[Sequence[Path]], Measurement]
    copy_floor: Callable[[], Measurement]
    counts_script: str
    counts_args: list[str] = field(default_factory=list)

    def load(self, files: Sequence[Path]) -> Measurement:
        return run_measured(loader_command(self.target, files), self.env, ROOT)

    def dbt(self, *args: str) -> Measurement:
        command = [DBT, *args, "--target", self.target]
        command += ["--target-path", str(self.work / f"target-{self.target}")]
        return run_measured(command, self.env, ROOT)

    def build(self, full_refresh: bool = False, empty: bool = False) -> Measurement:
        flags = ["--full-refresh"] if full_refresh else []
        flags += ["--empty"] if empty else []
        return self.dbt("build", *flags, *NO_TESTS)

    def model_seconds(self) -> dict[str, float]:
        """Seconds per model of the last dbt command (its run_results.json): the profile."""
        path = self.work / f"target-{self.target}" / "run_results.json"
        results = json.loads(path.read_text())["results"]
        return {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in results}

    def raw_counts(self) -> dict[str, int]:
        import subprocess

        result = subprocess.run(
            [sys.executable, "-c", self.counts_script, *self.counts_args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(result.stdout)


def duckdb_warehouse(work: Path) -> BenchTarget:
    db = work / "bench.duckdb"
    env = bench_env(FXA_DUCKDB_PATH=str(db))
    return BenchTarget(
        target="duckdb",
        env=env,
        work=work,
        fresh=lambda: remove_duckdb(db),
        read_floor=lambda files: duckdb_read_floor(work / "floor.duckdb", files),
        copy_floor=lambda: run_measured([sys.executable, "-c", DUCKDB_COPY_FLOOR, str(db)], env),
        counts_script=DUCKDB_COUNTS,
        counts_args=[str(db)],
    )


def postgres_warehouse(work: Path) -> BenchTarget:
    env = bench_env()

    def fresh() -> None:
        import psycopg

        with psycopg.connect(autocommit=True) as conn:
            for schema in ("analytics", "staging", "raw", "bench_floor"):
                conn.execute(f'drop schema if exists "{schema}" cascade')

    def read_floor(files: Sequence[Path]) -> Measurement:
        listing = "\n".join(map(str, files))
        return run_measured([sys.executable, "-c", POSTGRES_READ_FLOOR, listing], env)

    return BenchTarget(
        target="postgres",
        env=env,
        work=work,
        fresh=fresh,
        read_floor=read_floor,
        copy_floor=lambda: run_measured([sys.executable, "-c", POSTGRES_COPY_FLOOR], env),
        counts_script=POSTGRES_COUNTS,
    )


@dataclass
class Logs:
    history: list[Path]  # DAYS day folders' files plus the legacy exports
    last_day: list[Path]  # the last history day's files
    extra_day: list[Path]  # the day after the history
    history_lines: int
    extra_lines: int
    history_bytes: int
    generation: str


def prepare_logs(work: Path, days: int, flows: int, seed: int, gzip: bool = False) -> Logs:
    folder = work / f"logs-{days + 1}d-{flows}f-s{seed}{'-gz' if gzip else ''}"
    generation = generate_logs(folder, days + 1, flows, seed, gzip)
    day_folders = sorted(p for p in folder.iterdir() if p.is_dir() and p.name[:1].isdigit())
    extra = log_files(day_folders[-1])
    extra_set = set(extra)
    history = [p for p in log_files(folder) if p not in extra_set]
    return Logs(
        history=history,
        last_day=log_files(day_folders[-2]),
        extra_day=extra,
        history_lines=count_lines(history),
        extra_lines=count_lines(extra),
        history_bytes=sum(p.stat().st_size for p in history),
        generation=generation,
    )


def say(text: str) -> None:
    print(text, flush=True)


def bench_target(wh: BenchTarget, logs: Logs, repeat: int) -> dict[str, object]:
    runs: dict[str, list[Measurement]] = {
        k: []
        for k in (
            "load",
            "load_floor",
            "full_build",
            "empty_build",
            "copy_floor",
            "inc_load_after_1",
            "inc_build_after_1",
            "inc_load_after_n",
            "inc_build_after_n",
        )
    }
    targets = TARGETS[wh.target]
    counts: dict[str, int] = {}
    profile: dict[str, dict[str, float]] = {}  # seconds per model, last run
    for run in range(repeat):
        say(f"[{wh.target}] run {run + 1}/{repeat}: incremental day after 1 day of history")
        wh.fresh()
        wh.load(logs.last_day)
        # Not measured: the first dbt call of a run parses the project in full, which cron's
        # runs (target/ kept between them) do not; every later call reads the saved parse.
        wh.build(full_refresh=True)
        runs["inc_load_after_1"].append(wh.load(logs.extra_day))
        runs["inc_build_after_1"].append(wh.build())
        profile["incremental_after_1_day"] = wh.model_seconds()
        # dbt's fixed cost: every model built with no rows (`--empty`), the parse warm
        runs["empty_build"].append(wh.build(full_refresh=True, empty=True))

        say(f"[{wh.target}] run {run + 1}/{repeat}: load floor, load, full build, copy floor")
        runs["load_floor"].append(wh.read_floor(logs.history))
        wh.fresh()
        runs["load"].append(wh.load(logs.history))
        counts = wh.raw_counts()
        runs["full_build"].append(wh.build(full_refresh=True))
        profile["full_build"] = wh.model_seconds()
        runs["copy_floor"].append(wh.copy_floor())

        say(f"[{wh.target}] run {run + 1}/{repeat}: incremental day after the whole history")
        runs["inc_load_after_n"].append(wh.load(logs.extra_day))
        runs["inc_build_after_n"].append(wh.build())
        profile["incremental_after_n_days"] = wh.model_seconds()
        say(
            f"   load {runs['load'][-1].wall_s:.1f} s (floor {runs['load_floor'][-1].wall_s:.1f})"
            f", build {runs['full_build'][-1].wall_s:.1f} s (floor "
            f"{runs['copy_floor'][-1].wall_s:.1f}), extra day after 1: "
            f"{runs['inc_load_after_1'][-1].wall_s + runs['inc_build_after_1'][-1].wall_s:.1f}"
            f" s, after all: "
            f"{runs['inc_load_after_n'][-1].wall_s + runs['inc_build_after_n'][-1].wall_s:.1f} s"
            f"; load average {os.getloadavg()[0]:.1f}"
        )
    med = {k: median_of(v) for k, v in runs.items()}
    events = sum(counts.values())
    inc_1 = [
        a.wall_s + b.wall_s
        for a, b in zip(runs["inc_load_after_1"], runs["inc_build_after_1"], strict=True)
    ]
    inc_n = [
        a.wall_s + b.wall_s
        for a, b in zip(runs["inc_load_after_n"], runs["inc_build_after_n"], strict=True)
    ]
    inc_1_median = sorted(inc_1)[len(inc_1) // 2]
    inc_n_median = sorted(inc_n)[len(inc_n) // 2]
    loader_rss = max(
        m.peak_rss_mib for k in ("load", "inc_load_after_1", "inc_load_after_n") for m in runs[k]
    )
    dbt_rss = max(
        m.peak_rss_mib
        for k in ("full_build", "empty_build", "inc_build_after_1", "inc_build_after_n")
        for m in runs[k]
    )
    load_ratio = med["load"]["wall_s"] / med["load_floor"]["wall_s"]
    build_ratio = med["full_build"]["wall_s"] / med["copy_floor"]["wall_s"]
    build_net = med["full_build"]["wall_s"] - med["empty_build"]["wall_s"]
    inc_ratio = inc_n_median / inc_1_median
    return {
        "raw_rows": counts,
        "load": {
            "lines": logs.history_lines,
            "loader": med["load"],
            "floor": med["load_floor"],
            "loader_lines_per_s": logs.history_lines / med["load"]["wall_s"],
            "floor_lines_per_s": logs.history_lines / med["load_floor"]["wall_s"],
            "ratio": load_ratio,
            "cpu_ratio": med["load"]["cpu_s"] / med["load_floor"]["cpu_s"],
            "target": targets["load"],
            "met": load_ratio <= targets["load"],
        },
        "full_build": {
            "events": events,
            "dbt": med["full_build"],
            "floor": med["copy_floor"],
            "dbt_empty_build": med["empty_build"],
            "events_per_s": events / med["full_build"]["wall_s"],
            "floor_events_per_s": events / med["copy_floor"]["wall_s"],
            "ratio": build_ratio,
            "ratio_without_dbt_fixed_cost": build_net / med["copy_floor"]["wall_s"],
            "target": targets["full_build"],
            "met": build_ratio <= targets["full_build"],
        },
        "incremental": {
            "extra_day_lines": logs.extra_lines,
            "history_days_short": 1,
            "after_1_day": {
                "load": med["inc_load_after_1"],
                "build": med["inc_build_after_1"],
                "wall_s": inc_1_median,
            },
            "after_n_days": {
                "load": med["inc_load_after_n"],
                "build": med["inc_build_after_n"],
                "wall_s": inc_n_median,
            },
            "ratio": inc_ratio,
            "build_ratio": med["inc_build_after_n"]["wall_s"] / med["inc_build_after_1"]["wall_s"],
            "target": targets["incremental"],
            "met": inc_ratio <= targets["incremental"],
        },
        "peak_rss_mib": {
            "loader": loader_rss,
            "dbt": dbt_rss,
            "target": targets["peak_rss_mib"],
            "met": max(loader_rss, dbt_rss) <= targets["peak_rss_mib"],
        },
        "model_seconds_last_run": profile,
        "runs": {k: as_dicts(v) for k, v in runs.items()},
    }


def model_lines(profile: dict[str, dict[str, float]], width: int = 96) -> list[str]:
    """Every model's seconds in the full build and in the incremental day after all days (the
    last run of each), slowest full build first, wrapped: where the build time goes, new
    models included."""
    full, inc = profile.get("full_build", {}), profile.get("incremental_after_n_days", {})
    entries = [
        f"{model} {full[model]:.1f}/{inc[model]:.1f}"
        if model in inc
        else f"{model} {full[model]:.1f}"
        for model in sorted(full, key=lambda m: (-full[m], m))
    ]
    lines = ["model seconds (full build / incremental day after all days):", ""]
    for entry in entries:
        if lines[-1] and len(lines[-1]) + len(entry) + 2 > width:
            lines.append("")
        lines[-1] += ", " + entry if lines[-1] else "  " + entry
    return lines


def table(name: str, size: str, r: dict[str, object]) -> str:
    load, build, inc, rss = (r[k] for k in ("load", "full_build", "incremental", "peak_rss_mib"))
    assert isinstance(load, dict) and isinstance(build, dict)
    assert isinstance(inc, dict) and isinstance(rss, dict)

    def ok(met: object) -> str:
        return "met" if met else "MISSED"

    def load_avg(first: dict[str, float], last: dict[str, float]) -> str:
        """The 1-minute load average when `first` started and when `last` ended."""
        return f"{first['load_average_start']:.1f} -> {last['load_average_end']:.1f}"

    after_n = inc["after_n_days"]
    rows = [
        ("stage", "pipeline", "floor", "ratio", "target", "load avg"),
        (
            f"load ({load['lines']:,} lines)",
            f"{load['loader']['wall_s']:.1f} s {load['loader_lines_per_s']:,.0f}/s"
            f" cpu {load['loader']['cpu_s']:.1f}",
            f"{load['floor']['wall_s']:.1f} s {load['floor_lines_per_s']:,.0f}/s"
            f" cpu {load['floor']['cpu_s']:.1f}",
            f"{load['ratio']:.2f}",
            f"<= {load['target']} {ok(load['met'])}",
            load_avg(load["loader"], load["loader"]),
        ),
        (
            f"full build ({build['events']:,} events)",
            f"{build['dbt']['wall_s']:.1f} s {build['events_per_s']:,.0f}/s"
            f" cpu {build['dbt']['cpu_s']:.1f}",
            f"{build['floor']['wall_s']:.1f} s {build['floor_events_per_s']:,.0f}/s"
            f" cpu {build['floor']['cpu_s']:.1f}",
            f"{build['ratio']:.2f}",
            f"<= {build['target']} {ok(build['met'])}",
            load_avg(build["dbt"], build["dbt"]),
        ),
        (
            "  dbt fixed cost (build --empty)",
            f"{build['dbt_empty_build']['wall_s']:.1f} s",
            "",
            f"{build['ratio_without_dbt_fixed_cost']:.2f}",
            "(ratio net of it)",
            load_avg(build["dbt_empty_build"], build["dbt_empty_build"]),
        ),
        (
            f"incremental day ({inc['extra_day_lines']:,} lines): load + build",
            f"after all days {inc['after_n_days']['wall_s']:.1f} s"
            f" ({inc['after_n_days']['load']['wall_s']:.1f} + "
            f"{inc['after_n_days']['build']['wall_s']:.1f})",
            f"after 1 day {inc['after_1_day']['wall_s']:.1f} s"
            f" ({inc['after_1_day']['load']['wall_s']:.1f} + "
            f"{inc['after_1_day']['build']['wall_s']:.1f})",
            f"{inc['ratio']:.2f}",
            f"<= {inc['target']} {ok(inc['met'])}",
            load_avg(after_n["load"], after_n["build"]),
        ),
        (
            "peak RSS",
            f"loader {rss['loader']:,.0f} MiB",
            f"dbt {rss['dbt']:,.0f} MiB",
            "",
            f"<= {rss['target']:,.0f} MiB {ok(rss['met'])}",
            "",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{name}: {size}"]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    profile = r.get("model_seconds_last_run")
    if isinstance(profile, dict):
        lines += model_lines(profile)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--flows-per-day", type=int, default=300_000, help="default 300000")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-days", type=int, default=7, help="Postgres: days of history")
    parser.add_argument("--pg-flows-per-day", type=int, default=5_000, help="Postgres size")
    parser.add_argument("--no-postgres", action="store_true", help="skip Postgres")
    parser.add_argument("--no-duckdb", action="store_true", help="skip DuckDB (Postgres only)")
    parser.add_argument(
        "--gzip",
        action="store_true",
        help="gzipped logs (the default size is ~2 GiB of logs a day uncompressed, ~63 GiB a "
        "month; loader and floor both read the .gz files)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny size, one repeat (smoke)")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "scratch")
    parser.add_argument("--out", type=Path, help="JSON results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.days, args.flows_per_day, args.repeat = 2, 200, 1
        args.pg_days, args.pg_flows_per_day = 2, 100
    if args.days < 1 or args.flows_per_day < 1 or args.repeat < 1:
        parser.error("--days, --flows-per-day and --repeat must be at least 1")
    out = args.out or (
        args.work / "quick.json"
        if args.quick
        else ROOT
        / "benchmarks"
        / "scratch"
        / "results"
        / f"{dt.datetime.now(dt.UTC):%Y-%m-%d}.json"
    )
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "repeat": args.repeat,
        "targets": TARGETS,
    }
    printed = []
    plans = [] if args.no_duckdb else [("duckdb", args.days, args.flows_per_day, duckdb_warehouse)]
    if os.environ.get("PGHOST") and not args.no_postgres:
        plans.append(("postgres", args.pg_days, args.pg_flows_per_day, postgres_warehouse))
    for target, days, flows, make in plans:
        say(f"[{target}] logs: {days} + 1 days x {flows:,} flows/day (seed {args.seed})")
        logs = prepare_logs(args.work, days, flows, args.seed, args.gzip)
        say(f"[{target}] {logs.generation}; history {logs.history_lines:,} lines")
        work = args.work / f"run-{target}"
        work.mkdir(parents=True, exist_ok=True)
        load_before = os.getloadavg()
        r = bench_target(make(work), logs, args.repeat)
        size = {
            "days": days,
            "flows_per_day": flows,
            "history_lines": logs.history_lines,
            "history_mib": round(logs.history_bytes / 2**20, 1),
            "extra_day_lines": logs.extra_lines,
            "generation": logs.generation,
            "gzip": args.gzip,
        }
        load_avg = {"before": list(load_before), "after": list(os.getloadavg())}
        results[target] = {"size": size, "load_average": load_avg, **r}
        printed.append(
            table(
                target,
                f"{days} days x {flows:,} flows/day, medians of {args.repeat}, load average "
                f"{load_before[0]:.1f} before / {load_avg['after'][0]:.1f} after",
                r,
            )
        )
    results["finished_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_end"] = list(os.getloadavg())  # type: ignore[index]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print("\n\n".join(printed))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
