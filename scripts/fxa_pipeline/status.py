"""`load_events.py --status`: what the raw tables hold (docs/loader.md#status).

The files loaded, newest first, with their line counts and rejected share, the files
removed with --unload and not loaded again (raw.unloaded_files), then the most frequent
rejection reasons with a count and one example each. Read-only, and the same SQL on
every target (`Sink.query`): the examples are `raw.rejected_lines.raw_line`, which the loader
stored redacted (docs/loader.md#privacy); they are shown cut to `EXAMPLE_CHARACTERS`, with
control characters escaped so that a hostile line cannot drive the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fxa_pipeline.raw_schema import RAW_SCHEMA, LedgerRow, quote

EXAMPLE_CHARACTERS = 120
DEFAULT_FILES = 20
TOP_REASONS = 10

Query = Callable[[str], list[tuple[Any, ...]]]

_RAW = quote(RAW_SCHEMA)

# The tables --status reads; without them the target has never been loaded into.
STATUS_TABLES = ("load_ledger", "rejected_lines")

TABLES_SQL = (
    "select table_name from information_schema.tables"
    f" where table_schema = '{RAW_SCHEMA}'"
    " and table_name in (" + ", ".join(f"'{table}'" for table in STATUS_TABLES) + ")"
)

TOTALS_SQL = (
    "select count(*), coalesce(sum(lines), 0), coalesce(sum(loaded), 0),"
    f" coalesce(sum(rejected), 0), coalesce(sum(ignored), 0) from {_RAW}.load_ledger"
)

_FILES_SQL = (
    "select file_name, file_sha256, lines, loaded, rejected, ignored, loaded_at"
    f" from {_RAW}.load_ledger order by loaded_at desc, file_name"
)

# Per reason: its count and its example, the first line of the newest load with that reason.
# The example is cut in SQL already (one more character than shown, to know it was cut), so
# that a 16 KB rejected line is not fetched whole.
REASONS_SQL = (
    "select counted.reason, counted.line_count, picked.source_file, picked.line_number,"
    " picked.example"
    " from (select reason, count(*) as line_count"
    f" from {_RAW}.rejected_lines group by reason) as counted"
    " join (select reason, source_file, line_number,"
    f" substring(raw_line, 1, {EXAMPLE_CHARACTERS + 1}) as example,"
    " row_number() over (partition by reason"
    " order by loaded_at desc, source_file, line_number) as pick"
    f" from {_RAW}.rejected_lines) as picked"
    " on picked.reason = counted.reason and picked.pick = 1"
    " order by counted.line_count desc, counted.reason"
    f" limit {TOP_REASONS}"
)


# Files removed with --unload and not loaded again (raw.unloaded_files, a table older
# warehouses may not have yet), the newest unload first.
UNLOADED_TABLE_SQL = (
    "select table_name from information_schema.tables"
    f" where table_schema = '{RAW_SCHEMA}' and table_name = 'unloaded_files'"
)

UNLOADED_SQL = (
    "select unloaded.file_name, max(unloaded.unloaded_at) as unloaded_at"
    f" from {_RAW}.unloaded_files as unloaded"
    f" where not exists (select 1 from {_RAW}.load_ledger as ledger"
    " where ledger.file_name = unloaded.file_name)"
    " group by unloaded.file_name"
    " order by unloaded_at desc, unloaded.file_name"
)


def files_sql(limit: int | None) -> str:
    """The newest `limit` ledger rows (all of them when None)."""
    return _FILES_SQL + ("" if limit is None else f" limit {int(limit)}")


@dataclass(frozen=True)
class Reason:
    reason: str
    count: int
    source_file: str
    line_number: int
    example: str


@dataclass(frozen=True)
class Status:
    file_count: int
    lines: int
    loaded: int
    rejected: int
    ignored: int
    files: list[LedgerRow]  # newest first, at most the limit asked for
    reasons: list[Reason]  # most frequent first, at most TOP_REASONS
    # files removed with --unload and not loaded since: (name, last unload), newest first
    unloaded: list[tuple[str, datetime]] = field(default_factory=list)


def read_status(query: Query, limit: int | None = DEFAULT_FILES) -> Status | None:
    """What the raw tables hold; None when the target has no raw tables."""
    if len(query(TABLES_SQL)) < len(STATUS_TABLES):
        return None
    ((file_count, lines, loaded, rejected, ignored),) = query(TOTALS_SQL)
    files = [LedgerRow(*row) for row in query(files_sql(limit))]
    reasons = [
        Reason(reason, int(count), source, int(line), example or "")
        for reason, count, source, line, example in query(REASONS_SQL)
    ]
    unloaded = (
        [(name, when) for name, when in query(UNLOADED_SQL)] if query(UNLOADED_TABLE_SQL) else []
    )
    return Status(
        int(file_count),
        int(lines),
        int(loaded),
        int(rejected),
        int(ignored),
        files,
        reasons,
        unloaded,
    )


def share(part: int, whole: int) -> str:
    """`part / whole` as a percentage with two decimals (`-` for an empty whole)."""
    return f"{100 * part / whole:.2f}%" if whole else "-"


def printable(text: str, limit: int | None = None) -> str:
    """`text` with control characters escaped (`\\x1b`, `\\t`), cut to `limit` characters
    (`…` when cut)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns aligned right (numbers), but the first and the last aligned left."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    last = len(header) - 1
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(width) if i in (0, last) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_status(status: Status, where: str) -> str:
    lines = [
        f"raw tables of {where}: {status.file_count:,} files loaded; {status.lines:,} lines, "
        f"{status.loaded:,} loaded, {status.rejected:,} rejected "
        f"({share(status.rejected, status.lines)}), {status.ignored:,} ignored",
    ]
    if status.files:
        lines += ["", "files loaded, newest first:"]
        rows = [
            [
                f"{file.loaded_at:%Y-%m-%d %H:%M:%S}",
                f"{file.lines:,}",
                f"{file.loaded:,}",
                f"{file.rejected:,}",
                f"{file.ignored:,}",
                share(file.rejected, file.lines),
                printable(file.file_name),
            ]
            for file in status.files
        ]
        header = ["loaded at (UTC)", "lines", "loaded", "rejected", "ignored", "rejected %"]
        lines += _table([*header, "file"], rows)
        older = status.file_count - len(status.files)
        if older > 0:
            plural = "" if older == 1 else "s"
            lines.append(f"... and {older:,} older file{plural} (--limit 0 lists every file)")
    if status.unloaded:
        lines += [
            "",
            "files unloaded, not loaded again (loads skip them; load_events.py --force FILE loads "
            "one again):",
        ]
        rows = [[f"{when:%Y-%m-%d %H:%M:%S}", printable(name)] for name, when in status.unloaded]
        lines += _table(["unloaded at (UTC)", "file"], rows)
    if status.reasons:
        shown = sum(reason.count for reason in status.reasons)
        lines += ["", f"top rejection reasons ({shown:,} of {status.rejected:,} rejected lines):"]
        width = max(len(f"{reason.count:,}") for reason in status.reasons)
        for reason in status.reasons:
            lines.append(f"  {reason.count:>{width},}  {printable(reason.reason)}")
            lines.append(
                f"  {'':>{width}}  e.g. {printable(reason.source_file)}:{reason.line_number}: "
                f"{printable(reason.example, EXAMPLE_CHARACTERS)}"
            )
    elif status.file_count:
        lines += ["", "no rejected lines"]
    return "\n".join(lines) + "\n"


def no_raw_tables(where: str) -> str:
    return (
        f"{where} has no raw tables (raw.load_ledger, raw.rejected_lines): nothing has been "
        "loaded into it; check --target and its connection variables"
    )
