"""Normalisation as SQL: one batch of numbered lines in, one row per line with its fate out.

The loader hands each batch of lines to DuckDB (`_fxa_lines(line_no, line)`, or for a clean
log chunk Arrow pieces split in the same statement) and builds the temp table `_fxa_parsed` with
one row per line: `kind` (`flow`, `activity`, `ignored`, `rejected`), `reason` and `raw_line`
(for rejected lines), `log_line` (the line is a line of this parser's format, valid or not: see
`LOG_LINE_RULE`), and the normalised columns. JSON is parsed once per line with
DuckDB's vectorised `json_transform`; the rare lines that need a closer look (invalid JSON, a
non-string in a string field) are examined again only on that path. For a log, `uid` is the raw
uid: `uid_hmacs_sql()` HMACs each distinct uid of the batch once and the loader's insert joins
it, so no raw uid leaves the in-memory engine (a CSV export's uids are HMACed already).

Rules (docs/loader.md has them all, with the reasons):
- Every string field: JSON `null`, missing, `""` and `none` become NULL; a JSON number is kept as
  its text; an object, array or boolean rejects the line (`field X is not a string`).
- Required: `event` (`type` in CSV), `flow_id` for flow events, `uid` for activity events, a
  time. `flow_id` must be 64 hex characters and `device_id` (when present) 32, any case, stored
  lowercase.
- `flow_time` is optional (NULL when missing); when present it must be an integral number >= 0
  (a JSON integer, an integral float such as 5321.0, or a string of digits).
- Time: `Fields.time` (a JSON number = epoch milliseconds, a string = ISO-8601 with `Z` or an
  offset, converted to UTC) else the envelope `Timestamp` (epoch nanoseconds); CSV: epoch seconds,
  integer or decimal. Truncated to milliseconds. Outside [2000-01-01, 2100-01-01) the line is
  rejected (`time out of range`).
- `flow.<view>.begin` is stored as `flow.begin`; `utm_*` values that do not match
  `^[\\w.%-]+$` or are longer than 100 characters become NULL.
- A value longer than its raw_schema column rejects the line (`field X longer than N
  characters`).
"""

from __future__ import annotations

from fxa_pipeline.parsing import TEXT_MODE_PATTERN
from fxa_pipeline.raw_schema import LONG_TEXT, SHORT_TEXT, literal, quote
from fxa_pipeline.sql import render_sql
from fxa_pipeline.uid_hmac import HmacKey

MIN_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z (excluded)

# Fields read as strings from a log line's Fields object.
LOG_STRING_FIELDS = (
    "event",
    "flow_id",
    "userAgent",
    "service",
    "context",
    "entrypoint",
    "migration",
    "utm_campaign",
    "utm_content",
    "utm_medium",
    "utm_source",
    "utm_term",
    "locale",
    "uid",
    "device_id",
)
UTM_FIELDS = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")
FLOW_TEXT_FIELDS = ("context", "entrypoint", "migration", "service", "locale")

PARSED_COLUMNS = (
    "line_no",
    "kind",
    "reason",
    "raw_line",
    "log_line",
    "timestamp",
    "type",
    "flow_id",
    "flow_time",
    "agent",
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
    "device_id",
)


def _null_if_empty(expression: str) -> str:
    return f"nullif(nullif({expression}, ''), 'none')"


def _log_structure() -> str:
    fields = ", ".join(f'"{name}": "VARCHAR"' for name in LOG_STRING_FIELDS)
    return (
        '{"Type": "VARCHAR", "Timestamp": "JSON", "Fields": {'
        + fields
        + ', "time": "JSON", "flow_time": "JSON"}}'
    )


def _time_checks(ms: str, present: str, missing_reason: str) -> list[str]:
    return [
        f"when not ({present}) then {literal(missing_reason)}",
        f"when {ms} is null or isnan({ms}) then 'time does not parse'",
        f"when not ({ms} >= {MIN_EPOCH_MS} and {ms} < {MAX_EPOCH_MS}) then 'time out of range'",
    ]


def _length_check(column: str, label: str, limit: int) -> str:
    return (
        f"when length({column}) > {limit} then "
        f"{literal(f'field {label} longer than {limit} characters')}"
    )


def _begin_normalised(column: str) -> str:
    return (
        f"case when suffix({column}, '.begin') and regexp_full_match({column}, 'flow\\..+\\.begin')"
        f" then 'flow.begin' else {column} end"
    )


def _utm(column: str) -> str:
    return (
        f"case when strlen({column}) <= 100 and regexp_full_match({column}, '[\\w.%-]+')"
        f" then {column} end"
    )


