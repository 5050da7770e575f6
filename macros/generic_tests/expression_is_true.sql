{# Body of the generic test tests/generic/test_expression_is_true.sql
   (dbt's dispatch finds `default__` macros only under macros/). #}
{% macro default__test_expression_is_true(model, expression, where_clause) %}
{%- if expression is not string or expression | trim == '' -%}
    {{ exceptions.raise_compiler_error(
        "expression_is_true needs a SQL boolean expression, got: " ~ expression) }}
{%- endif %}

with validation_errors as (
    select *
    from {{ model }}
    where
        not coalesce({{ expression }}, false)
        {% if where_clause %}and ({{ where_clause }}){% endif %}
)

select * from validation_errors
{% endmacro %}
