"""What a run says: the progress line of a long file, the counts of each file and of the run
(`RunSummary`), and the lines that report them (docs/loader.md: output, exit status).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from fxa_pipeline import failures
from fxa_pipeline.failures import RunStopped
from fxa_pipeline.interrupts import Interrupted


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
class RunSummary:
    totals: FileCounts = field(default_factory=FileCounts)
    loaded_files: int = 0
    skipped_files: int = 0
    failed_files: int = 0
    missing_key: bool = False
    key_refused: str | None = None  # why the run loaded nothing (loader.UidKeyRefused)
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


def file_line(name: str, counts: FileCounts, elapsed: float) -> str:
    """`<file>: <lines> lines, <loaded> loaded, <rejected> rejected, <ignored> ignored (<rate>
    lines/s)`."""
    return (
        f"{name}: {counts.lines:,} lines, {counts.loaded:,} loaded, {counts.rejected:,} "
        f"rejected, {counts.ignored:,} ignored ({counts.lines / elapsed:,.0f} lines/s)"
    )


def load_total_line(summary: RunSummary) -> str:
    totals = summary.totals
    return (
        f"total: {summary.loaded_files:,} files loaded, {summary.skipped_files:,} "
        f"skipped, {summary.failed_files:,} failed; {totals.lines:,} lines, "
        f"{totals.loaded:,} loaded, {totals.rejected:,} rejected, {totals.ignored:,} "
        "ignored"
    )


def unload_total_line(summary: RunSummary) -> str:
    return (
        f"total: {summary.unloaded_files:,} files unloaded, {summary.not_loaded_files:,} "
        f"not loaded, {summary.failed_files:,} failed; {summary.removed_rows:,} rows removed"
    )


def removed_detail(removed: Mapping[str, int]) -> tuple[int | None, str]:
    """An unload's rows removed (None when the driver did not report the counts) and how its
    line says them: `6 rows removed (2 flow events, 2 activity events, 2 rejected lines)`."""
    events = [removed.get(t, -1) for t in ("flow_events", "activity_events", "rejected_lines")]
    if min(events) < 0:
        return None, "rows removed"
    total = sum(events)
    return total, (
        f"{total:,} rows removed ({events[0]:,} flow events, {events[1]:,} activity "
        f"events, {events[2]:,} rejected lines)"
    )


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
