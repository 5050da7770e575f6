"""The loader's output (docs/loader.md): counts with thousands separators on every line, and a
gzip cut short named by its last complete line, also when it is small enough to be read in one
part."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import daily_run
import duckdb
import load_events
import pytest

KEY = "output-test-key"
FLOW_ID = "93d20470b766ff10b437bdb5a51149bbe060a72424114258751b4c8349a047dc"


def flow_line(number: int) -> str:
    fields = {"event": "flow.begin", "flow_id": FLOW_ID, "flow_time": number}
    return json.dumps({"Type": "flowEvent", "Fields": {**fields, "time": 1479834000000 + number}})


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "output.duckdb"
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(path))
    monkeypatch.setenv("FXA_METRICS_UID_HMAC_KEY", KEY)
    monkeypatch.delenv("FXA_TARGET", raising=False)
    monkeypatch.delenv("FXA_LOADER_CHUNK_MB", raising=False)
    return path


def test_file_and_total_lines_have_thousands_separators(
    tmp_path: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [flow_line(i) for i in range(2345)] + ["not json"] * 1000 + [""] * 1001
    path = tmp_path / "big.log"
    path.write_text("\n".join(lines) + "\n")
    assert load_events.main([str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"{path.resolve()}: 4,346 lines, 2,345 loaded, 1,000 rejected, 1,001 ignored ("
    ), out
    assert out[0].endswith(" lines/s)")
    assert out[1] == (
        "total: 1 files loaded, 0 skipped, 0 failed; 4,346 lines, 2,345 loaded, "
        "1,000 rejected, 1,001 ignored"
    )
    totals = daily_run.parse_load_totals("\n".join(out))
    assert totals == daily_run.LoadTotals(1, 0, 0, 4346, 2345, 1000, 1001)


def complete_lines(data: bytes) -> int:
    """Whole lines a gzip stream cut short still holds (every byte it can decompress)."""
    decompressor = zlib.decompressobj(wbits=31)
    return decompressor.decompress(data).count(b"\n")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_small_gzip_cut_short_names_its_last_complete_line(
    tmp_path: Path, database: Path, capsys: pytest.CaptureFixture[str], cut: float
) -> None:
    """A file far smaller than the 1 MiB read part: all its lines used to be lost with the
    part that hit the cut ("after line 0")."""
    whole = gzip.compress(("\n".join(flow_line(i) for i in range(3000)) + "\n").encode())
    data = whole[: int(len(whole) * cut)]
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data)
    readable = complete_lines(data)
    assert 0 < readable < 3000
    assert load_events.main([str(path)]) == 1
    err = capsys.readouterr().err
    assert f"after line {readable:,} ({readable:,} complete lines could be read)" in err, err
    assert "nothing of this file was loaded" in err
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute('select count(*) from "raw".flow_events').fetchone() == (0,)
        assert con.execute('select count(*) from "raw".load_ledger').fetchone() == (0,)
