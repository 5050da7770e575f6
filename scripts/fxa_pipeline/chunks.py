"""One chunk of a file into the sink (docs/loader.md "How it is fast"): its lines parsed in
the sink's engine (normalise.py), the parsed rows counted, uids refused without a key, the
user agents parsed in Python (useragent.py), uids HMACed in SQL, the flow and activity events
and the rejected lines (redacted) appended to the file's transaction.

A clean log chunk takes the fast path: DuckDB splits, numbers and parses its lines in one
parallel pipeline. Any other chunk (a CSV export, a chunk with lines that are not valid UTF-8
or hold a NUL byte) goes through the `_fxa_lines` table first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from fxa_pipeline import normalise, reading
from fxa_pipeline.parsing import FileFormat, parse_csv_line
from fxa_pipeline.progress import FileCounts
from fxa_pipeline.raw_schema import RAW_LINE_TEXT, RAW_TABLES, literal
from fxa_pipeline.sinks import Sink
from fxa_pipeline.uid_hmac import (
    KEY_VARIABLE,
    HmacKey,
    MissingKeyError,
    contains_uid,
    redact_rejected_line,
)
from fxa_pipeline.useragent import AgentCache, redact_user_agents

# Used when no key is set: uids are still hashed (so the SQL is the same) but a batch holding
# any uid raises MissingKeyError before anything of it is written.
_NO_KEY = HmacKey(b"fxa-metrics: no key configured")

# A log's columns that come from the joined user-agent parses and uid HMACs.
_LOG_SOURCE = {
    "ua_browser": "coalesce(p.ua_browser, a.ua_browser)",
    "ua_version": "coalesce(p.ua_version, a.ua_version)",
    "ua_os": "coalesce(p.ua_os, a.ua_os)",
    "uid": "h.uid_hmac",
}
_LOG_JOINS = (
    "left join _fxa_agents as a on p.agent = a.agent left join _fxa_uid_hmacs as h on p.uid = h.uid"
)

# A rejected line: its number, the reason, its text.
Reject = tuple[int, str, str]


@dataclass
class Recognition:
    """Per chunk / file: lines that are log lines (normalise.LOG_LINE_RULE), blank lines."""

    log_lines: int = 0
    blank: int = 0


class ChunkPipeline:
    """Parses chunks in `sink.engine` and appends their rows to `sink`; `key` None: a chunk
    holding uids is refused (MissingKeyError). `agents` caches user-agent parses for the run."""

    def __init__(self, sink: Sink, key: HmacKey | None, agents: AgentCache) -> None:
        self.sink = sink
        self.key = key
        self.agents = agents

    def load(
        self,
        chunk: reading.Chunk,
        file_format: FileFormat,
        name: str,
        loaded_at: datetime,
        need_log_line: bool = False,
    ) -> tuple[FileCounts, Recognition]:
        """Parse and append one chunk. When `need_log_line` (the file has no log line so far)
        and this chunk has none of its format, the other format's parser is asked too."""
        bad, lines_table = self._parse(chunk, file_format)
        kinds, recognition, rejects = self._tally(bad)
        if self.key is None:
            self._refuse_uids(file_format, rejects)
        self._append_events(file_format, kinds, name, loaded_at)
        if rejects:
            self._append_rejects(rejects, name, loaded_at)
        if need_log_line and recognition.log_lines == 0 and recognition.blank < chunk.line_count:
            recognition.log_lines = self._other_format_log_lines(chunk, file_format, lines_table)
        counts = FileCounts(
            lines=chunk.line_count,
            loaded=kinds.get("flow", 0) + kinds.get("activity", 0),
            rejected=len(rejects),
            ignored=kinds.get("ignored", 0),
        )
        return counts, recognition

    def _parse(
        self, chunk: reading.Chunk, file_format: FileFormat
    ) -> tuple[list[reading.BadLine], bool]:
        """`_fxa_parsed` of the chunk; the lines that are not valid UTF-8 or hold a NUL byte,
        and whether `_fxa_lines` holds the chunk's other lines (not on the fast path)."""
        engine = self.sink.engine
        if file_format == "log" and reading.is_clean(chunk.data):
            # Fast path: DuckDB splits, numbers and parses the lines in one parallel pipeline.
            engine.register("_fxa_input", _pieces(chunk))
            lines_sql = normalise.lines_from_pieces_sql(strip_cr=b"\r" in chunk.data)
            engine.execute(normalise.log_parse_sql(lines_sql))
            engine.unregister("_fxa_input")
            return [], False
        bad = self._create_lines(chunk)
        if file_format == "csv":
            _register_quoted_csv(engine)
            engine.execute(normalise.csv_parse_sql())
        else:
            engine.execute(normalise.log_parse_sql())
        return bad, True

    def _create_lines(self, chunk: reading.Chunk) -> list[reading.BadLine]:
        """`_fxa_lines(line_no, line)` of the chunk's valid lines; the others."""
        engine = self.sink.engine
        bad: list[reading.BadLine] = []
        if reading.is_clean(chunk.data):
            engine.register("_fxa_input", _pieces(chunk))
            lines_sql = normalise.lines_from_pieces_sql(strip_cr=b"\r" in chunk.data)
        else:
            clean, bad = reading.split_dirty(chunk)
            table = pa.table(
                {
                    "line_no": pa.array(clean.line_numbers, pa.int64()),
                    "line": pa.array(clean.lines, pa.large_string()),
                }
            )
            engine.register("_fxa_input", table)
            lines_sql = "select line_no, line from _fxa_input"
        engine.execute(f"create or replace temp table _fxa_lines as {lines_sql}")
        engine.unregister("_fxa_input")
        return bad

    def _tally(
        self, bad: list[reading.BadLine]
    ) -> tuple[dict[str, int], Recognition, list[Reject]]:
        """Rows of `_fxa_parsed` by kind, the log lines and blank lines, the rejected lines."""
        engine = self.sink.engine
        kinds: dict[str, int] = {}
        recognition = Recognition()
        for kind, count, log_lines in engine.execute(
            "select kind, count(*), count(*) filter (where log_line) from _fxa_parsed group by kind"
        ).fetchall():
            kinds[kind] = count
            recognition.log_lines += log_lines
            if kind == "ignored":  # blank, or a log line of another Type
                recognition.blank += count - log_lines
        rejected_rows = engine.execute(
            "select line_no, reason, raw_line from _fxa_parsed"
            " where kind = 'rejected' order by line_no"
        ).fetchall()
        rejects = [(n, reason, text) for n, reason, text in rejected_rows]
        rejects += [(b.line_number, b.reason, b.text) for b in bad]
        return kinds, recognition, rejects

    def _refuse_uids(self, file_format: FileFormat, rejects: list[Reject]) -> None:
        """Without a key: MissingKeyError when the chunk holds a uid."""
        with_uid = 0
        if file_format == "log":
            ((with_uid,),) = self.sink.engine.execute(
                "select count(*) from _fxa_parsed"
                " where kind in ('flow', 'activity') and uid is not null"
            ).fetchall()
        # A rejected line with a uid field or a 32-hex run (a log line rejected from a
        # CSV export, a damaged line, a device id): refused too.
        if with_uid or any(contains_uid(text) for _, _, text in rejects):
            raise MissingKeyError(
                f"this file holds uids (or runs of 32 hex characters in rejected lines, "
                f"HMACed like uids) and {KEY_VARIABLE} is not set, so they cannot be "
                f"HMACed; nothing of the file was written. Set {KEY_VARIABLE} to the "
                "warehouse's uid HMAC key and rerun."
            )

    def _append_events(
        self, file_format: FileFormat, kinds: dict[str, int], name: str, loaded_at: datetime
    ) -> None:
        """The flow and activity events of `_fxa_parsed` (a log's with their user agents
        parsed and their uids HMACed) appended to the sink."""
        joins = ""
        if file_format == "log":
            engine = self.sink.engine
            self._register_agents(engine)
            engine.execute(normalise.uid_hmacs_sql(), (self.key or _NO_KEY).sql_parameters())
            joins = _LOG_JOINS
        lineage = (
            f"{literal(name)}, p.line_no,"
            f" cast({literal(loaded_at.isoformat(sep=' '))} as timestamp)"
        )
        for table, kind in (("flow_events", "flow"), ("activity_events", "activity")):
            if not kinds.get(kind):
                continue
            columns = []
            for column in RAW_TABLES[table][:-3]:
                if column.name in _LOG_SOURCE and joins:
                    columns.append(_LOG_SOURCE[column.name])
                else:
                    columns.append(f'p."{column.name}"')
            query = (
                f"select {', '.join(columns)}, {lineage} from _fxa_parsed as p {joins}"
                f" where p.kind = '{kind}'"
            )
            self.sink.append(table, query)

    def _other_format_log_lines(
        self, chunk: reading.Chunk, file_format: FileFormat, lines_table: bool
    ) -> int:
        """Log lines of the format the file was not detected as, in a chunk with none of its
        own (rare: only files that may not be logs at all get here). Lines that are not
        valid UTF-8 or hold a NUL byte are never log lines (they are not in `_fxa_lines`)."""
        engine = self.sink.engine
        if not lines_table:  # the fast path: a clean chunk
            self._create_lines(chunk)
        if file_format == "log":
            _register_quoted_csv(engine)
            engine.execute(normalise.csv_parse_sql(into="_fxa_other_format"))
        else:
            engine.execute(normalise.log_parse_sql(into="_fxa_other_format"))
        ((count,),) = engine.execute(
            "select count(*) from _fxa_other_format where log_line"
        ).fetchall()
        engine.execute("drop table _fxa_other_format")
        return int(count)

    def _register_agents(self, engine: duckdb.DuckDBPyConnection) -> None:
        agents = [
            row[0]
            for row in engine.execute(
                "select distinct agent from _fxa_parsed"
                " where kind in ('flow', 'activity') and agent is not null"
            ).fetchall()
        ]
        parsed = self.agents.lookup(agents)
        table = pa.table(
            {
                "agent": pa.array(agents, pa.string()),
                "ua_browser": pa.array([p.ua_browser for p in parsed], pa.string()),
                "ua_version": pa.array([p.ua_version for p in parsed], pa.string()),
                "ua_os": pa.array([p.ua_os for p in parsed], pa.string()),
            }
        )
        _temp_table(engine, "_fxa_agents", table, "_fxa_agents_input")

    def _append_rejects(self, rejects: list[Reject], name: str, loaded_at: datetime) -> None:
        key = self.key
        texts = []
        for _, _, text in rejects:
            if key is not None:  # else the file holds no uid (MissingKeyError otherwise)
                text = redact_rejected_line(text, key)
            text = redact_user_agents(text)
            texts.append(_truncate(text, RAW_LINE_TEXT))
        table = pa.table(
            {
                "source_file": pa.array([name] * len(rejects), pa.string()),
                "line_number": pa.array([n for n, _, _ in rejects], pa.int64()),
                "reason": pa.array([r for _, r, _ in rejects], pa.string()),
                "raw_line": pa.array(texts, pa.string()),
                "loaded_at": pa.array([loaded_at] * len(rejects), pa.timestamp("us")),
            }
        )
        _temp_table(self.sink.engine, "_fxa_rejects", table, "_fxa_rejects_input")
        self.sink.append("rejected_lines", "select * from _fxa_rejects")


