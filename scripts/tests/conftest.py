"""Shared fixtures: a DuckDB target per test, and the Postgres server (required in CI)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from functools import cache
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


@pytest.fixture
def postgres(postgres_dsn: str) -> Iterator[Callable[[str], list[tuple]]]:
    """A clean `raw` schema in the Postgres database named by the PG* variables."""
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("drop schema if exists raw cascade")

    def run(sql: str) -> list[tuple]:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    yield run


@pytest.fixture(
    params=[
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def raw_warehouse(
    request: pytest.FixtureRequest, hmac_key: str, duckdb_path: Path
) -> tuple[str, QueryFn]:
    """Each target in turn, with the key set: (target name for `load`, query function), the
    raw schema fresh (DuckDB: a new file; Postgres: `raw` dropped in PGDATABASE)."""
    if request.param == "duckdb":
        return "duckdb", request.getfixturevalue("query")
    return "postgres", request.getfixturevalue("postgres")


# ---------------------------------------------------------------------------------------------
# The Postgres server the `postgres`-marked tests use.
#
# Tests marked `@pytest.mark.postgres` (or asking for the `postgres_dsn` fixture) need the
# server named by the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
# - Locally without PGHOST they are skipped, with a message saying what to set.
# - With FXA_REQUIRE_POSTGRES=1 (CI: `.ci/run` starts a throwaway server) a missing or
#   unreachable server is an error, never a skip, so CI cannot pass without running them.

SKIP_MESSAGE = (
    "needs Postgres: set PGHOST, PGPORT, PGUSER, PGDATABASE (and PGPASSWORD if needed), "
    "e.g. PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGDATABASE=fxa_test"
)


def postgres_required() -> bool:
    return os.environ.get("FXA_REQUIRE_POSTGRES") == "1"


def postgres_dsn_from_env() -> str:
    """A libpq connection string built from the PG* variables ('' when PGHOST is unset)."""
    if not os.environ.get("PGHOST"):
        return ""
    parts = {
        "host": os.environ["PGHOST"],
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", "postgres"),
        "dbname": os.environ.get("PGDATABASE", "postgres"),
    }
    if os.environ.get("PGPASSWORD"):
        parts["password"] = os.environ["PGPASSWORD"]
    return " ".join(f"{key}={value}" for key, value in parts.items())


@cache
def _unreachable_reason(dsn: str) -> str:
    """'' when a connection succeeds, else why not (checked once per session)."""
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=5) as connection:
            connection.execute("select 1")
    except psycopg.Error as error:
        return f"Postgres at {dsn!r} is unreachable: {error}".strip()
    return ""


def _postgres_or_skip() -> str:
    dsn = postgres_dsn_from_env()
    reason = _unreachable_reason(dsn) if dsn else SKIP_MESSAGE
    if reason:
        if postgres_required():
            pytest.fail(f"FXA_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return dsn


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") is not None:
        _postgres_or_skip()


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """libpq DSN of the test server; skips (or, in CI, fails) when there is none."""
    return _postgres_or_skip()
