"""Every rejection reason (docs/loader.md), and `lines = loaded + rejected + ignored`."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import DEVICE_A, FLOW_A, UID_A, write


def flow(**fields) -> str:
    base = {"event": "flow.begin", "flow_id": FLOW_A, "flow_time": 0, "time": 1479834000000}
    return json.dumps({"Type": "flowEvent", "Fields": {**base, **fields}})


def activity(**fields) -> str:
    base = {"event": "account.login", "uid": UID_A, "time": 1479834000000}
    return json.dumps({"Type": "activityEvent", "Fields": {**base, **fields}})


def without(line: str, field: str) -> str:
    document = json.loads(line)
    del document["Fields"][field]
    return json.dumps(document)


# (line, reason or None for loaded, "ignored" for ignored)
LOG_CASES: list[tuple[str, str | None]] = [
    (flow(), None),
    ('{"Type": "flowEvent", "Fields": {"event": "flow.begin"', "invalid JSON"),
    ("[1, 2, 3]", "not a JSON object"),
    ("null", "not a JSON object"),
    ('{"Fields": {"event": "x"}}', "missing required field Type"),
    (without(flow(), "event"), "missing required field event"),
    (flow(event=""), "missing required field event"),
    (without(flow(), "flow_id"), "missing required field flow_id"),
    (flow(flow_id="abc"), "flow_id is not 64 hex characters"),
    (flow(flow_id="g" * 64), "flow_id is not 64 hex characters"),
    (without(activity(), "uid"), "missing required field uid"),
    (activity(device_id="1234"), "device_id is not 32 hex characters"),
    (activity(device_id=DEVICE_A + "00"), "device_id is not 32 hex characters"),
    (flow(flow_time=-1), "flow_time is not an integer >= 0"),
    (flow(flow_time=12.5), "flow_time is not an integer >= 0"),
    (flow(flow_time="12.0"), "flow_time is not an integer >= 0"),
    (flow(flow_time="-3"), "flow_time is not an integer >= 0"),
    (flow(flow_time=True), "flow_time is not an integer >= 0"),
    (flow(flow_time=1e300), "flow_time is not an integer >= 0"),
    (without(flow(), "time"), "missing required field time"),
    (flow(time="not a time"), "time does not parse"),
    (flow(time="1479834000000"), "time does not parse"),
    (flow(time={"ms": 1}), "time does not parse"),
    (flow(time=1), "time out of range"),
    (flow(time="1999-12-31T23:59:59.999Z"), "time out of range"),
    (flow(time=4102444800000), "time out of range"),
    (flow(service={"a": 1}), "field service is not a string"),
    (flow(context=[1]), "field context is not a string"),
    (activity(uid=True), "field uid is not a string"),
    (flow(event="x" * 2049), "field event longer than 2048 characters"),
    (flow(locale="é" * 257), "field locale longer than 256 characters"),
    (flow(locale="é" * 256), None),
    (flow(entrypoint="a\u0000b"), "a string contains an escaped NUL character"),
    ('{"Type": "request.summary", "Fields": {"event": {}}}', "ignored"),
    ("", "ignored"),
    ("\t ", "ignored"),
    (flow(time="2099-12-31T23:59:59.999Z", flow_time="77"), None),
    (flow(event="route./account/login.400.103", context=None, service="none"), None),
]

CSV_CASES: list[tuple[str, str | None]] = [
    (f"1479834000,flow.begin,{FLOW_A},0,Firefox,50,Windows,,,,,,,,,", None),
    (
        "1,2,3",
        "CSV row has 3 columns (expected 16 or 18 for flow events, 7 or 8 for activity events)",
    ),
    ('1479834000,"flow.begin,x', "invalid CSV: unexpected end of data"),
    (f",flow.begin,{FLOW_A},0,,,,,,,,,,,,", "missing required field timestamp"),
    (f"1479834000,,{FLOW_A},0,,,,,,,,,,,,", "missing required field type"),
    ("1479834000,flow.begin,,0,,,,,,,,,,,,", "missing required field flow_id"),
    ("1479834000,flow.begin,xyz,0,,,,,,,,,,,,", "flow_id is not 64 hex characters"),
    (f"1479834000,flow.begin,{FLOW_A},-5,,,,,,,,,,,,", "flow_time is not an integer >= 0"),
    (f"yesterday,flow.begin,{FLOW_A},0,,,,,,,,,,,,", "time does not parse"),
    (f"99,flow.begin,{FLOW_A},0,,,,,,,,,,,,", "time out of range"),
    ("1479834000,Firefox,49,Linux,,account.login,sync", "missing required field uid"),
    (
        f"1479834000,Firefox,49,Linux,{'ab' * 32},account.login,sync,zz",
        "device_id is not 32 hex characters",
    ),
    (
        f"1479834000,Firefox,49,Linux,{'ab' * 33},account.login,sync",
        "field uid longer than 64 characters",
    ),
    (
        f"1479834000,{'F' * 257},49,Linux,{'ab' * 32},account.login,sync",
        "field ua_browser longer than 256 characters",
    ),
    ("", "ignored"),
    (f"1479834000,Firefox,49,Linux,{'ab' * 32},account.login,sync", None),
]


def check(cases: list[tuple[str, str | None]], path: Path, load, query) -> None:
    assert load(path) == 0
    expected_rejects = [
        (number, reason)
        for number, (_, reason) in enumerate(cases, start=1)
        if reason not in (None, "ignored")
    ]
    loaded = sum(1 for _, reason in cases if reason is None)
    ignored = sum(1 for _, reason in cases if reason == "ignored")
    assert (
        query("select line_number, reason from raw.rejected_lines order by 1") == expected_rejects
    )
    assert query("select lines, loaded, rejected, ignored from raw.load_ledger") == [
        (len(cases), loaded, len(expected_rejects), ignored)
    ]
    assert query(
        "select count(*) from (select source_line from raw.flow_events"
        " union all select source_line from raw.activity_events)"
    ) == [(loaded,)]


def test_every_log_rejection_reason(tmp_path: Path, hmac_key, duckdb_path, load, query):
    path = write(tmp_path / "bad.log", "\n".join(line for line, _ in LOG_CASES) + "\n")
    check(LOG_CASES, path, load, query)
    # raw_line is the line as read (here: the unterminated JSON of line 2).
    assert query("select raw_line from raw.rejected_lines where line_number = 2") == [
        (LOG_CASES[1][0],)
    ]


def test_every_csv_rejection_reason(tmp_path: Path, duckdb_path, load, query) -> None:
    path = write(tmp_path / "bad.csv", "\n".join(line for line, _ in CSV_CASES) + "\n")
    check(CSV_CASES, path, load, query)


def test_invalid_utf8_and_nul_bytes(tmp_path: Path, hmac_key, duckdb_path, load, query):
    lines = [
        flow().encode(),
        b'{"Type": "flowEvent", "x": "\xff\xfe"}',
        b"ab\x00cd",
        flow().encode(),
    ]
    path = tmp_path / "dirty.log"
    path.write_bytes(b"\n".join(lines))
    assert load(path) == 0
    assert query("select line_number, reason, raw_line from raw.rejected_lines order by 1") == [
        (2, "invalid UTF-8", '{"Type": "flowEvent", "x": "\ufffd\ufffd"}'),
        (3, "line contains a NUL byte", "ab\ufffdcd"),
    ]
    assert query("select lines, loaded, rejected, ignored from raw.load_ledger") == [(4, 2, 2, 0)]
    assert query("select source_line from raw.flow_events order by 1") == [(1,), (4,)]


def test_long_rejected_line_is_truncated(tmp_path: Path, hmac_key, duckdb_path, load, query):
    # (with a log line: a file of nothing but the broken line would be refused as not a log)
    path = write(tmp_path / "long.log", flow() + "\n{" + "x" * 100_000 + "\n")
    assert load(path) == 0
    assert query("select reason, length(raw_line) from raw.rejected_lines") == [
        ("invalid JSON", 16383)
    ]
