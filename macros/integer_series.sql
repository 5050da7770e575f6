{#
    The integers 0..upper_bound as a one-column relation, written as a union of literals so it
    runs everywhere (Redshift has no usable `generate_series` for tables, DuckDB and Postgres
    spell it differently). Meant for tiny series such as the day offsets of a rolling window:
    `select ... from {{ ref('x') }} cross join ({{ fxa_metrics.integer_series(5) }}) as offsets`.
#}
{% macro integer_series(upper_bound, column_name='n') %}
    {{ return(adapter.dispatch('integer_series', 'fxa_metrics')(upper_bound, column_name)) }}
{% endmacro %}

{% macro default__integer_series(upper_bound, column_name) %}
{%- if upper_bound is not number or upper_bound < 0 or upper_bound != upper_bound | int -%}
    {{ exceptions.raise_compiler_error(
        "integer_series needs a non-negative integer upper bound, got: " ~ upper_bound) }}
{%- endif -%}
{%- for i in range(upper_bound + 1) %}
    select {{ i }} as {{ column_name }}{{ "\n    union all" if not loop.last }}
{%- endfor %}
{% endmacro %}
