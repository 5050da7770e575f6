{#
    Fails for every row whose column is negative (NULLs pass: pair with not_null if needed).
#}
{% test not_negative(model, column_name) %}
    {{ return(adapter.dispatch('test_not_negative', 'fxa_metrics')(model, column_name)) }}
{% endtest %}

{% macro default__test_not_negative(model, column_name) %}

with validation_errors as (
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < 0
)

select * from validation_errors
{% endmacro %}
