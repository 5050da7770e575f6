{# Body of the generic test tests/generic/test_share_at_most.sql
   (dbt's dispatch finds `default__` macros only under macros/). #}
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
