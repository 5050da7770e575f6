"""Property tests: arbitrary input never crashes the loader and the accounting always balances."""

from __future__ import annotations

import gzip
import json
import re
import tempfile
import zlib
from pathlib import Path

import duckdb
from conftest import FLOW_A, UID_A, property_examples
from fxa_pipeline.loader import Loader
from fxa_pipeline.parsing import parse_csv_line
from fxa_pipeline.sinks import DuckDBSink
from fxa_pipeline.targets import DuckDBTarget
from fxa_pipeline.uid_hmac import HmacKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["", "none", FLOW_A, FLOW_A.upper(), "2016-11-22T17:00:00Z"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
field_names = st.sampled_from(
    [
        "event",
        "flow_id",
        "flow_time",
        "time",
        "uid",
        "device_id",
        "userAgent",
        "service",
        "utm_source",
        "context",
        "locale",
    ]
)
# UID_A only ever appears as a uid value, so finding it anywhere in a table is a leak.
log_lines = st.builds(
    lambda type_, fields, uid, ts: json.dumps(
        {"Type": type_, "Timestamp": ts, "Fields": {**fields, **uid}}
    ),
    st.sampled_from(["flowEvent", "activityEvent", "other"]),
    st.dictionaries(field_names, values, max_size=8),
    st.sampled_from([{}, {"uid": UID_A}]),
    values,
)
csv_lines = st.lists(
    st.one_of(st.text(alphabet='0123456789abcdef.," xnoe-', max_size=12), st.just(FLOW_A)),
    min_size=1,
    max_size=19,
).map(",".join)
any_line = st.one_of(log_lines, csv_lines, st.text(max_size=60))
files = st.lists(any_line, max_size=12).map("\n".join).map(str.encode)
raw_files = st.one_of(files, st.binary(max_size=200))


class _Env:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp())
        self.sink = DuckDBSink(DuckDBTarget(":memory:"))
        self.sink.ensure_schema()


_ENV: _Env | None = None


def env() -> _Env:
    global _ENV
    if _ENV is None:
        _ENV = _Env()
    return _ENV


@settings(
    max_examples=property_examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(content=raw_files, chunk=st.sampled_from([1, 64, 1 << 20]))
@example(content=b"\x1f\x8b", chunk=1)  # gzip magic, no gzip stream: found by hypothesis
@example(content=b"", chunk=1)  # empty: skipped
@example(content=b"\x00\xff binary\n", chunk=1)  # no log line: refused
@example(content=b"README\n\n" + json.dumps({"Type": "x"}).encode(), chunk=64)  # CSV + JSON
def test_any_input_balances(content: bytes, chunk: int) -> None:
    e = env()
    path = e.dir / "input.log"
    path.write_bytes(content)
    loader = Loader(e.sink, HmacKey(b"k"), force=True, chunk_bytes=chunk, out=_Null(), err=_Null())
    con = e.sink.connection
    name = str(path.resolve())
    file_rows = (
        "select (select count(*) from raw.load_ledger where file_name = $1),"
        " (select count(*) from raw.rejected_lines where source_file = $1),"
        " (select count(*) from raw.flow_events where source_file = $1),"
        " (select count(*) from raw.activity_events where source_file = $1)"
    )
    before = con.execute(file_rows, [name]).fetchone()
    counts = loader.load_file(path)
    if content.startswith(b"\x1f\x8b") and not _is_valid_gzip(content):
        # gzip magic: read as gzip, and a corrupt stream fails the whole file; its
        # transaction is rolled back, so the tables hold what they held before
        assert counts is None
        assert loader.summary.failed_files == 1
        assert con.execute(file_rows, [name]).fetchone() == before
        return
    if content.startswith(b"\x1f\x8b"):
        content = gzip.decompress(content)  # what the loader reads
    if _is_blank(content):
        # nothing but blank lines: skipped, no ledger row
        assert counts is None
        assert loader.summary.skipped_files == 1
        assert con.execute(file_rows, [name]).fetchone() == before
        return
    if not _has_log_line(content):
        # no line is a log line of either format: refused whole, nothing written
        assert counts is None
        assert loader.summary.failed_files == 1
        assert con.execute(file_rows, [name]).fetchone() == before
        return
    assert counts is not None
    expected_lines = content.count(b"\n") + (0 if content.endswith(b"\n") or not content else 1)
    if content.startswith(b"\xef\xbb\xbf") and content == b"\xef\xbb\xbf":
        expected_lines = 0
    assert counts.lines == expected_lines
    assert counts.lines == counts.loaded + counts.rejected + counts.ignored
    stored = con.execute(
        "select (select count(*) from raw.flow_events where source_file = $1)"
        " + (select count(*) from raw.activity_events where source_file = $1),"
        " (select count(*) from raw.rejected_lines where source_file = $1 and reason is not null)",
        [name],
    ).fetchone()
    assert stored == (counts.loaded, counts.rejected)
    for table in ("flow_events", "activity_events", "rejected_lines"):
        assert UID_A not in str(con.execute(f"select * from raw.{table}").fetchall())


def _lines(content: bytes) -> list[bytes]:
    """The file's lines as the loader reads them (byte-order mark dropped, trailing CRs cut)."""
    body = content.removeprefix(b"\xef\xbb\xbf")
    lines = body.split(b"\n")
    if body.endswith(b"\n") or not body:
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]


def _is_blank(content: bytes) -> bool:
    return all(not line.strip(b" \t") for line in _lines(content))


# The text-mode prefix in RE2's ASCII terms (Python's \w and \s are wider).
_TEXT_MODE = re.compile(r'^[0-9A-Za-z_.-]+\.[A-Z]+: ([^\t\n\f\r "\\]+) (\{.*)$')
_JSON = duckdb.connect()


def _has_log_line(content: bytes) -> bool:
    """An oracle for the refusal rule, line by line, independent of the loader's SQL: a line
    is a log line when it is valid UTF-8 without NUL and is a JSON object (DuckDB's reader),
    a text-mode line, or a CSV row of 7, 8, 16 or 18 columns."""
    for raw in _lines(content):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if "\0" in line or not line.strip(" \t"):
            continue
        if not line.startswith("{") and _TEXT_MODE.match(line):
            return True
        (is_object,) = _JSON.execute(
            "select coalesce(try(json_type(?)) = 'OBJECT', false)", [line]
        ).fetchone() or (False,)
        if is_object:
            return True
        if '"' in line:
            fields, error = parse_csv_line(line)
            columns = len(fields) if fields is not None and error is None else 0
        else:
            columns = line.count(",") + 1
        if columns in (7, 8, 16, 18):
            return True
    return False


def _is_valid_gzip(content: bytes) -> bool:
    try:
        gzip.decompress(content)
    except (OSError, EOFError, zlib.error):
        return False
    return True


class _Null:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False