def _timestamp(ms: str) -> str:
    return (
        f"case when {ms} >= {MIN_EPOCH_MS} and {ms} < {MAX_EPOCH_MS}"
        f" then epoch_ms(cast({ms} as bigint)) end"
    )


def _blank(line: str) -> str:
    # regexp_full_match stops at the first other character: far cheaper than trim() = ''.
    return f"regexp_full_match({line}, '[ \\t]*')"


def _identifier_checks(prefix: str) -> str:
    """CASE branches both formats share: flow_id and uid present, ids of the right shape."""
    return f"""when is_flow and {prefix}flow_id is null then 'missing required field flow_id'
            when is_flow and not regexp_full_match({prefix}flow_id, '[0-9a-fA-F]{{64}}')
                then 'flow_id is not 64 hex characters'
            when is_activity and {prefix}uid is null then 'missing required field uid'
            when is_activity and {prefix}device_id is not null
                and not regexp_full_match({prefix}device_id, '[0-9a-fA-F]{{32}}')
                then 'device_id is not 32 hex characters'"""


# When a line is a log line (docs/loader.md, "Files that are not logs"): a file none of whose
# lines is one, in either format, is refused whole. Each parser marks the lines of its own
# format; the loader asks the other parser only about the lines of a file with none so far.
LOG_LINE_RULE = {
    "log": "a JSON object, or a line with the text-mode prefix (its JSON valid or not)",
    "csv": "one CSV row (no CSV error) of 7, 8, 16 or 18 columns",
}


def _parsed_select(prefix: str, other_kind: str, log_line: str, overrides: dict[str, str]) -> str:
    """The final SELECT of `_fxa_parsed` (PARSED_COLUMNS) from the `checked` CTE, whose
    fields are named `<prefix><column>`. `other_kind` is the kind of a line that is not blank,
    not rejected and not a flow event; `log_line` says whether a non-blank line is a line of
    the format (LOG_LINE_RULE); `overrides` replaces the expression of some columns."""
    expressions = {
        "timestamp": _timestamp("ms"),
        "flow_id": f"lower({prefix}flow_id)",
        "flow_time": "flow_time_value",
        "device_id": f"lower({prefix}device_id)",
        **{name: _utm(prefix + name) for name in UTM_FIELDS},
        **overrides,
    }
    columns = ",\n    ".join(
        f"{expressions.get(name, prefix + name)} as {quote(name)}" for name in PARSED_COLUMNS[5:]
    )
    return f"""select
    line_no,
    case
        when {_blank("line")} then 'ignored'
        when reason is not null then 'rejected'
        when is_flow then 'flow'
        else {other_kind}
    end as kind,
    reason,
    case when reason is not null then line end as raw_line,
    case when {_blank("line")} then false else coalesce({log_line}, false) end as log_line,
    {columns}
from checked
"""


def uid_hmacs_sql() -> str:
    """SQL creating `_fxa_uid_hmacs(uid, uid_hmac)` for the distinct raw uids of a log batch's
    loaded rows in `_fxa_parsed`; parameters $ipad, $opad. uids repeat (an account logs many
    events), so this is several times fewer HMACs than one per row."""
    return f"""
create or replace temp table _fxa_uid_hmacs as
select uid, {HmacKey.sql_expression("uid")} as uid_hmac
from (
    select distinct uid from _fxa_parsed
    where kind in ('flow', 'activity') and uid is not null
)
"""


def lines_from_pieces_sql(strip_cr: bool) -> str:
    """A SELECT of (line_no, line) from `_fxa_input(first_line, piece)`: several pieces of a
    chunk, each whole lines joined by newlines, split in DuckDB (one pipeline, in parallel)."""
    line = "rtrim(line, chr(13))" if strip_cr else "line"
    return f"""select line_no, {line} as line from (
        select
            first_line - 1 + generate_subscripts(parts, 1) as line_no,
            unnest(parts) as line
        from (select first_line, string_split(piece, chr(10)) as parts from _fxa_input)
    )"""


# A log line of a server log: a text-mode line, or a JSON object as DuckDB's JSON reader reads
# it (json_transform also accepts scalars and arrays, hence json_type(), only for the rare
# lines without a Type).
_LOG_LINE_SQL = (
    "case when text_mode_line or log_type is not null then true"
    " else coalesce(try(json_type(doc)) = 'OBJECT', false) end"
)


