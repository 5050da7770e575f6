"""Rejected lines never keep a raw uid, however damaged (docs/loader.md "Privacy").

In `raw.rejected_lines.raw_line`, the value of every `"uid"` field, then every run of exactly
32 hex characters (either case, not part of a longer run of hex characters), is replaced by
`lower(hex(HMAC-SHA256(key, run)))`: the run as written, as a loaded uid is HMACed (the loader
does not lower-case uids). User agents: the value of every `"userAgent"` field is replaced by a
marker, as before, and so is any quoted piece holding a product token (`Mozilla/5.0`), for
agents whose key is damaged. Without the key, a file with such a run in a rejected line is
refused like a file with uids.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from conftest import DEVICE_A, FIREFOX_50_WINDOWS, FLOW_A, TEST_KEY, UID_A, UID_B, write
from fxa_pipeline.uid_hmac import HmacKey, contains_uid, redact_hex32, redact_rejected_line
from fxa_pipeline.useragent import redact_user_agents

KEY = HmacKey(TEST_KEY.encode())


def mac(value: str) -> str:
    return hmac.new(TEST_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # a broken key: the field rule cannot see it, the 32-hex rule does
        ('{"Fields": {"ui": "' + UID_A + '", "x', '{"Fields": {"ui": "' + mac(UID_A) + '", "x'),
        # no key and no quotes at all, cut right after the run
        ("xx" + UID_A, "xx" + mac(UID_A)),
        # upper case: HMACed as written, like a loaded uid
        (UID_A.upper(), mac(UID_A.upper())),
        # spliced between non-hex characters (g, -, z)
        ("g" + UID_A + "-" + UID_B + "z", "g" + mac(UID_A) + "-" + mac(UID_B) + "z"),
        # a device id is a 32-hex run too
        (f'"device_id":"{DEVICE_A}"', f'"device_id":"{mac(DEVICE_A)}"'),
        # the field rule first (any value), then the runs: one HMAC per uid, never two
        ('{"uid": "' + UID_A + '"}', '{"uid": "' + mac(UID_A) + '"}'),
        (
            '{"uid": "not-hex", "u": "' + UID_B + '"}',
            '{"uid": "' + mac("not-hex") + '", "u": "' + mac(UID_B) + '"}',
        ),
    ],
)
def test_redaction_of_damaged_lines(line: str, expected: str) -> None:
    assert redact_rejected_line(line, KEY) == expected


@pytest.mark.parametrize(
    "line",
    [
        "a" * 31,  # too short
        "a" * 33,  # part of a longer run
        FLOW_A,  # 64: a flow id, or an HMAC
        "0" + UID_A,  # a uid glued to another hex character: a 33-run, left as read
        "x" + UID_A[:16] + "\ufffd" + UID_A[16:],  # cut in two by a replacement character
    ],
)
def test_runs_that_are_not_exactly_32_hex_are_kept(line: str) -> None:
    assert redact_hex32(line, KEY) == line


def test_the_32_hex_rule_never_touches_an_hmac() -> None:
    once = redact_rejected_line(f'{{"uid":"{UID_A}", {UID_B}', KEY)
    assert once == f'{{"uid":"{mac(UID_A)}", {mac(UID_B)}'
    assert redact_hex32(once, KEY) == once
    assert contains_uid(UID_A) and contains_uid("x" + UID_A.upper() + "y")
    assert not contains_uid(FLOW_A) and not contains_uid("a" * 31)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # the key intact: the value, whatever its shape (as before)
        ('{"userAgent": "not a browser", "x": 1}', '{"userAgent": "[redacted]", "x": 1}'),
        ('{"userAgent": 42}', '{"userAgent": "[redacted]"}'),
        # the key damaged: the quoted piece holding a product token
        (
            '{"userAgen": "' + FIREFOX_50_WINDOWS + '", "x": 1}',
            '{"userAgen": "[redacted]", "x": 1}',
        ),
        ('x "uA": "FxSync/1.57.0.2017.desktop', 'x "uA": "[redacted]'),
        # a value that is not a string: what the first rule leaves, the second takes
        (
            '{"userAgent": ["Mozilla/5.0 (X11) Firefox/52.0"]}',
            '{"userAgent": "[redacted]"[redacted]"]}',
        ),
        # no product token, nothing to do
        ('{"event": "route./v1/account/create.200", "v": "a/b"}', None),
        ("1479834000,Firefox,50,Windows,,account.login,sync", None),
    ],
)
def test_user_agent_redaction(line: str, expected: str | None) -> None:
    assert redact_user_agents(line) == (line if expected is None else expected)


def test_rejected_lines_are_redacted_on_every_target(tmp_path: Path, raw_warehouse, load) -> None:
    target, query = raw_warehouse
    good = json.dumps({"Type": "activityEvent", "Fields": {"event": "x", "uid": UID_A, "time": 1}})
    good = good.replace('"time": 1', '"time": 1479834000000')
    damaged = [
        good[:-3],  # cut: invalid JSON, the uid field intact
        good.replace('"uid"', '"ui"')[:-2],  # broken key, cut
        good.replace('"uid": "', '"uid": "x').replace(UID_A, UID_A + '"#', 1)[:-1],  # spliced
        "garbage " + UID_A.upper() + " more garbage",  # upper case, no JSON at all
        f"{UID_B},{DEVICE_A}!",
        '{"Fields": {"userAgnt": "' + FIREFOX_50_WINDOWS + '", "event"',  # a damaged agent key
    ]
    path = write(tmp_path / "a.log", "\n".join([good, *damaged]) + "\n")
    assert load(path, target=target) == 0
    (stored_uid,) = query("select uid from raw.activity_events")[0]
    assert stored_uid == mac(UID_A)
    lines = [row[0] for row in query("select raw_line from raw.rejected_lines order by 1")]
    assert len(lines) == len(damaged)
    text = "\n".join(lines)
    for raw in (UID_A, UID_A.upper(), UID_B, DEVICE_A, FIREFOX_50_WINDOWS):
        assert raw not in text
    # the same HMAC as the loaded uid, so a rejected line can be matched to its account
    assert sum(mac(UID_A) in line for line in lines) == 2
    assert mac(UID_A.upper()) in text and mac(UID_B) in text and mac(DEVICE_A) in text


def test_a_32_hex_run_in_a_rejected_line_needs_the_key(
    tmp_path: Path, duckdb_path, load, query, capsys, monkeypatch
) -> None:
    """CSV exports need no key (their uids are HMACed already) unless a rejected row holds a
    32-hex run: a device id, or a raw uid in a line that is not a valid row."""
    monkeypatch.delenv("FXA_METRICS_UID_HMAC_KEY", raising=False)
    hmaced = "ab" * 32
    fine = write(
        tmp_path / "a-fine.csv",
        f"1479834000,Firefox,49,Linux,{hmaced},account.login,sync,{DEVICE_A}\nbad,row\n",
    )
    bad_device = write(
        tmp_path / "b-device.csv",
        f"1479834000,Firefox,49,Linux,{hmaced},account.login,sync\n"
        f"oops,Firefox,49,Linux,{hmaced},account.login,sync,{DEVICE_A}\n",
    )
    assert load(fine, bad_device) == 2
    err = capsys.readouterr().err
    assert f"error: {bad_device.resolve()}: this file holds uids (or runs of 32 hex" in err
    assert "FXA_METRICS_UID_HMAC_KEY is not set" in err
    assert query("select file_name from raw.load_ledger") == [(str(fine.resolve()),)]
    assert query("select count(*) from raw.rejected_lines") == [(1,)]  # fine's "bad,row"
    assert query(f"select count(*) from raw.activity_events where device_id = '{DEVICE_A}'") == [
        (1,)
    ]
