"""Files that are not logs are refused whole; empty files are skipped and never enter the ledger
(docs/loader.md "Files that are not logs, empty files"). On DuckDB and Postgres.

A line is a log line when it is valid UTF-8 without NUL and is a JSON object, a text-mode line
(`<logger>.<LEVEL>: <Type> {...}`, its JSON valid or not) or a CSV row (as the CSV parser reads
it) of 7, 8, 16 or 18 columns. A non-empty file none of whose lines is one is refused: nothing
written (no rows, no rejects, no ledger row), an error naming the file, exit status 1, the
run's other files still load.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from conftest import FLOW_A, write

REFUSED = "not a log: none of its"


def flow_line(ms: int = 1479834000000) -> str:
    fields = {"event": "flow.begin", "flow_id": FLOW_A, "flow_time": 0, "time": ms}
    return json.dumps({"Type": "flowEvent", "Fields": fields})


def urandom_like(seed: int, size: int = 5000) -> bytes:
    """What `head -c 5000 /dev/urandom` gives, reproducibly."""
    return random.Random(seed).randbytes(size)


README = """# fxa-metrics

Turns Firefox Accounts server logs into warehouse tables.

## Getting started
Run `make demo`: it generates a week of sample logs, loads them and builds the models.
Then open the docs site (make docs) and read the overview first.
"""


def table_counts(query) -> dict[str, int]:
    return {
        table: query(f"select count(*) from raw.{table}")[0][0]
        for table in ("flow_events", "activity_events", "rejected_lines", "load_ledger")
    }


def test_non_log_files_are_refused_whole_and_the_rest_loads(
    tmp_path: Path, raw_warehouse, load, capsys
) -> None:
    target, query = raw_warehouse
    folder = tmp_path / "in"
    refused = {
        "a-random.bin": urandom_like(1),
        "b-random.log.gz": gzip.compress(urandom_like(2)),
        "c-README.md": README.encode(),
        "d-json-but-no-objects.log": b'[1, 2, 3]\n"a string"\nnull\n42\n\n',
        "e-almost-csv.csv": b"1,2,3\na,b,c,d,e,f\n1,2,3,4,5,6,7,8,9\n",
        "f-binary-with-text.log": b"\x00\x01\x02 header\n" + urandom_like(3, 300) + b"\n{\n",
    }
    for name, data in refused.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    good = write(folder / "z-good.log", flow_line() + "\nnot json\n")
    assert load(folder, target=target) == 1
    captured = capsys.readouterr()
    for name in refused:
        resolved = (folder / name).resolve()
        errors = [line for line in captured.err.splitlines() if str(resolved) in line]
        assert errors and errors[0].startswith(f"error: {resolved}: {REFUSED}"), captured.err
    assert f"{good.resolve()}: 2 lines, 1 loaded, 1 rejected" in captured.out
    assert f"total: 1 files loaded, 0 skipped, {len(refused)} failed" in captured.out
    # only the good file: its row, its reject, its ledger row
    assert table_counts(query) == {
        "flow_events": 1,
        "activity_events": 0,
        "rejected_lines": 1,
        "load_ledger": 1,
    }
    assert query("select file_name from raw.load_ledger") == [(str(good.resolve()),)]


def test_one_log_line_of_either_format_is_enough(tmp_path: Path, raw_warehouse, load) -> None:
    """Not refused: every line is rejected, but one is a log line of some format. Format
    detection still goes by the first non-blank line, so a log line of the other format is
    loaded as a rejected line of the detected one."""
    target, query = raw_warehouse
    files = {
        # first line garbage (so: CSV), then a JSON object with no Type
        "a.log": b'garbage first line\n{"Fields": {"event": "x"}}\n',
        # text mode with broken JSON
        "b.log": b"fxa-auth-server.INFO: flowEvent {broken\n",
        # a CSV row of 8 columns, every value wrong
        "c.csv": b"when,x,y,z,uid?,type?,service?,device?\n",
        # a JSON log whose only log line is a JSON object of another shape, after a binary line
        "d.log": b'\xff\n{"x": [1]}\n',
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert load(*(tmp_path / name for name in files), target=target) == 0
    ledger = {
        Path(name).name: (lines, loaded, rejected, ignored)
        for name, lines, loaded, rejected, ignored in query(
            "select file_name, lines, loaded, rejected, ignored from raw.load_ledger"
        )
    }
    assert ledger == {
        "a.log": (2, 0, 2, 0),
        "b.log": (1, 0, 1, 0),
        "c.csv": (1, 0, 1, 0),
        "d.log": (2, 0, 2, 0),
    }


def test_empty_files_are_skipped_and_not_recorded(
    tmp_path: Path, raw_warehouse, load, capsys
) -> None:
    target, query = raw_warehouse
    empties = [
        write(tmp_path / "a-empty.log", ""),
        write(tmp_path / "b-blank-lines.log", "\n\n \t\n"),
        write(tmp_path / "c-empty.csv.gz", "", compress=True),
    ]
    good = write(tmp_path / "d-good.log", flow_line() + "\n")
    for _ in range(2):
        assert load(*empties, good, target=target) == 0
        out = capsys.readouterr().out
        for path in empties:
            assert f"{path.resolve()}: empty, nothing to load\n" in out
        assert "already loaded as" not in out
        assert query("select file_name from raw.load_ledger") == [(str(good.resolve()),)]
    assert "total: 0 files loaded, 4 skipped, 0 failed" in out


def test_a_refused_file_keeps_what_an_earlier_load_of_it_wrote(
    tmp_path: Path, raw_warehouse, load, capsys
) -> None:
    """A loaded file whose content became binary is refused: the run fails and its earlier
    rows stay (the refusal rolls back the replacement); --unload removes them if wanted."""
    target, query = raw_warehouse
    path = write(tmp_path / "a.log", flow_line() + "\n")
    assert load(path, target=target) == 0
    before = table_counts(query)
    path.write_bytes(urandom_like(7))
    assert load(path, target=target) == 1
    assert REFUSED in capsys.readouterr().err
    assert table_counts(query) == before
    assert query("select count(*) from raw.retracted_flow_events") == [(0,)]
