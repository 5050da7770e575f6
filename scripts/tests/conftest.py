"""Shared fixtures: a DuckDB target per test, the Postgres server (required in CI), generated
logs and built warehouses per session, and the `integration` tier."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from dbt_harness import (
    STANDARD_LOGS,
    BuiltWarehouse,
    LogSet,
    build_standard_warehouse,
    duckdb_query,
    generate_logs,
    release_duckdb_files,
    require_postgres,
    run_loader,
    scratch_postgres_database,
    scratch_warehouse,
)
from hypothesis import settings

TEST_KEY = "test-hmac-key"

# The fast tier (`make test-fast`) runs the property tests with a quarter of their examples
# (`--hypothesis-profile=fast`); `make test` runs them all. Tests that set their own number of
# examples take it through property_examples().
settings.register_profile("fast", max_examples=25)


def property_examples(full: int) -> int:
    """`full` examples under hypothesis's default profile (100 examples), a quarter of them
    under the fast tier's."""
    return max(1, full * settings.default.max_examples // 100)


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
        return run_loader(*paths, target=target, force=force)

    return run


QueryFn = Callable[[str], list[tuple]]


@pytest.fixture
def query(duckdb_path: Path) -> QueryFn:
    def run(sql: str) -> list[tuple]:
        return duckdb_query(duckdb_path, sql)[1]

    return run


@pytest.fixture(autouse=True)
def _release_duckdb_files() -> Iterator[None]:
    """Close the connections dbt_harness.duckdb_query() kept open during the test."""
    yield
    release_duckdb_files()


@pytest.fixture
def postgres_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty database on the PG* server for this test (dropped after it), which
    PGDATABASE names meanwhile, so that the loader's postgres target writes there."""
    require_postgres()
    with scratch_postgres_database("t") as name:
        monkeypatch.setenv("PGDATABASE", name)
        yield name


@pytest.fixture
def postgres(postgres_database: str) -> Callable[[str], list[tuple]]:
    """query(sql) -> rows, on the test's own Postgres database (postgres_database)."""
    import psycopg

    def run(sql: str) -> list[tuple]:
        with psycopg.connect(dbname=postgres_database, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    return run


@pytest.fixture(
    params=[
        pytest.param("duckdb", id="duckdb"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def raw_warehouse(
    request: pytest.FixtureRequest, hmac_key: str, duckdb_path: Path
) -> tuple[str, QueryFn]:
    """Each target in turn, with the key set: (target name for `load`, query function), on a
    fresh warehouse (DuckDB: a new file; Postgres: the test's own scratch database)."""
    if request.param == "duckdb":
        return "duckdb", request.getfixturevalue("query")
    return "postgres", request.getfixturevalue("postgres")


# ---------------------------------------------------------------------------------------------
# The Postgres server the `postgres`-marked tests use: dbt_harness.require_postgres() is the one
# rule (skip locally with what to set; fail under FXA_REQUIRE_POSTGRES=1, as in CI).


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") is not None:
        require_postgres()


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """libpq DSN of the PG* server; skips (or, in CI, fails) when there is none."""
    return require_postgres()


# ---------------------------------------------------------------------------------------------
# Tiers: `pytest -m "not integration"` is the fast tier (`make test-fast`). A test is
# `integration` when it is marked so, or needs Postgres, or asks for a fixture that builds a
# warehouse with dbt.

INTEGRATION_FIXTURES = frozenset(
    {
        "built_warehouses",
        "built_warehouse",
        "kpi_warehouse",
        "postgres_dsn",
        "postgres",
        "postgres_database",
    }
)


# Under pytest-xdist (`-n 2 --dist loadgroup`), the tests that read one target's built
# warehouse form one group, run by one worker, so that each warehouse is built once; so do the
# tests of a module that share a module-scoped fixture (a dbt parse, a generated report), so
# that it is made once; and the longest tests are handed out first, so that both workers finish
# about together.
LONGEST_FIRST = (
    "test_incremental_scenarios.py",
    "test_bench_pipeline.py",
    "test_sampled_retention_order.py",
    "test_build_lock.py",
)


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    fixtures = getattr(item, "_fixtureinfo", None)
    if fixtures is None:
        return False
    return any(
        definitions[-1].scope == "module" for definitions in fixtures.name2fixturedefs.values()
    )


def _built_target(item: pytest.Item) -> str | None:
    """The target whose built warehouse `item` reads, if any."""
    needs = set(getattr(item, "fixturenames", ()))
    if "built_warehouse" in needs:
        return item.callspec.params["target"]  # type: ignore[attr-defined]
    return "duckdb" if "built_warehouses" in needs else None


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("postgres") is not None or needs & INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)
        target = _built_target(item)
        if target is not None:
            item.add_marker(pytest.mark.xdist_group(f"built-{target}"))
        elif _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.path.name))
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)


# ---------------------------------------------------------------------------------------------
# Session fixtures: generated logs, one folder per LogSet, and the built warehouses, one per
# target. Under pytest-xdist each worker has its own session, hence its own copies.


@pytest.fixture(scope="session")
def log_sets(tmp_path_factory: pytest.TempPathFactory) -> Callable[[LogSet], Path]:
    """logs(options) -> the folder scripts/generate_events.py wrote for `options` (generated
    once per session; read-only: copy the files a test rewrites)."""
    folders: dict[LogSet, Path] = {}

    def logs(options: LogSet = STANDARD_LOGS) -> Path:
        if options not in folders:
            out = tmp_path_factory.mktemp("logs") / "logs"
            folders[options] = generate_logs(out, options)
        return folders[options]

    return logs


@pytest.fixture(scope="session")
def built_warehouses(
    tmp_path_factory: pytest.TempPathFactory, log_sets: Callable[[LogSet], Path]
) -> Iterator[Callable[[str], BuiltWarehouse]]:
    """built(target) -> the session's warehouse on `target` holding the standard log set,
    built by build_standard_warehouse() (once per session and target). Read it as is; to
    change it, take `built(target).warehouse.copy(tmp_path / ...)`."""
    built: dict[str, BuiltWarehouse] = {}
    with ExitStack() as stack:

        def get(target: str) -> BuiltWarehouse:
            if target == "postgres":
                require_postgres()
            if target not in built:
                work_dir = tmp_path_factory.mktemp(f"built-{target}")
                warehouse = stack.enter_context(scratch_warehouse(target, work_dir))
                built[target] = build_standard_warehouse(warehouse, log_sets(STANDARD_LOGS))
            return built[target]

        yield get


@pytest.fixture
def built_warehouse(
    target: str, built_warehouses: Callable[[str], BuiltWarehouse]
) -> BuiltWarehouse:
    """The session's built warehouse of the test's `target` parameter: parametrize the test
    with `@pytest.mark.parametrize("target", dbt_harness.TARGETS)`."""
    return built_warehouses(target)
