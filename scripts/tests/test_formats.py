"""Every input format of docs/data-contract.md#input-formats, with hand-computed expected rows."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path

from conftest import (
    DEVICE_A,
    FIREFOX_50_WINDOWS,
    FIREFOX_IOS,
    FLOW_A,
    FLOW_B,
    TEST_KEY,
    UID_A,
    write,
)


def hashed(uid: str) -> str:
    return hmac.new(TEST_KEY.encode(), uid.encode(), hashlib.sha256).hexdigest()


def envelope(type_: str, fields: dict, timestamp: int = 1479834000000000000) -> str:
    return json.dumps(
        {
            "Timestamp": timestamp,
            "Logger": "fxa-auth-server",
            "Type": type_,
            "Severity": 6,
            "Pid": 42,
            "EnvVersion": "2.0",
            "Hostname": "auth1",
            "Fields": fields,
        }
    )


LOG_LINES = [
    # 1: content server, ISO time with Z, valid utm values
    envelope(
        "flowEvent",
        {
            "event": "flow.begin",
            "flow_id": FLOW_A,
            "flow_time": 0,
            "time": "2016-11-22T16:59:58.250Z",
            "context": "fx_desktop_v3",
            "entrypoint": "menupanel",
            "service": "sync",
            "userAgent": FIREFOX_50_WINDOWS,
            "utm_campaign": "fx-new-tab",
            "utm_medium": "a.b%c-d_e",
            "utm_source": "newsletter",
        },
    ),
    # 2: train 71-74 begin name, ISO time with an offset, integral float flow_time, bad utm
    envelope(
        "flowEvent",
        {
            "event": "flow.signup.begin",
            "flow_id": FLOW_A,
            "flow_time": 5321.0,
            "time": "2016-11-22T18:00:00.5+01:00",
            "utm_campaign": "bad value!",
            "utm_source": "x" * 101,
            "utm_term": "x" * 100,
            "context": 42,
        },
    ),
    # 3: auth server, ms time, uid, upper-case flow id, "" and "none", flow_time as a string
    envelope(
        "flowEvent",
        {
            "event": "account.created",
            "flow_id": FLOW_B.upper(),
            "flow_time": "21010",
            "time": 1479834019260,
            "uid": UID_A,
            "locale": "en-US",
            "entrypoint": "",
            "migration": "none",
            "userAgent": FIREFOX_IOS,
        },
    ),
    # 4: no Fields.time: the envelope Timestamp in ns; no flow_time
    envelope(
        "flowEvent",
        {"event": "flow.complete", "flow_id": FLOW_B},
        timestamp=1479834093250000951,
    ),
    # 5: another Type: ignored
    envelope("request.summary", {"path": "/v1/account/create", "code": 200}),
    # 6: blank: ignored
    "   ",
    # 7: activity event, ms time, upper-case device id
    envelope(
        "activityEvent",
        {
            "event": "account.signed",
            "uid": UID_A,
            "device_id": DEVICE_A.upper(),
            "service": "sync",
            "userAgent": FIREFOX_IOS,
            "time": 1479834094250,
        },
    ),
    # 8: activity event, Timestamp only, service "", a numeric uid
    envelope(
        "activityEvent",
        {"event": "account.login", "uid": 12345, "service": ""},
        timestamp=1479834094250000000,
    ),
]

FLOW_COLUMNS = (
    'select "timestamp", "type", flow_id, flow_time, ua_browser, ua_version, ua_os, context,'
    " entrypoint, migration, service, utm_campaign, utm_content, utm_medium, utm_source,"
    " utm_term, locale, uid, source_line from raw.flow_events order by source_line"
)
ACTIVITY_COLUMNS = (
    'select "timestamp", "type", uid, device_id, service, ua_browser, ua_version, ua_os,'
    " source_line from raw.activity_events order by source_line"
)

EXPECTED_FLOW = [
    (
        datetime(2016, 11, 22, 16, 59, 58, 250000),
        "flow.begin",
        FLOW_A,
        0,
        "Firefox",
        "50",
        "Windows",
        "fx_desktop_v3",
        "menupanel",
        None,
        "sync",
        "fx-new-tab",
        None,
        "a.b%c-d_e",
        "newsletter",
        None,
        None,
        None,
        1,
    ),
    (
        datetime(2016, 11, 22, 17, 0, 0, 500000),
        "flow.begin",
        FLOW_A,
        5321,
        None,
        None,
        None,
        "42",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "x" * 100,
        None,
        None,
        2,
    ),
    (
        datetime(2016, 11, 22, 17, 0, 19, 260000),
        "account.created",
        FLOW_B,
        21010,
        "Firefox iOS",
        "5.3",
        "iOS",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "en-US",
        hashed(UID_A),
        3,
    ),
    (
        datetime(2016, 11, 22, 17, 1, 33, 250000),
        "flow.complete",
        FLOW_B,
        None,
        *([None] * 13),
        None,
        4,
    ),
]

EXPECTED_ACTIVITY = [
    (
        datetime(2016, 11, 22, 17, 1, 34, 250000),
        "account.signed",
        hashed(UID_A),
        DEVICE_A,
        "sync",
        "Firefox iOS",
        "5.3",
        "iOS",
        7,
    ),
    (
        datetime(2016, 11, 22, 17, 1, 34, 250000),
        "account.login",
        hashed("12345"),
        None,
        None,
        None,
        None,
        None,
        8,
    ),
]


def test_json_log(tmp_path: Path, hmac_key, duckdb_path, load, query, capsys) -> None:
    path = write(tmp_path / "in" / "auth.log", "\n".join(LOG_LINES) + "\n")
    assert load(path) == 0
    assert query(FLOW_COLUMNS) == EXPECTED_FLOW
    assert query(ACTIVITY_COLUMNS) == EXPECTED_ACTIVITY
    assert query("select count(*) from raw.rejected_lines") == [(0,)]
    assert query("select file_name, lines, loaded, rejected, ignored from raw.load_ledger") == [
        (str(path.resolve()), 8, 6, 0, 2)
    ]
    out = capsys.readouterr().out
    assert f"{path.resolve()}: 8 lines, 6 loaded, 0 rejected, 2 ignored (" in out
    assert "total: 1 files loaded, 0 skipped, 0 failed; 8 lines, 6 loaded" in out


def test_gzip_log_without_final_newline(tmp_path: Path, hmac_key, duckdb_path, load, query):
    # A .gz file is recognised by content; the name does not even end in .gz.
    path = write(tmp_path / "auth-log-compressed", "\n".join(LOG_LINES), compress=True)
    assert load(path) == 0
    assert query(FLOW_COLUMNS) == EXPECTED_FLOW
    assert query(ACTIVITY_COLUMNS) == EXPECTED_ACTIVITY
    assert query("select lines, loaded, rejected, ignored from raw.load_ledger") == [(8, 6, 0, 2)]


def test_crlf_line_ends(tmp_path: Path, hmac_key, duckdb_path, load, query) -> None:
    path = write(tmp_path / "auth.log", "\r\n".join(LOG_LINES) + "\r\n")
    assert load(path) == 0
    assert query(FLOW_COLUMNS) == EXPECTED_FLOW


def test_text_mode(tmp_path: Path, hmac_key, duckdb_path, load, query) -> None:
    fields = {
        "event": "account.login",
        "flow_id": FLOW_A,
        "flow_time": 3000,
        "time": 1479834001250,
        "userAgent": FIREFOX_50_WINDOWS,
        "service": "sync",
        "locale": "en-US",
    }
    activity = {"event": "device.created", "uid": UID_A, "time": 1479834001250}
    lines = [
        "fxa-auth-server.INFO: flowEvent " + json.dumps(fields),
        "fxa-auth-server.INFO: activityEvent " + json.dumps(activity),
        'fxa-auth-server.INFO: request.summary {"path": "/v1/account/login"}',
        "fxa-auth-server.INFO: flowEvent " + json.dumps({**fields, "time": None}),
    ]
    path = write(tmp_path / "text.log", "\n".join(lines) + "\n")
    assert load(path) == 0
    assert query(
        'select "timestamp", "type", flow_id, flow_time, ua_browser, ua_version, ua_os, service,'
        " locale from raw.flow_events"
    ) == [
        (
            datetime(2016, 11, 22, 17, 0, 1, 250000),
            "account.login",
            FLOW_A,
            3000,
            "Firefox",
            "50",
            "Windows",
            "sync",
            "en-US",
        )
    ]
    assert query('select "timestamp", "type", uid from raw.activity_events') == [
        (datetime(2016, 11, 22, 17, 0, 1, 250000), "device.created", hashed(UID_A))
    ]
    # request.summary is another Type: ignored. The last line has no time at all (text mode
    # has no envelope Timestamp).
    assert query("select line_number, reason from raw.rejected_lines order by 1") == [
        (4, "missing required field time"),
    ]
    assert query("select lines, loaded, rejected, ignored from raw.load_ledger") == [(4, 2, 1, 1)]


FLOW_CSV = "\n".join(
    [
        # 16 columns (before locale and uid were added)
        f"1479834000,flow.begin,{FLOW_B},0,Firefox,50,Windows,fx_desktop_v3,menupanel,,sync,"
        "fx-new-tab,,email,newsletter,",
        # 18 columns, decimal seconds, quoted field with a comma, train 71-74 begin name
        f"1488369600.5,flow.signin.begin,{FLOW_A.upper()},4211,Firefox,51,Mac OS X,none,"
        f'"menu,panel",,sync,,,,,,en-US,{"ab" * 32}',
    ]
)

ACTIVITY_CSV = "\n".join(
    [
        # 7 columns (before device_id was added)
        f"1474934400,Firefox,49,Linux,{'7d' * 32},account.login,sync",
        # 8 columns
        f"1488369600,Firefox,51,Mac OS X,{'ed' * 32},account.signed,none,{DEVICE_A}",
    ]
)


def test_flow_csv_16_and_18_columns(tmp_path: Path, duckdb_path, load, query, monkeypatch):
    # CSV uids are already HMACed: no key is needed.
    monkeypatch.delenv("FXA_METRICS_UID_HMAC_KEY", raising=False)
    path = write(tmp_path / "flow-2017-03-01.csv", FLOW_CSV + "\n")
    assert load(path) == 0
    assert query(FLOW_COLUMNS) == [
        (
            datetime(2016, 11, 22, 17, 0, 0),
            "flow.begin",
            FLOW_B,
            0,
            "Firefox",
            "50",
            "Windows",
            "fx_desktop_v3",
            "menupanel",
            None,
            "sync",
            "fx-new-tab",
            None,
            "email",
            "newsletter",
            None,
            None,
            None,
            1,
        ),
        (
            datetime(2017, 3, 1, 12, 0, 0, 500000),
            "flow.begin",
            FLOW_A,
            4211,
            "Firefox",
            "51",
            "Mac OS X",
            None,
            "menu,panel",
            None,
            "sync",
            None,
            None,
            None,
            None,
            None,
            "en-US",
            "ab" * 32,
            2,
        ),
    ]


def test_activity_csv_7_and_8_columns(tmp_path: Path, duckdb_path, load, query) -> None:
    path = write(tmp_path / "events-2017-03-01.csv.gz", ACTIVITY_CSV, compress=True)
    assert load(path) == 0
    assert query(ACTIVITY_COLUMNS) == [
        (
            datetime(2016, 9, 27, 0, 0),
            "account.login",
            "7d" * 32,
            None,
            "sync",
            "Firefox",
            "49",
            "Linux",
            1,
        ),
        (
            datetime(2017, 3, 1, 12, 0),
            "account.signed",
            "ed" * 32,
            DEVICE_A,
            None,
            "Firefox",
            "51",
            "Mac OS X",
            2,
        ),
    ]


def test_folder_is_recursed(tmp_path: Path, hmac_key, duckdb_path, load, query) -> None:
    write(tmp_path / "in" / "a" / "flow.csv", FLOW_CSV)
    write(tmp_path / "in" / "b" / "c" / "events.csv", ACTIVITY_CSV)
    write(tmp_path / "in" / "auth.log", "\n".join(LOG_LINES))
    assert load(tmp_path / "in") == 0
    assert query("select count(*), sum(lines), sum(loaded) from raw.load_ledger") == [(3, 12, 10)]
