"""The semantic layer's SQL, rendered in this process by MetricFlow.

The metrics are defined in `models/semantic/_semantic__models.yml`; dbt writes them into the
semantic manifest (`target/semantic_manifest.json`, or the in-memory manifest of a parse).
`MetricSql` turns a metric query into the SQL of one target without a connection: the tests
run it on their warehouses to compare each metric with its KPI table, and the offline Redshift
check parses what it renders for Redshift. Analysts use the `mf` command (`make metrics`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer
from metricflow.sql.render.redshift import RedshiftSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

_ENGINES: dict[str, tuple[SqlEngine, type[SqlPlanRenderer]]] = {
    "duckdb": (SqlEngine.DUCKDB, DuckDbSqlPlanRenderer),
    "postgres": (SqlEngine.POSTGRES, PostgresSQLSqlPlanRenderer),
    "redshift": (SqlEngine.REDSHIFT, RedshiftSqlPlanRenderer),
}


class _RenderOnlyClient:
    """The part of MetricFlow's SqlClient that rendering needs: the engine and its renderer.
    Anything that would reach a warehouse raises."""

    def __init__(self, target_type: str) -> None:
        if target_type not in _ENGINES:
            raise ValueError(f"no MetricFlow renderer for target type {target_type!r}")
        engine, renderer = _ENGINES[target_type]
        self._engine = engine
        self._renderer = renderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return self._engine

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f":{bind_parameter_key}"

    def _no_warehouse(self, *args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("MetricSql renders SQL only: run it on the warehouse yourself")

    query = execute = dry_run = _no_warehouse

    def close(self) -> None:
        pass


def read_semantic_manifest(path: Path) -> Any:
    """The semantic manifest dbt wrote (`target/semantic_manifest.json` after `dbt parse`)."""
    return parse_manifest_from_dbt_generated_manifest(path.read_text())


def from_dbt_manifest(manifest: Any) -> Any:
    """The semantic manifest of a parsed dbt manifest (dbt's `Manifest` object), read as
    MetricFlow reads the file dbt writes (dbt's and MetricFlow's classes are distinct)."""
    from dbt.contracts.graph.semantic_manifest import SemanticManifest

    dbt_semantic_manifest = SemanticManifest(manifest)._get_pydantic_semantic_manifest()
    return parse_manifest_from_dbt_generated_manifest(dbt_semantic_manifest.json())


def _day(value: datetime.date | None) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.combine(value, datetime.time())


class MetricSql:
    """Metric queries of one semantic manifest rendered as the SQL of one target type."""

    def __init__(self, semantic_manifest: Any, target_type: str) -> None:
        self.semantic_manifest = semantic_manifest
        self._engine = MetricFlowEngine(
            SemanticManifestLookup(semantic_manifest),
            _RenderOnlyClient(target_type),  # type: ignore[arg-type]
        )

    @property
    def metric_names(self) -> list[str]:
        return sorted(metric.name for metric in self.semantic_manifest.metrics)

    def dimension_names(self, metrics: Sequence[str]) -> list[str]:
        """The dimensions `metrics` can all be grouped by (`entity__dimension`)."""
        dimensions = self._engine.list_dimensions(metric_names=list(metrics))
        names = {dimension.dunder_name for dimension in dimensions}
        return sorted(name for name in names if not name.startswith("metric_time"))

    def sql(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str],
        start: datetime.date | None = None,
        end: datetime.date | None = None,
    ) -> str:
        """The SQL of `metrics` grouped by `group_by` (e.g. `metric_time__day`,
        `flow__flow_kind`), for the days [start, end] when given."""
        request = MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=list(group_by),
            time_constraint_start=_day(start),
            time_constraint_end=_day(end),
        )
        return self._engine.explain(request).sql_statement.sql
