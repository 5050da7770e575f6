"""Shared pytest wiring: the Postgres server the `postgres`-marked tests use.

Tests marked `@pytest.mark.postgres` (or asking for the `postgres_dsn` fixture) need the
server named by the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
- Locally without PGHOST they are skipped, with a message saying what to set.
- With FXA_REQUIRE_POSTGRES=1 (CI: `.ci/run` starts a throwaway server) a missing or
  unreachable server is an error, never a skip, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
from functools import cache

import pytest

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
