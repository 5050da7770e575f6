"""Hostile input never crashes the loader, never loses a line, never runs as SQL.

For every case of `hostile_corpus` (one line each) and for hypothesis-generated files:
- the loader exits normally (status 0) and writes one ledger row per file;
- `lines = loaded + rejected + ignored`, the counts agree with the rows stored, and every line
  lands in exactly one place (an event table, `raw.rejected_lines`, or nowhere when ignored);
- every rejected line carries a reason;
- the fate of each case is the one docs/loader.md gives it, and values that are valid data
  (SQL injection, HTML, template and format-string payloads) come back byte-identical.
A gzip file cut short fails as a whole: nothing of it is stored, no ledger row is written (a
rerun with the complete file loads it), and the error names the file, the reason and the last
line read; the other files of the run load normally.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import hostile_corpus as hc
import pytest
from conftest import property_examples
from dbt_harness import TARGETS, Warehouse, base_environment, duckdb_query, scratch_warehouse
from fxa_pipeline.raw_schema import LOADER_SETTINGS, RAW_TABLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HMAC_KEY = "hostile-test-key-7f3a9c"

FILES = {
    "hostile.log": hc.log_cases,
    "flow-hostile.csv": hc.flow_csv_cases,
    "activity-hostile.csv": hc.activity_csv_cases,
}


def run_loader(db: Path, *paths: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The loader (dbt_harness, in this process) on the DuckDB file `db`, or on the target
    `env` names: (exit status, stdout + stderr)."""
    env = env or {"FXA_TARGET": "duckdb", "FXA_DUCKDB_PATH": str(db)}
    warehouse_env = {**base_environment(), "FXA_METRICS_UID_HMAC_KEY": HMAC_KEY, **env}
    return Warehouse(env["FXA_TARGET"], warehouse_env, db.parent).load_status(*paths)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


