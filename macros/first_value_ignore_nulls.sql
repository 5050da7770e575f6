{#
    The first non-NULL value of `column` in a window, as a window expression whose frame is the
    whole partition (so every row of the partition carries the same value):

        {{ fxa_metrics.first_value_ignore_nulls('ua_os', 'flow_id', 'timestamp, flow_time, type') }}

    `order_by` must be a total order over the rows that can differ in `column`, or the result
    depends on the engine's sort; flow_metadata appends the column itself as the last key.

    DuckDB has `first_value(x ignore nulls)`, Redshift `first_value(x) ignore nulls` (neither
    accepts the other's form); Postgres has no IGNORE NULLS, so its variant takes the first
    element of the ordered array of non-NULL values (Postgres only: Redshift has no arrays).
#}
{% macro first_value_ignore_nulls(column, partition_by, order_by) %}
    {{ return(adapter.dispatch('first_value_ignore_nulls', 'fxa_metrics')(
        column, partition_by, order_by)) }}
{% endmacro %}

{% macro default__first_value_ignore_nulls(column, partition_by, order_by) -%}
    first_value({{ column }} ignore nulls) over (
        partition by {{ partition_by }}
        order by {{ order_by }}
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}

{% macro postgres__first_value_ignore_nulls(column, partition_by, order_by) -%}
    (array_agg({{ column }}) filter (where {{ column }} is not null) over (
        partition by {{ partition_by }}
        order by {{ order_by }}
        rows between unbounded preceding and unbounded following
    ))[1]
{%- endmacro %}

{#- Redshift writes IGNORE NULLS after the argument list (its FIRST_VALUE syntax), which DuckDB
    rejects; and without this variant dbt-redshift would fall back on postgres__. #}
{% macro redshift__first_value_ignore_nulls(column, partition_by, order_by) -%}
    first_value({{ column }}) ignore nulls over (
        partition by {{ partition_by }}
        order by {{ order_by }}
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}

{#
    The same first non-NULL value as an aggregate of a GROUP BY group, where the engine has an
    aggregate that beats the window (a window of every partition, then a GROUP BY to collapse
    it). `rank_column` numbers each group's rows in order: `row_number()` over the group, by an
    order that is total over the rows that can differ in `column` (as for the window form):

        row_number() over (partition by flow_id order by "timestamp", flow_time, type) as event_rank
        ...
        {{ fxa_metrics.first_value_ignore_nulls_agg('ua_os', 'event_rank') }}

    `has_first_value_ignore_nulls_agg()` says whether this adapter has it; models fall back on
    the window form elsewhere.

    DuckDB: `arg_min(x, rank) filter (where x is not null)`, a hash aggregate keeping the value of
    the lowest rank, after one sort of the rows for the ranks whatever the number of columns.
    Measured on flow_metadata (8.6 million flow events, 13 first values): 15 s against 21 s for
    one ordered aggregate per column (`first(x order by ...)`, a sort each), which was itself
    about 2x faster than the window. `arg_min` over a row of the order's columns instead of a
    rank was 4x slower. Postgres and Redshift have no `arg_min` and keep the window form (their
    default__: no postgres__ variant, so none for dbt-redshift to fall back on).
#}
{% macro has_first_value_ignore_nulls_agg() %}
    {{ return(adapter.dispatch('has_first_value_ignore_nulls_agg', 'fxa_metrics')()) }}
{% endmacro %}

{% macro default__has_first_value_ignore_nulls_agg() %}
    {{ return(false) }}
{% endmacro %}

{% macro duckdb__has_first_value_ignore_nulls_agg() %}
    {{ return(true) }}
{% endmacro %}

{% macro first_value_ignore_nulls_agg(column, rank_column) %}
    {{ return(adapter.dispatch('first_value_ignore_nulls_agg', 'fxa_metrics')(column, rank_column)) }}
{% endmacro %}

{% macro default__first_value_ignore_nulls_agg(column, rank_column) %}
    {{ exceptions.raise_compiler_error(
        "first_value_ignore_nulls_agg: no such aggregate on " ~ target.type
        ~ "; check has_first_value_ignore_nulls_agg() and use the window first_value_ignore_nulls") }}
{% endmacro %}

{% macro duckdb__first_value_ignore_nulls_agg(column, rank_column) -%}
    arg_min({{ column }}, {{ rank_column }}) filter (where {{ column }} is not null)
{%- endmacro %}
