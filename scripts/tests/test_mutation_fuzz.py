"""Mutation fuzzing: valid lines of every input format, damaged at random, never crash the loader,
never lose a line, and never leave a raw uid or a raw user agent in the warehouse.

Valid lines come from the sample-log generator (mozlog JSON of the auth and content servers,
the text mode, both legacy CSV exports). Each damaged line gets one to three seeded mutations:
bit flips, cuts (the end, or a middle range), a slice repeated elsewhere in the line, a JSON
value or CSV cell swapped for another type, a key or a column dropped, text injected. A quarter
of the lines stay intact, so every file is a log. The lines go into files of each format (one
of each gzip-compressed) and one file that mixes the formats, loaded in one run, and for each
file:

- the run does not crash and reports no failed file;
- the ledger has the file, its `lines` is the file's line count, `lines = loaded + rejected +
  ignored`, and `loaded` / `rejected` equal the rows stored;
- no raw uid (the generator's 32-hex values) and no raw user-agent string appears in any text
  column of any table of any schema.

Two kinds of damage defeat any rule that keeps valid data as logged; the test prints them and
fails on them only in its default run (where there are none): a uid spliced onto other hex
characters (part of a longer hex run, which the rejected-line rule leaves as read), and a raw
uid or agent moved into another free-text field of a line that is still valid JSON (a lost
piece of the line: `"context": "fx_desktop_v3Mozilla/5.0 ..."`), stored as logged. Measured
with the default seed and 200,000 lines (three quarters damaged): 17 glued, 4 moved.

FXA_FUZZ_LINES sets the number of lines (default 3000, ~3 s on DuckDB) and FXA_FUZZ_SEED the
seed, for longer runs by hand: FXA_FUZZ_LINES=200000 pytest scripts/tests/test_mutation_fuzz.py
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from dbt_harness import TARGETS, Warehouse, duckdb_query, scratch_warehouse
from fxa_pipeline import generator
from fxa_pipeline.generator.run import Options

FUZZ_LINES = int(os.environ.get("FXA_FUZZ_LINES", "3000"))
SEED = int(os.environ.get("FXA_FUZZ_SEED", "20161122"))
DEFAULT_RUN = "FXA_FUZZ_LINES" not in os.environ and "FXA_FUZZ_SEED" not in os.environ
HMAC_KEY = "fuzz-test-key"
INTACT_SHARE = 0.25
FORMATS = ("json", "text", "flow_csv", "activity_csv")

# Text a broken writer or a hostile client could put into a line.
INJECTIONS = (
    '"',
    '\\"',
    "\\",
    "\\u0000",
    "\x00",
    "\r",
    "\t",
    ",",
    ",,,,,,,",
    "{",
    "}",
    "[",
    "]",
    ":",
    '"uid":',
    '"userAgent": ',
    '{"Type": "flowEvent", "Fields": {',
    "'; drop table raw.load_ledger; --",
    "\u202e\u200b\ufeff",
    "🦊",
    "é",
    "none",
    "null",
    "1e999",
    "-1",
    "0123456789abcdef0123456789abcdef",  # a 32-hex value that is no uid
    "fxa-auth-server.INFO: flowEvent ",
    "\xff\xfe",
)


@dataclass(frozen=True)
class Sources:
    lines: dict[str, list[bytes]]  # format -> valid lines
    uids: frozenset[str]
    agents: frozenset[str]


def _generated_sources(folder: Path) -> Sources:
    # day 2 of a run is written in the text mode too; the legacy day gives both CSV exports
    opts = Options(
        out=folder,
        days=2,
        flows_per_day=max(20, FUZZ_LINES // 40),
        users=max(40, FUZZ_LINES // 20),
        seed=SEED,
        legacy_days=1,
        noise=False,
        hmac_key=HMAC_KEY,
    )
    generator.generate(opts)
    pools: dict[str, list[bytes]] = {name: [] for name in FORMATS}
    uids: set[str] = set()
    agents: set[str] = set()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        lines = path.read_bytes().splitlines()
        if path.name.startswith("flow-"):
            pools["flow_csv"] += lines
            continue
        if path.name.startswith("events-"):
            pools["activity_csv"] += lines
            continue
        text_mode = path.name.endswith(".log")
        pools["text" if text_mode else "json"] += lines
        for line in lines:
            document = json.loads(line.split(b" ", 2)[2] if text_mode else line)
            fields = document if text_mode else document.get("Fields", {})
            if isinstance(fields.get("uid"), str):
                uids.add(fields["uid"])
            agent = fields.get("userAgent")
            if isinstance(agent, str) and len(agent) >= 20:
                agents.add(agent)
    assert all(pools.values()), {name: len(lines) for name, lines in pools.items()}
    assert uids and agents
    assert all(re.fullmatch("[0-9a-f]{32}", uid) for uid in uids)
    return Sources(pools, frozenset(uids), frozenset(agents))


# ---- mutations ---------------------------------------------------------------------------------


def _flip(rng: random.Random, line: bytes) -> bytes:
    if not line:
        return bytes([rng.randrange(256)])
    at = rng.randrange(len(line))
    return line[:at] + bytes([line[at] ^ (1 << rng.randrange(8))]) + line[at + 1 :]


def _cut(rng: random.Random, line: bytes) -> bytes:
    start = rng.randrange(len(line) + 1)
    if rng.random() < 0.5:
        return line[:start]  # a write cut short
    end = rng.randrange(start, min(len(line), start + 80) + 1)
    return line[:start] + line[end:]  # a piece lost in the middle


def _repeat(rng: random.Random, line: bytes) -> bytes:
    if not line:
        return line
    start = rng.randrange(len(line))
    piece = line[start : start + rng.randrange(1, 120)]
    at = rng.randrange(len(line) + 1)
    return line[:at] + piece + line[at:]  # a repeated (spliced) fragment


def _other_type(rng: random.Random, value: object) -> object:
    choices: list[Callable[[], object]] = [
        lambda: rng.randrange(-(2**40), 2**40),
        lambda: rng.random() * 1e6,
        lambda: rng.choice([True, False]),
        lambda: None,
        lambda: [value],
        lambda: {"value": value},
        lambda: str(value),
        lambda: "",
    ]
    return rng.choice(choices)()


def _json_parts(line: bytes) -> tuple[bytes, dict[str, object]] | None:
    """(prefix, document) of a JSON or text-mode line, or None when it does not parse."""
    prefix = b""
    body = line
    if not line.startswith(b"{"):
        parts = line.split(b" ", 2)
        if len(parts) < 3:
            return None
        prefix, body = parts[0] + b" " + parts[1] + b" ", parts[2]
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return (prefix, document) if isinstance(document, dict) else None


def _json_dump(prefix: bytes, document: dict[str, object]) -> bytes:
    return prefix + json.dumps(document, ensure_ascii=False).encode("utf-8")


def _csv_cells(line: bytes) -> list[str] | None:
    try:
        rows = list(csv.reader([line.decode("utf-8")]))
    except (UnicodeDecodeError, csv.Error):
        return None
    return rows[0] if len(rows) == 1 else None


def _csv_dump(cells: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue().encode("utf-8")


def _swap_type(rng: random.Random, line: bytes, csv_line: bool) -> bytes:
    parsed = None if csv_line else _json_parts(line)
    if parsed is not None:
        prefix, document = parsed
        target = document.get("Fields") if isinstance(document.get("Fields"), dict) else document
        assert isinstance(target, dict)
        if target:
            key = rng.choice(sorted(target))
            target[key] = _other_type(rng, target[key])
        return _json_dump(prefix, document)
    cells = _csv_cells(line) if csv_line else None
    if cells:
        at = rng.randrange(len(cells))
        cells[at] = rng.choice(["", "none", "-7", "1.5", "true", "[]", "x" * 300, "2016-11-22"])
        return _csv_dump(cells)
    return _flip(rng, line)


def _drop_key(rng: random.Random, line: bytes, csv_line: bool) -> bytes:
    parsed = None if csv_line else _json_parts(line)
    if parsed is not None:
        prefix, document = parsed
        fields = document.get("Fields")
        target = fields if isinstance(fields, dict) and fields and rng.random() < 0.8 else document
        assert isinstance(target, dict)
        if target:
            del target[rng.choice(sorted(target))]
        return _json_dump(prefix, document)
    cells = _csv_cells(line) if csv_line else None
    if cells:
        del cells[rng.randrange(len(cells))]
        return _csv_dump(cells)
    return _cut(rng, line)


def _inject(rng: random.Random, line: bytes) -> bytes:
    text = rng.choice(INJECTIONS)
    data = text.encode("latin-1") if text == "\xff\xfe" else text.encode("utf-8")
    at = rng.randrange(len(line) + 1)
    return line[:at] + data + line[at:]


BYTE_MUTATIONS = (_flip, _cut, _repeat, _inject)
# Structure-aware: on a JSON (or text-mode) line that still parses, or a CSV line's cells; a
# line whose structure is already broken gets a byte-level mutation instead.
STRUCTURED_MUTATIONS = (_swap_type, _drop_key)


def damage(rng: random.Random, line: bytes, source_format: str) -> bytes:
    if rng.random() < INTACT_SHARE:
        return line
    for _ in range(rng.choice((1, 1, 2, 3))):
        index = rng.randrange(len(BYTE_MUTATIONS) + len(STRUCTURED_MUTATIONS))
        if index < len(BYTE_MUTATIONS):
            line = BYTE_MUTATIONS[index](rng, line)
        else:
            mutation = STRUCTURED_MUTATIONS[index - len(BYTE_MUTATIONS)]
            line = mutation(rng, line, source_format.endswith("csv"))
    return line


# ---- files -------------------------------------------------------------------------------------


def write_corpus(sources: Sources, folder: Path) -> dict[Path, bytes]:
    """The damaged files, by path, with the bytes the loader reads (decompressed)."""
    rng = random.Random(SEED)
    per_file = max(10, FUZZ_LINES // (2 * len(FORMATS) + 1))
    plan: list[tuple[str, list[str], bool]] = []
    for name in FORMATS:
        plan.append((f"{name}.txt", [name], False))
        plan.append((f"{name}.gz", [name], True))
    plan.append(("mixed.txt", list(FORMATS), False))
    written: dict[Path, bytes] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, formats, compress in plan:
        lines = []
        for index in range(per_file):
            source_format = formats[index % len(formats)]
            # the first line intact, so the format detected is the intended one
            line = rng.choice(sources.lines[source_format])
            lines.append(line if index == 0 else damage(rng, line, source_format))
        data = b"\n".join(lines) + b"\n"
        path = folder / file_name
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        written[path] = data
    return written


def line_count(data: bytes) -> int:
    """Lines as the loader counts them (every \\n ends one, a last line without one counts)."""
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


# ---- targets -----------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    environment: dict[str, str]

    def rows(self, sql: str, params: list[object] | None = None) -> list[tuple]:
        if self.name == "duckdb":
            return duckdb_query(self.environment["FXA_DUCKDB_PATH"], sql, params or [])[1]
        import psycopg

        with psycopg.connect(dbname=self.environment["PGDATABASE"]) as con:
            return con.execute(sql.replace("?", "%s"), params or []).fetchall()  # type: ignore[arg-type]

    def text_columns(self) -> list[tuple[str, str, str]]:
        types = "('VARCHAR')" if self.name == "duckdb" else "('text', 'character varying')"
        return self.rows(
            "select table_schema, table_name, column_name from information_schema.columns"
            f" where data_type in {types}"
            " and table_schema not in ('information_schema', 'pg_catalog')"
        )


@contextmanager
def scratch_target(name: str, folder: Path) -> Iterator[tuple[Target, Warehouse]]:
    """A fresh warehouse of dbt_harness (DuckDB file, or Postgres scratch database) with the
    fuzz key set; the Target reads it."""
    with scratch_warehouse(name, folder / "warehouse") as warehouse:
        warehouse.env["FXA_METRICS_UID_HMAC_KEY"] = HMAC_KEY
        yield Target(name, warehouse.env), warehouse


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    return _generated_sources(tmp_path_factory.mktemp("fuzz-sources"))


@pytest.mark.parametrize("target_name", TARGETS)
def test_damaged_lines_of_every_format(target_name: str, sources: Sources, tmp_path: Path) -> None:
    files = write_corpus(sources, tmp_path / "in")
    assert sum(line_count(data) for data in files.values()) >= FUZZ_LINES * 0.9
    with scratch_target(target_name, tmp_path) as (target, warehouse):
        status, output = warehouse.load_status(tmp_path / "in")
        assert status == 0, output[-3000:]
        assert f"total: {len(files)} files loaded, 0 skipped, 0 failed" in output

        problems: list[str] = []
        for path, data in files.items():
            name = str(path.resolve())
            ledger = target.rows(
                'select lines, loaded, rejected, ignored from "raw".load_ledger'
                " where file_name = ?",
                [name],
            )
            assert len(ledger) == 1, (name, ledger)
            lines, loaded, rejected, ignored = ledger[0]
            stored = target.rows(
                'select (select count(*) from "raw".flow_events where source_file = ?)'
                ' + (select count(*) from "raw".activity_events where source_file = ?),'
                ' (select count(*) from "raw".rejected_lines where source_file = ?)',
                [name, name, name],
            )[0]
            if lines != line_count(data) or lines != loaded + rejected + ignored:
                problems.append(f"{path.name}: ledger {ledger[0]}, file {line_count(data)} lines")
            if tuple(stored) != (loaded, rejected):
                problems.append(f"{path.name}: stored {tuple(stored)} != ledger {ledger[0]}")
        assert not problems, "\n".join(problems)

        found = find_leaks(target, sources)
        leaks = found["leak"]
        assert not leaks, f"{len(leaks)} leaks, e.g.:\n" + "\n".join(leaks[:10])
        limits = found["glued"] + found["moved"]
        if limits:
            print(
                f"\nknown limits (docs/loader.md): {len(found['glued'])} raw uids glued into "
                f"longer hex runs, {len(found['moved'])} raw values moved into other fields of "
                "valid lines:\n" + "\n".join(limits)
            )
        # the default run has none: there the literal property holds, every column of every
        # table; larger hand runs (FXA_FUZZ_LINES, FXA_FUZZ_SEED) print them
        assert not (limits and DEFAULT_RUN), limits


_HEX_RUN = re.compile("[0-9a-fA-F]{32,}")
EVENT_TABLES = ("flow_events", "activity_events")


def find_leaks(target: Target, sources: Sources) -> dict[str, list[str]]:
    """Raw uids and raw user agents in any text column of any table, by class:

    - `leak`: anything the loader guarantees never to store (any raw agent in a rejected line,
      the ledger, a retraction, the uid column; a raw uid standing as a run of exactly 32);
    - `glued`: a raw uid inside a longer run of hex characters (spliced onto other hex
      characters), which the rejected-line rule leaves as read;
    - `moved`: a raw uid or agent inside another free-text field of a line that is valid JSON
      (`"context": "fx_desktop_v3Mozilla/5.0 ..."` after a piece of the line was lost), stored
      as logged like any free text.
    """
    found: dict[str, list[str]] = {"leak": [], "glued": [], "moved": []}
    columns = target.text_columns()
    assert {("raw", "rejected_lines", "raw_line"), ("raw", "flow_events", "uid")} <= set(columns)
    for schema, table, column in columns:
        free_text = schema == "raw" and table in EVENT_TABLES and column != "uid"
        for (value,) in target.rows(f'select "{column}" from "{schema}"."{table}"'):
            if not value:
                continue
            where = f"{schema}.{table}.{column}: "
            for agent in sources.agents:
                if agent in value:
                    found["moved" if free_text else "leak"].append(
                        where + f"{agent!r} in {value[:300]!r}"
                    )
            # every raw uid is 32 hex characters: look in the hex runs of 32 or more only
            for run in _HEX_RUN.finditer(value):
                text = run.group(0)
                for offset in range(len(text) - 31):
                    if text[offset : offset + 32] in sources.uids:
                        kind = "glued" if len(text) > 32 else "moved" if free_text else "leak"
                        found[kind].append(
                            where + f"{text[offset : offset + 32]!r} in {value[:300]!r}"
                        )
    return found
