"""`load_events.py --status` (docs/loader.md#status): the files loaded, newest first, with their
counts and rejected share, and the top rejection reasons with a count and one redacted example
each; read-only; the same SQL on DuckDB, Postgres and (through the Redshift sink) Redshift."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import load_events
import pytest
import sqlfluff
from dbt_harness import scratch_postgres_database
from fxa_pipeline import status
from fxa_pipeline.sinks import PostgresSink, RedshiftSink
from fxa_pipeline.targets import PostgresTarget, RedshiftTarget

KEY = "status-test-key"
UID = "1919e93ad11745ad498893101c593af5"
FLOW_ID = "f3f49249dc28ff90a5aec7978306d03bf38b2ffc80a4df5a51c9bc701e7ea419"
TIME_MS = 1479834000000
INVALID_JSON = "invalid JSON"
BAD_FLOW_ID = "flow_id is not 64 hex characters"
NO_UID = "missing required field uid"


def flow(**fields: object) -> str:
    base = {"event": "flow.begin", "flow_id": FLOW_ID, "flow_time": 0, "time": TIME_MS}
    return json.dumps({"Type": "flowEvent", "Fields": {**base, **fields}})


def activity(**fields: object) -> str:
    return json.dumps({"Type": "activityEvent", "Fields": {"event": "account.login", **fields}})


# A rejected line longer than an example, holding a raw uid (stored HMACed) and an escape
# character (shown escaped).
LONG_BAD_LINE = '{"uid": "' + UID + '", "event": "\x1b[31m' + "x" * 200

# (line, reason or None) of the two files, loaded in this order.
OLD_FILE = [
    (flow(), None),
    ('{"Type": "flowEvent", "Fields": {"event": "flow.begin"', INVALID_JSON),
    (flow(flow_id="abc"), BAD_FLOW_ID),
]
NEW_FILE = [
    (LONG_BAD_LINE, INVALID_JSON),
    (flow(time=TIME_MS + 1), None),
    (flow(flow_id="0" * 63), BAD_FLOW_ID),
    ('{"Type": "flowEvent", "Fields": ', INVALID_JSON),
    (activity(time=TIME_MS), NO_UID),
    (flow(flow_id="g" * 64), BAD_FLOW_ID),
    ('{"Type": "request.summary", "Fields": {}}', None),  # ignored
    ('{"Type": "flowEvent"', INVALID_JSON),
    *[(flow(flow_time=i, time=TIME_MS + i), None) for i in range(1200)],
]


def write_log(path: Path, lines: list[tuple[str, str | None]]) -> Path:
    path.write_text("\n".join(line for line, _ in lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def warehouse(target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """Point the loader at a fresh database of `target`; the Postgres database's name."""
    monkeypatch.setenv("FXA_METRICS_UID_HMAC_KEY", KEY)
    monkeypatch.delenv("FXA_LOADER_CHUNK_MB", raising=False)
    if target == "duckdb":
        monkeypatch.setenv("FXA_DUCKDB_PATH", str(tmp_path / "status.duckdb"))
        yield None
        return
    with scratch_postgres_database("status") as database:
        monkeypatch.setenv("PGDATABASE", database)
        yield database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = load_events.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def load_both(target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[Path]:
    old = write_log(tmp_path / "old.log", OLD_FILE)
    new = write_log(tmp_path / "new.log", NEW_FILE)
    for path in (old, new):  # two runs: two load times
        code, out, err = run(capsys, "--target", target, str(path))
        assert code == 0, out + err
    return [old, new]


def counts(lines: list[tuple[str, str | None]]) -> tuple[int, int, int, int]:
    """(lines, loaded, rejected, ignored) of a file (the ignored line is a request log)."""
    ignored = sum(1 for line, _ in lines if "request.summary" in line)
    rejected = sum(1 for _, reason in lines if reason)
    return len(lines), len(lines) - rejected - ignored, rejected, ignored


def expected_reasons() -> list[tuple[str, int, str, int, str]]:
    """(reason, count, file, line, example) by count: the example is the newest file's first
    line with that reason."""
    counts: dict[str, int] = {}
    for _, reason in OLD_FILE + NEW_FILE:
        if reason:
            counts[reason] = counts.get(reason, 0) + 1
    first = {}
    for number, (line, reason) in enumerate(NEW_FILE, start=1):
        if reason and reason not in first:
            first[reason] = (number, line)
    order = sorted(counts, key=lambda reason: (-counts[reason], reason))
    return [(r, counts[r], "new.log", first[r][0], first[r][1]) for r in order]


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def test_status_lists_files_newest_first_and_the_top_reasons_with_an_example(
    tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with warehouse(target, tmp_path, monkeypatch):
        old, new = load_both(target, tmp_path, capsys)
        code, out, err = run(capsys, "--target", target, "--status")
        assert code == 0, err
        lines = out.splitlines()

        assert (counts(OLD_FILE), counts(NEW_FILE)) == ((3, 1, 2, 0), (1208, 1201, 6, 1))
        assert lines[0].endswith(
            f": 2 files loaded; 1,211 lines, 1,202 loaded, 8 rejected "
            f"({status.share(8, 1211)}), 1 ignored"
        ), lines[0]
        files = lines[lines.index("files loaded, newest first:") + 1 :][:3]
        assert files[0].split() == [
            "loaded", "at", "(UTC)", "lines", "loaded", "rejected", "ignored", "rejected", "%",
            "file",
        ]  # fmt: skip
        assert files[1].split()[2:] == [
            "1,208",
            "1,201",
            "6",
            "1",
            status.share(6, 1208),
            str(new.resolve()),
        ]
        assert files[2].split()[2:] == ["3", "1", "2", "0", "66.67%", str(old.resolve())]

        # The reasons, most frequent first, each with its example (redacted, cut, escaped).
        start = lines.index("top rejection reasons (8 of 8 rejected lines):")
        shown = lines[start + 1 :]
        expected = expected_reasons()
        assert [r[:2] for r in expected] == [(INVALID_JSON, 4), (BAD_FLOW_ID, 3), (NO_UID, 1)]
        assert len(shown) == 2 * len(expected)
        for (reason, count, _, line_number, example), (head, sample) in zip(
            expected, zip(shown[::2], shown[1::2], strict=True), strict=True
        ):
            assert head.split(maxsplit=1) == [str(count), reason]
            prefix = f"e.g. {new.resolve()}:{line_number}: "
            assert sample.strip().startswith(prefix), sample
            text = sample.strip()[len(prefix) :]
            if example is LONG_BAD_LINE:
                assert UID not in out  # the loader stored it HMACed
                assert re.fullmatch(r'\{"uid": "[0-9a-f]{64}", "event": "\\x1b\[31mx+…', text), text
                assert "\x1b" not in out
                assert len(text) == status.EXAMPLE_CHARACTERS + len("\\x1b") - 1 + 1, text
            else:  # printable: cut at 120 characters
                assert text == (example if len(example) <= 120 else example[:120] + "…")

        # --limit: the newest file only.
        code, out, _ = run(capsys, "--target", target, "--status", "--limit", "1")
        assert code == 0
        assert str(new.resolve()) in out and str(old.resolve()) not in out.split("top ")[0]
        assert "... and 1 older file (--limit 0 lists every file)" in out


def test_status_is_read_only_and_says_when_there_are_no_raw_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    missing = tmp_path / "nothing" / "here.duckdb"
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(missing))
    code, out, err = run(capsys, "--status")
    assert code == 1 and not out
    assert f"error: no DuckDB file at {missing}: nothing has been loaded" in err
    assert not missing.parent.exists()  # nothing created

    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(empty))
    code, out, err = run(capsys, "--status")
    assert code == 1
    assert err == (
        f"error: the duckdb target ({empty}) has no raw tables (raw.load_ledger, "
        "raw.rejected_lines): nothing has been loaded into it; check --target and its "
        "connection variables\n"
    )

    with warehouse("duckdb", tmp_path, monkeypatch):
        load_both("duckdb", tmp_path, capsys)
        database = tmp_path / "status.duckdb"
        before = hashlib.sha256(database.read_bytes()).hexdigest()
        assert run(capsys, "--status")[0] == 0
        assert hashlib.sha256(database.read_bytes()).hexdigest() == before
        assert not Path(str(database) + ".wal").exists()


