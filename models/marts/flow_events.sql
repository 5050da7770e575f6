{%- set recompute = {'changes': 'flow', 'unit': 'flow_id'} %}
{%- set lookaround_hours = fxa_metrics.flow_lookaround_hours() %}
{{ fxa_metrics.recompute_config(recompute, dist='flow_id', sort='"timestamp"') }}

{#
    One row per distinct flow event: (flow_id, type, timestamp, flow_time). Identical log lines
    (duplicates, files loaded twice) collapse here, on the slice of touched flows, not in
    staging. Recompute unit: the flow, rebuilt from all of its raw rows. See _marts__models.yml.
#}

with

events as (

    select * from {{ ref('stg_fxa__flow_events') }}

),

events_in_scope as (

    select
        "timestamp",
        flow_time,
        flow_id,
        type,
        loaded_at
    from events
    where
        {{ fxa_metrics.changed_time_range('"timestamp"', lookaround_hours, recompute) }}
        and {{ fxa_metrics.touched('flow_id', recompute) }}

),

deduplicated as (

    select
        "timestamp",
        flow_time,
        flow_id,
        type,
        max(loaded_at) as _loaded_at
    from events_in_scope
    group by
        "timestamp",
        flow_time,
        flow_id,
        type

),

final as (

    select
        cast("timestamp" as {{ dbt.type_timestamp() }}) as "timestamp",
        cast(flow_time as {{ dbt.type_bigint() }}) as flow_time,
        cast(flow_id as varchar(64)) as flow_id,
        cast(type as varchar(8192)) as type,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from deduplicated

)

select * from final
{{ fxa_metrics.storage_order('"timestamp"') }}
