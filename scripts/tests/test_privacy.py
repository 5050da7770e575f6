"""Privacy: no personal data of the input reaches the warehouse or the logs.

Generated logs are loaded and built (`dbt build`) with a known HMAC key, then:
- every text column of every table and view in every schema (raw, staging, analytics, ...;
  `raw.rejected_lines.raw_line` included) is scanned for every raw uid and every raw
  user-agent string of the input, as whole values and as substrings: none is found;
- the key's value appears nowhere: not in the loader's output or error messages (also of runs
  that fail), not in any file dbt writes under `target/` and `logs/`, not in the database file;
- flows of Do-Not-Track users (no `utm_*` in any of their events) have NULL utm columns in
  `analytics.flow_metadata`.

The uid / user-agent scan and the DNT check also run on Postgres (`postgres` marker): the same
generated logs are loaded and built in a throwaway database on the PG* server.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dbt_harness import scratch_postgres_database

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LOADER = REPO / "scripts" / "load_events.py"
GENERATOR = REPO / "scripts" / "generate_events.py"
DBT = str(Path(sys.executable).with_name("dbt"))
HMAC_KEY = "privacy-test-key-3c9e5a71d2"

_UID = re.compile(rb'"uid"\s*:\s*"([^"\\]*)"')
_USER_AGENT = re.compile(rb'"userAgent"\s*:\s*"((?:[^"\\]|\\.)*)"')
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
UTM_COLUMNS = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def read_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as handle:
        yield from handle


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("privacy")
    gen = tmp / "gen"
    env = {
        **os.environ,
        "FXA_METRICS_UID_HMAC_KEY": HMAC_KEY,
        "FXA_TARGET": "duckdb",
        "FXA_DUCKDB_PATH": str(tmp / "privacy.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(REPO),
    }
    outputs: list[str] = []
    generate = [sys.executable, str(GENERATOR), "--out", str(gen), "--days", "3"]
    done = run([*generate, "--flows-per-day", "150", "--seed", "5", "--legacy-days", "1"], env)
    assert done.returncode == 0, done.stderr
    inputs = sorted(p for p in gen.iterdir() if p.is_dir())  # the day folders and legacy/
    done = run([sys.executable, str(LOADER), *map(str, inputs)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    outputs += [done.stdout, done.stderr]

    # Runs that fail, with the key set: their messages must not carry it either.
    bad = tmp / "bad"
    bad.mkdir()
    first = next(read_lines(next(inputs[0].glob("auth-server*"))))
    whole = gzip.compress(first * 5000)
    (bad / "cut.log.gz").write_bytes(whole[: len(whole) // 2])
    for args, extra in (
        ([str(bad)], {}),
        ([str(tmp / "missing.log")], {}),
        ([str(bad)], {"FXA_DUCKDB_PATH": str(tmp)}),  # a folder, not a database file
        (["--target", "postgres", str(bad)], {"PGPORT": "1", "PGHOST": "127.0.0.1"}),
    ):
        done = run([sys.executable, str(LOADER), *args], {**env, **extra})
        assert done.returncode != 0
        outputs += [done.stdout, done.stderr]

    dbt_paths = ["--project-dir", str(REPO), "--target-path", str(tmp / "target")]
    # Unit tests need the relations to exist, and the KPI models the seeds: seed, run --empty.
    for command in (["seed"], ["run", "--empty"], ["build"]):
        done = run([DBT, *command, *dbt_paths, "--log-path", str(tmp / "logs")], env)
        assert done.returncode == 0, done.stdout[-3000:]
        outputs += [done.stdout, done.stderr]
    return {"tmp": tmp, "gen": gen, "inputs": inputs, "db": tmp / "privacy.duckdb", "out": outputs}


@pytest.fixture(scope="module")
def pg_pipeline(pipeline) -> Iterator[str]:
    """The same generated logs loaded and built on a throwaway Postgres database; its name."""
    tmp: Path = pipeline["tmp"] / "postgres"
    tmp.mkdir()
    with scratch_postgres_database("privacy") as name:
        env = {
            **os.environ,
            "FXA_METRICS_UID_HMAC_KEY": HMAC_KEY,
            "FXA_TARGET": "postgres",
            "PGDATABASE": name,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_PROFILES_DIR": str(REPO),
        }
        loader = [sys.executable, str(LOADER), "--target", "postgres"]
        done = run([*loader, *map(str, pipeline["inputs"])], env)
        assert done.returncode == 0, done.stdout + done.stderr
        dbt_paths = ["--project-dir", str(REPO), "--target-path", str(tmp / "target")]
        for command in (["seed"], ["run", "--empty"], ["build"]):
            done = run(
                [
                    DBT,
                    *command,
                    "--target",
                    "postgres",
                    *dbt_paths,
                    "--log-path",
                    str(tmp / "logs"),
                ],
                env,
            )
            assert done.returncode == 0, done.stdout[-3000:]
        yield name


def personal_data(inputs: list[Path]) -> tuple[set[str], set[str]]:
    """The raw uids and user-agent strings of the JSON logs (legacy CSVs hold neither)."""
    uids: set[str] = set()
    agents: set[str] = set()
    for folder in inputs:
        for path in folder.rglob("*"):
            if not path.is_file() or "legacy" in path.parts:
                continue
            for line in read_lines(path):
                uids.update(m.decode("utf-8", "replace") for m in _UID.findall(line))
                for match in _USER_AGENT.findall(line):
                    try:
                        agents.add(json.loads(b'"' + match + b'"'))
                    except ValueError:
                        agents.add(match.decode("utf-8", "replace"))
    # Ignore values too short or too common to be personal (a malformed line's "x").
    return {u for u in uids if len(u) >= 16}, {a for a in agents if len(a) >= 20}


def text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        """
        select table_schema, table_name, column_name
        from information_schema.columns
        where data_type in ('VARCHAR', 'TEXT', 'JSON')
          and table_schema not in ('information_schema', 'pg_catalog')
        order by 1, 2, 3
        """
    ).fetchall()


def leaks(
    columns: list[tuple[str, str, str]], values_of, uids: set[str], agents: set[str]
) -> list[str]:
    """`schema.table.column: ...` for every value holding a raw uid or user agent."""
    found: list[str] = []
    for schema, table, column in columns:
        for (value,) in values_of(schema, table, column):
            windows = {
                run[i : i + 32].lower()
                for run in _HEX_RUN.findall(value)
                for i in range(len(run) - 31)
            }
            leaked = windows & uids
            leaked |= {a for a in agents if a in value}
            if leaked:
                found.append(f"{schema}.{table}.{column}: {sorted(leaked)[:2]} in {value[:120]}")
    return found


def distinct_values_sql(schema: str, table: str, column: str) -> str:
    return f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'


def test_no_raw_uid_or_user_agent_anywhere(pipeline) -> None:
    uids, agents = personal_data(pipeline["inputs"])
    assert len(uids) > 50 and len(agents) > 5  # the scan has something to find
    with duckdb.connect(str(pipeline["db"]), read_only=True) as con:
        columns = text_columns(con)
        schemas = {schema for schema, _, _ in columns}
        assert {"raw", "analytics"} <= schemas, schemas
        assert ("raw", "rejected_lines", "raw_line") in columns
        found = leaks(
            columns, lambda *name: con.execute(distinct_values_sql(*name)).fetchall(), uids, agents
        )
    assert not found, f"{len(found)} values leak personal data:\n" + "\n".join(found[:20])


@pytest.mark.postgres
def test_no_raw_uid_or_user_agent_anywhere_on_postgres(pipeline, pg_pipeline) -> None:
    import psycopg

    uids, agents = personal_data(pipeline["inputs"])
    assert len(uids) > 50 and len(agents) > 5  # the scan has something to find
    with psycopg.connect(dbname=pg_pipeline) as con:
        columns = con.execute(
            """
            select table_schema, table_name, column_name
            from information_schema.columns
            where data_type in ('text', 'character varying', 'json', 'jsonb')
              and table_schema not in ('pg_catalog', 'information_schema')
              and table_schema not like 'pg\\_%'
            order by 1, 2, 3
            """
        ).fetchall()
        schemas = {schema for schema, _, _ in columns}
        assert {"raw", "analytics"} <= schemas, schemas
        assert ("raw", "rejected_lines", "raw_line") in columns
        found = leaks(
            columns,
            lambda *name: (
                (str(value),) for (value,) in con.execute(distinct_values_sql(*name)).fetchall()
            ),
            uids,
            agents,
        )
    assert not found, f"{len(found)} values leak personal data:\n" + "\n".join(found[:20])


def test_hmac_key_appears_in_no_output_artifact_or_database(pipeline) -> None:
    tmp: Path = pipeline["tmp"]
    for text in pipeline["out"]:
        assert HMAC_KEY not in text
    key = HMAC_KEY.encode()
    checked = 0
    for folder in (tmp / "target", tmp / "logs"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert key not in path.read_bytes(), path
                checked += 1
    assert checked > 10
    for path in tmp.glob("privacy.duckdb*"):
        assert key not in path.read_bytes(), path


def dnt_flows(inputs: list[Path]) -> set[str]:
    """The flows none of whose logged events carries a utm_* value."""
    with_utm: set[str] = set()
    all_flows: set[str] = set()
    flow_id = re.compile(rb'"flow_id"\s*:\s*"([0-9a-f]{64})"')
    for folder in inputs:
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            for line in read_lines(path):
                if line.lstrip().startswith(b"{") or b": flowEvent {" in line:
                    match = flow_id.search(line)
                    if match:
                        all_flows.add(match.group(1).decode())
                        if b'"utm_' in line:
                            with_utm.add(match.group(1).decode())
                elif line.count(b",") >= 15:  # legacy flow export: utm_* are columns 12-16
                    cells = line.decode("utf-8", "replace").rstrip("\r\n").split(",")
                    if len(cells) >= 16:
                        all_flows.add(cells[2])
                        if any(c not in ("", "none") for c in cells[11:16]):
                            with_utm.add(cells[2])
    dnt = all_flows - with_utm
    assert dnt and with_utm
    return dnt


UTM_PREDICATE = " or ".join(f"{c} is not null" for c in UTM_COLUMNS)
FLOW_UTM_SQL = (
    f"select flow_id, case when {UTM_PREDICATE} then 1 else 0 end from analytics.flow_metadata"
)


def check_dnt(dnt: set[str], built: dict[str, int]) -> None:
    checked = [flow for flow in dnt if flow in built]
    leaking = [flow for flow in checked if built[flow]]
    with_values = sum(built.values())
    assert len(checked) > 10, len(checked)  # DNT flows with a flow.begin were built
    assert not leaking, leaking[:5]
    assert with_values > 0  # the other flows do carry utm values


def test_dnt_flows_keep_null_utm(pipeline) -> None:
    """A flow none of whose logged events carries a utm_* value has NULL utm columns."""
    dnt = dnt_flows(pipeline["inputs"])
    with duckdb.connect(str(pipeline["db"]), read_only=True) as con:
        built = dict(con.execute(FLOW_UTM_SQL).fetchall())
    check_dnt(dnt, built)


@pytest.mark.postgres
def test_dnt_flows_keep_null_utm_on_postgres(pipeline, pg_pipeline) -> None:
    import psycopg

    dnt = dnt_flows(pipeline["inputs"])
    with psycopg.connect(dbname=pg_pipeline) as con:
        built = dict(con.execute(FLOW_UTM_SQL).fetchall())
    check_dnt(dnt, built)