class RawTables:
    """Read-only queries on the raw tables of one target (`?` placeholders)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def query(self, sql: str, params: Sequence[object] = ()) -> tuple[list[str], list[tuple]]:
        if self.env["FXA_TARGET"] == "duckdb":
            return duckdb_query(self.env["FXA_DUCKDB_PATH"], sql, params)
        import psycopg

        with psycopg.connect(dbname=self.env["PGDATABASE"]) as con:
            cursor = con.execute(sql.replace("?", "%s"), list(params))  # type: ignore[arg-type]
            return [d[0] for d in cursor.description or []], cursor.fetchall()

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        return self.query(sql, params)[1]


class Stored:
    """What the raw tables hold for one file, by line number."""

    def __init__(self, raw: RawTables, file: Path) -> None:
        name = str(file.resolve())
        self.ledger = raw.rows(
            'select lines, loaded, rejected, ignored from "raw".load_ledger where file_name = ?',
            [name],
        )
        self.events: dict[int, list[dict[str, object]]] = {}
        for table in ("flow_events", "activity_events"):
            columns, rows = raw.query(f'select * from "raw".{table} where source_file = ?', [name])
            for row in rows:
                record = dict(zip(columns, row, strict=True))
                record["_table"] = table
                self.events.setdefault(int(record["source_line"]), []).append(record)
        self.rejects: dict[int, list[str]] = {}
        for line, reason in raw.rows(
            'select line_number, reason from "raw".rejected_lines where source_file = ?', [name]
        ):
            self.rejects.setdefault(int(line), []).append(reason)

    def fate(self, line: int) -> str:
        events, rejects = self.events.get(line, []), self.rejects.get(line, [])
        assert len(events) + len(rejects) <= 1, f"line {line} stored twice: {events} {rejects}"
        if events:
            return "loaded"
        return "rejected" if rejects else "ignored"

    def check_accounting(self, lines: int) -> None:
        assert len(self.ledger) == 1, self.ledger
        ledger_lines, loaded, rejected, ignored = self.ledger[0]
        assert ledger_lines == lines
        assert loaded + rejected + ignored == lines
        assert loaded == sum(len(v) for v in self.events.values())
        assert rejected == sum(len(v) for v in self.rejects.values())
        assert all(1 <= n <= lines for n in [*self.events, *self.rejects])
        assert all(r and r.strip() for v in self.rejects.values() for r in v)


@pytest.fixture(scope="module", params=TARGETS)
def corpus_load(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RawTables, Path, dict[str, list]]]:
    """The three corpus files loaded in one loader run, on each target."""
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "in"
    data.mkdir()
    cases = {name: make() for name, make in FILES.items()}
    for name, file_cases in cases.items():
        write_lines(data / name, [case.line for case in file_cases])
    with scratch_warehouse(request.param, folder) as warehouse:
        env = {"FXA_TARGET": warehouse.target, **warehouse.env}
        status, output = run_loader(folder / "unused.duckdb", data, env=env)
        assert status == 0, output
        assert "Traceback" not in output, output
        yield RawTables(env), data, cases


def test_hostile_corpus_is_accounted_for_line_by_line(corpus_load) -> None:
    raw, folder, cases = corpus_load
    wrong: list[str] = []
    for name, file_cases in cases.items():
        stored = Stored(raw, folder / name)
        stored.check_accounting(len(file_cases))
        for number, case in enumerate(file_cases, start=1):
            fate = stored.fate(number)
            if case.expect != "any" and fate != case.expect:
                got = stored.rejects.get(number, [""])[0] if fate == "rejected" else ""
                wrong.append(f"{name}:{number} {case.name}: {fate} {got}, not {case.expect}")
                continue
            if fate == "rejected" and case.reason:
                reason = stored.rejects[number][0]
                if case.reason.lower() not in reason.lower():
                    wrong.append(f"{case.name}: reason {reason!r} lacks {case.reason!r}")
            if fate == "loaded":
                row = stored.events[number][0]
                for column, value in case.stored.items():
                    if row[column] != value:
                        wrong.append(f"{case.name}: {column} = {row[column]!r}, not {value!r}")
    assert not wrong, "\n".join(wrong)


def test_hostile_corpus_size_and_fates() -> None:
    """The corpus is what the report counts; every fate is exercised."""
    cases = {name: make() for name, make in FILES.items()}
    everything = [case for file_cases in cases.values() for case in file_cases]
    fates = Counter(case.expect for case in everything)
    print(f"\nhostile corpus: {len(everything)} cases, {dict(fates)}")
    assert len(everything) >= 400
    assert {"loaded", "rejected", "ignored", "any"} <= set(fates)


def test_injection_payloads_are_data_and_the_tables_survive(corpus_load) -> None:
    raw, _, cases = corpus_load
    flow_cases = cases["hostile.log"] + cases["flow-hostile.csv"]
    tables = {
        row[0]
        for row in raw.rows(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )
    }
    assert tables == {*RAW_TABLES, LOADER_SETTINGS}  # none dropped, none created by a payload
    for payload in hc.PAYLOADS:
        expected = sum(
            1
            for case in flow_cases
            if case.stored.get("service") == payload and b"activityEvent" not in case.line
        )
        assert expected >= 2  # from the log and from the CSV
        found = raw.rows('select count(*) from "raw".flow_events where service = ?', [payload])
        assert found == [(expected,)], payload
    assert raw.rows('select count(*) from "raw".load_ledger') == [(3,)]
    assert raw.rows('select count(*) from "raw".activity_events')[0][0] > 0


def test_no_raw_uid_or_user_agent_in_any_stored_text(corpus_load) -> None:
    """Rejected lines keep their raw text, with every uid replaced by its HMAC and every user
    agent by a marker (bug fixed here: agents were stored in `raw_line`)."""
    raw, _, _ = corpus_load
    sql = 'select count(*) from "raw".rejected_lines where strpos(raw_line, ?) > 0'
    assert raw.rows(sql, [hc.UID]) == [(0,)]
    assert raw.rows(sql, [hc.USER_AGENT]) == [(0,)]
    assert raw.rows(sql, ['"userAgent": "[redacted]"'])[0][0] > 50
    assert raw.rows('select count(*) from "raw".activity_events where uid = ?', [hc.UID]) == [(0,)]


def test_text_mode_file_opening_with_a_request_log_is_a_log(tmp_path: Path) -> None:
    """Bug fixed here: a Type with a dot (`request.summary`, the commonest server log line)
    did not match the text-mode prefix, so a text-mode file opening with one was read as CSV
    and every line rejected."""
    fields = json.dumps(hc.flow_fields())
    path = tmp_path / "text.log"
    request = b'fxa-auth-server.INFO: request.summary {"path": "/v1/account/create", "t": 9}'
    write_lines(path, [request, f"fxa-auth-server.INFO: flowEvent {fields}".encode()])
    db = tmp_path / "text.duckdb"
    status, output = run_loader(db, path)
    assert status == 0, output
    raw = RawTables({"FXA_TARGET": "duckdb", "FXA_DUCKDB_PATH": str(db)})
    assert raw.rows('select lines, loaded, rejected, ignored from "raw".load_ledger') == [
        (2, 1, 0, 1)
    ]


def test_csv_file_with_a_raw_uid_in_a_rejected_line_needs_the_key(tmp_path: Path) -> None:
    """Bug fixed here: without the key, a JSON line inside a CSV export was rejected and
    stored with its raw uid. Now the file is refused, as a log with uids is."""
    path = tmp_path / "events.csv"
    line = hc.dumps(hc.envelope(hc.activity_fields(), "activityEvent"))
    write_lines(path, [hc.ACTIVITY_CSV.format(uid=hc.HMACED_UID, dev=hc.DEVICE_ID).encode(), line])
    db = tmp_path / "nokey.duckdb"
    env = {"FXA_TARGET": "duckdb", "FXA_DUCKDB_PATH": str(db), "FXA_METRICS_UID_HMAC_KEY": ""}
    status, output = run_loader(db, path, env=env)
    assert status == 2, output
    assert "FXA_METRICS_UID_HMAC_KEY" in output
    raw = RawTables({"FXA_TARGET": "duckdb", "FXA_DUCKDB_PATH": str(db)})
    for table in ("flow_events", "activity_events", "rejected_lines", "load_ledger"):
        assert raw.rows(f'select count(*) from "raw".{table}') == [(0,)], table


def _valid_log_lines(n: int) -> list[bytes]:
    lines = []
    for i in range(n):
        fields = hc.flow_fields(flow_time=i, time=hc.TIME_MS + i)
        lines.append(hc.dumps(hc.envelope(fields)))
    return lines


def test_gzip_cut_short_fails_as_a_whole_and_the_rest_loads(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    lines = _valid_log_lines(20000)
    whole = gzip.compress(b"\n".join(lines) + b"\n")
    (data / "a-cut.log.gz").write_bytes(whole[: len(whole) // 2])
    (data / "b-header-only.log.gz").write_bytes(whole[:10])
    (data / "c-garbage-after-header.log.gz").write_bytes(whole[:10] + b"\x00garbage" * 100)
    (data / "d-good.log.gz").write_bytes(gzip.compress(b"\n".join(lines[:10]) + b"\n"))
    db = tmp_path / "gz.duckdb"
    status, output = run_loader(db, data)
    assert status == 1, output  # a failed file fails the run
    assert "Traceback" not in output, output
    cut = str((data / "a-cut.log.gz").resolve())
    error_lines = [line for line in output.splitlines() if cut in line and "error" in line]
    assert error_lines, output
    assert "truncated" in error_lines[0] and "after line" in error_lines[0], error_lines
    read = int(error_lines[0].split("after line ")[1].split()[0].replace(",", ""))
    assert 0 < read < len(lines)
    for bad in ("b-header-only.log.gz", "c-garbage-after-header.log.gz"):
        assert str((data / bad).resolve()) in output
    raw = RawTables({"FXA_TARGET": "duckdb", "FXA_DUCKDB_PATH": str(db)})
    ledger = raw.rows('select file_name, lines, loaded, rejected, ignored from "raw".load_ledger')
    assert ledger == [(str((data / "d-good.log.gz").resolve()), 10, 10, 0, 0)]
    assert raw.rows('select count(*) from "raw".flow_events') == [(10,)]
    assert raw.rows('select count(*) from "raw".rejected_lines') == [(0,)]
    # The complete file, copied again, then loads whole.
    (data / "a-cut.log.gz").write_bytes(whole)
    (data / "b-header-only.log.gz").unlink()
    (data / "c-garbage-after-header.log.gz").unlink()
    status, output = run_loader(db, data)
    assert status == 0, output
    assert raw.rows('select count(*) from "raw".flow_events') == [(20010,)]


def test_empty_and_blank_files(tmp_path: Path) -> None:
    """Files with no line but blank ones are skipped ("empty, nothing to load") and never enter
    the ledger: they all share one SHA-256, so a ledger row would make the next empty file
    "already loaded as" the first."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "empty.log").write_bytes(b"")
    (data / "empty.log.gz").write_bytes(gzip.compress(b""))
    (data / "newlines.log").write_bytes(b"\n\n\n")
    (data / "spaces-crlf.csv").write_bytes(b" \t\r\n\r\n\t\n")
    (data / "bom-only.log").write_bytes(b"\xef\xbb\xbf\n")
    (data / "no-final-newline.log").write_bytes(b"\n".join(_valid_log_lines(3)))
    (data / "bom.log").write_bytes(b"\xef\xbb\xbf" + b"\n".join(_valid_log_lines(2)) + b"\n")
    db = tmp_path / "empty.duckdb"
    raw = RawTables({"FXA_TARGET": "duckdb", "FXA_DUCKDB_PATH": str(db)})
    for _ in range(2):  # and again: still empty, still not in the ledger
        status, output = run_loader(db, data)
        assert status == 0, output
        empties = ("empty.log", "empty.log.gz", "newlines.log", "spaces-crlf.csv", "bom-only.log")
        for name in empties:
            assert f"{(data / name).resolve()}: empty, nothing to load" in output
        assert "already loaded as" not in output
        ledger = dict(
            (Path(name).name, (lines, loaded, rejected, ignored))
            for name, lines, loaded, rejected, ignored in raw.rows(
                'select file_name, lines, loaded, rejected, ignored from "raw".load_ledger'
            )
        )
        assert ledger == {"no-final-newline.log": (3, 3, 0, 0), "bom.log": (2, 2, 0, 0)}
    # A loaded file that became empty keeps its rows, with a warning.
    (data / "bom.log").write_bytes(b"")
    status, output = run_loader(db, data / "bom.log")
    assert status == 0, output
    assert "is empty now but was loaded" in output
    assert raw.rows('select count(*) from "raw".flow_events') == [(5,)]


