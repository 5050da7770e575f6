{#
    Fails for every row whose column is negative (NULLs pass: pair with not_null if needed).
#}
{% test not_negative(model, column_name) %}
    {{ return(adapter.dispatch('test_not_negative', 'fxa_metrics')(model, column_name)) }}
{% endtest %}
