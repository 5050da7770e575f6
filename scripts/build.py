"""Build the warehouse: `dbt build` while holding the build lock (or: make build [TARGET=]).

    python scripts/build.py [--target NAME] [--wait SECONDS] [--vars YAML] [DBT BUILD ARGS...]

One build at a time per warehouse, and no load committed during it
(fxa_pipeline/build_lock.py, docs/operations.md#one-build-at-a-time). When another build holds
the lock, this one waits up to `--wait` seconds (default $FXA_BUILD_WAIT_SECONDS, else 600),
saying once who holds it; if it is still held then, one line names the running build and the
exit status is 75, nothing written. On a fresh warehouse `dbt seed` and `dbt run --empty` of the
relations it lacks run first (unit tests need their model's relation). Any other argument goes
to `dbt build` as is (`--full-refresh`, `--select SPEC`, `--exclude-resource-type unit_test`).
Exit status: dbt's, or 75 (another build is running).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from fxa_pipeline import build_lock
from fxa_pipeline.targets import TARGET_NAMES, default_target_name, resolve_target

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else "dbt"


def subprocess_dbt(target: str) -> build_lock.DbtCall:
    """dbt as a subprocess in the project folder, output inherited, `--target` added."""

    def call(args: Sequence[str]) -> int:
        command = [_dbt_executable(), *args, "--target", target]
        return subprocess.run(
            command, cwd=PROJECT_ROOT, env=os.environ.copy(), check=False
        ).returncode

    return call


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        description="dbt build under the build lock: one build at a time, no load committed "
        "during it; seeds and empty models first on a fresh warehouse. Other arguments go to "
        "dbt build. Exit status: dbt's, or 75 when another build holds the lock.",
    )
    parser.add_argument(
        "--target",
        default=default_target_name(),
        choices=TARGET_NAMES,
        help="dbt target (default: $FXA_TARGET or duckdb)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"how long to wait for a running build (default ${build_lock.WAIT_VARIABLE} "
        f"or {build_lock.DEFAULT_WAIT_SECONDS:g}; 0: stop at once)",
    )
    parser.add_argument(
        "--vars",
        default=None,
        metavar="YAML",
        help="dbt --vars, for the seed, the empty run and the build",
    )
    args, dbt_args = parser.parse_known_args(argv)
    if args.wait is not None and args.wait < 0:
        parser.error("--wait cannot be negative")
    return args, dbt_args


def main(
    argv: Sequence[str] | None = None,
    dbt: build_lock.DbtCall | None = None,
    err: TextIO | None = None,
) -> int:
    """`dbt`: how to run one dbt command (default: a subprocess; tests run it in-process);
    `err`: where the lock's messages go (default stderr)."""
    args, dbt_args = parse_args(argv)
    try:
        wait = build_lock.default_wait() if args.wait is None else args.wait
        target = resolve_target(args.target)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return build_lock.run_build(
        target,
        dbt_args,
        dbt or subprocess_dbt(args.target),
        project=PROJECT_ROOT,
        wait=wait,
        vars_yaml=args.vars,
        err=err,
    )


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # An exception, so that subprocess.run() kills the dbt it waits for (its transactions roll
    # back) and the lock is released only after that: a stopped build leaves no dbt behind.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
