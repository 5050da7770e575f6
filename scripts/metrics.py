"""Query a KPI of the semantic layer, sliced by any dimension: `make metrics M=... BY=...`.

    python scripts/metrics.py --metrics sign_up_completion_rate \
        --by metric_time__week,flow__entrypoint [--start 2026-11-01] [--end 2026-11-30] \
        [--target duckdb|postgres|redshift] [--sql]
    python scripts/metrics.py --list            # every metric, and the dimensions of some

It parses the project for the target first (the semantic manifest names the target's
database), checks the names (an unknown metric or dimension is answered with those that
exist), bounds the dates (default: the 28 days up to the latest day with data) and runs
MetricFlow's `mf query`, or prints the SQL it would run (`--sql`, to paste into Redash).
The metrics and their definitions: docs/metrics.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # MetricFlow is imported after the parse (it is slow to import)
    from fxa_pipeline.semantic import MetricSql

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SEMANTIC_MANIFEST = PROJECT_ROOT / "target" / "semantic_manifest.json"
DEFAULT_DAYS = 28
# The tables whose latest day bounds a query by default: flows and activity.
LATEST_DAY_SQL = (
    "select max(day) from ("
    " select max(day) as day from analytics.flow_funnel"
    " union all select max(day) as day from analytics.users_last_seen"
    ") as latest"
)


class UsageError(Exception):
    """A wrong metric, dimension or date: one message, exit status 2."""


def parse_project(target: str) -> None:
    """`dbt parse` for `target`, writing target/semantic_manifest.json."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        ["parse", "--target", target, "--project-dir", str(PROJECT_ROOT), "--quiet"]
    )
    if not result.success:
        raise SystemExit(f"error: dbt parse --target {target} failed: {result.exception}")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def check_names(metric_sql: MetricSql, metrics: Sequence[str], group_by: Sequence[str]) -> None:
    """Raise UsageError naming what exists when a metric or a dimension is unknown."""
    known = metric_sql.metric_names
    unknown = [name for name in metrics if name not in known]
    if unknown:
        raise UsageError(
            f"unknown metric(s): {', '.join(unknown)}. The metrics: {', '.join(known)}"
        )
    try:
        metric_sql.sql(metrics, group_by)
    except Exception as error:  # MetricFlow's resolution errors have no common base class
        dimensions = metric_sql.dimension_names(metrics)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(
            f"cannot group {', '.join(metrics)} by {', '.join(group_by)} ({first}). "
            f"They can be grouped by: metric_time__day|week|month|quarter|year, "
            f"{', '.join(dimensions)}"
        ) from None


def latest_day(target: str) -> datetime.date | None:
    """The latest day with flows or activity in the target's marts (None: not built yet)."""
    from fxa_pipeline.sinks import open_sink
    from fxa_pipeline.targets import resolve_target

    sink = open_sink(resolve_target(target), read_only=True)
    try:
        (day,) = sink.query(LATEST_DAY_SQL)[0]
    except Exception:  # tables not built yet: let mf say what is missing
        return None
    finally:
        sink.close()
    return day if isinstance(day, datetime.date) else None


def date_bounds(
    start: datetime.date | None, end: datetime.date | None, latest: datetime.date | None
) -> tuple[datetime.date | None, datetime.date | None]:
    """[start, end]: given ones win; a missing end is the latest day with data, a missing
    start DEFAULT_DAYS - 1 days before the end (an unbounded cumulative query runs past the
    data and takes far longer)."""
    end = end or latest
    if start is None and end is not None:
        start = end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if start is not None and end is not None and start > end:
        raise UsageError(f"--start {start} is after --end {end}")
    return start, end


def mf_command(
    metrics: Sequence[str],
    group_by: Sequence[str],
    start: datetime.date | None,
    end: datetime.date | None,
    sql_only: bool,
) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("mf")),
        "query",
        "--metrics",
        ",".join(metrics),
        "--group-by",
        ",".join(group_by),
        "--order",
        ",".join(group_by),
    ]
    if start is not None:
        command += ["--start-time", start.isoformat()]
    if end is not None:
        command += ["--end-time", end.isoformat()]
    if sql_only:
        command.append("--explain")
    return command


def list_metrics(metric_sql: MetricSql) -> str:
    lines = ["metrics (docs/metrics.md):"]
    for metric in sorted(metric_sql.semantic_manifest.metrics, key=lambda m: m.name):
        lines.append(f"  {metric.name:34} {metric.description or ''}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", "-m", default="", help="comma-separated metric names")
    parser.add_argument("--by", default="metric_time__day", help="comma-separated group-by names")
    parser.add_argument("--start", type=datetime.date.fromisoformat, help="first day (UTC)")
    parser.add_argument("--end", type=datetime.date.fromisoformat, help="last day (UTC)")
    parser.add_argument("--target", default=os.environ.get("FXA_TARGET", "duckdb"))
    parser.add_argument("--sql", action="store_true", help="print the SQL instead of running it")
    parser.add_argument("--list", action="store_true", help="list the metrics")
    args = parser.parse_args(argv)

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_ROOT))
    os.environ["FXA_TARGET"] = args.target  # the profile's target, for dbt and mf alike
    parse_project(args.target)

    from fxa_pipeline.semantic import MetricSql, read_semantic_manifest

    metric_sql = MetricSql(read_semantic_manifest(SEMANTIC_MANIFEST), "duckdb")
    metrics, group_by = _names(args.metrics), _names(args.by)
    if args.list or not metrics:
        print(list_metrics(metric_sql))
        return 0 if args.list else 2
    try:
        check_names(metric_sql, metrics, group_by)
        start, end = date_bounds(args.start, args.end, latest_day(args.target))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{', '.join(metrics)} by {', '.join(group_by)}, days {start} to {end}", flush=True)
    return subprocess.call(mf_command(metrics, group_by, start, end, args.sql), cwd=PROJECT_ROOT)


if __name__ == "__main__":
    sys.exit(main())