def log_parse_sql(
    lines_sql: str = "select line_no, line from _fxa_lines", into: str = "_fxa_parsed"
) -> str:
    """SQL creating `into` (default `_fxa_parsed`) from the (line_no, line) rows of
    `lines_sql` for a server log (`uid` raw: see uid_hmacs_sql). `raw_line` keeps the text of
    rejected lines only."""
    field_columns = ",\n        ".join(
        f"{_null_if_empty(f'j.Fields.{quote(name)}')} as {quote('f_' + name)}"
        for name in LOG_STRING_FIELDS
    )
    not_string_checks = "\n            ".join(
        f"when (starts_with(f_{name}, '{{') or starts_with(f_{name}, '[')"
        f" or f_{name} in ('true', 'false'))"
        f" and json_type(doc, '$.Fields.{name}') in ('OBJECT', 'ARRAY', 'BOOLEAN')"
        f" then 'field {name} is not a string'"
        for name in LOG_STRING_FIELDS
    )
    flow_length_checks = "\n            ".join(
        "when is_flow and " + _length_check(f"f_{name}", name, SHORT_TEXT)[5:]
        for name in FLOW_TEXT_FIELDS
    )
    time_checks = "\n            ".join(
        _time_checks(
            "ms", "time_json is not null or ts_json is not null", "missing required field time"
        )
    )
    return render_sql(
        "log_parse.sql",
        into=into,
        lines_sql=lines_sql,
        text_mode_pattern=literal(TEXT_MODE_PATTERN),
        log_structure=literal(_log_structure()),
        field_columns=field_columns,
        blank_line=_blank("line"),
        not_string_checks=not_string_checks,
        identifier_checks=_identifier_checks("f_"),
        time_checks=time_checks,
        event_length_check=_length_check("f_event", "event", LONG_TEXT),
        flow_length_checks=flow_length_checks,
        service_length_check=_length_check("f_service", "service", SHORT_TEXT)[5:],
        parsed_select=_parsed_select(
            "f_",
            "case when is_activity then 'activity' else 'ignored' end",
            _LOG_LINE_SQL,
            {
                "type": _begin_normalised("f_event"),
                "agent": "f_userAgent",
                "ua_browser": "cast(null as varchar)",
                "ua_version": "cast(null as varchar)",
                "ua_os": "cast(null as varchar)",
            },
        ),
    )


# Legacy CSV exports: column positions (1-based) per layout.
FLOW_CSV = {
    "timestamp": 1,
    "type": 2,
    "flow_id": 3,
    "flow_time": 4,
    "ua_browser": 5,
    "ua_version": 6,
    "ua_os": 7,
    "context": 8,
    "entrypoint": 9,
    "migration": 10,
    "service": 11,
    "utm_campaign": 12,
    "utm_content": 13,
    "utm_medium": 14,
    "utm_source": 15,
    "utm_term": 16,
    "locale": 17,
    "uid": 18,
}
ACTIVITY_CSV = {
    "timestamp": 1,
    "ua_browser": 2,
    "ua_version": 3,
    "ua_os": 4,
    "uid": 5,
    "type": 6,
    "service": 7,
    "device_id": 8,
}
CSV_COLUMN_NAMES = tuple(dict.fromkeys([*FLOW_CSV, *ACTIVITY_CSV]))


def _csv_field(name: str) -> str:
    flow = FLOW_CSV.get(name)
    activity = ACTIVITY_CSV.get(name)
    flow_sql = f"f[{flow}]" if flow else "null"
    activity_sql = f"f[{activity}]" if activity else "null"
    # f[17], f[18] and f[8] are NULL on the shorter layouts (list index past the end).
    return _null_if_empty(f"case when is_flow then {flow_sql} else {activity_sql} end")


def csv_parse_sql(into: str = "_fxa_parsed") -> str:
    """SQL creating `into` (default `_fxa_parsed`) from `_fxa_lines` and `_fxa_csv_quoted`
    for a CSV export."""
    columns = ",\n        ".join(f"{_csv_field(name)} as c_{name}" for name in CSV_COLUMN_NAMES)
    short_checks = "\n            ".join(
        _length_check(f"c_{name}", name, SHORT_TEXT)
        for name in ("ua_browser", "ua_version", "ua_os", *FLOW_TEXT_FIELDS)
    )
    time_checks = "\n            ".join(
        _time_checks("ms", "c_timestamp is not null", "missing required field timestamp")
    )
    return render_sql(
        "csv_parse.sql",
        into=into,
        columns=columns,
        blank_line=_blank("line"),
        identifier_checks=_identifier_checks("c_"),
        time_checks=time_checks,
        type_length_check=_length_check("c_type", "type", LONG_TEXT),
        short_checks=short_checks,
        uid_length_check=_length_check("c_uid", "uid", 64),
        parsed_select=_parsed_select(
            "c_",
            "'activity'",
            "csv_error is null and (is_flow or is_activity)",
            {
                "type": _begin_normalised("c_type"),
                "agent": "cast(null as varchar)",
            },
        ),
    )
