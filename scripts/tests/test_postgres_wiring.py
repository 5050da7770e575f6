"""The Postgres test wiring of conftest.py: DSN from PG* variables, and a live round trip."""

from __future__ import annotations

import psycopg
import pytest
from conftest import postgres_dsn_from_env


def test_dsn_is_empty_without_pghost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGHOST", raising=False)
    assert postgres_dsn_from_env() == ""


def test_dsn_is_built_from_pg_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "PGHOST": "127.0.0.1",
        "PGPORT": "6543",
        "PGUSER": "ci",
        "PGDATABASE": "fxa_ci",
        "PGPASSWORD": "s3cret",
    }.items():
        monkeypatch.setenv(name, value)
    assert postgres_dsn_from_env() == (
        "host=127.0.0.1 port=6543 user=ci dbname=fxa_ci password=s3cret"
    )


@pytest.mark.postgres
def test_postgres_server_answers(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as connection:
        (version,) = connection.execute("show server_version_num").fetchone()
    assert int(version) >= 150000
