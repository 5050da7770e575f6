{#
    Fails for every combination of the given columns that occurs more than once: the grain test
    for tables whose key spans several columns (dbt-utils' test of the same name, written here
    because dbt Hub is unreachable). NULLs compare equal, as in `group by`.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ return(adapter.dispatch('test_unique_combination_of_columns', 'fxa_metrics')(
        model, combination_of_columns)) }}
{% endtest %}
