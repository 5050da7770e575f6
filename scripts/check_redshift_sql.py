"""Offline Redshift check: every model, every analysis (the dashboards' chart SQL) and the raw
DDL must be SQL that Redshift accepts.

No Redshift cluster is reachable from CI, so this checks everything that can be checked without
one:

1. Compile every model (and, by dbt's indirect selection, the data tests on it) and every
   analysis for the `redshift` target with no connection (`--no-introspect
   --no-populate-cache`), twice on one parse of the project: the full-build path and, through
   the project's `is_incremental()` override (`macros/is_incremental.sql`, var
   `force_incremental`, read at compile time), the incremental path.
2. Parse each compiled model and analysis and each statement of the raw DDL
   (`fxa_pipeline.raw_schema.create_all_sql("redshift")`) with sqlfluff's `redshift` dialect:
   zero parse errors.
3. Scan the same SQL (comments and string literals masked) for constructs that sqlfluff
   accepts but Redshift lacks, and for the constructs the project's shared rules ban for
   portability (see DENYLIST).
4. Read `manifest.json`: every table or incremental model in `models/marts/` and
   `models/metrics/` carries a Redshift `dist` and `sort` config on the redshift target.
5. Render every metric of the semantic layer (models/semantic/) for Redshift with MetricFlow's
   Redshift renderer, from the semantic manifest of the same parse, and check its SQL as in 2
   and 3.

Usage: `python scripts/check_redshift_sql.py` from the project root (`make redshift-check`).
Exit status 0 when clean, 1 with one line per problem (file:line: what and why) otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PHYSICAL_DESIGN_FOLDERS = ("models/marts/", "models/metrics/")
COMPILE_MODES = {"full": False, "incremental": True}


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    reason: str


def _rule(name: str, pattern: str, reason: str) -> Rule:
    return Rule(name, re.compile(pattern, re.IGNORECASE), reason)


# Constructs sqlfluff's redshift dialect parses but that fail (or are banned) on our targets.
# Each reason says which: "Redshift lacks" is from Redshift's list of unsupported PostgreSQL
# features and functions; "project rule" is a shared design decision (portable SQL that runs
# unchanged on DuckDB, Postgres and Redshift), even where Redshift itself would accept it.
DENYLIST: tuple[Rule, ...] = (
    _rule(
        "filter (where",
        r"\bfilter\s*\(\s*where\b",
        "Redshift lacks the aggregate FILTER clause: use count(case when ... then 1 end)",
    ),
    _rule(
        "distinct on",
        r"\bdistinct\s+on\s*\(",
        "Redshift lacks DISTINCT ON: use row_number() over (...) = 1",
    ),
    _rule(
        "generate_series",
        r"\bgenerate_series\s*\(",
        "Redshift's leader node alone runs generate_series: it fails against tables",
    ),
    _rule(
        "is distinct from",
        r"\bis\s+(?:not\s+)?distinct\s+from\b",
        "Redshift lacks IS [NOT] DISTINCT FROM: compare with explicit NULL handling",
    ),
    _rule(
        "unsupported aggregate",
        r"\b(?:array_agg|string_agg|every)\s*\(",
        "Redshift lacks array_agg, string_agg and every: use dbt.listagg or max(case ...)",
    ),
    _rule(
        "array",
        r"\barray\s*\[|\[",
        "Redshift lacks array constructors and subscripts",
    ),
    _rule(
        "json operator",
        r"->>?|#>>?|@>|<@|::\s*jsonb?\b",
        "Redshift lacks JSON/JSONB types and operators",
    ),
    _rule(
        "values list",
        r"\(\s*values\b",
        "Redshift lacks VALUES lists as constant tables: use select ... union all",
    ),
    _rule(
        "duckdb function",
        r"\b(?:list|list_value|list_aggregate|struct_pack|struct_extract|unnest|"
        r"quantile_cont|quantile_disc|epoch_ms|strftime|count_if|arg_max|arg_min|"
        r"date_diff|date_add|try_cast|regexp_full_match)\s*\(",
        "a DuckDB-only function: Redshift has none of that name (use dbt cross-database "
        "macros such as dbt.datediff, dbt.dateadd)",
    ),
    _rule(
        "duckdb syntax",
        r"\bgroup\s+by\s+all\b|\bexclude\s*\(|\busing\s+sample\b",
        "DuckDB-only syntax (group by all, select * exclude, using sample)",
    ),
    _rule(
        ":: cast",
        r"::",
        "project rule: use cast(x as type) with dbt.type_* types, not :: casts",
    ),
    _rule(
        "qualify",
        r"\bqualify\b",
        "project rule: Postgres lacks QUALIFY; filter a row_number() column in a CTE",
    ),
    _rule(
        "ilike",
        r"\bilike\b",
        "project rule: no ilike; compare lower(x) with like",
    ),
    _rule(
        "boolean aggregate",
        r"\b(?:bool_or|bool_and)\s*\(",
        "project rule: no boolean aggregates; use max(case when ... then 1 else 0 end) = 1",
    ),
)


@dataclass(frozen=True)
class Problem:
    where: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.message}"


def mask_comments_and_strings(sql: str) -> str:
    """Blank out comments and the contents of string literals, keeping every offset and newline.

    Denylisted words inside a comment or a quoted value are not SQL constructs.
    """
    out = list(sql)
    i, n = 0, len(sql)

    def blank(start: int, end: int) -> None:
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            blank(i, end)
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end == -1 else end + 2
            blank(i, end)
            i = end
        elif sql[i] == "'":
            j = i + 1
            while j < n:
                if sql[j] == "'" and sql.startswith("''", j):
                    j += 2
                elif sql[j] == "'":
                    break
                else:
                    j += 1
            blank(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def find_denied_constructs(sql: str, where: str) -> list[Problem]:
    masked = mask_comments_and_strings(sql)
    problems = []
    for rule in DENYLIST:
        for match in rule.pattern.finditer(masked):
            line = masked.count("\n", 0, match.start()) + 1
            problems.append(
                Problem(where, line, f"`{match.group(0)}` ({rule.name}): {rule.reason}")
            )
    return sorted(problems, key=lambda p: p.line)


def parse_errors(sql: str, where: str, dialect: str = "redshift") -> list[Problem]:
    """Parse `sql` (already compiled: no Jinja) with sqlfluff; one Problem per parse error."""
    from sqlfluff.core import FluffConfig, Linter

    config = FluffConfig(overrides={"dialect": dialect, "templater": "raw"})
    parsed = Linter(config=config).parse_string(sql)
    problems = [
        Problem(where, v.line_no, f"sqlfluff ({dialect}) cannot parse: {v.desc()}")
        for v in parsed.violations
    ]
    if not problems and parsed.tree is None:
        problems.append(Problem(where, 1, f"sqlfluff ({dialect}) produced no parse tree"))
    return problems


def check_sql(sql: str, where: str) -> list[Problem]:
    return parse_errors(sql, where) + find_denied_constructs(sql, where)


def check_physical_design(manifest: dict) -> list[Problem]:
    """Every table/incremental mart or metric needs Redshift `dist` and `sort` configs."""
    problems = []
    for node in manifest.get("nodes", {}).values():
        path = node.get("original_file_path", "")
        config = node.get("config", {})
        if (
            node.get("resource_type") != "model"
            or not path.startswith(PHYSICAL_DESIGN_FOLDERS)
            or config.get("materialized") not in ("table", "incremental")
        ):
            continue
        for key in ("dist", "sort"):
            if not config.get(key):
                problems.append(
                    Problem(
                        path,
                        1,
                        f"no Redshift `{key}` config on the redshift target: set "
                        f"{key}=(... if target.type == 'redshift' else none) and document why",
                    )
                )
    return problems


def compile_offline(project_dir: Path, target_root: Path) -> dict[str, Path]:
    """`dbt compile` every model for the redshift target without opening a connection, once
    per path of COMPILE_MODES; the target path of each. dbt runs in this process and parses the
    project once: `force_incremental` is read when a model compiles, not when it parses."""
    from dbt.cli.main import dbtRunner

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DBT_PROFILES_DIR", str(project_dir))
    common = ["--target", "redshift", "--project-dir", str(project_dir), "--quiet"]
    parsed = dbtRunner().invoke(
        ["parse", "--no-partial-parse", "--target-path", str(target_root / "parse"), *common]
    )
    if not parsed.success:
        raise SystemExit(f"dbt parse --target redshift failed: {parsed.exception}")
    paths = {}
    for mode, incremental in COMPILE_MODES.items():
        paths[mode] = target_root / mode
        result = dbtRunner(manifest=parsed.result).invoke(
            [
                "compile",
                "--no-introspect",
                "--no-populate-cache",
                "--target-path",
                str(paths[mode]),
                "--select",
                "resource_type:model",
                "resource_type:analysis",
                # Unit tests read column types from the warehouse: they cannot compile offline.
                "--exclude",
                "resource_type:unit_test",
                "--vars",
                json.dumps({"force_incremental": incremental}),
                *common,
            ]
        )
        if not result.success:
            raise SystemExit(
                f"dbt compile --target redshift ({mode} path) failed offline: "
                f"{result.exception}. A model that queries the warehouse while compiling "
                "(run_query, introspection) cannot be checked offline: move that logic out of "
                "compile time."
            )
    return paths


def compiled_models(target_path: Path) -> Iterator[Path]:
    yield from sorted((target_path / "compiled").rglob("*.sql"))


def ddl_statements() -> Iterable[tuple[str, str]]:
    from fxa_pipeline.raw_schema import create_all_sql

    for index, statement in enumerate(create_all_sql("redshift")):
        yield f"scripts/fxa_pipeline/raw_schema.py: create_all_sql('redshift')[{index}]", statement


def metric_statements(semantic_manifest: Path) -> Iterable[tuple[str, str]]:
    """The Redshift SQL of every metric of the semantic layer by day (MetricFlow's Redshift
    renderer, offline), and of the percentiles by week and service (two percentiles in one
    statement, which Redshift accepts only with one ORDER BY)."""
    from fxa_pipeline.semantic import MetricSql, read_semantic_manifest

    metric_sql = MetricSql(read_semantic_manifest(semantic_manifest), "redshift")
    queries = [([name], ["metric_time__day"]) for name in metric_sql.metric_names]
    queries.append(
        (
            ["p50_seconds_to_complete", "p90_seconds_to_complete"],
            ["metric_time__week", "flow__service"],
        )
    )
    for metrics, group_by in queries:
        where = (
            f"models/semantic/_semantic__models.yml: {', '.join(metrics)} by {', '.join(group_by)}"
        )
        yield where, metric_sql.sql(metrics, group_by)


def _check_item(item: tuple[str, str]) -> list[Problem]:
    where, sql = item
    return check_sql(sql, where)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument(
        "--target-path",
        type=Path,
        default=Path("scratch/target-redshift"),
        help="where dbt writes the compiled SQL (relative to the project dir)",
    )
    parser.add_argument(
        "--skip-compile", action="store_true", help="check what an earlier run compiled"
    )
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    target_root = project_dir / args.target_path

    items: dict[str, tuple[str, str]] = {}  # compiled text -> (where, text): check once
    if args.skip_compile:
        paths = {mode: target_root / mode for mode in COMPILE_MODES}
    else:
        shutil.rmtree(target_root, ignore_errors=True)
        modes = ", ".join(COMPILE_MODES)
        print(f"compiling every model for redshift offline ({modes} paths)", flush=True)
        paths = compile_offline(project_dir, target_root)
    for mode, target_path in paths.items():
        for path in compiled_models(target_path):
            sql = path.read_text()
            items.setdefault(sql, (f"{path.relative_to(project_dir)} ({mode} path)", sql))
    manifest = json.loads((paths["full"] / "manifest.json").read_text())
    for where, statement in ddl_statements():
        items.setdefault(statement, (where, statement))
    metrics = 0
    for where, statement in metric_statements(target_root / "parse" / "semantic_manifest.json"):
        items.setdefault(statement, (where, statement))
        metrics += 1

    print(f"parsing {len(items)} distinct SQL texts with sqlfluff's redshift dialect", flush=True)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        problems = [p for found in pool.map(_check_item, items.values()) for p in found]
    problems += check_physical_design(manifest)

    for problem in problems:
        print(problem)
    nodes = manifest.get("nodes", {}).values()
    models = sum(1 for n in nodes if n["resource_type"] == "model")
    analyses = sum(1 for n in nodes if n["resource_type"] == "analysis")
    verdict = "FAILED" if problems else "passed"
    print(
        f"redshift-check {verdict}: {len(problems)} problem(s) in {len(items)} distinct SQL "
        f"texts ({models} models and their data tests, {analyses} analyses, "
        f"{len(COMPILE_MODES)} paths; raw DDL; {metrics} metric queries)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
