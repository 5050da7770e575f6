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

    How, without a self-join over history: daily_activity_per_device is first reduced to one row
    per user-day with the smallest and largest device_id of that day. Every user-day counts
    towards the N + 1 days [day, day + N]; it is expanded to those days with a tiny literal
    series of day offsets 0..N and the expansion is aggregated per (day, uid): active that day
    = has a row with offset 0; two distinct devices in the window = the smallest device_id of
    the window differs from the largest (plain min/max, cheaper than count(distinct)).
    Cost: (N + 1) x the user-days read.

    Incremental: a device-day (re)written since the last build (its `_loaded_at` above this
    table's watermark) can change its own day and the N following days, so exactly those days
    are recomputed, reading the user-days of [first affected day - N, last affected day].
#}

{#- Each import CTE is referenced once: DuckDB materialises a CTE used twice, which would
    read every row instead of letting the filters prune the scan. #}

with daily_activity_per_device as (

    select * from {{ ref('daily_activity_per_device') }}

),

day_offsets as (

    {{ fxa_metrics.integer_series(window_days, 'day_offset') }}

),

{% if is_incremental() %}

new_device_days as (

    select distinct day
    from {{ ref('daily_activity_per_device') }}
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

{% endif %}

user_days as (

    select
        day,
        uid,
        min(device_id) as first_device_id,
        max(device_id) as last_device_id,
        max(_loaded_at) as _loaded_at

    from daily_activity_per_device

    {% if is_incremental() -%}
    {%- set bounds = fxa_metrics.new_rows_bounds(
        ref('daily_activity_per_device'),
        dbt.dateadd('day', -window_days, 'cast(min(day) as ' ~ dbt.type_timestamp() ~ ')'),
        dbt.dateadd('day', window_days, 'cast(max(day) as ' ~ dbt.type_timestamp() ~ ')'),
        '_loaded_at',
    ) %}
    where
    {%- if bounds is not none %}
        {#- affected_range as constants, read before the run: pushed into the scan #}
        day >= {{ bounds[0] }}
        and day <= {{ bounds[1] }}
    {%- else %}
        day >= (select affected_range.range_start from affected_range)
        and day <= (select affected_range.range_end from affected_range)
    {%- endif %}
    {%- endif %}

    group by
        day,
        uid

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

{% if is_incremental() %}

days_to_rebuild as (

    {#- affected days with activity: a day without any has no row to write #}
    select distinct user_days.day
    from user_days
    inner join affected_days
        on user_days.day = affected_days.day

),

windows_to_rebuild as (

    select user_days_in_window.*
    from user_days_in_window
    inner join days_to_rebuild
        on user_days_in_window.day = days_to_rebuild.day

),

{% else %}

windows_to_rebuild as (

    select * from user_days_in_window

),

{% endif %}

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