@pytest.mark.postgres
def test_status_sql_runs_through_the_redshift_sink_and_parses_as_redshift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """No Redshift here: the Redshift sink's query path on a Postgres connection (the same
    DB-API calls redshift_connector answers), and sqlfluff's Redshift dialect on the SQL."""
    import psycopg

    for sql in (status.TABLES_SQL, status.TOTALS_SQL, status.files_sql(20), status.REASONS_SQL):
        parsed = sqlfluff.parse(sql, dialect="redshift")
        assert "unparsable" not in json.dumps(parsed), sql
    with warehouse("postgres", tmp_path, monkeypatch) as database:
        load_both("postgres", tmp_path, capsys)
        postgres = PostgresSink(
            PostgresTarget(
                os.environ["PGHOST"],
                int(os.environ.get("PGPORT", "5432")),
                os.environ.get("PGUSER", "postgres"),
                database or "",
            ),
            read_only=True,
        )
        redshift = RedshiftSink(
            RedshiftTarget("redshift.invalid", 5439, "u", "db"),
            connection=psycopg.connect(dbname=database),
            read_only=True,
        )
        try:
            through_postgres = status.read_status(postgres.query)
            through_redshift = status.read_status(redshift.query)
        finally:
            postgres.close()
            redshift.close()
        assert through_postgres is not None and through_postgres == through_redshift
        assert [(r.reason, r.count) for r in through_redshift.reasons] == [
            (r[0], r[1]) for r in expected_reasons()
        ]
