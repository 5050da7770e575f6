"""Documentation coverage is 100%: every model, seed, source table, exposure and every
column of models, seeds and sources in the dbt manifest has a non-empty description.

Parses the project (`dbt parse` in this process, through dbt_harness: no warehouse needed) and
reads its `manifest.json`; a project that does not parse fails here, in the fast tier.
`missing_descriptions` and `undeclared_columns` are also used by the docs-site test on the
manifest and catalog of `dbt docs generate`.
"""

from __future__ import annotations

from typing import Any

import pytest
from dbt_harness import scratch_warehouse

PROJECT = "fxa_metrics"


def missing_descriptions(manifest: dict[str, Any]) -> list[str]:
    """'<resource id>' or '<resource id>.<column>' for each thing without a description."""
    missing: list[str] = []
    resources = [
        *manifest["nodes"].values(),
        *manifest["sources"].values(),
        *manifest["exposures"].values(),
    ]
    for resource in resources:
        if resource.get("package_name") != PROJECT:
            continue
        if resource["resource_type"] not in {"model", "seed", "source", "exposure"}:
            continue
        if not (resource.get("description") or "").strip():
            missing.append(resource["unique_id"])
        for name, column in (resource.get("columns") or {}).items():
            if not (column.get("description") or "").strip():
                missing.append(f"{resource['unique_id']}.{name}")
    return sorted(missing)


def undeclared_columns(manifest: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    """Columns the warehouse has (catalog.json) that the YAML does not declare, hence lacks a
    description for: a model's SQL can grow a column its YAML never mentions."""
    missing: list[str] = []
    for section in ("nodes", "sources"):
        for unique_id, entry in catalog.get(section, {}).items():
            resource = manifest[section].get(unique_id)
            if resource is None or resource.get("package_name") != PROJECT:
                continue
            declared = {name.lower() for name in resource.get("columns") or {}}
            for column in entry.get("columns", {}):
                if column.lower() not in declared:
                    missing.append(f"{unique_id}.{column.lower()}")
    return sorted(missing)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`dbt parse`'s manifest.json (the parse is kept for the session's later dbt calls)."""
    with scratch_warehouse("duckdb", tmp_path_factory.mktemp("docs_coverage")) as warehouse:
        return warehouse.manifest_json()


def test_every_resource_and_column_is_described(manifest: dict[str, Any]) -> None:
    missing = missing_descriptions(manifest)
    assert not missing, "add a description (YAML or a docs block) for:\n  " + "\n  ".join(missing)


def test_the_site_has_a_landing_page(manifest: dict[str, Any]) -> None:
    overview = manifest["docs"].get(f"doc.{PROJECT}.__overview__")
    assert overview is not None, "docs/overview.md must define the __overview__ docs block"
    for caveat in ("Sampling", "Do Not Track", "train 80", "Train-72", "Legacy event names"):
        assert caveat in overview["block_contents"], f"overview lacks the caveat {caveat!r}"


def test_the_four_dashboards_are_declared(manifest: dict[str, Any]) -> None:
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    kpis = {
        "fxa_funnels_dashboard": "kpi_flow_funnel_daily",
        "fxa_device_connection_dashboard": "kpi_device_connection_time_daily",
        "fxa_engagement_dashboard": "kpi_engagement_ratio_daily",
        "fxa_multi_device_dashboard": "kpi_multi_device_usage_daily",
    }
    for name, kpi in kpis.items():
        exposure = exposures[name]
        assert f"model.{PROJECT}.{kpi}" in exposure["depends_on"]["nodes"]
        assert exposure["owner"]["email"] and exposure["url"]


def test_a_missing_description_is_reported() -> None:
    """The check itself can fail: a fabricated manifest with gaps is caught."""
    manifest = {
        "nodes": {
            "model.fxa_metrics.m": {
                "unique_id": "model.fxa_metrics.m",
                "resource_type": "model",
                "package_name": PROJECT,
                "description": "one row per thing",
                "columns": {"a": {"description": "ok"}, "b": {"description": " "}},
            },
            "seed.fxa_metrics.s": {
                "unique_id": "seed.fxa_metrics.s",
                "resource_type": "seed",
                "package_name": PROJECT,
                "description": "",
                "columns": {},
            },
        },
        "sources": {},
        "exposures": {
            "exposure.fxa_metrics.e": {
                "unique_id": "exposure.fxa_metrics.e",
                "resource_type": "exposure",
                "package_name": PROJECT,
                "description": "",
            }
        },
    }
    assert missing_descriptions(manifest) == [
        "exposure.fxa_metrics.e",
        "model.fxa_metrics.m.b",
        "seed.fxa_metrics.s",
    ]
    catalog = {"nodes": {"model.fxa_metrics.m": {"columns": {"A": {}, "C": {}}}}}
    assert undeclared_columns(manifest, catalog) == ["model.fxa_metrics.m.c"]
