"""HMAC-SHA256 of user ids: the only form in which a uid reaches the warehouse (docs/loader.md).

`lower(hex(HMAC-SHA256(key, uid)))`, the key being the UTF-8 bytes of the environment
variable `FXA_METRICS_UID_HMAC_KEY`, the uid as logged (not lower-cased). Two implementations
that must agree (a test proves it):

- `hmac_uid()`: Python's `hmac` module, used for the few rejected lines whose raw text is
  redacted (`redact_rejected_line()`);
- `HmacKey.sql_expression()`: the same HMAC written with DuckDB's vectorised `sha256()`
  (HMAC = H((K ^ opad) || H((K ^ ipad) || m))), so the loader hashes millions of uids without a
  Python call per value. The key pads are passed as query parameters, never as SQL text, so the
  key cannot appear in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

KEY_VARIABLE = "FXA_METRICS_UID_HMAC_KEY"
_BLOCK = 64  # SHA-256 block size in bytes
FINGERPRINT_LABEL = b"fxa-metrics uid HMAC key fingerprint"

# `"uid": <value>` in raw (possibly invalid) JSON: a string value (escapes allowed) or a bare
# scalar. Used on rejected lines, which may not parse.
_UID_VALUE = re.compile(r'("uid"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^\s,}\]]+)')

# A run of exactly 32 hexadecimal characters, either case, not part of a longer run: the shape
# of a uid wherever it stands in a rejected line, whatever is left of its key or quotes.
_HEX32 = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32}(?![0-9A-Fa-f])")


class MissingKeyError(RuntimeError):
    """A file holds uids but no HMAC key is configured."""


@dataclass(frozen=True)
class HmacKey:
    key: bytes = field(repr=False)

    @classmethod
    def from_environment(cls) -> HmacKey | None:
        value = os.environ.get(KEY_VARIABLE, "")
        return cls(value.encode("utf-8")) if value else None

    def fingerprint(self) -> str:
        """What the warehouse records of the key (raw.loader_settings) to refuse a load with
        another key: the first 16 hex characters of HMAC-SHA256(key, `FINGERPRINT_LABEL`).
        Knowing it tells nothing of the key."""
        return hmac.new(self.key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]

    def hexdigest(self, uid: str) -> str:
        return hmac.new(self.key, uid.encode("utf-8"), hashlib.sha256).hexdigest()

    def pads(self) -> tuple[bytes, bytes]:
        """The inner and outer key pads of RFC 2104."""
        key = self.key
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        inner = bytes(b ^ 0x36 for b in key)
        outer = bytes(b ^ 0x5C for b in key)
        return inner, outer

    @staticmethod
    def sql_expression(value_sql: str) -> str:
        """DuckDB SQL for the HMAC of `value_sql` (VARCHAR); needs parameters $ipad, $opad."""
        return f"sha256($opad || unhex(sha256($ipad || encode({value_sql}))))"

    def sql_parameters(self) -> dict[str, bytes]:
        inner, outer = self.pads()
        return {"ipad": inner, "opad": outer}


def hmac_uid(key: HmacKey, uid: str) -> str:
    return key.hexdigest(uid)


def contains_uid(raw_line: str) -> bool:
    """Whether a rejected line holds something `redact_rejected_line()` would HMAC: a `"uid"`
    field or a run of exactly 32 hex characters (a file with any needs the key)."""
    return _UID_VALUE.search(raw_line) is not None or _HEX32.search(raw_line) is not None


def redact_uids(raw_line: str, key: HmacKey) -> str:
    """Replace the value of every `"uid"` field in `raw_line` by its HMAC (as a JSON string).

    Works on invalid JSON too: a string value is hashed without its quotes, a bare value as is.
    """

    def replace(match: re.Match[str]) -> str:
        value = match.group(2)
        if value.startswith('"'):
            value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        return f'{match.group(1)}"{key.hexdigest(value)}"'

    return _UID_VALUE.sub(replace, raw_line)


def redact_hex32(raw_line: str, key: HmacKey) -> str:
    """Replace every run of exactly 32 hex characters (either case, not part of a longer run)
    by its HMAC, computed on the run as written, as a uid is (not lower-cased)."""
    return _HEX32.sub(lambda match: key.hexdigest(match.group(0)), raw_line)


def redact_rejected_line(raw_line: str, key: HmacKey) -> str:
    """The uid redaction of `raw.rejected_lines.raw_line`, which relies on no parse of the line:
    first the value of every `"uid"` field (any shape) is replaced by its HMAC, then every
    remaining run of exactly 32 hex characters (a uid whose key or quotes are damaged, a
    device id, a spliced fragment). The HMACs are 64 hex characters, so the second pass never
    touches the first's output, and a 32-hex uid gets the same HMAC from either pass."""
    return redact_hex32(redact_uids(raw_line, key), key)
