"""Which failures stop the whole run, and the one line that names their cause
(docs/loader.md#failures).

A file can fail on its own (a missing key for a file with uids, a broken file, a file that
changed while it was read): it is rolled back, the run goes on, and the next file starts clean.
Other failures affect every file after it (the disk is full, the connection to the server is
lost, the server shut down, the database file is unusable): loading the next file could only
fail again, each time with a follow-on error ("transaction is aborted", "rollback failed") that
hides the first. Such a failure stops the run at once: `RunStopped` carries the first error,
what kind of failure it is and what to do.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

# Exit status of a run a run-wide failure stopped (see load_events.py's docstring).
RUN_STOPPED_EXIT = 3

# Words of an error (any in its chain of causes) that say the disk is full.
_DISK_FULL = ("no space left on device", "disk quota exceeded", "could not extend file")
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}

# Words of the errors an engine gives for a statement after an earlier failure of the same
# transaction or connection: they never name the cause, the earlier error does.
_FOLLOW_ON = (
    "current transaction is aborted",
    "transaction is aborted",
    "no transaction is active",
    "cannot rollback",
    "database has been invalidated",
    "the connection is closed",
    "connection has an unfinished result",
)

# Words of errors after which the connection or the database cannot be used any more.
_CONNECTION_LOST = (
    "server closed the connection",
    "connection is closed",
    "connection was closed",
    "connection refused",
    "terminating connection",
    "consuming input failed",
    "connection reset",
    "broken pipe",
    "ssl syscall error",
    "could not receive data",
    "could not send data",
)
_DATABASE_UNUSABLE = ("database has been invalidated", "fatal error", "invalidated")

# Postgres SQLSTATE classes that affect the whole run: 08 connection exception, 53 insufficient
# resources (disk full, out of memory, too many connections), 57P operator intervention (the
# server shutting down, a backend terminated), 58 system error (I/O error), XX internal error.
_RUN_WIDE_SQLSTATES = ("08", "53", "57P", "58", "XX")


@dataclass(frozen=True)
class RunWideFailure:
    kind: str  # "the disk is full", "the connection to the database was lost", ...
    cause: str  # the first error, on one line
    advice: str  # what to do


class RunStopped(Exception):
    """A run-wide failure: no other file is started. `file`: the file rolled back because of
    it (None when it came before or between files)."""

    def __init__(self, failure: RunWideFailure, file: str | None = None) -> None:
        super().__init__(failure.cause)
        self.failure = failure
        self.file = file


def one_line(error: BaseException) -> str:
    """`Type: message` on one line (database messages carry DETAIL/HINT lines)."""
    text = " ".join(str(error).split())
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def chain(error: BaseException) -> list[BaseException]:
    """`error`, then what it was raised from or while handling, outermost first."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _is_follow_on(error: BaseException) -> bool:
    text = str(error).lower()
    return any(words in text for words in _FOLLOW_ON)


def first_error(error: BaseException) -> BaseException:
    """The error that names the cause: `error` itself, unless it is a follow-on of an earlier
    error in its chain ("transaction is aborted"), then the earliest one that is not."""
    errors = chain(error)
    if not _is_follow_on(errors[0]):
        return errors[0]
    causes = [e for e in errors[1:] if isinstance(e, Exception) and not _is_follow_on(e)]
    return causes[-1] if causes else errors[-1]


def _sqlstate(error: BaseException) -> str:
    return str(getattr(error, "sqlstate", "") or "")


def _text(error: BaseException) -> str:
    """The words of `error` that may be matched, or '' when its message may quote the data
    being loaded (a log line that says "No space left on device" must not stop a run): a
    server error with an SQLSTATE is known by its SQLSTATE only, and of DuckDB's errors only
    those of I/O, transactions and connections are read."""
    import duckdb

    if _sqlstate(error):
        return ""
    readable = (
        duckdb.IOException,
        duckdb.TransactionException,
        duckdb.FatalException,
        duckdb.ConnectionException,
    )
    if isinstance(error, duckdb.Error) and not isinstance(error, readable):
        return ""
    return str(error).lower()


def _is_disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
        return True
    if _sqlstate(error) == "53100":
        return True
    text = _text(error)
    return any(words in text for words in _DISK_FULL)


def _is_connection_lost(error: BaseException) -> bool:
    if _sqlstate(error).startswith(("08", "57P")):
        return True
    text = _text(error)
    return any(words in text for words in _CONNECTION_LOST)


def _is_database_unusable(error: BaseException) -> bool:
    import duckdb

    if isinstance(error, duckdb.FatalException):
        return True
    if _sqlstate(error).startswith(_RUN_WIDE_SQLSTATES):
        return True
    text = _text(error)
    return isinstance(error, duckdb.Error) and any(words in text for words in _DATABASE_UNUSABLE)


def run_wide(
    error: BaseException, where: str, *, connection_broken: bool = False
) -> RunWideFailure | None:
    """The run-wide failure `error` is, or None when it fails one file only. `where`: the
    target, as the advice names it; `connection_broken`: the sink's connection is unusable
    after the error (whatever the error says)."""
    errors = chain(error)
    cause = one_line(first_error(error))
    rerun = "then rerun: the files already loaded are skipped"
    if any(_is_disk_full(e) for e in errors):
        return RunWideFailure(
            "the disk is full",
            cause,
            f"free space on the disk that holds {where}, {rerun}",
        )
    if connection_broken or any(_is_connection_lost(e) for e in errors):
        return RunWideFailure(
            "the connection to the database was lost",
            cause,
            f"check that {where} is up and reachable (and, on Postgres, the server's log), {rerun}",
        )
    if any(_is_database_unusable(e) for e in errors):
        return RunWideFailure(
            "the database cannot be written",
            cause,
            f"check {where} (its disk, the server's log), {rerun}",
        )
    return None


def unexpected(error: BaseException, where: str) -> RunWideFailure:
    """A failure outside any file (preparing the raw tables, reading the ledger) that is not
    one of `run_wide`'s: it stops the run too (nothing more can be loaded safely)."""
    found = run_wide(error, where)
    if found is not None:
        return found
    return RunWideFailure(
        "the loader cannot go on",
        one_line(first_error(error)),
        f"check {where} and rerun: the files already loaded are skipped",
    )


def stop_message(stop: RunStopped, committed: int, not_started: int) -> str:
    """`stopped: the disk is full (IOException: ... No space left on device) while loading a;
    nothing of it was written; 3 files committed, 2 not started. Free space ..., then rerun`"""
    failure = stop.failure
    during = f" while loading {stop.file}; nothing of it was written" if stop.file else ""
    files = "file" if committed == 1 else "files"
    return (
        f"stopped: {failure.kind} ({failure.cause}){during}; {committed:,} {files} "
        f"committed, {not_started:,} not started. To do: {failure.advice}."
    )
