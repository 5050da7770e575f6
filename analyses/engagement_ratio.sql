{#
    Redash chart "Engagement ratio" (dashboard: FxA engagement): DAU / MAU per day, with the
    two counts for the tooltip, and `full_window`: false on the warm-up days whose 28-day
    window starts before the first loaded day (their MAU is understated): grey them out.
#}

with

engagement as (

    select
        day,
        daily_active_users,
        monthly_active_users,
        engagement_ratio,
        full_window
    from {{ ref('kpi_engagement_ratio_daily') }}

),

final as (

    select
        engagement.day,
        engagement.daily_active_users,
        engagement.monthly_active_users,
        engagement.engagement_ratio,
        engagement.full_window
    from engagement

)

select * from final
order by day
