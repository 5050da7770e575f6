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

final as (

    select
        day,
        daily_active_users,
        monthly_active_users,
        engagement_ratio,
        day < (
            select {{ dbt.dateadd('day', var('monthly_active_window_days') - 1, 'min(day)') }}
            from engagement
        ) as window_truncated
    from engagement

)

select * from final
order by day
