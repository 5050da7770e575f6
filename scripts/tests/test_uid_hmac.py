"""The SQL HMAC equals Python's hmac module, and rejected lines never keep a raw uid."""

import hashlib
import hmac

import duckdb
import pytest
from fxa_pipeline.uid_hmac import HmacKey, contains_uid, redact_uids


@pytest.mark.parametrize(
    "key",
    ["k", "a much longer key " * 8, "clé-ünïcode", "x" * 64],
)
@pytest.mark.parametrize("uid", ["1919e93ad11745ad498893101c593af5", "é", "", "a" * 300])
def test_sql_hmac_equals_python_hmac(key: str, uid: str) -> None:
    expected = hmac.new(key.encode(), uid.encode(), hashlib.sha256).hexdigest()
    hmac_key = HmacKey(key.encode())
    con = duckdb.connect()
    (got,) = con.execute(
        f"select {HmacKey.sql_expression('$uid')}", {**hmac_key.sql_parameters(), "uid": uid}
    ).fetchone()
    assert got == expected
    assert hmac_key.hexdigest(uid) == expected


def test_redact_uids_on_valid_and_invalid_json() -> None:
    key = HmacKey(b"k")
    digest = hmac.new(b"k", b"1919e93ad11745ad498893101c593af5", hashlib.sha256).hexdigest()
    line = '{"Fields": {"uid": "1919e93ad11745ad498893101c593af5", "x": 1'  # truncated JSON
    assert redact_uids(line, key) == '{"Fields": {"uid": "' + digest + '", "x": 1'
    bare = hmac.new(b"k", b"12345", hashlib.sha256).hexdigest()
    assert redact_uids('{"uid" : 12345}', key) == '{"uid" : "' + bare + '"}'
    assert "1919e93ad" not in redact_uids('x "uid":"1919e93ad11745ad', key)
    assert contains_uid('{"uid": null}')
    assert not contains_uid('{"uuid_like": "x"}')
