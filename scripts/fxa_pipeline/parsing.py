"""Format detection and the few per-line parses that stay in Python.

- A file is a server log (mozlog JSON lines, or the human-readable text mode
  `<logger>.<LEVEL>: <Type> {json}`) when its first non-blank line starts with `{` or has the text
  mode prefix; otherwise it is a legacy CSV export (docs/data-contract.md#input-formats).
- CSV rows without a double quote are split on commas in SQL; rows with quotes are parsed here
  with the `csv` module, one physical line at a time (a quoted field never spans lines: an
  unterminated quote is a rejected line, reason `invalid CSV: ...`).
"""

from __future__ import annotations

import csv
import re
from typing import Literal

FileFormat = Literal["log", "csv"]

# The text mode's prefix: `fxa-auth-server.INFO: flowEvent {...}`. The Type is any word without
# spaces, quotes or backslashes (`request.summary` too), so it can be put back into a JSON
# envelope verbatim. The same pattern (RE2 syntax, a subset of Python's) is used in SQL.
TEXT_MODE_PATTERN = r'^[\w.-]+\.[A-Z]+: ([^\s"\\]+) (\{.*)$'
_TEXT_MODE = re.compile(TEXT_MODE_PATTERN.encode("ascii"))


def detect_format(first_line: bytes) -> FileFormat:
    stripped = first_line.lstrip(b" \t")
    if stripped.startswith(b"{") or _TEXT_MODE.match(stripped):
        return "log"
    return "csv"


def parse_csv_line(line: str) -> tuple[list[str] | None, str | None]:
    """The fields of one CSV line, or None and the reason it is not valid CSV."""
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error as error:
        return None, f"invalid CSV: {error}"
    if len(rows) != 1:
        return None, "invalid CSV: not one row"
    return rows[0], None
