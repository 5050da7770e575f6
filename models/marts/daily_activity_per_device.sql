{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='day',
        on_schema_change='fail',
        dist=('uid' if target.type == 'redshift' else none),
        sort=('day' if target.type == 'redshift' else none),
    )
}}

{#
    One row per distinct (day, uid, device_id, service, ua_browser, ua_version, ua_os) of the
    activity events that have a device_id, every event type counting (CONTRACT.md 3).
    The unit of recomputation is the day: an incremental run finds the activity events with a
    device that were (re)written since the last build (`_loaded_at` above this table's
    watermark) and recomputes each of their days from all of that day's events.
#}

{#- Each import CTE is referenced once: DuckDB materialises a CTE used twice, which would
    read every row instead of letting the filters and the join prune the scan. #}

with activity_events as (

    select * from {{ ref('activity_events') }}

),

{% if is_incremental() %}

new_device_events as (

    select "timestamp"
    from {{ ref('activity_events') }}
    where
        device_id is not null
        and {{ fxa_metrics.loaded_after_watermark('_loaded_at', '_loaded_at') }}

),

touched_days as (

    select distinct cast("timestamp" as date) as day
    from new_device_events

),

touched_range as (

    select
        cast(min(day) as {{ dbt.type_timestamp() }}) as range_start,
        cast({{ dbt.dateadd('day', 1, 'max(day)') }} as {{ dbt.type_timestamp() }}) as range_end
    from touched_days

),

device_events as (

    select
        cast(activity_events."timestamp" as date) as day,
        activity_events.uid,
        activity_events.device_id,
        activity_events.service,
        activity_events.ua_browser,
        activity_events.ua_version,
        activity_events.ua_os,
        activity_events._loaded_at

    from activity_events
    inner join touched_days
        on cast(activity_events."timestamp" as date) = touched_days.day

    where
        activity_events.device_id is not null
        {%- set bounds = fxa_metrics.new_rows_bounds(
            ref('activity_events'),
            'cast(cast(min("timestamp") as date) as ' ~ dbt.type_timestamp() ~ ')',
            dbt.dateadd('day', 1, 'cast(cast(max("timestamp") as date) as '
                ~ dbt.type_timestamp() ~ ')'),
            '_loaded_at',
        ) %}
        {%- if bounds is not none %}
        {#- the days of all new rows (a superset of touched_days) as constants, read before
            the run: pushed into the scan #}
        and activity_events."timestamp" >= {{ bounds[0] }}
        and activity_events."timestamp" < {{ bounds[1] }}
        {%- else %}
        and activity_events."timestamp" >= (select touched_range.range_start from touched_range)
        and activity_events."timestamp" < (select touched_range.range_end from touched_range)
        {%- endif %}

),

{% else %}

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

    where device_id is not null

),

{% endif %}

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
