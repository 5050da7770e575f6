"""The daily production run, for cron: load new log files, check freshness, build, summarise.

    python scripts/daily_run.py [--target NAME] LOGS_FOLDER      (or: make daily LOGS=...)

Steps, stopping at the first that fails:
1. `load`      scripts/load_events.py --target NAME LOGS_FOLDER (files already in the ledger
               are skipped, so rerunning the same folder only loads what is new);
2. `freshness` dbt source freshness (the raw tables' `loaded_at` against the sources' limits);
3. `build`     dbt build --exclude-resource-type unit_test (models, snapshots, seeds and data
               tests; unit tests are CI's job and need no production data).

Every step's own output goes to a log file (default logs/daily/<UTC time>.log). Standard
output gets exactly one summary line (what cron mails), then, when a step failed, the last
lines of that step's output. The exit status is 0 only when every step succeeded; freshness
or test warnings are reported in the line but do not fail the run. See docs/operations.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TAIL_LINES = 20

# A runner executes one step: (argv, log file) -> exit status.
Runner = Callable[[Sequence[str], Path], int]


@dataclass(frozen=True)
class LedgerTotals:
    files: int = 0
    lines: int = 0
    loaded: int = 0
    rejected: int = 0
    ignored: int = 0

    def __sub__(self, other: LedgerTotals) -> LedgerTotals:
        return LedgerTotals(
            self.files - other.files,
            self.lines - other.lines,
            self.loaded - other.loaded,
            self.rejected - other.rejected,
            self.ignored - other.ignored,
        )


LedgerReader = Callable[[str], LedgerTotals]


@dataclass
class StepResult:
    name: str
    status: int
    seconds: float


@dataclass
class RunReport:
    target: str
    day: dt.date
    files_found: int
    steps: list[StepResult] = field(default_factory=list)
    new: LedgerTotals | None = None
    freshness: Counter[str] = field(default_factory=Counter)
    build: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def failed_step(self) -> StepResult | None:
        return next((step for step in self.steps if step.status != 0), None)


def human(number: int) -> str:
    """1234 -> 1.2k, 1_200_000 -> 1.2M: short counts for a one-line summary."""
    for limit, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(number) >= limit:
            text = f"{number / limit:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return str(number)


def duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _counts(counter: Counter[str], order: Sequence[str]) -> str:
    shown = [f"{counter[key]} {key}" for key in order if counter[key]]
    shown += [f"{n} {key}" for key, n in sorted(counter.items()) if key not in order and n]
    return ", ".join(shown) if shown else "none"


def summary_line(report: RunReport) -> str:
    failed = report.failed_step
    state = "OK" if failed is None else f"FAILED at {failed.name} (exit {failed.status})"
    parts = [f"fxa-metrics daily {report.day.isoformat()} [{report.target}]: {state}"]
    if report.new is None:
        parts.append(f"files {report.files_found} (new ?)")
        parts.append("loaded ?")
    else:
        new = report.new
        parts.append(f"files {report.files_found} ({new.files} new)")
        parts.append(
            f"loaded {human(new.loaded)} rejected {human(new.rejected)} "
            f"ignored {human(new.ignored)}"
        )
    ran = {step.name for step in report.steps}
    if "freshness" in ran:
        parts.append("freshness " + _counts(report.freshness, ("pass", "warn", "error")))
    if "build" in ran:
        parts.append("build " + _counts(report.build, ("ok", "warn", "error", "skipped")))
    parts.append(duration(report.seconds))
    return " | ".join(parts)


# ---------------------------------------------------------------------------------------------
# Reading what dbt and the loader left behind


def freshness_counts(sources_json: Path) -> Counter[str]:
    """Counts of source freshness results by status (pass, warn, error, runtime error)."""
    if not sources_json.exists():
        return Counter()
    results = json.loads(sources_json.read_text()).get("results", [])
    return Counter(str(result.get("status")) for result in results)


_BUILD_STATUS = {"success": "ok", "pass": "ok", "fail": "error", "runtime error": "error"}


def build_counts(run_results_json: Path) -> Counter[str]:
    """Counts of dbt build results: ok (success/pass), warn, error (error/fail), skipped."""
    if not run_results_json.exists():
        return Counter()
    results = json.loads(run_results_json.read_text()).get("results", [])
    return Counter(_BUILD_STATUS.get(str(r.get("status")), str(r.get("status"))) for r in results)


def count_files(folder: Path) -> int:
    """Regular files under the folder, recursively, as the loader walks it."""
    if folder.is_file():
        return 1
    return sum(1 for path in folder.rglob("*") if path.is_file())


LEDGER_SQL = (
    "select count(*), coalesce(sum(lines), 0), coalesce(sum(loaded), 0), "
    'coalesce(sum(rejected), 0), coalesce(sum(ignored), 0) from "raw".load_ledger'
)


def _connect(target: str, env: Mapping[str, str]) -> Any:
    """A DB-API connection to the target's warehouse, with the settings profiles.yml uses."""
    if target == "duckdb":
        import duckdb

        path = env.get("FXA_DUCKDB_PATH", str(PROJECT_ROOT / "fxa_metrics.duckdb"))
        return duckdb.connect(path, read_only=True)
    if target == "postgres":
        import psycopg

        return psycopg.connect(
            host=env.get("PGHOST", "localhost"),
            port=int(env.get("PGPORT", "5432")),
            user=env.get("PGUSER", "postgres"),
            password=env.get("PGPASSWORD", ""),
            dbname=env.get("PGDATABASE", "fxa_metrics"),
        )
    if target == "redshift":
        from fxa_pipeline.redshift_copy import connect_redshift

        return connect_redshift(env)
    raise ValueError(f"unknown target {target!r}")


