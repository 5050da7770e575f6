{#
    Weekly retention of new accounts: one row per (cohort_day, service). A uid's cohort is the
    day of its earliest account.created activity event, its service the first non-NULL service
    among its account.created events ordered by timestamp, service (NULL: a group of its own).
    new_accounts = the uids of the cohort; retained_week_k (k = 1, 2, 3) = those of them
    active (any activity event) on some day of [cohort_day + 7k, cohort_day + 7k + 6], NULL
    while the latest day with any activity event is before cohort_day + 7k + 6 (the week is
    not over in the loaded data).

    Recompute unit: the cohort day. A change on day e can change the cohort e (new accounts)
    and the retained weeks of the cohorts [e - 27, e - 7]: [e - 27, e] is touched. A uid whose
    account.created events change can move to another cohort, the day of another of its
    account.created events: the days of the account.created events of those uids are touched
    (meta.recompute.uid_event_days). When the latest loaded day moves, the cohorts within 27
    days before it flip between NULL and a count (meta.recompute.latest_window_days).
    `_loaded_at` is the latest `_loaded_at` of the cohort's account.created and retained-week
    activity.
#}
{%- set cohort_event = 'account.created' %}
{%- set recompute = {
            'changes': 'activity', 'unit': 'day', 'day_column': 'cohort_day',
            'days_before': 27, 'latest_window_days': 27, 'uid_event_days': cohort_event,
        } %}
{{
    fxa_metrics.recompute_config(
        recompute,
        dist='all',
        sort=['cohort_day'],
        unique_key='cohort_day',
    )
}}

with

activity_events as (

    select
        uid,
        "timestamp",
        type,
        service,
        _loaded_at
    from {{ ref('activity_events') }}

),

account_created as (

    select
        uid,
        "timestamp",
        service,
        _loaded_at
    from activity_events
    where type = '{{ cohort_event }}'

),

{# the uids with an account.created event on a touched day: every uid of a touched cohort #}
candidate_uids as (

    select distinct uid
    from account_created
    where {{ fxa_metrics.touched('cast("timestamp" as date)', recompute) }}

),

candidate_events as (

    select
        account_created.uid,
        account_created."timestamp",
        {{ fxa_metrics.first_value_ignore_nulls(
            'account_created.service', 'account_created.uid',
            'account_created."timestamp", account_created.service') }} as cohort_service,
        account_created._loaded_at
    from account_created
    inner join candidate_uids on account_created.uid = candidate_uids.uid

),

new_accounts as (

    select
        uid,
        cast(min("timestamp") as date) as cohort_day,
        max(cohort_service) as service,
        max(_loaded_at) as _loaded_at
    from candidate_events
    group by uid

),

cohort_members as (

    select
        uid,
        cohort_day,
        service,
        _loaded_at
    from new_accounts
    where {{ fxa_metrics.touched('cohort_day', recompute) }}

),

{# the members' active days in their weeks 1-3: [cohort_day + 7, cohort_day + 27] #}
member_days as (

    select
        cohort_members.uid,
        {{ dbt.datediff('cohort_members.cohort_day', 'activity_events."timestamp"', 'day') }}
            as days_after,
        activity_events._loaded_at
    from cohort_members
    inner join activity_events
        on
            cohort_members.uid = activity_events.uid
            and activity_events."timestamp"
            >= {{ dbt.dateadd('day', 7, 'cohort_members.cohort_day') }}
            and activity_events."timestamp"
            < {{ dbt.dateadd('day', 28, 'cohort_members.cohort_day') }}

),

retained_days as (

    select
        uid,
        case
            when days_after between 7 and 13 then 1
            when days_after between 14 and 20 then 2
            else 3
        end as week,
        max(_loaded_at) as _loaded_at
    from member_days
    group by
        uid,
        case
            when days_after between 7 and 13 then 1
            when days_after between 14 and 20 then 2
            else 3
        end

),

latest_loaded as (

    select cast(max("timestamp") as date) as day
    from activity_events

),

cohorts as (

    select
        cohort_members.cohort_day,
        cohort_members.service,
        count(distinct cohort_members.uid) as new_accounts,
        count(distinct case when retained_days.week = 1 then retained_days.uid end)
            as active_week_1,
        count(distinct case when retained_days.week = 2 then retained_days.uid end)
            as active_week_2,
        count(distinct case when retained_days.week = 3 then retained_days.uid end)
            as active_week_3,
        max(
            case
                when retained_days._loaded_at > cohort_members._loaded_at
                    then retained_days._loaded_at
                else cohort_members._loaded_at
            end
        ) as _loaded_at
    from cohort_members
    left join retained_days on cohort_members.uid = retained_days.uid
    group by
        cohort_members.cohort_day,
        cohort_members.service

),

final as (

    select
        cast(cohorts.cohort_day as date) as cohort_day,
        cast(cohorts.service as {{ dbt.type_string() }}) as service,
        cast(cohorts.new_accounts as {{ dbt.type_bigint() }}) as new_accounts,
        {%- for week in [1, 2, 3] %}
        cast(
            case
                when
                    latest_loaded.day
                    >= {{ dbt.dateadd('day', 7 * week + 6, 'cohorts.cohort_day') }}
                    then cohorts.active_week_{{ week }}
            end as {{ dbt.type_bigint() }}
        ) as retained_week_{{ week }},
        {%- endfor %}
        cast(cohorts._loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from cohorts
    cross join latest_loaded

)

select * from final
