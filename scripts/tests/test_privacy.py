"""Privacy: no personal data of the input reaches the warehouse or the logs.

On the session's built warehouse of each target (conftest.py: the standard generated log set
loaded with the suite's HMAC key, `dbt build` twice, every model and test):
- every text column of every table and view in every schema (raw, staging, analytics, ...;
  `raw.rejected_lines.raw_line` included) is scanned for every raw uid and every raw
  user-agent string of the input, as whole values and as substrings: none is found;
- flows of Do-Not-Track users (no `utm_*` in any of their events) have NULL utm columns in
  `analytics.flow_metadata`;
- the key's value appears nowhere: not in the loader's output, not in the output of loader
  runs that fail with the key set, not in any file dbt wrote under `target/` and `logs/` (its
  log file holds everything it printed), not in the DuckDB database file.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dbt_harness import TARGETS, BuiltWarehouse, Warehouse, base_environment, log_files

pytestmark = pytest.mark.integration

_UID = re.compile(rb'"uid"\s*:\s*"([^"\\]*)"')
_USER_AGENT = re.compile(rb'"userAgent"\s*:\s*"((?:[^"\\]|\\.)*)"')
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
UTM_COLUMNS = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")
TEXT_TYPES = ("VARCHAR", "TEXT", "JSON", "text", "character varying", "json", "jsonb")


def read_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as handle:
        yield from handle


def failing_loader_runs(tmp: Path, logs: Path) -> list[str]:
    """The output of loader runs that fail, with the key set: a cut gzip, a missing file, a
    folder as the DuckDB file, an unreachable Postgres server."""
    bad = tmp / "bad"
    bad.mkdir()
    first = next(read_lines(next(logs.glob("*/auth-server*"))))
    whole = gzip.compress(first * 5000)
    (bad / "cut.log.gz").write_bytes(whole[: len(whole) // 2])
    env = {**base_environment(), "FXA_DUCKDB_PATH": str(tmp / "failing.duckdb")}
    outputs = []
    for target, path, extra in (
        ("duckdb", bad, {}),
        ("duckdb", tmp / "missing.log", {}),
        ("duckdb", bad, {"FXA_DUCKDB_PATH": str(tmp)}),  # a folder, not a database file
        ("postgres", bad, {"PGHOST": "127.0.0.1", "PGPORT": "1"}),
    ):
        status, output = Warehouse(target, {**env, **extra}, tmp).load_status(path)
        assert status != 0, output
        outputs.append(output)
    return outputs


def personal_data(files: list[Path]) -> tuple[set[str], set[str]]:
    """The raw uids and user-agent strings of the JSON logs (legacy CSVs hold neither)."""
    uids: set[str] = set()
    agents: set[str] = set()
    for path in files:
        if "legacy" in path.parts:
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


def text_columns(warehouse: Warehouse) -> list[tuple[str, str, str]]:
    types = ", ".join(f"'{name}'" for name in TEXT_TYPES)
    return warehouse.query(
        f"""
        select table_schema, table_name, column_name
        from information_schema.columns
        where data_type in ({types})
          and table_schema not in ('information_schema', 'pg_catalog')
          and table_schema not like 'pg\\_%'
        order by 1, 2, 3
        """
    )


@pytest.mark.parametrize("target", TARGETS)
def test_no_raw_uid_or_user_agent_anywhere(built_warehouse: BuiltWarehouse) -> None:
    warehouse = built_warehouse.warehouse
    uids, agents = personal_data(log_files(built_warehouse.logs))
    assert len(uids) > 50 and len(agents) > 5  # the scan has something to find
    columns = text_columns(warehouse)
    schemas = {schema for schema, _, _ in columns}
    assert {"raw", "analytics"} <= schemas, schemas
    assert ("raw", "rejected_lines", "raw_line") in columns

    def values_of(schema: str, table: str, column: str) -> Iterator[tuple[str]]:
        for (value,) in warehouse.query(distinct_values_sql(schema, table, column)):
            yield (str(value),)

    found = leaks(columns, values_of, uids, agents)
    assert not found, f"{len(found)} values leak personal data:\n" + "\n".join(found[:20])


@pytest.mark.parametrize("target", TARGETS)
def test_dnt_flows_keep_null_utm(built_warehouse: BuiltWarehouse) -> None:
    """A flow none of whose logged events carries a utm_* value has NULL utm columns."""
    dnt = dnt_flows(log_files(built_warehouse.logs))
    built = dict(built_warehouse.warehouse.query(FLOW_UTM_SQL))
    check_dnt(dnt, built)


def test_hmac_key_appears_in_no_output_artifact_or_database(
    built_warehouses: Callable[[str], BuiltWarehouse], tmp_path: Path
) -> None:
    built = built_warehouses("duckdb")
    warehouse = built.warehouse
    key = warehouse.env["FXA_METRICS_UID_HMAC_KEY"]
    outputs = [*built.loader_output, *failing_loader_runs(tmp_path, built.logs)]
    assert any("loaded" in text for text in outputs) and len(outputs) >= 6
    for text in outputs:
        assert key not in text
    checked = 0
    for folder in (warehouse.work_dir / "target", warehouse.work_dir / "logs"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path
                checked += 1
    assert checked > 10
    databases = list(Path(warehouse.env["FXA_DUCKDB_PATH"]).parent.glob("*.duckdb*"))
    assert databases
    for path in databases:
        assert key.encode() not in path.read_bytes(), path


def dnt_flows(files: list[Path]) -> set[str]:
    """The flows none of whose logged events carries a utm_* value."""
    with_utm: set[str] = set()
    all_flows: set[str] = set()
    flow_id = re.compile(rb'"flow_id"\s*:\s*"([0-9a-f]{64})"')
    for path in files:
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