# ---- property tests --------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
field_names = st.sampled_from([*hc.flow_fields(), "device_id", "Type", "Timestamp", "x"])


@st.composite
def mutated_log_line(draw: st.DrawFn) -> bytes:
    activity = draw(st.booleans())
    fields = hc.activity_fields() if activity else hc.flow_fields()
    doc = hc.envelope(fields, "activityEvent" if activity else "flowEvent")
    for _ in range(draw(st.integers(0, 3))):
        name = draw(field_names)
        target = doc if name in ("Type", "Timestamp") else fields
        if draw(st.booleans()):
            target[name] = draw(json_values)
        else:
            target.pop(name, None)
    line = hc.dumps(doc)
    how = draw(st.sampled_from(["as is", "truncate", "insert bytes", "text mode"]))
    if how == "truncate":
        line = line[: draw(st.integers(0, len(line)))]
    elif how == "insert bytes":
        at = draw(st.integers(0, len(line)))
        noise = draw(st.binary(min_size=1, max_size=8)).replace(b"\n", b"")
        line = line[:at] + noise + line[at:]
    elif how == "text mode":
        line = b"fxa-auth-server.INFO: flowEvent " + hc.dumps(fields)
    return line.replace(b"\n", b"")


@st.composite
def csv_line(draw: st.DrawFn) -> bytes:
    cell = st.text(max_size=12) | st.sampled_from(["", "none", "1479834000", hc.FLOW_ID, "-1"])
    cells = draw(st.lists(cell, min_size=0, max_size=20))
    if draw(st.booleans()) and cells:
        cells = hc._flow_row()[: len(cells)] if len(cells) <= 18 else cells
    text = ",".join(draw(st.sampled_from([c, f'"{c}"', c + '"'])) for c in cells)
    return text.encode("utf-8", "surrogatepass").replace(b"\n", b"").replace(b"\r", b"")


