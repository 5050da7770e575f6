{#
    Redash chart "Engagement ratio" (dashboard: FxA engagement): DAU / MAU per day, with the
    two counts for the tooltip. Days whose 28-day window starts before the first day of data
    are flagged: their MAU is understated.
#}

with

engagement as (

    select
        day,
        daily_active_users,
        monthly_active_users,
        engagement_ratio
    from {{ ref('kpi_engagement_ratio_daily') }}

),

first_full_window as (

    select
        {{ dbt.dateadd('day', var('monthly_active_window_days') - 1, 'min(day)') }}
            as first_day
    from engagement

),

final as (

    select
        engagement.day,
        engagement.daily_active_users,
        engagement.monthly_active_users,
        engagement.engagement_ratio,
        engagement.day < first_full_window.first_day as window_truncated
    from engagement
    cross join first_full_window

)

select * from final
order by day
