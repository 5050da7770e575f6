{%- set window_days = 28 %}
{%- set recompute = {
            'changes': 'activity', 'unit': 'day',
            'days_after': window_days - 1, 'first_seen_days': true,
        } %}
{{ fxa_metrics.recompute_config(recompute, dist='uid', sort='day', index_also=['uid']) }}

{#
    One row per (day, uid) for every day D with at least one activity event and every uid
    active on some day of [D - 27, D]: days_seen_bits (bit i set = active on D - i), the days
    since the uid was last seen, the number of days it was seen, and its first day
    (users_first_seen).

    How: each user-day of activity counts towards the 28 days [day, day + 27]; it is expanded
    to those of them that have activity data (a tiny series of day offsets 0..27, then an
    equality join on the days present, no range join) and aggregated per
    (D, uid), the bits with bit_or(2^(D - day)). Recomputing a day reads only the 28 days up to
    it, however long the history: nothing is carried from one day to the next, so a late file
    or an unload is recomputed like any other change.

    Recompute unit: the day. A changed day d changes the bits of [d, d + 27]; a change that
    moves a uid's first day (an earlier event, or its first day's events removed) also
    touches every later day the table holds for that uid (meta.recompute.first_seen_days,
    macros/incremental/recompute.sql). `_loaded_at` is the latest `_loaded_at` of the uid's
    activity events in the row's 28 days.
#}

with

activity_events as (

    select
        uid,
        "timestamp",
        _loaded_at
    from {{ ref('activity_events') }}

),

users_first_seen as (

    select
        uid,
        first_seen_day
    from {{ ref('users_first_seen') }}

),

touched_days as (

    {{ fxa_metrics.touched_day_range(recompute) }}

),

{% set first_day = 'cast(touched_days.first_day as ' ~ dbt.type_timestamp() ~ ')' %}
{% set last_day = 'cast(touched_days.last_day as ' ~ dbt.type_timestamp() ~ ')' %}
{# the user-days of the touched days' windows: [first touched day - 27, last touched day] #}
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

{# the touched days with activity data: the days that get rows #}
days_with_activity as (

    select distinct user_days.day
    from user_days
    cross join touched_days
    where user_days.day >= touched_days.first_day

),

day_offsets as (

    {{ fxa_metrics.integer_series(window_days - 1, 'days_ago') }}

),

{# each user-day counts towards the 28 days [day, day + 27]: those of them with rows #}
user_days_in_window as (

    select
        days_with_activity.day,
        user_days.uid,
        day_offsets.days_ago,
        user_days._loaded_at
    from user_days
    cross join day_offsets
    inner join days_with_activity
        on
            days_with_activity.day
            = cast({{ dbt.dateadd('day', 'day_offsets.days_ago', 'user_days.day') }} as date)

),

user_windows as (

    select
        day,
        uid,
        bit_or({{ fxa_metrics.day_bit('days_ago') }}) as days_seen_bits,
        min(days_ago) as days_since_seen,
        max(_loaded_at) as _loaded_at
    from user_days_in_window
    group by
        day,
        uid

),

final as (

    select
        cast(user_windows.day as date) as day,
        cast(user_windows.uid as {{ dbt.type_string() }}) as uid,
        cast(user_windows.days_seen_bits as {{ dbt.type_bigint() }}) as days_seen_bits,
        cast(user_windows.days_since_seen as {{ dbt.type_int() }}) as days_since_seen,
        {{ fxa_metrics.bit_count('user_windows.days_seen_bits', window_days) }} as days_seen,
        cast(users_first_seen.first_seen_day as date) as first_seen_day,
        cast(user_windows._loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from user_windows
    left join users_first_seen on user_windows.uid = users_first_seen.uid

)

select * from final
{{ fxa_metrics.storage_order('day') }}
