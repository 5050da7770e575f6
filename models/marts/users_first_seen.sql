{%- set recompute = {'changes': 'activity', 'unit': 'uid'} %}
{{ fxa_metrics.recompute_config(recompute, dist='uid', sort='first_seen_day') }}

{#
    One row per uid with at least one activity event: the day of its earliest activity event
    and the first non-NULL service among its events ordered by timestamp, type, service.
    Recompute unit: the uid. A uid with a loaded or retracted activity event since the last
    build is rebuilt from all of its activity events, so a late file holding its earliest event
    moves its first day back, and unloading that file moves it forward again (or removes the
    uid when nothing of it is left).
#}

with

activity_events as (

    select
        uid,
        "timestamp",
        type,
        service,
        _loaded_at
    from {{ ref('activity_events') }}
    where {{ fxa_metrics.touched('uid', recompute) }}

),

ranked_events as (

    select
        uid,
        "timestamp",
        service,
        {#- the order of the first non-NULL service; service itself breaks the last ties #}
        {{ fxa_metrics.first_value_ignore_nulls('service', 'uid', '"timestamp", type, service') }}
            as first_service,
        _loaded_at
    from activity_events

),

users as (

    select
        uid,
        cast(min("timestamp") as date) as first_seen_day,
        max(first_service) as first_service,
        max(_loaded_at) as _loaded_at
    from ranked_events
    group by uid

),

final as (

    select
        cast(uid as {{ dbt.type_string() }}) as uid,
        cast(first_seen_day as date) as first_seen_day,
        cast(first_service as {{ dbt.type_string() }}) as first_service,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from users

)

select * from final
{{ fxa_metrics.storage_order('uid') }}
