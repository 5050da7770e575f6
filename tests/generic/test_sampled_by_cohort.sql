{#
    A sampled model holds exactly the parent's rows of the ids in the cohort: for every id with
    id_cohort(id) < rate, the sample has as many rows as the parent, and no other id appears.
    So an id (a flow, a user) is wholly in or wholly out, and the rate is the documented one.
    When the sample keeps fewer days than its parent (retention_days), only the parent's rows
    from the sample's cut-off on are expected.
    Fails with one row per offending id (its row counts in parent and sample).
#}
{% test sampled_by_cohort(model, parent, id_column, rate) %}
    {{ return(adapter.dispatch('test_sampled_by_cohort', 'fxa_metrics')(
        model, parent, id_column, rate)) }}
{% endtest %}
