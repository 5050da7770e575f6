{# Body of the generic test tests/generic/test_unique_combination_of_columns.sql
   (dbt's dispatch finds `default__` macros only under macros/). #}
{% macro default__test_unique_combination_of_columns(model, combination_of_columns) %}
{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "unique_combination_of_columns needs a non-empty list of column names, got: "
        ~ combination_of_columns) }}
{%- endif -%}
{%- set columns_csv = combination_of_columns | join(', ') %}

with validation_errors as (
    select
        {{ columns_csv }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
)

select * from validation_errors
{% endmacro %}
