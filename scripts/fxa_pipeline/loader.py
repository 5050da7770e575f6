"""Load raw log files into the `raw` tables, or unload them: the loader's orchestration
(docs/loader.md).

Per file: SHA-256 → an empty file (no line but blank ones) is skipped, never put in the ledger →
ledger check (skip, or replace with `--force` / when the file changed: retractions of the old
rows, then their deletion; a file removed with `--unload` is skipped unless `--force`) → one
transaction: stream chunks of lines → normalise each chunk in DuckDB SQL (normalise.py) → parse
the chunk's distinct user agents in Python (useragent.py) → append flow events, activity events
and rejected lines (redacted) to the sink → a file with no log line is refused → the bytes read
(hashed as they streamed) are those hashed first → ledger row → commit. Any error rolls the file
back; the next file starts with a new parsing engine. A run-wide failure (failures.py: the disk
is full, the connection is lost) stops the run.

SIGINT and SIGTERM (interrupts.py) are acted on at safe points: before a file, between chunks,
before the commit. The file in progress is rolled back, no other is started, and one line on
stderr names the files committed (`interruption_message`); exit status 128 + the signal.

`--unload`: per file name, one transaction (Sink.unload_file): the file recorded in
raw.unloaded_files, retractions, then the deletion of its rows, rejects and ledger row.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeVar

import duckdb
import pyarrow as pa

from fxa_pipeline import failures, interrupts, normalise, reading
from fxa_pipeline.failures import RunStopped
from fxa_pipeline.interrupts import Interrupted
from fxa_pipeline.parsing import FileFormat, detect_format, parse_csv_line
from fxa_pipeline.raw_schema import RAW_LINE_TEXT, RAW_TABLES, UID_KEY_SETTING, LedgerRow
from fxa_pipeline.sinks import RemovedRows, Sink
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

_Item = TypeVar("_Item")

# A log's columns that come from the joined user-agent parses and uid HMACs.
_LOG_SOURCE = {
    "ua_browser": "coalesce(p.ua_browser, a.ua_browser)",
    "ua_version": "coalesce(p.ua_version, a.ua_version)",
    "ua_os": "coalesce(p.ua_os, a.ua_os)",
    "uid": "h.uid_hmac",
}


def utc_now() -> datetime:
    """The loader's clock: UTC, without a time zone (as `loaded_at` and `retracted_at` are
    stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class FileCounts:
    lines: int = 0
    loaded: int = 0
    rejected: int = 0
    ignored: int = 0

    def add(self, other: FileCounts) -> None:
        self.lines += other.lines
        self.loaded += other.loaded
        self.rejected += other.rejected
        self.ignored += other.ignored


@dataclass
class _Recognition:
    """Per chunk / file: lines that are log lines (normalise.LOG_LINE_RULE), blank lines."""

    log_lines: int = 0
    blank: int = 0


class NotALogError(RuntimeError):
    """No line of the file is a log line of either format: the file is refused whole."""


class UidKeyRefused(RuntimeError):
    """The key is not the one the warehouse's uids were HMACed with: the run loads nothing."""


class _EmptyFile(Exception):  # a control-flow signal, not an error
    """The file has no line but blank ones: nothing to load, no ledger row."""


@dataclass
class RunSummary:
    totals: FileCounts = field(default_factory=FileCounts)
    loaded_files: int = 0
    skipped_files: int = 0
    failed_files: int = 0
    missing_key: bool = False
    key_refused: str | None = None  # why the run loaded nothing (UidKeyRefused)
    unloaded_files: int = 0
    not_loaded_files: int = 0  # --unload of a file the ledger does not have
    removed_rows: int = 0
    committed: list[str] = field(default_factory=list)  # files this run loaded or unloaded
    interrupted: Interrupted | None = None  # the signal that stopped the run
    stopped: RunStopped | None = None  # the run-wide failure that stopped it (failures.py)
    not_started: int = 0  # files the run did not get to because of either

    @property
    def exit_code(self) -> int:
        if self.interrupted is not None:
            return self.interrupted.exit_code
        if self.stopped is not None:
            return failures.RUN_STOPPED_EXIT
        if self.missing_key or self.key_refused is not None:
            return 2
        return 1 if self.failed_files or self.not_loaded_files else 0


# Committed files the interruption message names; the others are counted.
NAMED_FILES = 10


def _files(count: int) -> str:
    return f"{count:,} file" + ("" if count == 1 else "s")


