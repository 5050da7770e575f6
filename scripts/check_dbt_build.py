"""End-to-end check of the dbt project on one target, over freshly generated sample logs.

`make dbt-test-duckdb` and `make dbt-test-postgres` run this. On a scratch database it:
generates a few days of sample logs (`generate_events.py`), loads the first half of the files
(`load_events.py`), runs `dbt seed` and `dbt run --empty` (so unit tests that read `this`
find the relation) and `dbt build`, then loads the second half and runs `dbt build` again,
so that the incremental path of every model and all tests run on both a fresh and a grown
warehouse.

The scratch database is never the one you work in: DuckDB uses a file under `scratch/`;
Postgres uses a database named `<PGDATABASE>_dbt_test` on the PG* server, dropped and created
afresh (the PG* user needs CREATEDB). Without PGHOST the Postgres check is skipped with a
message, unless FXA_REQUIRE_POSTGRES=1 (CI), where that is an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Sample logs only: production sets its own secret key (never committed).
TEST_HMAC_KEY = "fxa-metrics-test-key-not-a-secret"
SCRIPTS = Path(__file__).resolve().parent


def banner(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def run(command: Sequence[str], env: dict[str, str], cwd: Path) -> None:
    print("$ " + " ".join(command), flush=True)
    started = time.monotonic()
    result = subprocess.run(list(command), env=env, cwd=cwd, check=False)
    if result.returncode != 0:
        raise SystemExit(f"failed (exit {result.returncode}): {' '.join(command)}")
    print(f"   ok in {time.monotonic() - started:.1f}s", flush=True)


def fresh_postgres_database(env: dict[str, str]) -> str:
    """Drop and create `<PGDATABASE>_dbt_test`; return its name."""
    import psycopg
    from psycopg import sql

    maintenance_db = env.get("PGDATABASE", "postgres")
    name = f"{maintenance_db}_dbt_test"
    with psycopg.connect(dbname=maintenance_db, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return name


def halves(folder: Path) -> tuple[list[Path], list[Path]]:
    """The generated log files in name order (days, then the legacy exports), split in two.

    The generator's `manifest.json` (its own accounting) is not a log file.
    """
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    if len(files) < 2:
        raise SystemExit(f"the generator wrote {len(files)} file(s) to {folder}: expected several")
    middle = len(files) // 2
    return files[:middle], files[middle:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=("duckdb", "postgres"), required=True)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--flows-per-day", type=int, default=300)
    parser.add_argument("--legacy-days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20161122)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    project = args.project_dir.resolve()
    work = project / "scratch" / f"dbt-test-{args.target}"

    env = dict(os.environ)
    env.setdefault("FXA_METRICS_UID_HMAC_KEY", TEST_HMAC_KEY)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DBT_PROFILES_DIR", str(project))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS), env.get("PYTHONPATH")]))

    if args.target == "postgres":
        if not env.get("PGHOST"):
            if env.get("FXA_REQUIRE_POSTGRES") == "1":
                print("dbt-test-postgres: FXA_REQUIRE_POSTGRES=1 but PGHOST is not set")
                return 1
            print(
                "dbt-test-postgres skipped: set PGHOST, PGPORT, PGUSER, PGDATABASE "
                "(and PGPASSWORD) to run dbt build on a Postgres server"
            )
            return 0
        banner("fresh Postgres database")
        env["PGDATABASE"] = fresh_postgres_database(env)
        print(f"   using database {env['PGDATABASE']} on {env['PGHOST']}:{env.get('PGPORT')}")

    shutil.rmtree(work, ignore_errors=True)
    logs = work / "logs"
    env["FXA_DUCKDB_PATH"] = str(work / "fxa_metrics.duckdb")
    python = sys.executable
    dbt = str(Path(python).with_name("dbt"))
    dbt_flags = ["--target", args.target, "--target-path", str(work / "target")]

    banner(f"generate {args.days} days of sample logs into {logs.relative_to(project)}")
    run(
        [
            python,
            str(SCRIPTS / "generate_events.py"),
            "--out",
            str(logs),
            "--days",
            str(args.days),
            "--flows-per-day",
            str(args.flows_per_day),
            "--legacy-days",
            str(args.legacy_days),
            "--seed",
            str(args.seed),
        ],
        env,
        project,
    )
    first, second = halves(logs)
    loader = [python, str(SCRIPTS / "load_events.py"), "--target", args.target]

    banner(f"load the first {len(first)} files, build from scratch")
    run([*loader, *map(str, first)], env, project)
    # Seeds first: `run --empty` of a model that reads a seed needs the seed's table.
    run([dbt, "seed", *dbt_flags], env, project)
    run([dbt, "run", "--empty", *dbt_flags], env, project)
    run([dbt, "build", *dbt_flags], env, project)

    banner(f"load the other {len(second)} files, build incrementally")
    run([*loader, *map(str, second)], env, project)
    run([dbt, "build", *dbt_flags], env, project)

    print(f"\ndbt-test-{args.target} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
