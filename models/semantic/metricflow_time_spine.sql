{{
    config(
        materialized='table',
        dist=('all' if target.type == 'redshift' else none),
        sort=(['date_day'] if target.type == 'redshift' else none),
    )
}}

{#
    MetricFlow's time spine: one row per day from 2015-01-01, 10,000 days (to 2042-05-18). Built
    from four digit series (0-9 each) so that it runs on every target with no query at compile
    time (dbt's date_spine asks the warehouse for its bounds, which the offline Redshift check
    cannot). Not incremental: 10,000 rows, rebuilt in well under a second.
#}

with

digits as (

    {{ fxa_metrics.integer_series(9, 'digit') }}

),

day_numbers as (

    select
        thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + ones.digit
            as day_number
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones

),

final as (

    select
        cast(
            {{ dbt.dateadd('day', 'day_number', "cast('2015-01-01' as date)") }} as date
        ) as date_day
    from day_numbers

)

select * from final
