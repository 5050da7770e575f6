"""The one Postgres rule of the suite (dbt_harness.require_postgres): DSN from the PG*
variables, skip without a server, fail instead under FXA_REQUIRE_POSTGRES=1 (CI), and a live
round trip."""

from __future__ import annotations

import psycopg
import pytest
from dbt_harness import postgres_dsn_from_env, require_postgres


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


def test_without_a_server_postgres_tests_skip_unless_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PGHOST", raising=False)
    monkeypatch.delenv("FXA_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs Postgres: set PGHOST"):
        require_postgres()
    monkeypatch.setenv("FXA_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="FXA_REQUIRE_POSTGRES=1 but needs Postgres"):
        require_postgres()
    # an unreachable server is no better than none
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", "1")
    with pytest.raises(pytest.fail.Exception, match="is unreachable"):
        require_postgres()


@pytest.mark.postgres
def test_postgres_server_answers(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as connection:
        (version,) = connection.execute("show server_version_num").fetchone()
    assert int(version) >= 150000
