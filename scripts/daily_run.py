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
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TAIL_LINES = 20

# A runner executes one step: (argv, log file) -> exit status.
Runner = Callable[[Sequence[str], Path], int]


@dataclass(frozen=True)
class LoadTotals:
    """The loader's closing `total:` line (scripts/fxa_pipeline/loader.py)."""

    files_loaded: int
    files_skipped: int
    files_failed: int
    lines: int
    loaded: int
    rejected: int
    ignored: int


# Counts with or without thousands separators (the loader writes them with).
_COUNT = r"(\d[\d,]*)"
TOTAL_LINE = re.compile(
    rf"^total: {_COUNT} files loaded, {_COUNT} skipped, {_COUNT} failed; {_COUNT} lines, "
    rf"{_COUNT} loaded, {_COUNT} rejected, {_COUNT} ignored$"
)


def parse_load_totals(output: str) -> LoadTotals | None:
    """The last `total:` line of the loader's output, or None when there is none."""
    totals = None
    for line in output.splitlines():
        match = TOTAL_LINE.match(line.strip())
        if match:
            totals = LoadTotals(*(int(group.replace(",", "")) for group in match.groups()))
    return totals


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
    load: LoadTotals | None = None
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
    if report.load is None:
        parts.append(f"files {report.files_found} (new ?)")
        parts.append("loaded ?")
    else:
        load = report.load
        failed = f", {load.files_failed} failed" if load.files_failed else ""
        parts.append(f"files {report.files_found} ({load.files_loaded} new{failed})")
        parts.append(
            f"loaded {human(load.loaded)} rejected {human(load.rejected)} "
            f"ignored {human(load.ignored)}"
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
    """Files under the folder, recursively, skipping hidden ones, as the loader walks it."""
    if folder.is_file():
        return 1
    return sum(
        1
        for path in folder.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts)
    )


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
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    target_dir: Path = PROJECT_ROOT / "target",
) -> RunReport:
    started = clock()
    report = RunReport(target=target, day=now().date(), files_found=count_files(logs))
    log_file.parent.mkdir(parents=True, exist_ok=True)

    for name, argv in steps(target, logs):
        if name in {"freshness", "build"}:  # read only what this run's step wrote
            for stale in ("sources.json", "run_results.json"):
                (target_dir / stale).unlink(missing_ok=True)
        step_start = clock()
        log_size = log_file.stat().st_size if log_file.exists() else 0
        status = runner(argv, log_file)
        report.steps.append(StepResult(name, status, clock() - step_start))
        if name == "load" and log_file.exists():
            with log_file.open("rb") as log:
                log.seek(log_size)
                report.load = parse_load_totals(log.read().decode("utf-8", errors="replace"))
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
