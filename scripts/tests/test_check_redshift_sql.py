"""The offline Redshift checker catches what it claims to, and passes portable SQL."""

from __future__ import annotations

import pytest
from check_redshift_sql import (
    DENYLIST,
    check_physical_design,
    check_sql,
    find_denied_constructs,
    mask_comments_and_strings,
    parse_errors,
)
from fxa_pipeline.raw_schema import create_all_sql

PORTABLE_MODEL = """\
with

flow_events as (
    select * from "fxa"."raw"."flow_events"
),

final as (
    select
        flow_id,
        min("timestamp") as begin_time,
        max(case when type = 'flow.complete' then 1 else 0 end) = 1 as completed,
        count(case when type like 'account.%' then 1 end) as account_events,
        cast(max(flow_time) as bigint) as duration,
        datediff(second, min("timestamp"), max("timestamp")) as span_seconds,
        row_number() over (partition by flow_id order by min("timestamp")) as rn
    from flow_events
    where coalesce(service, 'none') <> 'sync'
    group by flow_id
)

select * from final
"""


def test_portable_model_passes() -> None:
    assert check_sql(PORTABLE_MODEL, "model.sql") == []


def test_raw_ddl_parses_for_redshift() -> None:
    for statement in create_all_sql("redshift"):
        assert check_sql(statement, "ddl") == []


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("select count(*) filter (where x > 1) as n from t", "filter (where"),
        ("select distinct on (flow_id) flow_id from t", "distinct on"),
        ("select * from generate_series(1, 3)", "generate_series"),
        ("select a from t where a is not distinct from b", "is distinct from"),
        ("select string_agg(a, ',') as s from t", "unsupported aggregate"),
        ("select array_agg(a) as s from t", "unsupported aggregate"),
        ("select array[1, 2] as a from t", "array"),
        ("select a[1] as a from t", "array"),
        ("select payload->>'uid' as uid from t", "json operator"),
        ("select cast(a as int) as a, b::jsonb as j from t", "json operator"),
        ("select (values (1))", "values list"),
        ("select list(a) as l from t", "duckdb function"),
        ("select epoch_ms(a) as l from t", "duckdb function"),
        ("select a, count(*) as n from t group by all", "duckdb syntax"),
        ("select a::int as a from t", ":: cast"),
        ("select a from t qualify row_number() over (order by a) = 1", "qualify"),
        ("select a from t where a ilike 'x%'", "ilike"),
        ("select bool_or(a) as any_a from t", "boolean aggregate"),
    ],
)
def test_each_denied_construct_is_caught(snippet: str, rule: str) -> None:
    problems = find_denied_constructs(snippet, "bad.sql")
    assert any(f"({rule})" in p.message for p in problems), problems


def test_every_rule_has_a_case_above() -> None:
    # Keep the parametrised cases in step with the denylist: a new rule needs a test.
    tested = {
        "filter (where",
        "distinct on",
        "generate_series",
        "is distinct from",
        "unsupported aggregate",
        "array",
        "json operator",
        "values list",
        "duckdb function",
        "duckdb syntax",
        ":: cast",
        "qualify",
        "ilike",
        "boolean aggregate",
    }
    assert {rule.name for rule in DENYLIST} == tested


def test_problem_names_file_line_and_construct() -> None:
    sql = "select\n    a,\n    bool_or(b) as c\nfrom t\n"
    (problem,) = find_denied_constructs(sql, "models/marts/x.sql")
    assert (problem.where, problem.line) == ("models/marts/x.sql", 3)
    assert str(problem).startswith("models/marts/x.sql:3: `bool_or(`")


def test_comments_and_string_literals_are_not_constructs() -> None:
    sql = (
        "-- never use distinct on (x) or a::int here\n"
        "/* qualify, ilike,\n   generate_series( */\n"
        "select 'it''s a [list] with ::casts and ilike' as note from t\n"
    )
    assert find_denied_constructs(sql, "ok.sql") == []


def test_masking_keeps_offsets_and_newlines() -> None:
    sql = "select 'a\nb' as x -- c\nfrom t"
    masked = mask_comments_and_strings(sql)
    assert len(masked) == len(sql)
    assert masked.count("\n") == sql.count("\n")
    assert masked == "select ' \n ' as x     \nfrom t"


def test_unparsable_sql_is_reported_with_its_line() -> None:
    problems = parse_errors("select a\nfrom t\nwhere (a = 1\n", "broken.sql")
    assert problems
    assert all(p.where == "broken.sql" for p in problems)
    assert "cannot parse" in problems[0].message


def test_unquoted_timestamp_column_is_a_redshift_parse_error() -> None:
    # TIMESTAMP is a reserved word in Redshift: a column of that name must be quoted.
    assert parse_errors("select timestamp from t", "ts.sql")
    assert parse_errors('select "timestamp" from t', "ts.sql") == []


def _manifest(path: str, materialized: str, dist: object, sort: object) -> dict:
    return {
        "nodes": {
            "model.fxa_metrics.x": {
                "resource_type": "model",
                "original_file_path": path,
                "config": {"materialized": materialized, "dist": dist, "sort": sort},
            }
        }
    }


def test_marts_without_dist_or_sort_are_reported() -> None:
    problems = check_physical_design(
        _manifest("models/marts/flows/flow_metadata.sql", "incremental", None, None)
    )
    assert [p.message.split("`")[1] for p in problems] == ["dist", "sort"]
    assert problems[0].where == "models/marts/flows/flow_metadata.sql"


@pytest.mark.parametrize(
    ("path", "materialized", "dist", "sort"),
    [
        ("models/marts/flow_metadata.sql", "incremental", "flow_id", ["begin_time"]),
        ("models/metrics/kpi.sql", "table", "all", "day"),
        ("models/staging/stg.sql", "view", None, None),
        ("models/intermediate/int.sql", "ephemeral", None, None),
        ("models/marts/helper.sql", "view", None, None),
    ],
)
def test_physical_design_passes(path: str, materialized: str, dist: object, sort: object) -> None:
    assert check_physical_design(_manifest(path, materialized, dist, sort)) == []
