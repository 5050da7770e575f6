{#
    Engagement ratio: one row per day with any activity event. daily_active_users = distinct
    uids active that day; monthly_active_users = distinct uids active in
    [day - (N - 1), day], N = var('monthly_active_window_days') (28); ratio = DAU / MAU.

    Incremental by day. A load that adds events on day e changes DAU of e and MAU of every day
    in [e, e + N - 1]: those of them present in the data are recomputed from all events of
    their window (delete+insert on `day`). `_loaded_at` is the latest `_loaded_at` among the
    activity events of the day's window, so the watermark covers every load that fed a row.
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

{%- set window_days = var('monthly_active_window_days') | int %}

with

activity_events as (

    select
        uid,
        "timestamp",
        _loaded_at
    from {{ ref('activity_events') }}

),

{% if is_incremental() %}

touched_days as (

    select distinct cast("timestamp" as date) as day
    from activity_events
    where {{ fxa_metrics.loaded_after_watermark('_loaded_at') }}

),

{% endif %}

{# Days present in the data, limited to the ones whose MAU the touched days can change. #}
active_days as (

    select distinct cast(activity_events."timestamp" as date) as day
    from activity_events
    {% if is_incremental() %}
        where
            activity_events."timestamp" >= (
                select cast(min(touched_days.day) as {{ dbt.type_timestamp() }})
                from touched_days
            )
            and activity_events."timestamp" < (
                select {{ dbt.dateadd('day', window_days, 'cast(max(touched_days.day) as ' ~ dbt.type_timestamp() ~ ')') }}
                from touched_days
            )
    {% endif %}

),

affected_days as (

    {% if is_incremental() %}
        select distinct active_days.day
        from active_days
        inner join touched_days
            on
                active_days.day >= touched_days.day
                and active_days.day < {{ dbt.dateadd('day', window_days, 'touched_days.day') }}
    {% else %}
    select active_days.day
    from active_days
    {% endif %}

),

user_days as (

    select
        cast(activity_events."timestamp" as date) as day,
        activity_events.uid,
        max(activity_events._loaded_at) as _loaded_at
    from activity_events
    {% if is_incremental() %}
        where activity_events."timestamp" >= (
            select {{ dbt.dateadd('day', 1 - window_days, 'cast(min(affected_days.day) as ' ~ dbt.type_timestamp() ~ ')') }}
            from affected_days
        )
    {% endif %}
    group by cast(activity_events."timestamp" as date), activity_events.uid

),

{#
    Each user's active days as spans: an active day counts the user in the MAU of every day
    from itself to the day before the user's next active day, at most N days
    ([day, day + N - 1]). A user's spans never overlap, so each affected day meets at most one
    span per user: the join below yields one row per (day, monthly active user), not one per
    active day of the window (4x fewer rows on the benchmark data, issue 7).
#}
user_spans as (

    select
        day,
        uid,
        case
            when
                lead(day) over (partition by uid order by day)
                < {{ dbt.dateadd('day', window_days, 'day') }}
                then lead(day) over (partition by uid order by day)
            else {{ dbt.dateadd('day', window_days, 'day') }}
        end as counted_until
    from user_days

),

users_of_day as (

    select
        affected_days.day,
        cast(
            count(distinct case when user_spans.day = affected_days.day then user_spans.uid end)
            as {{ dbt.type_bigint() }}
        ) as daily_active_users,
        cast(count(distinct user_spans.uid) as {{ dbt.type_bigint() }}) as monthly_active_users
    from affected_days
    inner join user_spans
        on
            affected_days.day >= user_spans.day
            and affected_days.day < user_spans.counted_until
    group by affected_days.day

),

loaded_per_day as (

    select
        day,
        max(_loaded_at) as _loaded_at
    from user_days
    group by day

),

{# The latest `_loaded_at` of the days of each affected day's window [day - (N - 1), day]. #}
loaded_of_day as (

    select
        affected_days.day,
        max(day_loaded._loaded_at) as _loaded_at
    from affected_days
    inner join loaded_per_day as day_loaded
        on
            affected_days.day >= day_loaded.day
            and {{ dbt.dateadd('day', -window_days, 'affected_days.day') }} < day_loaded.day
    group by affected_days.day

),

daily as (

    select
        users_of_day.day,
        users_of_day.daily_active_users,
        users_of_day.monthly_active_users,
        loaded_of_day._loaded_at
    from users_of_day
    inner join loaded_of_day on users_of_day.day = loaded_of_day.day

),

final as (

    select
        day,
        daily_active_users,
        monthly_active_users,
        case
            when monthly_active_users = 0 then null
            else cast(daily_active_users as double precision) / monthly_active_users
        end as engagement_ratio,
        _loaded_at
    from daily

)

select * from final
