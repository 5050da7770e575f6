{%- set window_days = var('multi_device_window_days') | int -%}
{%- if window_days < 0 -%}
    {{ exceptions.raise_compiler_error(
        "var multi_device_window_days must be a non-negative integer, got: "
        ~ var('multi_device_window_days')) }}
{%- endif -%}

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
    One row per (day, uid) where the user was active on `day` on some device A and on a device
    B != A on some day in [day - N, day], N = var('multi_device_window_days') (CONTRACT.md 3).
    Equivalently: the user is active on `day` and has at least two distinct devices over
    [day - N, day].

    How, without a self-join over history: every (uid, device, day) of
    daily_activity_per_device counts towards the N + 1 days [day, day + N]. Each such row is
    expanded to those days with a tiny literal series of day offsets 0..N and the expansion is
    aggregated per (day, uid): active that day = has a row with offset 0; multi-device = two or
    more distinct devices. Cost: (N + 1) x the device-days read.

    Incremental: a device-day (re)written since the last build (its `_loaded_at` above this
    table's watermark) can change its own day and the N following days, so exactly those days
    are recomputed, reading the device-days of [first affected day - N, last affected day].
#}

with daily_activity_per_device as (

    select * from {{ ref('daily_activity_per_device') }}

),

day_offsets as (

    {{ fxa_metrics.integer_series(window_days, 'day_offset') }}

),

{% if is_incremental() %}

new_device_days as (

    select distinct day
    from daily_activity_per_device
    where {{ fxa_metrics.loaded_after_watermark('_loaded_at', '_loaded_at') }}

),

affected_days as (

    select distinct
        cast(
            {{ dbt.dateadd('day', 'day_offsets.day_offset', 'new_device_days.day') }} as date
        ) as day

    from new_device_days
    cross join day_offsets

),

affected_range as (

    select
        cast({{ dbt.dateadd('day', -window_days, 'min(day)') }} as date) as range_start,
        max(day) as range_end

    from affected_days

),

device_days as (

    select
        day,
        uid,
        device_id,
        max(_loaded_at) as _loaded_at

    from daily_activity_per_device

    where
        day >= (select affected_range.range_start from affected_range)
        and day <= (select affected_range.range_end from affected_range)

    group by
        day,
        uid,
        device_id

),

{% else %}

device_days as (

    select
        day,
        uid,
        device_id,
        max(_loaded_at) as _loaded_at

    from daily_activity_per_device

    group by
        day,
        uid,
        device_id

),

{% endif %}

device_days_in_window as (

    {#- each device-day is "in the window" of the N + 1 days [day, day + N] #}
    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'device_days.day') }} as date) as day,
        device_days.uid,
        device_days.device_id,
        day_offsets.day_offset,
        device_days._loaded_at

    from device_days
    cross join day_offsets

),

{% if is_incremental() %}

windows_to_rebuild as (

    select device_days_in_window.*
    from device_days_in_window
    inner join affected_days
        on device_days_in_window.day = affected_days.day

),

{% else %}

windows_to_rebuild as (

    select * from device_days_in_window

),

{% endif %}

user_windows as (

    select
        day,
        uid,
        max(case when day_offset = 0 then 1 else 0 end) as is_active_on_day,
        count(distinct device_id) as devices_in_window,
        max(_loaded_at) as _loaded_at

    from windows_to_rebuild

    group by
        day,
        uid

),

multi_device_users as (

    select
        day,
        uid,
        _loaded_at

    from user_windows

    where
        is_active_on_day = 1
        and devices_in_window >= 2

),

final as (

    select
        cast(day as date) as day,
        cast(uid as {{ dbt.type_string() }}) as uid,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at

    from multi_device_users

)

select * from final
