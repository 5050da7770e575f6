{# Body of the generic test tests/generic/test_matches_event_catalogue.sql
   (dbt's dispatch finds `default__` macros only under macros/). #}
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
