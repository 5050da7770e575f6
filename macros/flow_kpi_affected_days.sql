{#
    The days an incremental run of a flow KPI (kpi_flow_funnel_daily,
    kpi_device_connection_time_daily) recomputes, as two CTEs to splice into the model's
    `with` list:

      - touched_flows: the flows of `flow_metadata` rebuilt since the KPI's watermark;
      - affected_days: every day on which one of those flows has a `flow.begin` event. A late
        `flow.begin` can move a flow's begin_time to an earlier day, so the day it used to be
        counted on must be recomputed too: hence all of its begin events, not only the
        earliest.

    `flow_metadata` and `flow_events` name the model's import CTEs (columns flow_id,
    begin_time, _loaded_at and flow_id, type, "timestamp"). Renders nothing on a full refresh.
#}
{% macro flow_kpi_affected_days(flow_metadata, flow_events) %}
{%- if is_incremental() %}
touched_flows as (

    select
        flow_id,
        begin_time
    from {{ flow_metadata }}
    where {{ fxa_metrics.loaded_after_watermark('_loaded_at') }}

),

affected_days as (

    select distinct cast({{ flow_events }}."timestamp" as date) as day
    from {{ flow_events }}
    inner join touched_flows
        on {{ flow_events }}.flow_id = touched_flows.flow_id
    where
        {{ flow_events }}.type = 'flow.begin'
        and {{ flow_events }}."timestamp" >= (
            select min(touched_flows.begin_time) from touched_flows
        )

),
{%- endif %}
{% endmacro %}
