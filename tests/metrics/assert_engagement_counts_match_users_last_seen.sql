{#
    For every day, the three counts of kpi_engagement_ratio_daily equal those of the day's
    users_last_seen rows: DAU = rows with bit 0 of days_seen_bits set, WAU = rows with any of
    bits 0-6 set, MAU = rows with any of bits 0..N-1 set, N = var('monthly_active_window_days')
    (at its default, 28: all rows). Days in one table and not the other fail too. Fails with
    the disagreeing days.

    Selected with kpi_engagement_ratio_daily only: users_last_seen (same schema, built before
    the KPI) is named through the KPI's relation, not ref()'d, because dbt selects a test with
    any of its parents, and a `dbt test --select models/marts` would then run this test
    before the KPI table exists.
#}
{%- set engagement_relation = ref('kpi_engagement_ratio_daily') %}
{%- set users_last_seen_relation = engagement_relation.incorporate(
    path={'identifier': 'users_last_seen'}) %}
{%- set monthly_mask = 2 ** (var('monthly_active_window_days') | int) - 1 %}

with users_last_seen as (

    select
        day,
        cast(
            sum(case when (days_seen_bits & 1) != 0 then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as daily_active_users,
        cast(
            sum(case when (days_seen_bits & 127) != 0 then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as weekly_active_users,
        cast(
            sum(case when (days_seen_bits & {{ monthly_mask }}) != 0 then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as monthly_active_users
    from {{ users_last_seen_relation }}
    group by day

),

engagement as (

    select
        day,
        daily_active_users,
        weekly_active_users,
        monthly_active_users
    from {{ engagement_relation }}

),

validation_errors as (

    select
        coalesce(engagement.day, users_last_seen.day) as day,
        engagement.daily_active_users,
        users_last_seen.daily_active_users as last_seen_daily_active_users,
        engagement.weekly_active_users,
        users_last_seen.weekly_active_users as last_seen_weekly_active_users,
        engagement.monthly_active_users,
        users_last_seen.monthly_active_users as last_seen_monthly_active_users
    from engagement
    full outer join users_last_seen on engagement.day = users_last_seen.day
    where
        engagement.day is null
        or users_last_seen.day is null
        or engagement.daily_active_users != users_last_seen.daily_active_users
        or engagement.weekly_active_users != users_last_seen.weekly_active_users
        or engagement.monthly_active_users != users_last_seen.monthly_active_users

)

select * from validation_errors
