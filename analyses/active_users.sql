{#
    Redash chart "Active users" (dashboard: FxA active users): daily, weekly and monthly
    active users per day (distinct uids with any activity event that day, in the 7 days and
    in the 28 days up to it), and `full_window`: false on the warm-up days whose 28-day window
    starts before the first loaded day (their MAU, and WAU in the first six days, is
    understated): grey them out.
#}

with

engagement as (

    select
        day,
        daily_active_users,
        weekly_active_users,
        monthly_active_users,
        full_window
    from {{ ref('kpi_engagement_ratio_daily') }}

),

final as (

    select
        engagement.day,
        engagement.daily_active_users,
        engagement.weekly_active_users,
        engagement.monthly_active_users,
        engagement.full_window
    from engagement

)

select * from final
order by day
