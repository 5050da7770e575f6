{#
    Fails for every combination of the given columns that occurs more than once: the grain test
    for tables whose key spans several columns (dbt-utils' test of the same name, written here
    because dbt Hub is unreachable). NULLs compare equal, as in `group by`.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ return(adapter.dispatch('test_unique_combination_of_columns', 'fxa_metrics')(
        model, combination_of_columns)) }}
{% endtest %}

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
