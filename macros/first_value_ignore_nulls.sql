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
