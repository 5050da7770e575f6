{#
    Engagement ratio: one row per day with any activity event. daily_active_users = distinct
    uids active that day; monthly_active_users = distinct uids active in
    [day - (N - 1), day], N = var('monthly_active_window_days') (28); ratio = DAU / MAU.

    full_window = the loaded activity data reach back to day - (N - 1).

    Recompute unit: the day. A change on day e changes DAU of e and MAU of every day in
    [e, e + N - 1], and full_window of the days it flips when the first loaded day moves: those
    days present in the data are recomputed from all events of their windows. `_loaded_at` is
    the latest `_loaded_at` among the activity events of the day's window.
#}
{%- set window_days = var('monthly_active_window_days') | int %}
{%- set recompute = {
            'changes': 'activity', 'unit': 'day',
            'days_after': window_days - 1, 'full_window_days': window_days - 1,
        } %}
{{
    config(
        unique_key='day',
        meta={'recompute': recompute},
        indexes=fxa_metrics.recompute_indexes('day'),
        dist=('all' if target.type == 'redshift' else none),
        sort=(['day'] if target.type == 'redshift' else none),
    )
}}

with

activity_events as (

    select
        uid,
        "timestamp",
        _loaded_at
    from {{ ref('activity_events') }}

),

touched_days as (

    {{ fxa_metrics.touched_day_range(recompute) }}

),

first_loaded as (

    select cast(min("timestamp") as date) as day
    from activity_events

),

{# The days to recompute: those of the touched range present in the data, and the user-days
   of their windows. #}
{%- set first_day = 'cast(touched_days.first_day as ' ~ dbt.type_timestamp() ~ ')' %}
{%- set last_day = 'cast(touched_days.last_day as ' ~ dbt.type_timestamp() ~ ')' %}
user_days as (

    select
        cast(activity_events."timestamp" as date) as day,
        activity_events.uid,
        max(activity_events._loaded_at) as _loaded_at
    from activity_events
    cross join touched_days
    where
        activity_events."timestamp" >= {{ dbt.dateadd('day', 1 - window_days, first_day) }}
        and activity_events."timestamp" < {{ dbt.dateadd('day', 1, last_day) }}
    group by
        cast(activity_events."timestamp" as date),
        activity_events.uid

),

affected_days as (

    select distinct user_days.day
    from user_days
    cross join touched_days
    where user_days.day >= touched_days.first_day

),

{#
    Each user's active days as spans: an active day counts the user in the MAU of every day
    from itself to the day before the user's next active day, at most N days
    ([day, day + N - 1]). A user's spans never overlap, so each affected day meets at most one
    span per user: the join below yields one row per (day, monthly active user), not one per
    active day of the window (4x fewer rows on the benchmark data).
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
        daily.day,
        daily.daily_active_users,
        daily.monthly_active_users,
        case
            when daily.monthly_active_users = 0 then null
            else cast(daily.daily_active_users as double precision) / daily.monthly_active_users
        end as engagement_ratio,
        cast(
            coalesce(
                first_loaded.day <= {{ dbt.dateadd('day', 1 - window_days, 'daily.day') }},
                false
            ) as {{ dbt.type_boolean() }}
        ) as full_window,
        daily._loaded_at
    from daily
    cross join first_loaded

)

select * from final
