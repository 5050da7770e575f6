"""`--unload` of one file, written once for every target (docs/loader.md "Removing a file's
rows"): in one transaction, the loader lock, the ledger check, the file's record in
raw.unloaded_files, the retractions of its event rows, the deletes of its rows, rejects and
ledger row, the build-lock gate, the commit.

The target's side is `UnloadSteps`: `sinks.Sink` (DuckDB, Postgres) and
`redshift_copy.run_unload_transaction` (Redshift, on its DB-API connection) provide it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from fxa_pipeline import interrupts

# Rows a removal deleted, by table (flow_events, activity_events, rejected_lines, load_ledger).
RemovedRows = dict[str, int]


class UnloadSteps(Protocol):
    def begin(self) -> None:
        """The transaction, with the loader lock taken."""

    def stamp(self) -> datetime:
        """The unload's time (its retractions' `retracted_at`), once the lock is taken."""

    def in_ledger(self, file_name: str) -> bool: ...

    def record_unload(self, file_name: str, unloaded_at: datetime) -> None:
        """The file in raw.unloaded_files (raw_schema.unload_record_sql)."""

    def delete_files(self, file_names: list[str], retracted_at: datetime) -> RemovedRows:
        """The retractions, then the deletes (raw_schema.file_removal_sql); rows per table."""

    def commit(self) -> None:
        """The commit, after waiting while a build holds the build lock."""

    def rollback(self) -> None: ...


def run_unload(
    steps: UnloadSteps, file_name: str, retracted_at: datetime | None = None
) -> RemovedRows | None:
    """In one transaction: when the ledger has `file_name`, record the unload and the
    retractions of its event rows (stamped `retracted_at`, default `steps.stamp()` once the
    lock is taken) and delete its rows, rejects and ledger row(s); the rows deleted per table.
    None, rolled back with nothing changed, when the file is not in the ledger."""
    try:
        steps.begin()
        with interrupts.stoppable_work():
            retracted_at = retracted_at or steps.stamp()
            loaded = steps.in_ledger(file_name)
            if loaded:  # remembered first: the record reads the ledger row
                steps.record_unload(file_name, retracted_at)
            removed = steps.delete_files([file_name], retracted_at) if loaded else {}
        if not loaded:
            steps.rollback()
            return None
        interrupts.check()  # the last moment the unload can still be rolled back
        steps.commit()
    except BaseException:
        steps.rollback()
        raise
    return removed
