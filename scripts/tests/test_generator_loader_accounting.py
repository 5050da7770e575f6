"""The loader's ledger against the generator's manifest: both count the same lines the same way.

The generator knows what it wrote (valid events, duplicates, damaged lines, request logs,
blank lines); the loader must account for each line as loaded, rejected or ignored exactly so
(`lines = loaded + rejected + ignored`, docs/data-contract.md#the-load-ledger).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import generate_events
import pytest
from fxa_pipeline.generator.run import MANIFEST_NAME


@pytest.fixture
def generated(tmp_path: Path, hmac_key: str) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "logs"
    args = ["--out", str(out), "--days", "2", "--flows-per-day", "150", "--gzip"]
    assert generate_events.main([*args, "--legacy-days", "1"]) == 0
    return out, json.loads((out / MANIFEST_NAME).read_text())


def _ledger_by_file(query: Any, root: Path) -> dict[str, tuple[int, int, int, int]]:
    rows = query("select file_name, lines, loaded, rejected, ignored from raw.load_ledger")
    return {
        str(Path(name).resolve().relative_to(root.resolve())): tuple(counts)
        for name, *counts in rows
    }


def _expected(counts: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        counts["lines"],
        counts["expected_loaded"],
        counts["expected_rejected"],
        counts["expected_ignored"],
    )


def test_ledger_matches_manifest_for_json_and_csv_files(
    generated: tuple[Path, dict], duckdb_path: Path, load: Any, query: Any
) -> None:
    root, manifest = generated
    files = {name: c for name, c in manifest["files"].items() if "-text.log" not in name}
    assert load(*(root / name for name in sorted(files))) == 0
    ledger = _ledger_by_file(query, root)
    assert ledger == {name: _expected(c) for name, c in files.items()}
    flows, activity = query(
        "select (select count(*) from raw.flow_events), (select count(*) from raw.activity_events)"
    )[0]
    assert flows == sum(c["flow_events"] for c in files.values())
    assert activity == sum(c["activity_events"] for c in files.values())


def test_ledger_matches_manifest_for_text_mode_files(
    generated: tuple[Path, dict], duckdb_path: Path, load: Any, query: Any
) -> None:
    root, manifest = generated
    files = {name: c for name, c in manifest["files"].items() if "-text.log" in name}
    assert files
    assert load(*(root / name for name in sorted(files))) == 0
    assert _ledger_by_file(query, root) == {name: _expected(c) for name, c in files.items()}
