{#
    Redash chart "Multi-device usage" (dashboard: FxA multi-device usage): share of the day's
    device users who were also active on another device in the preceding
    `multi_device_window_days` days, with the counts for the tooltip, and `full_window`: false
    on the warm-up days whose window reaches before the first loaded day: grey them out.
#}

with

final as (

    select
        day,
        device_users,
        multi_device_users,
        multi_device_share,
        full_window
    from {{ ref('kpi_multi_device_usage_daily') }}

)

select * from final
order by day
