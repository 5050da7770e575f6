{%- set margin_days = fxa_metrics.flow_day_margin() %}
{%- set recompute = {
            'changes': 'flow', 'unit': 'day',
            'days_before': margin_days, 'days_after': margin_days,
        } %}
{{ fxa_metrics.recompute_config(recompute, dist='all', sort=['day']) }}

{#
    Time taken for device connection: one row per (day, service) over the completed flows begun
    that day, with the median and 90th percentile of the time from `flow.begin` to the flow's
    first `flow.complete` (flow_funnel.seconds_to_complete), as continuous (interpolated)
    percentiles. Recompute unit: the day, as kpi_flow_funnel_daily.

    Redshift: its sort-based aggregates must share one ORDER BY and are best kept apart from
    other aggregates, so the percentiles have a CTE of their own and the counts are joined.
#}

with

flow_funnel as (

    select * from {{ ref('flow_funnel') }}

),

connection_times as (

    select
        day,
        service,
        service_name,
        seconds_to_complete,
        _loaded_at
    from flow_funnel
    where
        completed
        and {{ fxa_metrics.touched('day', recompute) }}

),

counts as (

    select
        day,
        service,
        max(service_name) as service_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as completed_flows,
        max(_loaded_at) as _loaded_at
    from connection_times
    group by
        day,
        service

),

percentiles as (

    select
        day,
        service,
        {{ fxa_metrics.percentile_cont('seconds_to_complete', 0.5) }} as p50_seconds,
        {{ fxa_metrics.percentile_cont('seconds_to_complete', 0.9) }} as p90_seconds
    from connection_times
    group by
        day,
        service

),

final as (

    select
        counts.day,
        cast(counts.service as varchar) as service,
        cast(counts.service_name as varchar) as service_name,
        counts.completed_flows,
        cast(percentiles.p50_seconds as double precision) as p50_seconds,
        cast(percentiles.p90_seconds as double precision) as p90_seconds,
        counts._loaded_at
    from counts
    inner join percentiles
        on
            counts.day = percentiles.day
            and (
                counts.service = percentiles.service
                or (counts.service is null and percentiles.service is null)
            )

)

select * from final
