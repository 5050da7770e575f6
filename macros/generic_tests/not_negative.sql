{# Body of the generic test tests/generic/test_not_negative.sql
   (dbt's dispatch finds `default__` macros only under macros/). #}
{% macro default__test_not_negative(model, column_name) %}

with validation_errors as (
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < 0
)

select * from validation_errors
{% endmacro %}