def _load_and_check(lines: list[bytes], suffix: str) -> None:
    """Load one file in-process (fast) into a fresh DuckDB and check the invariants."""
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / f"property{suffix}"
        write_lines(file, lines)
        db = Path(tmp) / "p.duckdb"
        status, output = run_loader(db, file)
        assert status == 0, output
        stored = Stored(RawTables({"FXA_TARGET": "duckdb", "FXA_DUCKDB_PATH": str(db)}), file)
        stored.check_accounting(len(lines))
        for number in range(1, len(lines) + 1):
            stored.fate(number)  # never stored twice


PROPERTY_SETTINGS = settings(
    max_examples=property_examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY_SETTINGS
@given(st.lists(mutated_log_line(), min_size=1, max_size=20))
def test_property_mutated_log_lines_are_accounted_for(lines: list[bytes]) -> None:
    valid = hc.dumps(hc.envelope(hc.flow_fields()))
    _load_and_check([valid, *lines], ".log")


@PROPERTY_SETTINGS
@given(st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")), max_size=20))
def test_property_arbitrary_bytes_are_accounted_for(lines: list[bytes]) -> None:
    valid = hc.dumps(hc.envelope(hc.flow_fields()))
    _load_and_check([valid, *lines], ".log")


@PROPERTY_SETTINGS
@given(st.lists(csv_line(), min_size=1, max_size=20))
def test_property_csv_rows_are_accounted_for(lines: list[bytes]) -> None:
    valid = hc._csv(hc._flow_row())
    _load_and_check([valid, *lines], ".csv")


def test_property_line_json_dump_roundtrip() -> None:
    """Guard for the corpus itself: every JSON case is one physical line."""
    for make in FILES.values():
        for case in make():
            assert b"\n" not in case.line, case.name
    assert json.loads(hc.dumps(hc.envelope(hc.flow_fields())))["Fields"]["flow_id"] == hc.FLOW_ID
