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

{% macro default__test_matches_event_catalogue(model, column_name, catalogue) %}

with

event_names as (
    select distinct {{ column_name }} as event_name
    from {{ model }}
    where {{ column_name }} is not null
),

catalogue as (
    select
        event_pattern,
        match_kind
    from {{ catalogue }}
),

matched as (
    select distinct event_names.event_name
    from event_names
    inner join catalogue
        on (catalogue.match_kind = 'exact' and event_names.event_name = catalogue.event_pattern)
        or (catalogue.match_kind = 'like' and event_names.event_name like catalogue.event_pattern)
),

validation_errors as (
    select event_names.event_name
    from event_names
    left join matched
        on event_names.event_name = matched.event_name
    where matched.event_name is null
)

select * from validation_errors
{% endmacro %}
