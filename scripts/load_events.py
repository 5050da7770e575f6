"""Load FxA server logs and legacy CSV exports into the warehouse's `raw` tables, or unload them.

    python scripts/load_events.py [--target NAME] [--force] [--new-uid-key] PATH...
    python scripts/load_events.py [--target NAME] --unload PATH...
    python scripts/load_events.py [--target NAME] --status [--limit N]

PATH is a file or a folder (recursed). docs/loader.md describes the formats, the ledger, the
retractions and the redaction of rejected lines.

Load: one transaction per file. A file already in the ledger is skipped (`--force` replaces its
rows), and so is a file removed with --unload (`--force` loads it again); an empty file (no line
but blank ones) is skipped and not recorded; a file none of whose lines is a log line of either
format (a binary file, a README) is refused whole.
Status: the files loaded (newest first) with their counts and rejected share, the files unloaded
and not loaded again, and the top rejection reasons with one redacted example each; read-only.
Unload: per file (a folder is recursed; a path that no longer exists is taken as the name it was
loaded under), one transaction records it in raw.unloaded_files (later loads skip it) and
removes its rows, rejected lines and ledger row, after recording the retractions of its events.

SIGINT (Ctrl-C) or SIGTERM: the file in progress is rolled back, no other is started, and one
line on stderr says which files this run committed (`interrupted (SIGINT): 3 files committed
(a, b, c); rolled back: d; not started: 2 files`).

Failures (docs/loader.md#failures): every error is one line on stderr. A file that fails on its
own is rolled back and the next starts clean; a run-wide failure (the disk is full, the
connection is lost) stops the run at once, naming the first error and what to do.

Exit status: 0 when every file loaded, was skipped or was unloaded; 1 when a file failed (nothing
of it was written; the error says why), was refused as not a log, or, with --unload, was not
loaded; 2 when a file holds uids and FXA_METRICS_UID_HMAC_KEY is unset, or the key is not the one
the warehouse's uids were HMACed with (raw.loader_settings keeps its fingerprint; nothing is
loaded; --new-uid-key records a new one); 3 when a run-wide failure stopped the run (files not
started), or the DuckDB checkpoint at the end failed; 130 after SIGINT, 143 after SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fxa_pipeline import failures, interrupts, reading, status
from fxa_pipeline.discovery import iter_files, iter_unload_names
from fxa_pipeline.loader import Loader
from fxa_pipeline.progress import RunSummary, interruption_message
from fxa_pipeline.sinks import Sink, SinkError, open_sink
from fxa_pipeline.targets import (
    TARGET_NAMES,
    DuckDBTarget,
    Target,
    default_target_name,
    resolve_target,
)
from fxa_pipeline.uid_hmac import KEY_VARIABLE, HmacKey


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Load FxA server logs (mozlog JSON lines, text mode) and legacy CSV exports "
        "into the raw tables, one transaction per file, skipping files already loaded and "
        "empty files and refusing files that are not logs; or, with --unload, remove loaded "
        "files.",
        epilog="Targets read the same environment variables as profiles.yml. uids, and runs of "
        "32 hex characters in rejected lines, are HMACed with FXA_METRICS_UID_HMAC_KEY. Exit "
        "status: 0 ok; 1 a file failed, was refused or (--unload) was not loaded; 2 the key is "
        "missing or not the warehouse's; 3 a run-wide failure (disk full, connection lost) "
        "stopped the run; 130/143 stopped by SIGINT/SIGTERM (the file in progress rolled "
        "back). See docs/loader.md.",
    )
    parser.add_argument(
        "--target",
        choices=TARGET_NAMES,
        default=default_target_name(),
        help="where to load (default: $FXA_TARGET or duckdb)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--force",
        action="store_true",
        help="reload files already in the load ledger, replacing their rows (the keys of the "
        "rows replaced are recorded in the raw.retracted_* tables), and load files removed "
        "with --unload again",
    )
    mode.add_argument(
        "--status",
        action="store_true",
        help="show what the raw tables hold: the files loaded, newest first, with their line "
        "counts and rejected share, and the top rejection reasons with one example each "
        "(read-only; no PATH)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help=f"with --status: list the N newest files (default {status.DEFAULT_FILES}; 0: all)",
    )
    mode.add_argument(
        "--unload",
        action="store_true",
        help="remove the files' rows, rejected lines and ledger rows instead of loading them, "
        "recording the keys of the rows removed in the raw.retracted_* tables (a path that no "
        "longer exists names the file it was loaded from)",
    )
    parser.add_argument(
        "--new-uid-key",
        action="store_true",
        help="record the fingerprint of FXA_METRICS_UID_HMAC_KEY as the warehouse's uid key in "
        "place of the one recorded (a load with another key is refused otherwise); the uids "
        "loaded with the old key no longer match: see docs/operations.md#the-uid-hmac-key",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="file or folder")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.status and args.paths:
        parser.error("--status takes no PATH")
    if not args.status and not args.paths:
        parser.error("the following arguments are required: PATH")
    if args.limit is not None and not args.status:
        parser.error("--limit goes with --status")
    if args.new_uid_key and (args.status or args.unload):
        parser.error("--new-uid-key goes with a load")
    if args.new_uid_key and HmacKey.from_environment() is None:
        parser.error(f"--new-uid-key needs the new key in {KEY_VARIABLE}")
    if args.limit is not None and args.limit < 0:
        parser.error("--limit must be 0 (every file) or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.status:
        limit = status.DEFAULT_FILES if args.limit is None else args.limit
        return show_status(args.target, limit or None)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing and not args.unload:
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 1
    with interrupts.handling():
        try:
            return _run(args)
        except KeyboardInterrupt as error:  # a signal while connecting
            stop = interrupts.as_interruption(error) or interrupts.Interrupted(signal.SIGINT)
            count = sum(1 for _ in (iter_unload_names if args.unload else iter_files)(args.paths))
            verb = "unloaded" if args.unload else "committed"
            print(interruption_message(stop, [], count, verb), file=sys.stderr)
            return stop.exit_code


def show_status(target_name: str, limit: int | None) -> int:
    """Print what the raw tables of the target hold (read-only); 1 when it has none."""
    try:
        target = resolve_target(target_name)
        sink = open_sink(target, read_only=True)
    except (SinkError, NotImplementedError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    where = describe(target)
    try:
        found = status.read_status(sink.query, limit)
    except Exception as error:  # a database error: permissions, a lost connection
        print(f"error: cannot read the raw tables of {where}: {error}", file=sys.stderr)
        return 1
    finally:
        sink.close()
    if found is None:
        print(f"error: {status.no_raw_tables(where)}", file=sys.stderr)
        return 1
    sys.stdout.write(status.format_status(found, where))
    return 0


def describe(target: Target) -> str:
    """`the duckdb target (fxa_metrics.duckdb)`, `the postgres target (host:5432/db)`."""
    if isinstance(target, DuckDBTarget):
        return f"the duckdb target ({target.path})"
    return f"the {target.name} target ({target.host}:{target.port}/{target.dbname})"


def _environment_number(name: str) -> float | None:
    value = os.environ.get(name, "").strip()
    return float(value) if value else None


def _run(args: argparse.Namespace) -> int:
    chunk_mb = _environment_number("FXA_LOADER_CHUNK_MB")
    chunk_bytes = int(chunk_mb * 1024 * 1024) if chunk_mb else reading.DEFAULT_CHUNK_BYTES
    try:
        target = resolve_target(args.target)
        with interrupts.interruptible_wait():  # connecting: nothing is written yet
            sink = open_sink(target)
    except (SinkError, NotImplementedError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    where = describe(target)
    try:
        loader = Loader(
            sink,
            HmacKey.from_environment(),
            force=args.force,
            chunk_bytes=chunk_bytes,
            progress_seconds=_environment_number("FXA_LOADER_PROGRESS_SECONDS"),
            where=where,
            new_uid_key=args.new_uid_key,
        )
        run = loader.unload_paths if args.unload else loader.load_paths
        summary = run(args.paths)
    except BaseException:
        with contextlib.suppress(Exception):
            sink.close()
        raise
    return _close(sink, summary, where, "unloaded" if args.unload else "committed")


def _close(sink: Sink, summary: RunSummary, where: str, verb: str) -> int:
    """Close the sink (DuckDB: the checkpoint; Postgres: ANALYZE of the tables written); the
    run's exit status, a failure there included (reported on one line)."""
    try:
        sink.close()
    except KeyboardInterrupt as error:  # waiting for the loader lock to ANALYZE
        if summary.interrupted is not None:
            return summary.exit_code
        stop = interrupts.as_interruption(error) or interrupts.Interrupted(signal.SIGINT)
        print(interruption_message(stop, summary.committed, 0, verb), file=sys.stderr)
        return stop.exit_code
    except Exception as error:
        if summary.stopped is not None or summary.interrupted is not None:
            return summary.exit_code  # the cause is reported already
        failure = failures.run_wide(error, where)
        text = str(error) if isinstance(error, SinkError) else failures.one_line(error)
        if failure is None:
            print(f"warning: closing {where}: {text}", file=sys.stderr)
            return summary.exit_code
        print(f"error: {failure.kind}: {text}", file=sys.stderr)
        return failures.RUN_STOPPED_EXIT
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
