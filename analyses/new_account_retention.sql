{#
    Redash chart "New-account retention" (dashboard: FxA new-account retention): per sign-up
    day (cohort), the share of its new accounts active again in weeks 1, 2 and 3 after it
    (days 7k to 7k + 6), for all services together and for each service (its name from the
    oauth_services seed when it has one; accounts created without a service as
    `(no service)`); a dashboard filter on `service_group` picks the line. A week that is not
    over in the loaded data is NULL, not 0: the chart leaves those points out.
#}

with

retention as (

    select
        cohort_day,
        service,
        new_accounts,
        retained_week_1,
        retained_week_2,
        retained_week_3
    from {{ ref('kpi_retention_daily') }}

),

services as (

    select
        service,
        service_name
    from {{ ref('oauth_services') }}

),

{# sum() of a week that is not over is NULL: every service of a cohort shares that state. #}
all_services as (

    select
        cohort_day,
        '(all services)' as service_group,
        sum(new_accounts) as new_accounts,
        sum(retained_week_1) as retained_week_1,
        sum(retained_week_2) as retained_week_2,
        sum(retained_week_3) as retained_week_3
    from retention
    group by cohort_day

),

per_service as (

    select
        retention.cohort_day,
        coalesce(services.service_name, retention.service, '(no service)') as service_group,
        retention.new_accounts,
        retention.retained_week_1,
        retention.retained_week_2,
        retention.retained_week_3
    from retention
    left join services
        on retention.service = services.service

),

groups as (

    select
        cohort_day,
        service_group,
        new_accounts,
        retained_week_1,
        retained_week_2,
        retained_week_3
    from all_services

    union all

    select
        cohort_day,
        service_group,
        new_accounts,
        retained_week_1,
        retained_week_2,
        retained_week_3
    from per_service

),

final as (

    select
        cohort_day,
        service_group,
        new_accounts,
        retained_week_1,
        retained_week_2,
        retained_week_3,
        round(100.0 * retained_week_1 / nullif(new_accounts, 0), 1) as retained_week_1_percent,
        round(100.0 * retained_week_2 / nullif(new_accounts, 0), 1) as retained_week_2_percent,
        round(100.0 * retained_week_3 / nullif(new_accounts, 0), 1) as retained_week_3_percent
    from groups

)

select * from final
order by service_group, cohort_day
