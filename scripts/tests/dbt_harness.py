"""The one way tests drive the pipeline: generated logs, the loader, dbt, and scratch warehouses.

    with scratch_warehouse("duckdb", tmp_path) as warehouse:
        warehouse.load(path)                                  # scripts/load_events.py main()
        warehouse.dbt("run", "--select", "+flow_metadata")    # dbt, in this process
        rows = warehouse.rows("flow_metadata")                # sorted rows of analytics.<table>
        with warehouse.copy(tmp_path / "copy") as copy: ...   # a cheap copy to mutate

- dbt runs in-process (`dbtRunner`) on a manifest parsed once per target and set of `--vars`
  for the whole test session: a `dbt` subprocess per call would spend most of its time
  importing dbt and parsing the project. The DuckDB file is released after every dbt call so
  that the loader can write to it.
- The loader runs in-process too, through the same `main()` as `scripts/load_events.py`.
  Tests read a DuckDB file between loader runs with `duckdb_query()`, whose connection stays
  open for the test, so that the loader's connections join its DuckDB instance.
- A warehouse is never the one you work in: DuckDB gets a file under the test's temporary
  folder; Postgres gets a database `<PGDATABASE>_<tag>_<random>` on the PG* server, created
  for the test and dropped after it (the PG* user needs CREATEDB). A copy is a file copy on
  DuckDB and `create database ... template` on Postgres.
- Postgres: without PGHOST (or with an unreachable server) Postgres tests skip with a message
  saying what to set; with FXA_REQUIRE_POSTGRES=1 (CI) they fail instead. This is the one
  Postgres rule of the suite: the `postgres` marker and every Postgres fixture of conftest.py
  call `require_postgres()`.
- `build_standard_warehouse()` is what the session's built warehouses of conftest.py do: the
  standard log set loaded in two halves, `dbt build` (unit and data tests included) after each.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT_ROOT / "scripts"
# Sample logs only: production sets its own secret key (never committed).
TEST_HMAC_KEY = "fxa-metrics-test-key-not-a-secret"

SKIP_MESSAGE = (
    "needs Postgres: set PGHOST, PGPORT, PGUSER, PGDATABASE (and PGPASSWORD if needed), "
    "e.g. PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGDATABASE=fxa_test"
)


def base_environment() -> dict[str, str]:
    """The variables every dbt / loader / generator call of the tests needs."""
    return {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "PYTHONPATH": str(SCRIPTS),
        "FXA_METRICS_UID_HMAC_KEY": os.environ.get("FXA_METRICS_UID_HMAC_KEY", TEST_HMAC_KEY),
    }


# ---- generated logs -----------------------------------------------------------------------


@dataclass(frozen=True)
class LogSet:
    """Options of scripts/generate_events.py: one generated folder per distinct value."""

    days: int = 3
    flows_per_day: int = 60
    seed: int = 42
    legacy_days: int = 1


# The log set of the session's built warehouses (conftest.py): 3 days and a legacy CSV day,
# enough flows and users for the privacy scan and the sampled tables to have something to find.
STANDARD_LOGS = LogSet(days=3, flows_per_day=150, seed=5, legacy_days=1)


def generate_logs(out: Path, options: LogSet) -> Path:
    """Run scripts/generate_events.py into `out`; return `out`."""
    command = [
        sys.executable,
        str(SCRIPTS / "generate_events.py"),
        "--out",
        str(out),
        "--days",
        str(options.days),
        "--flows-per-day",
        str(options.flows_per_day),
        "--seed",
        str(options.seed),
        "--legacy-days",
        str(options.legacy_days),
    ]
    _check(subprocess.run(command, env={**os.environ, **base_environment()}, **_CAPTURE))
    return out


def log_files(folder: Path) -> list[Path]:
    """The log files of a generated folder, sorted by path (its hidden .manifest.json excluded)."""
    return sorted(
        path for path in folder.rglob("*") if path.is_file() and not path.name.startswith(".")
    )


_CAPTURE: dict[str, Any] = {"capture_output": True, "text": True, "check": False}


def _check(result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode != 0:
        raise AssertionError(
            f"command failed (exit {result.returncode}): {' '.join(result.args)}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )


# ---- Postgres -----------------------------------------------------------------------------

# Parametrize a test with these (`@pytest.mark.parametrize("target", TARGETS)`) to run it on
# both warehouses; the Postgres case carries the `postgres` marker (skip or fail, see below).
TARGETS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


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


def require_postgres() -> str:
    """The PG* server's DSN; skip without one (locally), fail under FXA_REQUIRE_POSTGRES=1."""
    dsn = postgres_dsn_from_env()
    reason = _unreachable_reason(dsn) if dsn else SKIP_MESSAGE
    if reason:
        if postgres_required():
            pytest.fail(f"FXA_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return dsn


@contextmanager
def scratch_postgres_database(
    tag: str, template: str | None = None, *, unique: bool = True
) -> Iterator[str]:
    """A new, empty database `<PGDATABASE>_<tag>_<random>` on the PG* server; its name.

    With `template`, an exact copy of that database instead (`create database ... template`:
    no other connection may be open to it meanwhile). With `unique=False` the name is
    `<PGDATABASE>_<tag>` (replacing a leftover of that name), so that the dbt manifest parsed
    for it, which names the database, serves every database made under the tag.
    Dropped afterwards (forcibly: a killed client's backend may still be attached).
    """
    require_postgres()
    import psycopg
    from psycopg import sql

    maintenance_db = os.environ.get("PGDATABASE", "postgres")
    name = f"{maintenance_db}_{tag}" + (f"_{secrets.token_hex(4)}" if unique else "")
    with psycopg.connect(dbname=maintenance_db, autocommit=True) as connection:
        if not unique:
            connection.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
        create = sql.SQL("create database {}").format(sql.Identifier(name))
        if template is not None:
            create += sql.SQL(" template {}").format(sql.Identifier(template))
        connection.execute(create)
    try:
        yield name
    finally:
        with psycopg.connect(dbname=maintenance_db, autocommit=True) as connection:
            connection.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


# ---- dbt ----------------------------------------------------------------------------------

# Parsed manifests: parsing is most of a dbt call's fixed cost, so the project is parsed once
# per target and set of `--vars` (configs and test arguments rendered at parse time can depend
# on them) and reused. A manifest names the database of every relation (the Postgres database,
# the DuckDB file's catalog), so a warehouse with another database gets a copy of it with the
# names replaced (`_retarget`) instead of a new parse. A few such copies are kept.
_PARSED: dict[tuple[str, str], tuple[str, Any]] = {}
_MANIFESTS: dict[tuple[str, str, str], Any] = {}
_KEPT_COPIES = 6


def _vars_of(args: Sequence[str]) -> str:
    for index, arg in enumerate(args):
        if arg == "--vars" and index + 1 < len(args):
            return args[index + 1]
    return ""


def _retarget(manifest: Any, old: str, new: str) -> Any:
    """A copy of `manifest` whose relations live in database `new` instead of `old`."""
    retargeted = manifest.deepcopy()  # dbt's own: fresh lookups (copy.deepcopy breaks them)
    old_prefix, new_prefix = f'"{old}".', f'"{new}".'
    for node in [*retargeted.nodes.values(), *retargeted.sources.values()]:
        if getattr(node, "database", None) == old:
            node.database = new
        name = getattr(node, "relation_name", None)
        if name and name.startswith(old_prefix):
            node.relation_name = new_prefix + name[len(old_prefix) :]
    retargeted.build_flat_graph()
    return retargeted


# ---- the loader ---------------------------------------------------------------------------


def run_loader(
    *paths: Path, target: str = "duckdb", force: bool = False, unload: bool = False
) -> int:
    """scripts/load_events.py's main() in this process, on the current environment."""
    import load_events

    argv = ["--target", target]
    argv += ["--force"] if force else []
    argv += ["--unload"] if unload else []
    argv += [str(path) for path in paths]
    return load_events.main(argv)


# ---- reading a DuckDB file between in-process loader runs ---------------------------------

# Connections kept open by duckdb_query(), by file, until release_duckdb_files().
_KEPT_OPEN: dict[str, Any] = {}


def duckdb_query(
    path: str | Path, sql: str, params: Sequence[Any] = ()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of one statement on the DuckDB file at `path` (which must exist).

    The connection stays open until release_duckdb_files(), which conftest.py calls after
    every test: starting a DuckDB instance costs ~30 ms, more than a small query, and while
    this connection is open the loader's connections in this process (same configuration)
    join its instance instead of starting their own. Meanwhile no other process can open the
    file, nor dbt in this one (its profile configures DuckDB differently): a test that hands
    the file to either calls release_duckdb_files() first. Warehouse.queries() is the reader
    between dbt calls: it closes its connection.
    """
    import duckdb

    key = str(Path(path).resolve())
    connection = _KEPT_OPEN.get(key)
    if connection is None:
        if not Path(key).exists():
            raise FileNotFoundError(f"no DuckDB file at {key}")
        connection = _KEPT_OPEN[key] = duckdb.connect(key)
    cursor = connection.cursor()
    try:
        cursor.execute(sql, list(params))
        names = [d[0] for d in cursor.description or []]
        return names, cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()


def release_duckdb_files() -> None:
    """Close every connection duckdb_query() kept open."""
    while _KEPT_OPEN:
        _KEPT_OPEN.popitem()[1].close()


# ---- warehouses ---------------------------------------------------------------------------


@dataclass
class Warehouse:
    """A scratch database on one dbt target, with the environment that points at it."""

    target: str
    env: dict[str, str]
    work_dir: Path

    @property
    def database(self) -> str:
        """The database dbt's relations name: the Postgres database, the DuckDB file's stem."""
        if self.target == "duckdb":
            return Path(self.env["FXA_DUCKDB_PATH"]).stem
        return self.env["PGDATABASE"]

    def at(self, work_dir: Path) -> Warehouse:
        """The same database, with dbt's target/ and logs/ in `work_dir` (for a test that
        reads dbt's artifacts of its own calls on a shared warehouse)."""
        work_dir.mkdir(parents=True, exist_ok=True)
        return replace(self, env=dict(self.env), work_dir=work_dir)

    # -- the loader
    def load(self, *paths: Path, force: bool = False, unload: bool = False) -> str:
        """Run scripts/load_events.py's main() on `paths`; fail unless it exits 0. Its output."""
        status, output = self.load_status(*paths, force=force, unload=unload)
        if status != 0:
            raise AssertionError(f"loader exited {status}:\n{output[-4000:]}")
        return output

    def load_status(
        self, *paths: Path, force: bool = False, unload: bool = False
    ) -> tuple[int, str]:
        """Run the loader's main() on `paths`: (exit status, stdout + stderr)."""
        output = io.StringIO()
        with (
            self._environment(),
            contextlib.redirect_stdout(output),
            contextlib.redirect_stderr(output),
        ):
            status = run_loader(*paths, target=self.target, force=force, unload=unload)
        return status, output.getvalue()

    def loader_process(
        self, *paths: Path, unload: bool = False, force: bool = False
    ) -> subprocess.Popen[str]:
        """scripts/load_events.py in a process of its own (running beside this one: a build,
        other loaders), started; its output piped. The caller waits for it."""
        argv = [sys.executable, str(SCRIPTS / "load_events.py"), "--target", self.target]
        argv += ["--unload"] if unload else []
        argv += ["--force"] if force else []
        argv += [str(path) for path in paths]
        return subprocess.Popen(
            argv,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def build_status(
        self, *args: str, wait: float = 0.0, messages: io.StringIO | None = None
    ) -> tuple[int, str]:
        """scripts/build.py's main() (the build lock, a fresh warehouse's bootstrap, dbt build)
        with dbt in this process: (exit status, the lock's messages, also written to
        `messages` as they come). `args` go to build.py."""
        import build

        messages = messages or io.StringIO()

        def dbt(argv: Sequence[str]) -> int:
            return 0 if self.dbt_result(*argv).success else 1

        with self._environment():
            argv = ["--target", self.target, "--wait", str(wait), *args]
            status = build.main(argv, dbt=dbt, err=messages)
        return status, messages.getvalue()

    def create_raw_tables(self) -> None:
        """The loader's raw schema, empty (what a first load creates), so dbt can run first."""
        from fxa_pipeline.raw_schema import create_all_sql

        for statement in create_all_sql(self.target):
            self.query(statement)

    def insert(self, table: str, rows: Sequence[Sequence[Any]], schema: str = "raw") -> None:
        """Append `rows` (every column, in table order) to `schema.table`: one statement."""
        if not rows:
            return
        one_row = "(" + ", ".join(["?"] * len(rows[0])) + ")"
        sql = f'insert into "{schema}"."{table}" values ' + ", ".join([one_row] * len(rows))
        self.query(sql, [value for row in rows for value in row])

    # -- dbt
    def dbt(self, *args: str) -> Any:
        """Run one dbt command on this warehouse; fail the test if it does not succeed."""
        result = self.dbt_result(*args)
        if not result.success:
            raise AssertionError(
                f"dbt {' '.join(args)} failed on {self.target}: {result.exception}\n"
                + "\n".join(problems(result))
            )
        return result.result

    def dbt_result(self, *args: str) -> Any:
        """Run one dbt command on this warehouse; its dbtRunnerResult, success or not."""
        from dbt.cli.main import dbtRunner

        # No JSON artifacts (manifest.json, run_results.json: ~0.4 s a call) but for the docs
        # site: a test reads a command's results from the returned object.
        artifacts = ["--no-write-json"] if args[:1] != ("docs",) else []
        with self._environment():
            result = dbtRunner(manifest=self._manifest(_vars_of(args))).invoke(
                [*args, *self._common_args(), *artifacts]
            )
            self._release()
        return result

    def manifest_json(self) -> dict[str, Any]:
        """The project's manifest as `dbt parse` writes it (manifest.json), for this target."""
        import json

        path = self.work_dir / "target" / "manifest.json"
        with self._environment():
            self._manifest("").write(str(path))
        return json.loads(path.read_text())

    def semantic_manifest(self) -> Any:
        """The MetricFlow semantic manifest of the project parsed for this warehouse (its
        relations name this database)."""
        from fxa_pipeline.semantic import from_dbt_manifest

        with self._environment():
            return from_dbt_manifest(self._manifest(""))

    # -- reading and writing
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one SQL statement (autocommit); parameters are written `?`."""
        return self.queries([(sql, params)])[0]

    def queries(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        """The rows of each statement, in order, on one connection (autocommit): opening a
        connection costs more than a small query."""
        results: list[list[tuple[Any, ...]]] = []
        if self.target == "duckdb":
            import duckdb

            connection = duckdb.connect(self.env["FXA_DUCKDB_PATH"])
            try:
                for sql, params in statements:
                    cursor = connection.execute(sql, list(params))
                    results.append(cursor.fetchall() if cursor.description else [])
            finally:
                connection.close()
            return results
        import psycopg

        with psycopg.connect(dbname=self.env["PGDATABASE"], autocommit=True) as connection:
            for sql, params in statements:
                if params:
                    sql = sql.replace("%", "%%").replace("?", "%s")
                cursor = connection.execute(sql, list(params) or None)  # type: ignore[arg-type]
                results.append(cursor.fetchall() if cursor.description else [])
        return results

    def rows(self, table: str, schema: str = "analytics") -> list[tuple[Any, ...]]:
        """Every row of `schema.table`, all columns in table order, sorted (NULLs first)."""
        return self.snapshot([table], schema)[table]

    def snapshot(
        self, tables: Sequence[str], schema: str = "analytics"
    ) -> dict[str, list[tuple[Any, ...]]]:
        """`rows()` of each of `tables`, read on one connection."""
        results = self.queries([(f"select * from {schema}.{table}", ()) for table in tables])
        return {
            table: sorted(rows, key=_sort_key) for table, rows in zip(tables, results, strict=True)
        }

    def tables(self, schema: str = "analytics") -> list[str]:
        """The base tables of `schema`, sorted."""
        catalog = f" and table_catalog = '{self.database}'" if self.target == "duckdb" else ""
        return [
            name
            for (name,) in self.query(
                "select table_name from information_schema.tables where table_schema = "
                f"'{schema}' and table_type = 'BASE TABLE'{catalog} order by table_name"
            )
        ]

    @contextmanager
    def copy(self, work_dir: Path, tag: str = "copy") -> Iterator[Warehouse]:
        """An exact copy of this warehouse, to mutate or rebuild; removed afterwards. Copies of
        one tag share a name (Postgres: `<PGDATABASE>_<tag>`, one at a time per tag), hence
        one parsed dbt manifest."""
        work_dir.mkdir(parents=True, exist_ok=True)
        env = dict(self.env)
        if self.target == "duckdb":
            # Same file name, so the same catalog name as the manifest's relations.
            path = work_dir / Path(self.env["FXA_DUCKDB_PATH"]).name
            wal = Path(self.env["FXA_DUCKDB_PATH"] + ".wal")
            shutil.copyfile(self.env["FXA_DUCKDB_PATH"], path)
            if wal.exists():
                shutil.copyfile(wal, str(path) + ".wal")
            env["FXA_DUCKDB_PATH"] = str(path)
            try:
                yield Warehouse(self.target, env, work_dir)
            finally:
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
            return
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        with scratch_postgres_database(
            f"{tag}{worker}", template=self.env["PGDATABASE"], unique=False
        ) as name:
            env["PGDATABASE"] = name
            yield Warehouse(self.target, env, work_dir)

    # -- internals
    def _manifest(self, vars_yaml: str) -> Any:
        """The parsed project for this target, vars and database (call inside _environment)."""
        key = (self.target, vars_yaml, self.database)
        if key in _MANIFESTS:
            return _MANIFESTS[key]
        parsed = _PARSED.get(key[:2])
        if parsed is None:
            from dbt.cli.main import dbtRunner

            vars_args = ["--vars", vars_yaml] if vars_yaml else []
            result = dbtRunner().invoke(
                ["parse", *vars_args, *self._common_args(), "--no-write-json", "--no-partial-parse"]
            )
            self._release()
            if not result.success:
                raise AssertionError(f"dbt parse failed: {result.exception}")
            _PARSED[key[:2]] = (self.database, result.result)
            manifest = result.result
            # The parsed manifests live for the session: keep them out of the garbage
            # collector's full passes, which _release() runs after every DuckDB call.
            gc.freeze()
        else:
            database, parsed_manifest = parsed
            manifest = _retarget(parsed_manifest, database, self.database)
            copies = [k for k in _MANIFESTS if k[2] != _PARSED[k[:2]][0]]
            for old in copies[: max(0, len(copies) - _KEPT_COPIES + 1)]:
                del _MANIFESTS[old]
        _MANIFESTS[key] = manifest
        return manifest

    def _common_args(self) -> list[str]:
        return [
            "--target",
            self.target,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(self.work_dir / "target"),
            "--log-path",
            str(self.work_dir / "logs"),
            "--quiet",
        ]

    @contextmanager
    def _environment(self) -> Iterator[None]:
        saved = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _release(self) -> None:
        """Close dbt-duckdb's process-wide connection so that other processes can write."""
        if self.target != "duckdb":
            return
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        DuckDBConnectionManager.close_all_connections()
        gc.collect()


def _sort_key(row: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    return tuple((value is not None, value) for value in row)


def problems(result: Any) -> list[str]:
    """'<unique id>: <status>: <message>' for each node of a dbt result that did not succeed."""
    out = []
    for node in getattr(result.result, "results", None) or []:
        if str(node.status) not in {"success", "pass", "warn", "skipped"}:
            out.append(f"{node.node.unique_id}: {node.status}: {node.message}")
    return out


@contextmanager
def scratch_warehouse(target: str, work_dir: Path) -> Iterator[Warehouse]:
    """A fresh, empty warehouse on `target` (`duckdb` or `postgres`), removed afterwards."""
    work_dir.mkdir(parents=True, exist_ok=True)
    env = base_environment()
    if target == "duckdb":
        env["FXA_DUCKDB_PATH"] = str(work_dir / "warehouse.duckdb")
        yield Warehouse(target, env, work_dir)
        return
    if target != "postgres":
        raise ValueError(f"unknown target {target!r}: expected duckdb or postgres")
    with scratch_postgres_database("it") as name:
        env["PGDATABASE"] = name
        yield Warehouse(target, env, work_dir)


def differences_from_full_rebuild(warehouse: Warehouse, work_dir: Path) -> dict[str, str]:
    """Every analytics table of `warehouse` against a `--full-refresh` build of a copy.

    Returns {table: what differs} for the tables that are not identical (all columns, all
    rows, as multisets); an empty dict when the incremental state equals the rebuild.
    """
    differences: dict[str, str] = {}
    with warehouse.copy(work_dir, tag="rebuild") as rebuilt:
        rebuilt.dbt("run", "--full-refresh", "--exclude", "staging")
        tables = warehouse.tables()
        if tables != rebuilt.tables():
            differences["(tables)"] = f"{tables} != {rebuilt.tables()}"
        incremental, full = warehouse.snapshot(tables), rebuilt.snapshot(tables)
        for table in tables:
            mine, theirs = incremental[table], full[table]
            if mine != theirs:
                extra = [row for row in mine if row not in theirs][:3]
                missing = [row for row in theirs if row not in mine][:3]
                differences[table] = (
                    f"{len(mine)} rows vs {len(theirs)} after a full rebuild; "
                    f"e.g. extra {extra}, missing {missing}"
                )
    return differences


# ---- the session's built warehouses -------------------------------------------------------


@dataclass
class BuildRun:
    """One `dbt build`: whether it succeeded, and every node's status."""

    label: str
    success: bool
    statuses: dict[str, str]
    problems: list[str]
    exception: str
    row_counts: dict[str, int] = field(default_factory=dict)

    def count(self, resource_type: str, status: str | None = None) -> int:
        """How many nodes of `resource_type` ran (with `status`, when given)."""
        return sum(
            1
            for unique_id, node_status in self.statuses.items()
            if unique_id.split(".")[0] == resource_type
            and (status is None or node_status == status)
        )


@dataclass
class BuiltWarehouse:
    """A warehouse holding the standard log set, built with every test of the project."""

    warehouse: Warehouse
    logs: Path
    builds: list[BuildRun] = field(default_factory=list)
    loader_output: list[str] = field(default_factory=list)


def build_run(warehouse: Warehouse, label: str, *args: str) -> BuildRun:
    """`dbt <args>` on `warehouse`, recorded (never raises for a failed node)."""
    result = warehouse.dbt_result(*args)
    statuses = {
        node.node.unique_id: str(node.status)
        for node in getattr(result.result, "results", None) or []
    }
    return BuildRun(label, bool(result.success), statuses, problems(result), str(result.exception))


def build_standard_warehouse(warehouse: Warehouse, logs: Path) -> BuiltWarehouse:
    """Load the first half of `logs`' files, `dbt seed`, `dbt run --empty` (unit tests need
    their model's relation), `dbt build`; load the other half, `dbt build` again: every model
    and data test on a fresh and on a grown warehouse. The unit tests run in the first build
    only: they read their given rows, never the warehouse's, so a second run proves nothing new.

    A build that fails is recorded, not raised (test_dbt_build.py reports it), and followed by
    a `dbt run`, so that a failing test, which makes `dbt build` skip what depends on its model,
    does not also fail every test that reads the warehouse.
    """
    files = log_files(logs)
    half = len(files) // 2
    built = BuiltWarehouse(warehouse, logs)
    for label, batch in (("fresh", files[:half]), ("grown", files[half:])):
        built.loader_output.append(warehouse.load(*batch))
        if label == "fresh":
            warehouse.dbt("seed")
            warehouse.dbt("run", "--empty")
        unit_tests = [] if label == "fresh" else ["--exclude", "resource_type:unit_test"]
        run = build_run(warehouse, label, "build", *unit_tests)
        built.builds.append(run)
        if not run.success:
            warehouse.dbt_result("run")
        tables = warehouse.tables()
        counts = warehouse.queries([(f"select count(*) from analytics.{t}", ()) for t in tables])
        for table, rows in zip(tables, counts, strict=True):
            run.row_counts[table] = rows[0][0]
    return built