def _register_quoted_csv(engine: duckdb.DuckDBPyConnection) -> None:
    """`_fxa_csv_quoted(line_no, fields, error)`: the lines of `_fxa_lines` with a double
    quote, parsed with Python's csv module."""
    quoted = engine.execute(
        "select line_no, line from _fxa_lines where contains(line, '\"')"
    ).fetchall()
    numbers, fields, errors = [], [], []
    for number, line in quoted:
        parsed, error = parse_csv_line(line)
        numbers.append(number)
        fields.append(parsed)
        errors.append(error)
    table = pa.table(
        {
            "line_no": pa.array(numbers, pa.int64()),
            "fields": pa.array(fields, pa.list_(pa.string())),
            "error": pa.array(errors, pa.string()),
        }
    )
    _temp_table(engine, "_fxa_csv_quoted", table, "_fxa_quoted_input")


def _temp_table(engine: duckdb.DuckDBPyConnection, name: str, table: pa.Table, via: str) -> None:
    """The temp table `name` holding the rows of `table` (registered as `via` meanwhile)."""
    engine.register(via, table)
    engine.execute(f"create or replace temp table {name} as select * from {via}")
    engine.unregister(via)


# A clean chunk goes to DuckDB as this many Arrow record batches (one piece of whole lines
# each, zero-copy slices of the chunk's bytes) so that DuckDB's threads share the work.
PIECES_PER_CHUNK = 16


def _pieces(chunk: reading.Chunk) -> pa.Table:
    data = chunk.data
    buffer = pa.py_buffer(data)
    size = len(data)
    step = max(size // PIECES_PER_CHUNK, 1)
    batches = []
    start = 0
    first_line = chunk.first_line
    while start <= size:
        end = data.find(b"\n", min(start + step, size)) if start + step < size else -1
        if end < 0:
            end = size
        offsets = pa.array([0, end - start], pa.int64()).buffers()[1]
        piece = pa.Array.from_buffers(
            pa.large_string(), 1, [None, offsets, buffer.slice(start, end - start)]
        )
        batches.append(
            pa.record_batch([pa.array([first_line], pa.int64()), piece], ["first_line", "piece"])
        )
        first_line += data.count(b"\n", start, end) + 1
        start = end + 1
    return pa.Table.from_batches(batches)


def _truncate(text: str, limit: int) -> str:
    """At most `limit` characters (raw_schema sizes Redshift's VARCHAR for them)."""
    return text[:limit]
