{%- set window_days = var('multi_device_window_days') | int -%}
{%- if window_days < 0 -%}
    {{ exceptions.raise_compiler_error(
        "var multi_device_window_days must be a non-negative integer, got: "
        ~ var('multi_device_window_days')) }}
{%- endif -%}

{%- set recompute = {'changes': 'activity', 'unit': 'day', 'days_after': window_days} %}
{{ fxa_metrics.recompute_config(recompute, dist='uid', sort='day') }}

{#
    One row per (day, uid) where the user was active on `day` on some device A and on a device
    B != A on some day in [day - N, day], N = var('multi_device_window_days').
    Equivalently: the user is active on `day` and has at least two distinct devices over
    [day - N, day].

    How, without a self-join over history: daily_activity_per_device is first reduced to one row
    per user-day with the smallest and largest device_id of that day. Every user-day counts
    towards the N + 1 days [day, day + N]; it is expanded to those days with a tiny literal
    series of day offsets 0..N and the expansion is aggregated per (day, uid): active that day
    = has a row with offset 0; two distinct devices in the window = the smallest device_id of
    the window differs from the largest (plain min/max, cheaper than count(distinct)).
    Cost: (N + 1) x the user-days read.

    Recompute unit: the day. A changed day d feeds the windows of [d, d + N]; those days are
    rebuilt from the user-days of [first touched day - N, last touched day].
#}

with

daily_activity_per_device as (

    select * from {{ ref('daily_activity_per_device') }}

),

touched_days as (

    {{ fxa_metrics.touched_day_range(recompute) }}

),

day_offsets as (

    {{ fxa_metrics.integer_series(window_days, 'day_offset') }}

),

user_days as (

    select
        daily_activity_per_device.day,
        daily_activity_per_device.uid,
        min(daily_activity_per_device.device_id) as first_device_id,
        max(daily_activity_per_device.device_id) as last_device_id,
        max(daily_activity_per_device._loaded_at) as _loaded_at
    from daily_activity_per_device
    cross join touched_days
    where
        daily_activity_per_device.day
        >= {{ dbt.dateadd('day', -window_days, 'touched_days.first_day') }}
        and daily_activity_per_device.day <= touched_days.last_day
    group by
        daily_activity_per_device.day,
        daily_activity_per_device.uid

),

user_days_in_window as (

    {#- each user-day is "in the window" of the N + 1 days [day, day + N] #}
    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'user_days.day') }} as date) as day,
        user_days.uid,
        user_days.first_device_id,
        user_days.last_device_id,
        day_offsets.day_offset,
        user_days._loaded_at
    from user_days
    cross join day_offsets

),

windows_to_rebuild as (

    select user_days_in_window.*
    from user_days_in_window
    cross join touched_days
    where
        user_days_in_window.day >= touched_days.first_day
        and user_days_in_window.day <= touched_days.last_day

),

user_windows as (

    select
        day,
        uid,
        max(case when day_offset = 0 then 1 else 0 end) as is_active_on_day,
        min(first_device_id) as first_device_id_in_window,
        max(last_device_id) as last_device_id_in_window,
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
        and first_device_id_in_window != last_device_id_in_window

),

final as (

    select
        cast(day as date) as day,
        cast(uid as {{ dbt.type_string() }}) as uid,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from multi_device_users

)

select * from final
{{ fxa_metrics.storage_order('day') }}
