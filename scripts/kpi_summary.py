"""Print a short summary of the KPI tables of a DuckDB warehouse (the end of `make demo`).

Reads `analytics.kpi_*` (docs/data-contract.md#kpi-tables) from the DuckDB file of the `duckdb`
target (`FXA_DUCKDB_PATH`, default `fxa_metrics.duckdb`), read-only, through the reader the KPI
report uses too (`fxa_pipeline/kpi_tables.py`). A table that is not built yet is reported as such
instead of failing, and a column the models gained later (`service_name`, `full_window`) is shown
only when the warehouse has it, so an older warehouse still prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
from fxa_pipeline.kpi_tables import KpiReader, KpiReaderError, open_kpi_reader
from fxa_pipeline.targets import DuckDBTarget


@dataclass(frozen=True)
class Section:
    title: str
    table: str
    columns: tuple[str, ...]  # select-list expressions
    order: str
    group_by: str = ""  # aggregate the shown days into one row per these columns
    total_row: bool = False  # add an "all" row summing the grouped rows
    latest_day_only: bool = False
    optional: frozenset[str] = frozenset()  # plain columns shown only when the table has them
    day_column: str = "day"
    earliest: bool = False  # the first days of the table instead of the last

    def days_filter(self, qualified_table: str, shown: int) -> str:
        if self.earliest:
            first = f"(select min({self.day_column}) from {qualified_table})"
            return f"{self.day_column} < {first} + {shown}"
        return (
            f"{self.day_column} > (select max({self.day_column}) from {qualified_table}) - {shown}"
        )

    def select_list(self, table_columns: set[str]) -> str:
        return ", ".join(c for c in self.columns if c not in self.optional or c in table_columns)


# The funnel steps in the order a flow walks them (kpi_flow_funnel_daily's step columns).
FUNNEL_STEPS = (
    "view",
    "engage",
    "submit",
    "attempt",
    "account_created",
    "account_login",
    "email_sent",
    "email_verified",
)

SECTIONS = (
    Section(
        "Sign-up and sign-in funnel: flows that reached each step, all shown days",
        "kpi_flow_funnel_daily",
        (
            "flow_kind",
            "sum(flows_begun) as begun",
            *(f"sum(flows_{step}) as {step}" for step in FUNNEL_STEPS),
            "sum(flows_completed) as completed",
        ),
        "flow_kind",
        group_by="flow_kind",
        total_row=True,
    ),
    Section(
        "Device connection time on the latest day (seconds from flow.begin to flow.complete)",
        "kpi_device_connection_time_daily",
        (
            "day",
            "service",
            "service_name",
            "completed_flows",
            "round(p50_seconds, 1) as p50_seconds",
            "round(p90_seconds, 1) as p90_seconds",
        ),
        "completed_flows desc, service",
        latest_day_only=True,
        optional=frozenset({"service_name"}),
    ),
    Section(
        "Engagement: daily / monthly active users",
        "kpi_engagement_ratio_daily",
        (
            "day",
            "daily_active_users",
            "weekly_active_users",
            "monthly_active_users",
            "round(engagement_ratio, 3) as engagement_ratio",
            "full_window",
        ),
        "day",
        optional=frozenset({"weekly_active_users", "full_window"}),
    ),
    Section(
        "Multi-device usage",
        "kpi_multi_device_usage_daily",
        (
            "day",
            "device_users",
            "multi_device_users",
            "round(multi_device_share, 3) as multi_device_share",
            "full_window",
        ),
        "day",
        optional=frozenset({"full_window"}),
    ),
    Section(
        "Sign-up retention of the first cohorts: % of new accounts active again in weeks 1-3 "
        "after sign-up (blank: week not over)",
        "kpi_retention_daily",
        (
            "cohort_day",
            "sum(new_accounts) as new_accounts",
            *(
                f"round(100.0 * sum(retained_week_{week}) / sum(new_accounts), 1) as week_{week}"
                for week in (1, 2, 3)
            ),
        ),
        "cohort_day",
        group_by="cohort_day",
        day_column="cohort_day",
        earliest=True,
    ),
)
# Cohorts the retention section shows: the first ones, whose weeks are most likely over.
RETENTION_COHORTS = 3

COUNTED_TABLES = (
    "flow_events",
    "flow_metadata",
    "activity_events",
    "daily_activity_per_device",
    "daily_multi_device_users",
)


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(value.rjust(width) for value, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join("  " + line for line in lines)


def summary(source: KpiReader | duckdb.DuckDBPyConnection, schema: str, days: int) -> str:
    """The summary of the KPI tables in `schema` (a DuckDB connection is read as it is)."""
    reader = source if isinstance(source, KpiReader) else KpiReader(source, schema, (schema,))
    tables = reader.tables(schema)
    out = []
    counts = [
        (table, reader.rows(f"select count(*) from {schema}.{table}")[0][0])
        for table in COUNTED_TABLES
        if table in tables
    ]
    built = ", ".join(f"{t} {n:,}" for t, n in counts) or "none built yet"
    out.append(f"Spec tables (rows): {built}")
    for section in SECTIONS:
        out.append(f"\n{section.title} [{schema}.{section.table}]")
        columns = reader.columns(schema, section.table)
        if columns is None:
            out.append("  (not built yet)")
            continue
        shown = 1 if section.latest_day_only else int(days)
        if section.earliest:
            shown = RETENTION_COHORTS
        qualified = f"{schema}.{section.table}"
        header, rows = reader.query(
            f"select {section.select_list(columns)} "
            f"from {qualified} where {section.days_filter(qualified, shown)} "
            + (f"group by {section.group_by} " if section.group_by else "")
            + f"order by {section.order}"
        )
        if section.total_row and rows:
            # the whole funnel: flows of every kind (a flow's kind is known only once it
            # reaches account creation or login, so early drop-off is all `unknown`)
            rows.append(("all", *(sum(row[i] or 0 for row in rows) for i in range(1, len(header)))))
        out.append(format_table(header, rows))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=os.environ.get("FXA_DUCKDB_PATH", "fxa_metrics.duckdb")
    )
    parser.add_argument("--schema", default="analytics")
    parser.add_argument("--days", type=int, default=7, help="show the last N days")
    args = parser.parse_args(argv)
    if not os.path.exists(args.database):
        print(f"{args.database} does not exist: run `make demo` first", file=sys.stderr)
        return 1
    try:
        reader = open_kpi_reader(DuckDBTarget(args.database), schemas=(args.schema,))
    except KpiReaderError as error:
        print(f"kpi_summary: {error}", file=sys.stderr)
        return 1
    try:
        print(summary(reader, args.schema, args.days))
    finally:
        reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
