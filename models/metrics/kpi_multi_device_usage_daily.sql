{%- set window_days = var('multi_device_window_days') | int %}
{%- set recompute = {
            'changes': 'activity', 'unit': 'day',
            'days_after': window_days, 'full_window_days': window_days,
        } %}
{{ fxa_metrics.recompute_config(recompute, dist='all', sort=['day']) }}

{#
    Multi-device usage: one row per day with a row in daily_activity_per_device.
    device_users = distinct uids in daily_activity_per_device that day; multi_device_users =
    distinct uids in daily_multi_device_users that day; share = their quotient; full_window =
    the loaded activity data reach back to day - N, N = var('multi_device_window_days').
    Recompute unit: the day; a changed day d touches [d, d + N], and the days whose
    full_window flips when the first loaded day moves.
#}

with

device_days as (

    select
        day,
        uid,
        _loaded_at
    from {{ ref('daily_activity_per_device') }}
    where {{ fxa_metrics.touched('day', recompute) }}

),

multi_device_days as (

    select
        day,
        uid,
        _loaded_at
    from {{ ref('daily_multi_device_users') }}
    where {{ fxa_metrics.touched('day', recompute) }}

),

first_loaded as (

    select cast(min("timestamp") as date) as day
    from {{ ref('activity_events') }}

),

device_users as (

    select
        day,
        cast(count(distinct uid) as {{ dbt.type_bigint() }}) as device_users,
        max(_loaded_at) as _loaded_at
    from device_days
    group by day

),

multi_device_users as (

    select
        day,
        cast(count(distinct uid) as {{ dbt.type_bigint() }}) as multi_device_users,
        max(_loaded_at) as _loaded_at
    from multi_device_days
    group by day

),

final as (

    select
        device_users.day,
        device_users.device_users,
        coalesce(multi_device_users.multi_device_users, 0) as multi_device_users,
        case
            when device_users.device_users = 0 then null
            else
                cast(coalesce(multi_device_users.multi_device_users, 0) as double precision)
                / device_users.device_users
        end as multi_device_share,
        cast(
            coalesce(
                first_loaded.day <= {{ dbt.dateadd('day', -window_days, 'device_users.day') }},
                false
            ) as {{ dbt.type_boolean() }}
        ) as full_window,
        case
            when multi_device_users._loaded_at > device_users._loaded_at
                then multi_device_users._loaded_at
            else device_users._loaded_at
        end as _loaded_at
    from device_users
    cross join first_loaded
    left join multi_device_users
        on device_users.day = multi_device_users.day

)

select * from final
