{#
    Time taken for device connection: one row per (day, service) over the completed flows begun
    that day, with the median and 90th percentile of the time from `flow.begin` to the flow's
    first `flow.complete` (its flow_time / 1000), as continuous (interpolated) percentiles.

    Incremental by day exactly as kpi_flow_funnel_daily (see there): affected days are the days
    of the touched flows' `flow.begin` events; delete+insert on `day` replaces every service of
    an affected day; a placeholder row (completed_flows = 0) clears a day left with no completed
    flow, and the post-hook deletes it.

    Redshift: its sort-based aggregates must share one ORDER BY and are best kept apart from
    other aggregates, so the percentiles have a CTE of their own and the counts are joined.
    String columns are cast to `varchar`, not dbt.type_string(): on Postgres the latter is
    `text`, which differs from the contracted `varchar` and trips on_schema_change='fail' on
    the next incremental run.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='day',
        on_schema_change='fail',
        post_hook=["delete from {{ this }} where completed_flows = 0"],
        dist=('all' if target.type == 'redshift' else none),
        sort=(['day'] if target.type == 'redshift' else none),
    )
}}

with

flow_metadata as (

    select
        flow_id,
        begin_time,
        completed,
        service,
        _loaded_at
    from {{ ref('flow_metadata') }}

),

flow_events as (

    select
        flow_id,
        type,
        "timestamp",
        flow_time
    from {{ ref('flow_events') }}

),

{{ fxa_metrics.flow_kpi_affected_days('flow_metadata', 'flow_events') }}

completed_flows as (

    select
        flow_id,
        cast(begin_time as date) as day,
        cast(service as varchar) as service,
        _loaded_at
    from flow_metadata
    where
        completed
    {% if is_incremental() %}
            and begin_time >= (
                select cast(min(affected_days.day) as {{ dbt.type_timestamp() }})
                from affected_days
            )
            and cast(begin_time as date) in (select affected_days.day from affected_days)
        {% endif %}

),

{# The range prune of the events: a day before the first day, for clock skew between servers. #}
events_range as (

    select
        {{ dbt.dateadd('day', -1, 'cast(min(day) as ' ~ dbt.type_timestamp() ~ ')') }}
            as first_timestamp
    from completed_flows

),

{# The first flow.complete of each flow (by timestamp, then flow_time): its flow_time is the
   time the connection took. #}
completions as (

    select
        flow_events.flow_id,
        flow_events.flow_time,
        row_number() over (
            partition by flow_events.flow_id
            order by flow_events."timestamp", flow_events.flow_time
        ) as completion_number
    from flow_events
    inner join completed_flows
        on flow_events.flow_id = completed_flows.flow_id
    where
        flow_events.type = 'flow.complete'
        and flow_events."timestamp" >= (select events_range.first_timestamp from events_range)

),

connection_times as (

    select
        completed_flows.day,
        completed_flows.service,
        cast(completions.flow_time as double precision) / 1000 as connection_seconds,
        completed_flows._loaded_at
    from completed_flows
    inner join completions
        on completed_flows.flow_id = completions.flow_id
    where completions.completion_number = 1

),

counts as (

    select
        day,
        service,
        cast(count(*) as {{ dbt.type_bigint() }}) as completed_flows,
        max(_loaded_at) as _loaded_at
    from connection_times
    group by day, service

),

percentiles as (

    select
        day,
        service,
        {{ fxa_metrics.percentile_cont('connection_seconds', 0.5) }} as p50_seconds,
        {{ fxa_metrics.percentile_cont('connection_seconds', 0.9) }} as p90_seconds
    from connection_times
    group by day, service

),

daily as (

    select
        counts.day,
        counts.service,
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

),

{{ fxa_metrics.flow_kpi_emptied_days([
    ['service', 'cast(null as varchar)'],
    ['completed_flows', 'cast(0 as ' ~ dbt.type_bigint() ~ ')'],
    ['p50_seconds', 'cast(null as double precision)'],
    ['p90_seconds', 'cast(null as double precision)'],
    ['_loaded_at', 'cast(null as ' ~ dbt.type_timestamp() ~ ')'],
]) }}

final as (

    select
        day,
        service,
        completed_flows,
        p50_seconds,
        p90_seconds,
        _loaded_at
    from daily
    {% if is_incremental() %}
        union all
        select
            day,
            service,
            completed_flows,
            p50_seconds,
            p90_seconds,
            _loaded_at
        from emptied_days
    {% endif %}

)

select * from final
