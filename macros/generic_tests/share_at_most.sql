{#
    Fails for every row whose `part_column / total_column` exceeds `max_share` (rows with a
    total of 0 or NULL never fail). On `raw.load_ledger` (`part_column: rejected`,
    `total_column: lines`) it is the production guard "the share of rejected lines per file
    stays under the limit": a file that is mostly garbage (wrong format, a truncated or
    corrupted export) alerts instead of being silently published with its good lines only.
#}
{% test share_at_most(model, part_column, total_column, max_share) %}
    {{ return(adapter.dispatch('test_share_at_most', 'fxa_metrics')(
        model, part_column, total_column, max_share)) }}
{% endtest %}

{% macro default__test_share_at_most(model, part_column, total_column, max_share) %}
{%- if max_share | float < 0 or max_share | float > 1 -%}
    {{ exceptions.raise_compiler_error(
        "share_at_most: max_share must be a number between 0 and 1, got: " ~ max_share) }}
{%- endif -%}

with validation_errors as (
    select
        *,
        cast({{ part_column }} as {{ dbt.type_float() }}) / {{ total_column }} as actual_share
    from {{ model }}
    where
        {{ total_column }} > 0
        and {{ part_column }} > {{ max_share | float }} * {{ total_column }}
)

select * from validation_errors
{% endmacro %}
