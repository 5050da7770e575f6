"""raw_schema.py and the dbt sources declare the same tables and columns, in the same order."""

from pathlib import Path

import yaml
from fxa_pipeline.raw_schema import RAW_TABLES

SOURCES = Path(__file__).resolve().parents[2] / "models" / "staging" / "_fxa__sources.yml"


def test_raw_schema_matches_dbt_sources() -> None:
    document = yaml.safe_load(SOURCES.read_text())
    (source,) = [s for s in document["sources"] if s["name"] == "fxa"]
    assert source["schema"] == "raw"
    declared = {t["name"]: [c["name"] for c in t["columns"]] for t in source["tables"]}
    defined = {name: [c.name for c in columns] for name, columns in RAW_TABLES.items()}
    assert declared == defined
