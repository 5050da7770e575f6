{#
    Multi-device usage: one row per day with a row in daily_activity_per_device.
    device_users = distinct uids in daily_activity_per_device that day; multi_device_users =
    distinct uids in daily_multi_device_users that day; share = their quotient.

    Incremental by day. New device activity on day e can make users multi-device on any day
    of [e, e + N], N = var('multi_device_window_days'), so those days present in the data are
    recomputed, as is any day with new rows in daily_multi_device_users (delete+insert on
    `day`). This does not rely on how the upstream mart dates its own `_loaded_at`.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='day',
        on_schema_change='fail',
        dist=('all' if target.type == 'redshift' else none),
        sort=(['day'] if target.type == 'redshift' else none),
    )
}}

{%- set window_days = var('multi_device_window_days') | int %}

with

device_days as (

    select
        day,
        uid,
        _loaded_at
    from {{ ref('daily_activity_per_device') }}

),

multi_device_days as (

    select
        day,
        uid,
        _loaded_at
    from {{ ref('daily_multi_device_users') }}

),

{% if is_incremental() %}

touched_device_days as (

    select distinct day
    from device_days
    where {{ fxa_metrics.loaded_after_watermark('_loaded_at') }}

),

touched_multi_device_days as (

    select distinct day
    from multi_device_days
    where {{ fxa_metrics.loaded_after_watermark('_loaded_at') }}

),

touched_range as (

    select
        min(day) as first_day,
        max(day) as last_day
    from (
        select touched_device_days.day from touched_device_days
        union all
        select touched_multi_device_days.day from touched_multi_device_days
    ) as touched

),

{% endif %}

present_days as (

    select distinct device_days.day
    from device_days
    {% if is_incremental() %}
        where
            device_days.day >= (select touched_range.first_day from touched_range)
            and device_days.day <= (
                select {{ dbt.dateadd('day', window_days, 'touched_range.last_day') }}
                from touched_range
            )
    {% endif %}

),

affected_days as (

    {% if is_incremental() %}
        select present_days.day
        from present_days
        inner join touched_device_days
            on
                present_days.day >= touched_device_days.day
                and present_days.day <= {{ dbt.dateadd('day', window_days, 'touched_device_days.day') }}
        union
        select present_days.day
        from present_days
        inner join touched_multi_device_days
            on present_days.day = touched_multi_device_days.day
    {% else %}
    select present_days.day
    from present_days
    {% endif %}

),

device_users as (

    select
        device_days.day,
        cast(count(distinct device_days.uid) as {{ dbt.type_bigint() }}) as device_users,
        max(device_days._loaded_at) as _loaded_at
    from device_days
    inner join affected_days
        on device_days.day = affected_days.day
    group by device_days.day

),

multi_device_users as (

    select
        multi_device_days.day,
        cast(count(distinct multi_device_days.uid) as {{ dbt.type_bigint() }})
            as multi_device_users,
        max(multi_device_days._loaded_at) as _loaded_at
    from multi_device_days
    inner join affected_days
        on multi_device_days.day = affected_days.day
    group by multi_device_days.day

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
        case
            when multi_device_users._loaded_at > device_users._loaded_at
                then multi_device_users._loaded_at
            else device_users._loaded_at
        end as _loaded_at
    from device_users
    left join multi_device_users
        on device_users.day = multi_device_users.day

)

select * from final
