"""Connection settings per target name, read from the same environment variables as profiles.yml.

The targets of docs/data-contract.md#targets: `duckdb` (default; file `FXA_DUCKDB_PATH`,
default `fxa_metrics.duckdb`), `postgres` (libpq variables `PGHOST`, `PGPORT`, `PGUSER`,
`PGPASSWORD`, `PGDATABASE`), `redshift` (`REDSHIFT_*` variables). The default target is
`FXA_TARGET`, else `duckdb`, as in profiles.yml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from fxa_pipeline.raw_schema import Dialect

TARGET_NAMES: tuple[Dialect, ...] = ("duckdb", "postgres", "redshift")


@dataclass(frozen=True)
class DuckDBTarget:
    path: str
    name: Dialect = "duckdb"


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    user: str
    dbname: str
    password: str = field(default="", repr=False)
    name: Dialect = "postgres"

    def conninfo(self) -> dict[str, str | int]:
        info: dict[str, str | int] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
        }
        if self.password:
            info["password"] = self.password
        return info


@dataclass(frozen=True)
class RedshiftTarget:
    host: str
    port: int
    user: str
    dbname: str
    password: str = field(default="", repr=False)
    name: Dialect = "redshift"


Target = DuckDBTarget | PostgresTarget | RedshiftTarget


def default_target_name() -> str:
    return os.environ.get("FXA_TARGET", "duckdb")


def _port(variable: str, default: str) -> int:
    value = os.environ.get(variable, default)
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"{variable}={value!r} is not a port number; set it to e.g. {default}"
        ) from None


def resolve_target(name: str) -> Target:
    """The settings of target `name`, exactly as profiles.yml computes them."""
    env = os.environ.get
    if name == "duckdb":
        return DuckDBTarget(path=env("FXA_DUCKDB_PATH", "fxa_metrics.duckdb"))
    if name == "postgres":
        return PostgresTarget(
            host=env("PGHOST", "localhost"),
            port=_port("PGPORT", "5432"),
            user=env("PGUSER", "postgres"),
            dbname=env("PGDATABASE", "fxa_metrics"),
            password=env("PGPASSWORD", ""),
        )
    if name == "redshift":
        return RedshiftTarget(
            host=env("REDSHIFT_HOST", "redshift.invalid"),
            port=_port("REDSHIFT_PORT", "5439"),
            user=env("REDSHIFT_USER", "fxa_metrics"),
            dbname=env("REDSHIFT_DATABASE", "fxa"),
            password=env("REDSHIFT_PASSWORD", ""),
        )
    raise ValueError(f"unknown target {name!r}: use one of {', '.join(TARGET_NAMES)}")
