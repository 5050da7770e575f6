{%- set recompute = {'changes': 'activity', 'unit': 'day'} %}
{{ fxa_metrics.recompute_config(recompute, dist='uid', sort='day') }}

{#
    One row per distinct (day, uid, device_id, service, ua_browser, ua_version, ua_os) of the
    activity events that have a device_id, every event type counting. Recompute unit: the day,
    rebuilt from all of that day's activity events.
#}

with

activity_events as (

    select * from {{ ref('activity_events') }}

),

device_events as (

    select
        cast("timestamp" as date) as day,
        uid,
        device_id,
        service,
        ua_browser,
        ua_version,
        ua_os,
        _loaded_at
    from activity_events
    where
        device_id is not null
        and {{ fxa_metrics.touched('cast("timestamp" as date)', recompute) }}

),

daily_devices as (

    select
        day,
        uid,
        device_id,
        service,
        ua_browser,
        ua_version,
        ua_os,
        max(_loaded_at) as _loaded_at
    from device_events
    group by
        day,
        uid,
        device_id,
        service,
        ua_browser,
        ua_version,
        ua_os

),

final as (

    select
        cast(day as date) as day,
        cast(uid as {{ dbt.type_string() }}) as uid,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(service as {{ dbt.type_string() }}) as service,
        cast(ua_browser as {{ dbt.type_string() }}) as ua_browser,
        cast(ua_version as {{ dbt.type_string() }}) as ua_version,
        cast(ua_os as {{ dbt.type_string() }}) as ua_os,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from daily_devices

)

select * from final
{{ fxa_metrics.storage_order('day') }}
