{#
    Fails for every row where `expression` is not true (false or NULL), optionally only among
    the rows matching `where`: dbt-utils' test of the same name, written here because dbt Hub
    is unreachable. Used for invariants that hold by construction, e.g.
    `flows_view <= flows_begun` or `multi_device_share between 0 and 1`.
#}
{% test expression_is_true(model, expression, where_clause=none) %}
    {{ return(adapter.dispatch('test_expression_is_true', 'fxa_metrics')(
        model, expression, where_clause)) }}
{% endtest %}

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
