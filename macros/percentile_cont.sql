{#
    Continuous (interpolated) percentile of `expression`, as an ordered-set aggregate to use in
    a `group by` query: `{{ percentile_cont('seconds', 0.9) }}`.

    Only the aggregate form is offered: Postgres rejects OVER on ordered-set aggregates, so a
    window form would not be portable.

    Redshift's PERCENTILE_CONT / MEDIAN usage notes restrict it, and the callers honour them:
    - every sort-based aggregate of one query (PERCENTILE_CONT, MEDIAN, LISTAGG) must order by
      the same expression; the KPI models therefore compute their percentiles of one value in
      a CTE of their own, and join the counts computed elsewhere;
    - over a DECIMAL of precision 38 it may overflow or lose precision, so the Redshift variant
      orders by `double precision` (the result is then DOUBLE, as on DuckDB and Postgres);
    - it is a compute-node function: the query must read a user table (ours always do).
#}
{% macro percentile_cont(expression, percentile) %}
    {%- if percentile is string or percentile < 0 or percentile > 1 -%}
        {{ exceptions.raise_compiler_error(
            "percentile_cont: percentile must be a number between 0 and 1, got: " ~ percentile) }}
    {%- endif -%}
    {{ return(adapter.dispatch('percentile_cont', 'fxa_metrics')(expression, percentile)) }}
{% endmacro %}

{% macro default__percentile_cont(expression, percentile) -%}
    percentile_cont({{ percentile }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro redshift__percentile_cont(expression, percentile) -%}
    percentile_cont({{ percentile }}) within group (order by cast({{ expression }} as double precision))
{%- endmacro %}
