"""Load raw log files into the `raw` tables, or unload them: the loader's orchestration
(docs/loader.md).

Per file: SHA-256 → an empty file (no line but blank ones) is skipped, never put in the ledger →
ledger check (skip, or replace with `--force` / when the file changed: retractions of the old
rows, then their deletion; a file removed with `--unload` is skipped unless `--force`) → one
transaction: stream chunks of lines (discovery.py names the files) → each chunk parsed and
appended by chunks.py (normalised in DuckDB SQL, user agents parsed in Python, rejected lines
redacted) → a file with no log line is refused → the bytes read
(hashed as they streamed) are those hashed first → ledger row → commit. Any error rolls the file
back; the next file starts with a new parsing engine. A run-wide failure (failures.py: the disk
is full, the connection is lost) stops the run.

SIGINT and SIGTERM (interrupts.py) are acted on at safe points: before a file, between chunks,
before the commit. The file in progress is rolled back, no other is started, and one line on
stderr names the files committed (progress.interruption_message); exit status 128 + the
signal. progress.py holds the counts and writes the lines that report them.

`--unload`: per file name, one transaction (unload.py, through Sink.unload_file): the file
recorded in raw.unloaded_files, retractions, then the deletion of its rows, rejects and ledger
row.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypeVar

from fxa_pipeline import failures, interrupts, normalise, reading
from fxa_pipeline.chunks import ChunkPipeline, Recognition
from fxa_pipeline.discovery import iter_files, iter_unload_names, ledger_name
from fxa_pipeline.failures import RunStopped
from fxa_pipeline.parsing import FileFormat, detect_format
from fxa_pipeline.progress import (
    FileCounts,
    Progress,
    RunSummary,
    file_line,
    interruption_message,
    load_total_line,
    removed_detail,
    unload_total_line,
)
from fxa_pipeline.raw_schema import UID_KEY_SETTING, LedgerRow, utc_now
from fxa_pipeline.sinks import Sink
from fxa_pipeline.uid_hmac import KEY_VARIABLE, HmacKey, MissingKeyError
from fxa_pipeline.unload import RemovedRows
from fxa_pipeline.useragent import AgentCache

_Item = TypeVar("_Item")


class NotALogError(RuntimeError):
    """No line of the file is a log line of either format: the file is refused whole."""


class UidKeyRefused(RuntimeError):
    """The key is not the one the warehouse's uids were HMACed with: the run loads nothing."""


class _EmptyFile(Exception):  # a control-flow signal, not an error
    """The file has no line but blank ones: nothing to load, no ledger row."""


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
        self.chunks = ChunkPipeline(sink, key, AgentCache())
        self.summary = RunSummary()

    # ---- files -------------------------------------------------------------------------
    def load_paths(self, paths: Iterable[Path]) -> RunSummary:
        """Load each file in its own transaction. A signal (interrupts.py) stops the run: the
        file in progress is rolled back, no other is started, a message on stderr says which
        files were committed."""
        self._each(list(iter_files(paths)), self.load_file, prepare=self._check_uid_key)
        summary = self.summary
        if summary.key_refused is not None:
            self.err.write(f"error: {summary.key_refused}\n")
        self.out.write(load_total_line(summary) + "\n")
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
        self.out.write(file_line(name, counts, elapsed) + "\n")
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
        self.out.write(unload_total_line(summary) + "\n")
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
        total, detail = removed_detail(removed)
        if total is not None:  # else the driver did not report the counts
            self.summary.removed_rows += total
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
        seen = Recognition()
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
                chunk_counts, recognition = self.chunks.load(
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
