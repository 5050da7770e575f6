"""Write the KPI report: one static, self-contained HTML file from the warehouse of a target.

Reads the KPI tables (`analytics.kpi_*`) and the load ledger of any target (DuckDB by default,
opened read-only; Postgres from the PG* variables; Redshift from the REDSHIFT_* variables),
renders its charts to inline SVG, and prints the file's path. A table or column the warehouse
does not have yet is reported in the page as "not built yet".
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from fxa_pipeline.kpi_tables import KpiReaderError, open_kpi_reader
from fxa_pipeline.report import data, page
from fxa_pipeline.targets import TARGET_NAMES, default_target_name, resolve_target

DEFAULT_OUT = os.path.join("artifacts", "kpi-report.html")


def build(target_name: str) -> str:
    """The page's HTML for the warehouse of `target_name` (KpiReaderError if unreachable)."""
    wh = open_kpi_reader(resolve_target(target_name))
    try:
        report = page.Report(
            target=target_name,
            warehouse=wh.description,
            generated_at=datetime.now(UTC),
            funnel=data.read_funnel(wh),
            connection_times=data.read_connection_times(wh),
            engagement=data.read_window_kpi(wh, data.ENGAGEMENT),
            multi_device=data.read_window_kpi(wh, data.MULTI_DEVICE),
            active_users=data.read_active_users(wh),
            days_seen=data.read_days_seen(wh),
            retention=data.read_retention(wh),
            load_quality=data.read_load_quality(wh),
        )
    finally:
        wh.close()
    return page.render(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--target",
        default=default_target_name(),
        choices=TARGET_NAMES,
        help="warehouse to read (default: FXA_TARGET, else duckdb)",
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"HTML file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        html = build(args.target)
    except KpiReaderError as error:
        print(f"report: {error}", file=sys.stderr)
        return 1
    out_dir = os.path.dirname(args.out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    tmp = f"{args.out}.tmp"
    with open(tmp, "w", encoding="utf-8") as file:
        file.write(html)
    os.replace(tmp, args.out)  # a reader never sees half a page
    print(os.path.abspath(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
