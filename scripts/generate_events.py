"""Generate sample FxA server logs (every input format) for demos, tests and benchmarks.

    python scripts/generate_events.py --out data/sample --days 7 --flows-per-day 2000

The layout of the output folder is described in `fxa_pipeline/generator/__init__.py` and
printed at the end of a run. The same arguments always give byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from fxa_pipeline import generator
from fxa_pipeline.generator.run import MANIFEST_NAME, Options

HMAC_KEY_VARIABLE = "FXA_METRICS_UID_HMAC_KEY"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--days", type=int, default=7, help="days of JSON logs (default 7)")
    p.add_argument(
        "--start-date",
        type=dt.date.fromisoformat,
        default=dt.date(2017, 3, 1),
        help="first day of JSON logs, YYYY-MM-DD (default 2017-03-01)",
    )
    p.add_argument(
        "--flows-per-day", type=int, default=2000, help="flows begun per day (default 2000)"
    )
    p.add_argument("--users", type=int, help="existing accounts (default 2 x flows per day)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--gzip", action="store_true", help="gzip the files (.gz)")
    p.add_argument(
        "--legacy-days",
        type=int,
        default=1,
        help="days of legacy CSV exports before the start date (default 1; needs "
        f"{HMAC_KEY_VARIABLE})",
    )
    p.add_argument(
        "--no-noise",
        action="store_true",
        help="no malformed, duplicate or blank lines (request-log lines stay)",
    )
    args = p.parse_args(argv)
    for name in ("days", "flows_per_day"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.legacy_days < 0 or (args.users is not None and args.users < 1):
        p.error("--legacy-days must be >= 0 and --users >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    key = os.environ.get(HMAC_KEY_VARIABLE) or None
    if args.legacy_days > 0 and key is None:
        print(
            f"error: the legacy CSV exports hold HMACed uids, and {HMAC_KEY_VARIABLE} is not "
            f"set. Export {HMAC_KEY_VARIABLE}=<the key the loader uses>, or pass "
            "--legacy-days 0.",
            file=sys.stderr,
        )
        return 2
    opts = Options(
        out=args.out,
        days=args.days,
        start_date=args.start_date,
        flows_per_day=args.flows_per_day,
        users=args.users if args.users is not None else 2 * args.flows_per_day,
        seed=args.seed,
        compress=args.gzip,
        legacy_days=args.legacy_days,
        noise=not args.no_noise,
        hmac_key=key,
    )
    started = time.perf_counter()
    stats = generator.generate(opts)
    elapsed = time.perf_counter() - started
    manifest = opts.out / MANIFEST_NAME
    layout = "\n\n".join((generator.__doc__ or "").split("\n\n")[1:3])
    print(layout.replace("DIR", str(args.out)))
    print(
        f"{len(stats.files)} files, {stats.lines:,} lines ({stats.flows:,} flows, "
        f"{stats.sessions:,} activity sessions) in {elapsed:.1f} s "
        f"= {stats.lines / max(elapsed, 1e-9):,.0f} lines/s; manifest: {manifest}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
