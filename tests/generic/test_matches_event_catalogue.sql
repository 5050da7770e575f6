{#
    Fails once for every distinct value of `column_name` that matches no row of `catalogue`
    (a relation with `event_pattern` and `match_kind` columns, like the seed
    `flow_event_catalogue`): `exact` rows compare with `=`, `like` rows with LIKE, so the `_`
    of an exact name is never a wildcard.

        data_tests:
          - matches_event_catalogue:
              arguments:
                catalogue: ref('flow_event_catalogue')
              config:
                severity: warn
#}
{% test matches_event_catalogue(model, column_name, catalogue) %}
    {{ return(adapter.dispatch('test_matches_event_catalogue', 'fxa_metrics')(
        model, column_name, catalogue)) }}
{% endtest %}
