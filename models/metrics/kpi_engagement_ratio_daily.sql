{#
    Engagement ratio: one row per day with any activity event. daily_active_users = distinct
    uids active that day; weekly_active_users = distinct uids active in [day - 6, day];
    monthly_active_users = distinct uids active in [day - (N - 1), day],
    N = var('monthly_active_window_days') (28); ratio = DAU / MAU.

    Read from users_last_seen: a day's rows are its monthly active users, their
    days_seen_bits say when in the 28 days each was active, so the three counts are mask
    tests on one day's rows (bit 0; bits 0-6; bits 0..N-1), not a scan of 28 days of events:
    recomputing a day costs the same however long the history.

    full_window = the loaded activity data reach back to day - (N - 1).

    Recompute unit: the day. A change on day e changes DAU of e, WAU of [e, e + 6] and MAU of
    every day in [e, e + N - 1], and full_window of the days it flips when the first loaded day
    moves: those days present in the data are recomputed from users_last_seen (built before
    this model from the same changes). `_loaded_at` is the latest `_loaded_at` of the day's
    users_last_seen rows, i.e. of the activity events of the day's 28-day window.
#}
{%- set window_days = var('monthly_active_window_days') | int %}
{%- if window_days < 7 or window_days > 28 %}
    {{ exceptions.raise_compiler_error(
        "var monthly_active_window_days must be between 7 and 28 (the days users_last_seen"
        ~ " carries in days_seen_bits), got: " ~ var('monthly_active_window_days')) }}
{%- endif %}
{%- set weekly_mask = 2 ** 7 - 1 %}
{%- set monthly_mask = 2 ** window_days - 1 %}
{%- set recompute = {
            'changes': 'activity', 'unit': 'day',
            'days_after': window_days - 1, 'full_window_days': window_days - 1,
        } %}
{{ fxa_metrics.recompute_config(recompute, dist='all', sort=['day']) }}

with

users_last_seen as (

    select
        day,
        days_seen_bits,
        _loaded_at
    from {{ ref('users_last_seen') }}

),

activity_events as (

    select "timestamp"
    from {{ ref('activity_events') }}

),

touched_days as (

    {{ fxa_metrics.touched_day_range(recompute) }}

),

first_loaded as (

    select cast(min("timestamp") as date) as day
    from activity_events

),

daily as (

    select
        users_last_seen.day,
        cast(
            sum(case when (users_last_seen.days_seen_bits & 1) != 0 then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as daily_active_users,
        cast(
            sum(
                case
                    when (users_last_seen.days_seen_bits & {{ weekly_mask }}) != 0 then 1 else 0
                end
            )
            as {{ dbt.type_bigint() }}
        ) as weekly_active_users,
        cast(
            sum(
                case
                    when (users_last_seen.days_seen_bits & {{ monthly_mask }}) != 0 then 1 else 0
                end
            )
            as {{ dbt.type_bigint() }}
        ) as monthly_active_users,
        max(users_last_seen._loaded_at) as _loaded_at
    from users_last_seen
    cross join touched_days
    where
        users_last_seen.day >= touched_days.first_day
        and users_last_seen.day <= touched_days.last_day
    group by users_last_seen.day

),

final as (

    select
        daily.day,
        daily.daily_active_users,
        daily.weekly_active_users,
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
