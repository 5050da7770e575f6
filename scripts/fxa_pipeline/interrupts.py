"""Stopping a load cleanly on SIGINT and SIGTERM (docs/loader.md#signals).

The handlers `handling()` installs only record the signal, as a rule: an exception raised at an
arbitrary point (inside a DuckDB query, a Postgres COPY, a commit or a rollback) leaves an
engine in a state the loader cannot reason about. The loader instead calls `check()` at safe
points (before a file, between chunks, before a commit), which raises `Interrupted`; the file
in progress is then rolled back and no further file is started.

Two kinds of block let a signal raise at once, so that none is ignored for long:
- `interruptible_wait()`: waiting for another loader's lock, hashing a file (nothing written
  yet): the first signal raises;
- `stoppable_work()`: a file's work inside its transaction (parsing, appending): a second
  signal raises ("stop now"); the first lets the work reach the next safe point.
Everywhere else (a commit, a rollback, the closing messages) signals are only recorded, so a
second signal during a rollback cannot cut it short, and a commit always runs to its end (one
interrupted half-way would leave the run unable to say whether the file is in the warehouse).

A process that runs others (scripts/daily_run.py) passes the signals on with `forwarding()`:
while a child process group runs, each signal received is recorded as above and sent to the
group as SIGINT, the signal every step handles as Ctrl-C.

`Interrupted` is a `KeyboardInterrupt` so that libraries treat it as they treat Ctrl-C:
psycopg cancels the query in progress on the server before re-raising it. What a signal turned
into inside an engine (DuckDB's "Query interrupted", psycopg's QueryCanceled, the error of a
connection the signal broke) is mapped back to it by `as_interruption()`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)

# What DuckDB raises when a Python signal handler raised during a query (duckdb 1.x/2.x).
_DUCKDB_INTERRUPTED = "Query interrupted"


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to stop. `rolled_back`: the file whose transaction was rolled
    back because of it (None when the signal came between files)."""

    def __init__(self, signum: int, rolled_back: str | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.rolled_back = rolled_back

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process a signal stopped."""
        return 128 + self.signum


@dataclass
class _State:
    signum: int | None = None  # the first signal received
    count: int = 0  # signals received
    waits: int = 0  # depth of interruptible_wait() blocks
    work: int = 0  # depth of stoppable_work() blocks
    forward_to: int | None = None  # the process group signals are passed on to (forwarding())


_state = _State()


def requested() -> int | None:
    """The signal that asked the run to stop, if any."""
    return _state.signum


def check() -> None:
    """A safe point: raise `Interrupted` when a signal was received."""
    if _state.signum is not None:
        raise Interrupted(_state.signum)


def request(signum: int) -> None:
    """Record a signal as the handler does (raising when the handler would)."""
    _handle(signum, None)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _state.signum is None:
        _state.signum = signum
    _state.count += 1
    if _state.forward_to is not None:
        _send(_state.forward_to)
    if _state.waits or (_state.work and _state.count > 1):
        raise Interrupted(_state.signum)


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Install the handlers of SIGINT and SIGTERM for the block (main thread only; elsewhere
    Ctrl-C stays a KeyboardInterrupt, which `as_interruption` maps too). The previous handlers
    and a clean state are restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in SIGNALS}
    reset()
    for number in SIGNALS:
        signal.signal(number, _handle)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        reset()


def reset() -> None:
    """No signal received, no block open."""
    _state.signum, _state.count, _state.waits, _state.work = None, 0, 0, 0
    _state.forward_to = None


def _send(process_group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group has ended
        os.killpg(process_group, signal.SIGINT)


@contextlib.contextmanager
def forwarding(process_group: int) -> Iterator[None]:
    """Pass every signal received during the block on to `process_group` (a child started in
    a group of its own) as one SIGINT; a signal received before the block, while the child was
    being started, is passed on at its start. Signals are blocked while the target is set, so
    that none is passed on twice or lost in between."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        _state.forward_to = process_group
        if _state.signum is not None:
            _send(process_group)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    try:
        yield
    finally:
        _state.forward_to = None


@contextlib.contextmanager
def interruptible_wait() -> Iterator[None]:
    """A wait before anything is written (a lock, hashing a file): a signal raises at once."""
    check()
    _state.waits += 1
    try:
        yield
    finally:
        _state.waits -= 1


@contextlib.contextmanager
def stoppable_work() -> Iterator[None]:
    """A file's work inside its transaction: a second signal raises at once."""
    _state.work += 1
    try:
        yield
    finally:
        _state.work -= 1


def as_interruption(error: BaseException) -> Interrupted | None:
    """`error` as the interruption it stands for, or None when it is an ordinary error.

    An `Interrupted`; a KeyboardInterrupt (Ctrl-C without the handlers installed: SIGINT);
    DuckDB's error for a query a signal interrupted; and, once a signal was received, any error
    at all (psycopg's QueryCanceled, the error of a connection closed under the loader): the
    run stops either way, so the signal, not the error, is the cause to report.
    """
    if isinstance(error, Interrupted):
        return error
    if _state.signum is not None:
        return Interrupted(_state.signum)
    if isinstance(error, KeyboardInterrupt):
        return Interrupted(signal.SIGINT)
    if _is_duckdb_interrupt(error):
        return Interrupted(signal.SIGINT)
    return None


def _is_duckdb_interrupt(error: BaseException) -> bool:
    import duckdb

    interrupt = getattr(duckdb, "InterruptException", None)
    if interrupt is not None and isinstance(error, interrupt):
        return True
    return isinstance(error, RuntimeError) and str(error) == _DUCKDB_INTERRUPTED