def interruption_message(
    stop: Interrupted, committed: Sequence[str], not_started: int, verb: str = "committed"
) -> str:
    """`interrupted (SIGINT): 3 files committed (a, b, c); rolled back: d; not started: 2
    files` (`verb`: `unloaded` for --unload)."""
    names = ", ".join(committed[:NAMED_FILES])
    if len(committed) > NAMED_FILES:
        names += f" and {len(committed) - NAMED_FILES:,} more"
    listed = f" ({names})" if committed else ""
    return (
        f"interrupted ({stop.signal_name}): {_files(len(committed))} {verb}{listed}; "
        f"rolled back: {stop.rolled_back or 'none'}; not started: {_files(not_started)}"
    )


# Seconds between two progress lines when not on a terminal (FXA_LOADER_PROGRESS_SECONDS).
PROGRESS_SECONDS = 15.0


class Progress:
    """A progress line on stderr for long files: rewritten in place on a terminal (every
    second), else one line every `interval` seconds (default 15; 0: after every chunk)."""

    def __init__(
        self, stream: TextIO, name: str, total_bytes: int, interval: float | None = None
    ) -> None:
        self._stream = stream
        self._name = name
        self._total = max(total_bytes, 1)
        self._tty = stream.isatty()
        if interval is None:
            interval = 1.0 if self._tty else PROGRESS_SECONDS
        self._interval = interval
        self._start = time.monotonic()
        self._last = self._start
        self._shown = False

    def update(self, position: int, lines: int) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        rate = lines / max(now - self._start, 1e-9)
        text = (
            f"{self._name}: {100 * position / self._total:5.1f}% "
            f"{lines:,} lines ({rate:,.0f} lines/s)"
        )
        if self._tty:
            self._stream.write("\r" + text + "\x1b[K")
            self._shown = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def done(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def ledger_name(path: Path) -> str:
    """The name under which a file is recorded in the ledger and in `source_file`: its
    absolute path, symbolic links resolved (the file need not exist any more)."""
    return str(path.resolve())


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and files under folders named (recursively, sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in relative.parts):
                    yield child
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")


def iter_unload_names(paths: Iterable[Path]) -> Iterator[str]:
    """Ledger names for `--unload`: a folder is recursed as a load recurses it; any other path
    (a file, or one that no longer exists) names one file."""
    for path in paths:
        if path.is_dir():
            yield from (ledger_name(file) for file in iter_files([path]))
        else:
            yield ledger_name(path)


class Loader:
    def __init__(
        self,
        sink: Sink,
        key: HmacKey | None,
        *,
        force: bool = False,
        chunk_bytes: int = reading.DEFAULT_CHUNK_BYTES,
        progress_seconds: float | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
        where: str = "the target",
        new_uid_key: bool = False,
    ) -> None:
        self.sink = sink
        self.where = where  # the target, as messages name it
        self.new_uid_key = new_uid_key  # record this key's fingerprint in place of another
        self.key = key
        self.force = force
        self.chunk_bytes = chunk_bytes
        self.progress_seconds = progress_seconds
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.agents = AgentCache()
        self.summary = RunSummary()

    # ---- files -------------------------------------------------------------------------
    def load_paths(self, paths: Iterable[Path]) -> RunSummary:
        """Load each file in its own transaction. A signal (interrupts.py) stops the run: the
        file in progress is rolled back, no other is started, a message on stderr says which
        files were committed."""
        self._each(list(iter_files(paths)), self.load_file, prepare=self._check_uid_key)
        summary, totals = self.summary, self.summary.totals
        if summary.key_refused is not None:
            self.err.write(f"error: {summary.key_refused}\n")
        self.out.write(
            f"total: {summary.loaded_files:,} files loaded, {summary.skipped_files:,} "
            f"skipped, {summary.failed_files:,} failed; {totals.lines:,} lines, "
            f"{totals.loaded:,} loaded, {totals.rejected:,} rejected, {totals.ignored:,} "
            "ignored\n"
        )
        self.out.flush()
        self._report_interruption("committed")
        self._report_stop()
        return summary

    def _each(
        self,
        items: Sequence[_Item],
        work: Callable[[_Item], object],
        prepare: Callable[[], None] | None = None,
    ) -> None:
        """`work` on each item in turn (after `prepare`), stopping at a signal or a run-wide
        failure; the interruption or failure and the items not started are recorded in the
        summary."""
        done = 0
        try:
            interrupts.check()
            self.sink.ensure_schema()
            if prepare is not None:
                try:
                    prepare()
                except UidKeyRefused as error:
                    self.summary.key_refused = str(error)
                    self.summary.not_started = len(items)
                    return
            for item in items:
                interrupts.check()
                work(item)
                done += 1
            interrupts.check()  # a signal during the last item's commit: still reported
        except BaseException as error:
            stop = interrupts.as_interruption(error)
            if stop is not None:
                self.summary.interrupted = stop
                self.summary.not_started = len(items) - done - (stop.rolled_back is not None)
                return
            if not isinstance(error, Exception):
                raise
            # A run-wide failure (a file's, or one outside any file: preparing the raw tables,
            # reading the ledger): no other file is started.
            stopped = error if isinstance(error, RunStopped) else None
            if stopped is None:
                stopped = RunStopped(failures.unexpected(error, self.where))
            self.summary.stopped = stopped
            self.summary.not_started = len(items) - done - (stopped.file is not None)

    def _report_interruption(self, verb: str) -> None:
        summary = self.summary
        if summary.interrupted is None:
            return
        message = interruption_message(
            summary.interrupted, summary.committed, summary.not_started, verb
        )
        self.err.write(message + "\n")
        self.err.flush()

    def _check_uid_key(self) -> None:
        """Before the first file: the key's fingerprint is recorded in raw.loader_settings by
        the first load with a key; a load with another key is refused (`UidKeyRefused`), unless
        `new_uid_key`, which records it instead. No key: nothing to check (a file with uids is
        refused by itself)."""
        if self.key is None:
            return
        fingerprint = self.key.fingerprint()
        recorded = self.sink.claim_setting(
            UID_KEY_SETTING, fingerprint, utc_now(), replace=self.new_uid_key
        )
        if recorded is None:
            return
        value, set_at = recorded
        if self.new_uid_key:
            self.err.write(
                f"warning: the uid HMAC key of {self.where} is now the key of fingerprint "
                f"{fingerprint} (it was {value}, since {set_at:%Y-%m-%d %H:%M} UTC): the uids "
                "of the files loaded with the old key do not match the new ones; reload them "
                "(docs/operations.md#the-uid-hmac-key)\n"
            )
            return
        raise UidKeyRefused(
            f"{KEY_VARIABLE} is not the key the uids of {self.where} were HMACed with (its "
            f"fingerprint is {fingerprint}; raw.loader_settings records {value}, since "
            f"{set_at:%Y-%m-%d %H:%M} UTC); nothing was loaded. Set the warehouse's key and "
            "rerun; to change the key on purpose, see docs/operations.md#the-uid-hmac-key "
            "(--new-uid-key)"
        )

    def _report_stop(self) -> None:
        stopped = self.summary.stopped
        if stopped is None:
            return
        committed = len(self.summary.committed)
        message = failures.stop_message(stopped, committed, self.summary.not_started)
        self.err.write(f"error: {message}\n")
        self.err.flush()

    def load_file(self, path: Path) -> FileCounts | None:
        name = ledger_name(path)
        try:
            with interrupts.interruptible_wait():  # nothing of the file is written yet
                version = reading.file_version(path)
                blank = reading.is_blank(path)
        except OSError as error:
            return self._failed(name, f"cannot read the file ({error})")
        sha256 = version.sha256
        if blank:
            return self._empty(name, sha256)
        started = time.monotonic()
        try:
            # The ledger is read inside the file's transaction (Postgres: after the loader
            # lock), so two loaders never both load the same file. The load time is taken
            # after the lock too, later than any committed (Sink.stamp): commit order is
            # load-time order, so a build's watermark never passes a file committed later.
            self.sink.begin()
            loaded_at = self.sink.stamp()
            with interrupts.stoppable_work():
                counts = self._load_in_transaction(path, name, version, loaded_at)
            if counts is None:  # already loaded
                self._rollback()
                return None
            interrupts.check()  # the last moment the file can still be rolled back
            self.sink.commit()
        except BaseException as error:
            rollback_failed = self._rollback()
            return self._rolled_back(name, sha256, error, rollback_failed)
        self.summary.committed.append(name)
        elapsed = max(time.monotonic() - started, 1e-9)
        self.out.write(
            f"{name}: {counts.lines:,} lines, {counts.loaded:,} loaded, {counts.rejected:,} "
            f"rejected, {counts.ignored:,} ignored ({counts.lines / elapsed:,.0f} lines/s)\n"
        )
        self.out.flush()
        self.summary.loaded_files += 1
        self.summary.totals.add(counts)
        return counts

    def _load_in_transaction(
        self, path: Path, name: str, version: reading.FileVersion, loaded_at: datetime
    ) -> FileCounts | None:
        """Ledger check, removal of earlier loads, rows, ledger row; None when the file is
        already loaded (skipped). The check needs the SHA-256 before the rows are read: the
        bytes read are hashed again as they stream, and the file is rolled back when they are
        not the bytes hashed (reading.FileChangedError), so the ledger's SHA-256 is always that
        of the rows loaded."""
        sha256 = version.sha256
        entries = self.sink.ledger_entries(name, sha256)
        same = [entry for entry in entries if entry.file_sha256 == sha256]
        if same and not self.force:
            other = [e.file_name for e in same if e.file_name != name]
            where = "" if len(other) < len(same) else f" as {other[0]}"
            self.out.write(f"{name}: skipped: already loaded{where}\n")
            self.summary.skipped_files += 1
            return None
        if not self.force and not any(entry.file_name == name for entry in entries):
            unloaded_at = self.sink.unloaded_at(name)
            if unloaded_at is not None:  # removed on purpose: only --force brings it back
                self.out.write(
                    f"{name}: skipped: unloaded on {unloaded_at:%Y-%m-%d %H:%M:%S} UTC; load it "
                    f"again with: load_events.py --force {name}\n"
                )
                self.summary.skipped_files += 1
                return None
        replace = {entry.file_name for entry in same} | ({name} if self.force else set())
        changed = [e for e in entries if e.file_name == name and e.file_sha256 != sha256]
        if changed:
            self.err.write(
                f"warning: {name} changed since it was loaded (SHA-256 "
                f"{changed[0].file_sha256} is now {sha256}): replacing its rows\n"
            )
            replace.add(name)
        if replace:
            # the retractions carry the new rows' load time: later than any earlier load
            self.sink.delete_files(sorted(replace), loaded_at)
        counts = self._load_rows(path, name, loaded_at, version)
        self.sink.write_ledger(
            LedgerRow(
                name,
                sha256,
                counts.lines,
                counts.loaded,
                counts.rejected,
                counts.ignored,
                loaded_at,
            )
        )
        return counts

    def _rolled_back(
        self, name: str, sha256: str, error: BaseException, rollback_failed: bool = False
    ) -> None:
        """Report a file whose transaction `error` rolled back; raise when it was a signal
        (`Interrupted`, naming the file), a run-wide failure (`RunStopped`, naming it) or not
        an error at all. Otherwise the next file starts clean: a new parsing engine (no temp
        table, registration or unfinished result of this file is left in it)."""
        stop = interrupts.as_interruption(error)
        if stop is not None:
            stop.rolled_back = name
            raise stop
        self._stop_if_run_wide(error, name, rollback_failed)
        self.sink.reset_engine()
        if isinstance(error, MissingKeyError):
            self.summary.missing_key = True
            return self._failed(name, str(error))
        if isinstance(error, _EmptyFile):
            return self._empty(name, sha256)
        if isinstance(error, NotALogError | reading.FileReadError | OSError):
            return self._failed(name, str(error))
        if isinstance(error, Exception):
            # A database error of this file only (a run-wide one raised RunStopped above).
            return self._failed(name, failures.one_line(failures.first_error(error)))
        raise error

    def _stop_if_run_wide(self, error: BaseException, name: str, rollback_failed: bool) -> None:
        """Raise `RunStopped` when `error` (or a failed rollback after it) affects the whole
        run: the disk is full, the connection is lost, the database cannot be written."""
        if not isinstance(error, Exception):
            return
        broken = rollback_failed or self.sink.broken
        failure = failures.run_wide(error, self.where, connection_broken=broken)
        if failure is not None:
            raise RunStopped(failure, name) from error

    def _failed(self, name: str, message: str) -> None:
        self.err.write(f"error: {name}: {message}\n")
        self.err.flush()
        self.summary.failed_files += 1

    def _empty(self, name: str, sha256: str) -> None:
        """An empty file: skipped, not put in the ledger (all empty files share a SHA-256).
        Rows an earlier content of the same path loaded are kept, with a warning."""
        try:
            self.sink.begin()
            earlier = [e for e in self.sink.ledger_entries(name, None) if e.file_sha256 != sha256]
        finally:
            self._rollback()
        if earlier:
            self.err.write(
                f"warning: {name} is empty now but was loaded with SHA-256 "
                f"{earlier[0].file_sha256}: its rows are kept; remove them with --unload\n"
            )
        self.out.write(f"{name}: empty, nothing to load\n")
        self.out.flush()
        self.summary.skipped_files += 1

    # ---- unload ------------------------------------------------------------------------
    def unload_paths(self, paths: Iterable[Path]) -> RunSummary:
        """Unload each file in its own transaction; a signal stops the run as for a load."""
        self._each(list(iter_unload_names(paths)), self.unload_file)
        summary = self.summary
        self.out.write(
            f"total: {summary.unloaded_files:,} files unloaded, {summary.not_loaded_files:,} "
            f"not loaded, {summary.failed_files:,} failed; {summary.removed_rows:,} rows removed\n"
        )
        self.out.flush()
        self._report_interruption("unloaded")
        self._report_stop()
        return summary

    def unload_file(self, name: str) -> RemovedRows | None:
        """Remove one file's rows, rejects and ledger row in one transaction, after recording
        the retractions of its event rows (stamped when the lock is taken, Sink.stamp)."""
        try:
            removed = self.sink.unload_file(name)  # stamped once the lock is taken
        except BaseException as error:
            stop = interrupts.as_interruption(error)
            if stop is not None:
                stop.rolled_back = name
                raise stop from None
            if not isinstance(error, Exception):
                raise
            self._stop_if_run_wide(error, name, rollback_failed=False)
            self.sink.reset_engine()
            cause = failures.one_line(failures.first_error(error))
            return self._failed(name, f"{cause}; nothing was removed")
        if removed is None:
            self.err.write(
                f"error: {name}: not loaded (raw.load_ledger has no file of this name); "
                "nothing to unload\n"
            )
            self.err.flush()
            self.summary.not_loaded_files += 1
            return None
        self.summary.committed.append(name)
        events = [removed.get(t, -1) for t in ("flow_events", "activity_events", "rejected_lines")]
        if min(events) < 0:  # the driver did not report the counts
            detail = "rows removed"
        else:
            total = sum(events)
            self.summary.removed_rows += total
            detail = (
                f"{total:,} rows removed ({events[0]:,} flow events, {events[1]:,} activity "
                f"events, {events[2]:,} rejected lines)"
            )
        self.out.write(f"{name}: unloaded, {detail}\n")
        self.out.flush()
        self.summary.unloaded_files += 1
        return removed

    def _rollback(self) -> bool:
        """Roll the file's transaction back; True when that failed (the connection's state is
        then unknown: the run stops, naming the error that came first)."""
        try:
            self.sink.rollback()
        except Exception as error:
            # DuckDB ends a transaction whose COMMIT failed: nothing is left to roll back.
            return "no transaction is active" not in str(error)
        return False

    # ---- chunks ------------------------------------------------------------------------
    def _load_rows(
        self,
        path: Path,
        name: str,
        loaded_at: datetime,
        version: reading.FileVersion | None = None,
    ) -> FileCounts:
        counts = FileCounts()
        seen = _Recognition()
        file_format: FileFormat | None = None
        size = version.size if version is not None else path.stat().st_size
        progress = Progress(self.err, name, size, self.progress_seconds)
        try:
            for chunk in reading.iter_chunks(path, self.chunk_bytes, version):
                interrupts.check()  # a safe point: the file is rolled back
                if file_format is None:
                    first = reading.first_nonblank_line(chunk.data)
                    if first is not None:
                        file_format = detect_format(first)
                chunk_counts, recognition = self._load_chunk(
                    chunk, file_format or "log", name, loaded_at, seen.log_lines == 0
                )
                counts.add(chunk_counts)
                seen.log_lines += recognition.log_lines
                seen.blank += recognition.blank
                progress.update(chunk.position, counts.lines)
        finally:
            progress.done()
        if counts.lines != counts.loaded + counts.rejected + counts.ignored:
            raise AssertionError(f"{name}: line accounting does not balance: {counts}")
        if seen.blank == counts.lines:
            raise _EmptyFile  # (is_blank() catches these before the ledger check)
        if seen.log_lines == 0:
            raise NotALogError(
                f"not a log: none of its {counts.lines:,} lines is a log line of either format "
                f"(server log: {normalise.LOG_LINE_RULE['log']}; CSV export: "
                f"{normalise.LOG_LINE_RULE['csv']}); the file is refused, nothing of it was "
                "written"
            )
        return counts

    def _load_chunk(
        self,
        chunk: reading.Chunk,
        file_format: FileFormat,
        name: str,
        loaded_at: datetime,
        need_log_line: bool = False,
    ) -> tuple[FileCounts, _Recognition]:
        """Parse and append one chunk. When `need_log_line` (the file has no log line so far)
        and this chunk has none of its format, the other format's parser is asked too."""
        engine = self.sink.engine
        bad: list[reading.BadLine] = []
        key = self.key or _NO_KEY
        lines_table = True  # whether _fxa_lines holds the chunk's (valid UTF-8) lines
        if file_format == "log" and reading.is_clean(chunk.data):
            # Fast path: DuckDB splits, numbers and parses the lines in one parallel pipeline.
            engine.register("_fxa_input", _pieces(chunk))
            lines_sql = normalise.lines_from_pieces_sql(strip_cr=b"\r" in chunk.data)
            engine.execute(normalise.log_parse_sql(lines_sql))
            engine.unregister("_fxa_input")
            lines_table = False
        else:
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
            if file_format == "csv":
                self._register_quoted_csv(engine)
                engine.execute(normalise.csv_parse_sql())
            else:
                engine.execute(normalise.log_parse_sql())

        kinds: dict[str, int] = {}
        recognition = _Recognition()
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

        if self.key is None:
            with_uid = 0
            if file_format == "log":
                ((with_uid,),) = engine.execute(
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

        if file_format == "log":
            self._register_agents(engine)
            engine.execute(normalise.uid_hmacs_sql(), key.sql_parameters())
            joins = (
                "left join _fxa_agents as a on p.agent = a.agent"
                " left join _fxa_uid_hmacs as h on p.uid = h.uid"
            )
        else:
            joins = ""
        lineage = (
            f"{normalise.sql_string(name)}, p.line_no,"
            f" cast({normalise.sql_string(loaded_at.isoformat(sep=' '))} as timestamp)"
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

    def _other_format_log_lines(
        self, chunk: reading.Chunk, file_format: FileFormat, lines_table: bool
    ) -> int:
        """Log lines of the format the file was not detected as, in a chunk with none of its
        own (rare: only files that may not be logs at all get here). Lines that are not
        valid UTF-8 or hold a NUL byte are never log lines (they are not in `_fxa_lines`)."""
        engine = self.sink.engine
        if not lines_table:
            engine.register("_fxa_input", _pieces(chunk))
            lines_sql = normalise.lines_from_pieces_sql(strip_cr=b"\r" in chunk.data)
            engine.execute(f"create or replace temp table _fxa_lines as {lines_sql}")
            engine.unregister("_fxa_input")
        if file_format == "log":
            self._register_quoted_csv(engine)
            engine.execute(normalise.csv_parse_sql(into="_fxa_other_format"))
        else:
            engine.execute(normalise.log_parse_sql(into="_fxa_other_format"))
        ((count,),) = engine.execute(
            "select count(*) from _fxa_other_format where log_line"
        ).fetchall()
        engine.execute("drop table _fxa_other_format")
        return int(count)

    @staticmethod
    def _register_quoted_csv(engine: duckdb.DuckDBPyConnection) -> None:
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
        engine.register("_fxa_quoted_input", table)
        engine.execute(
            "create or replace temp table _fxa_csv_quoted as select * from _fxa_quoted_input"
        )
        engine.unregister("_fxa_quoted_input")

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
        engine.register("_fxa_agents_input", table)
        engine.execute(
            "create or replace temp table _fxa_agents as select * from _fxa_agents_input"
        )
        engine.unregister("_fxa_agents_input")

    def _append_rejects(
        self, rejects: list[tuple[int, str, str]], name: str, loaded_at: datetime
    ) -> None:
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
        engine = self.sink.engine
        engine.register("_fxa_rejects_input", table)
        engine.execute(
            "create or replace temp table _fxa_rejects as select * from _fxa_rejects_input"
        )
        engine.unregister("_fxa_rejects_input")
        self.sink.append("rejected_lines", "select * from _fxa_rejects")


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
