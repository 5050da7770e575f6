{#
    Redash chart "Days active in the last 28 days" (dashboard: FxA active users): on the latest
    day of users_last_seen, how many of the users active in its 28-day window were active on
    1, 2, ... 28 of those days (`days_seen`). One bar per `days_seen` value that has users.
#}

with

last_seen as (

    select
        day,
        days_seen
    from {{ ref('users_last_seen') }}

),

latest as (

    select max(day) as day
    from last_seen

),

final as (

    select
        last_seen.day,
        last_seen.days_seen,
        count(*) as users
    from last_seen
    inner join latest
        on last_seen.day = latest.day
    group by
        last_seen.day,
        last_seen.days_seen

)

select * from final
order by days_seen
