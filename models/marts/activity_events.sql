{%- set recompute = {'changes': 'activity', 'unit': 'timestamp'} %}
{{ fxa_metrics.recompute_config(recompute, dist='uid', sort='"timestamp"', index_also=['uid']) }}

{#
    One row per distinct activity event (all eight spec columns equal = same event). The
    recompute unit is the event `timestamp`: every event at a changed timestamp is recomputed
    from ALL raw rows at that timestamp (old duplicates included), so a timestamp whose rows
    were all retracted disappears, and one whose rows were all loaded twice stays once.
#}

with

activity_events as (

    select * from {{ ref('stg_fxa__activity_events') }}

),

events_to_rebuild as (

    select *
    from activity_events
    where
        {{ fxa_metrics.changed_time_range('"timestamp"', 0, recompute) }}
        and {{ fxa_metrics.touched('"timestamp"', recompute) }}

),

distinct_events as (

    select
        "timestamp",
        type,
        uid,
        device_id,
        service,
        ua_browser,
        ua_version,
        ua_os,
        max(loaded_at) as _loaded_at

    from events_to_rebuild

    group by
        "timestamp",
        type,
        uid,
        device_id,
        service,
        ua_browser,
        ua_version,
        ua_os

),

final as (

    select
        cast("timestamp" as {{ dbt.type_timestamp() }}) as "timestamp",
        cast(type as {{ dbt.type_string() }}) as type,
        cast(uid as {{ dbt.type_string() }}) as uid,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(service as {{ dbt.type_string() }}) as service,
        cast(ua_browser as {{ dbt.type_string() }}) as ua_browser,
        cast(ua_version as {{ dbt.type_string() }}) as ua_version,
        cast(ua_os as {{ dbt.type_string() }}) as ua_os,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at

    from distinct_events

)

select * from final
{{ fxa_metrics.storage_order('"timestamp"') }}