def read_ledger(target: str) -> LedgerTotals:
    """Totals of the load ledger; all zero when the ledger does not exist yet."""
    connection = _connect(target, os.environ)
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(LEDGER_SQL)
        except Exception as error:
            if "load_ledger" in str(error) or "does not exist" in str(error):
                return LedgerTotals()
            raise
        row = cursor.fetchone()
        return LedgerTotals(*(int(value) for value in row))
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# Running


def run_subprocess(argv: Sequence[str], log: Path) -> int:
    """Run one step with its output appended to the log file."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        return subprocess.run(
            list(argv), cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode


def _tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else name


def steps(target: str, logs: Path) -> list[tuple[str, list[str]]]:
    dbt = _tool("dbt")
    loader = str(PROJECT_ROOT / "scripts" / "load_events.py")
    return [
        ("load", [sys.executable, loader, "--target", target, str(logs)]),
        ("freshness", [dbt, "source", "freshness", "--target", target]),
        ("build", [dbt, "build", "--target", target, "--exclude-resource-type", "unit_test"]),
    ]


def tail(log: Path, lines: int = TAIL_LINES) -> list[str]:
    if not log.exists():
        return []
    return log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]


def run(
    target: str,
    logs: Path,
    log_file: Path,
    *,
    runner: Runner = run_subprocess,
    ledger: LedgerReader = read_ledger,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    target_dir: Path = PROJECT_ROOT / "target",
) -> RunReport:
    started = clock()
    report = RunReport(target=target, day=now().date(), files_found=count_files(logs))
    log_file.parent.mkdir(parents=True, exist_ok=True)

    def totals() -> LedgerTotals | None:
        try:
            return ledger(target)
        except Exception as error:  # the summary says "?"; the steps decide the exit status
            with log_file.open("a", encoding="utf-8") as out:
                out.write(f"\n(could not read the load ledger: {error})\n")
            return None

    before = totals()
    for name, argv in steps(target, logs):
        if name in {"freshness", "build"}:  # read only what this run's step wrote
            for stale in ("sources.json", "run_results.json"):
                (target_dir / stale).unlink(missing_ok=True)
        step_start = clock()
        status = runner(argv, log_file)
        report.steps.append(StepResult(name, status, clock() - step_start))
        if name == "load":
            after = totals()
            if before is not None and after is not None:
                report.new = after - before
        elif name == "freshness":
            report.freshness = freshness_counts(target_dir / "sources.json")
        elif name == "build":
            report.build = build_counts(target_dir / "run_results.json")
        if status != 0:
            break
    report.seconds = clock() - started
    return report


def main(argv: Sequence[str] | None = None, **hooks: Any) -> int:
    parser = argparse.ArgumentParser(
        description="Daily run: load new files, dbt source freshness, dbt build; one summary line."
    )
    parser.add_argument("logs", type=Path, help="folder (or file) of log files to load")
    parser.add_argument(
        "--target",
        default=os.environ.get("FXA_TARGET", "duckdb"),
        choices=["duckdb", "postgres", "redshift"],
        help="dbt target and loader target (default: $FXA_TARGET or duckdb)",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="where the steps' output goes (default: logs/daily/<UTC time>.log)",
    )
    args = parser.parse_args(argv)
    if not args.logs.exists():
        parser.error(f"{args.logs} does not exist")
    log_file = args.log_file or PROJECT_ROOT / "logs" / "daily" / (
        dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + ".log"
    )
    report = run(args.target, args.logs, log_file, **hooks)
    print(summary_line(report))
    failed = report.failed_step
    if failed is not None:
        print(f"--- last lines of {failed.name} (full output: {log_file}) ---")
        for line in tail(log_file):
            print(line)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
