"""Shared fixtures for the loader tests: a DuckDB target per test, an optional Postgres one."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import load_events
import pytest

TEST_KEY = "test-hmac-key"

# Hand-picked identifiers used across the fixtures.
FLOW_A = "f3f49249dc28ff90a5aec7978306d03bf38b2ffc80a4df5a51c9bc701e7ea419"
FLOW_B = "93d20470b766ff10b437bdb5a51149bbe060a72424114258751b4c8349a047dc"
UID_A = "1919e93ad11745ad498893101c593af5"
UID_B = "0123456789abcdef0123456789abcdef"
DEVICE_A = "a341738c837a7935bef7e268ffe976ab"
FIREFOX_50_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:50.0) Gecko/20100101 Firefox/50.0"
)
FIREFOX_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 10_2 like Mac OS X) AppleWebKit/602.3.12 "
    "(KHTML, like Gecko) FxiOS/5.3 Mobile/14C92 Safari/602.1"
)


def write(path: Path, text: str, *, compress: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def hmac_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FXA_METRICS_UID_HMAC_KEY", TEST_KEY)
    return TEST_KEY


@pytest.fixture
def duckdb_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("FXA_DUCKDB_PATH", str(path))
    monkeypatch.delenv("FXA_TARGET", raising=False)
    monkeypatch.delenv("FXA_LOADER_CHUNK_MB", raising=False)
    return path


LoadFn = Callable[..., int]


@pytest.fixture
def load() -> LoadFn:
    """Run the loader's main() in-process: load(*paths, target=..., force=...) -> exit code."""

    def run(*paths: Path, target: str = "duckdb", force: bool = False) -> int:
        argv = ["--target", target, *(["--force"] if force else []), *map(str, paths)]
        return load_events.main(argv)

    return run


QueryFn = Callable[[str], list[tuple]]


@pytest.fixture
def query(duckdb_path: Path) -> QueryFn:
    def run(sql: str) -> list[tuple]:
        with duckdb.connect(str(duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    return run


def postgres_configured() -> bool:
    return bool(os.environ.get("PGHOST") and os.environ.get("PGDATABASE"))


@pytest.fixture
def postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], list[tuple]]]:
    """A clean `raw` schema in the Postgres database named by the PG* variables."""
    if not postgres_configured():
        pytest.skip("Postgres tests need PGHOST/PGPORT/PGUSER/PGDATABASE; set them to run")
    import psycopg

    with psycopg.connect(autocommit=True) as conn:
        conn.execute("drop schema if exists raw cascade")

    def run(sql: str) -> list[tuple]:
        with psycopg.connect(autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    yield run
