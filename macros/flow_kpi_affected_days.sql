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

{#
    flow_kpi_emptied_days(placeholders): on an incremental run, the CTE `emptied_days`: one
    placeholder row for each affected day (from `affected_days`) left without any row in the
    model's `daily` CTE, so that delete+insert on `day` clears the day's old rows; the model's
    post-hook then deletes the placeholders. `placeholders` lists the model's other columns
    in order as [column, expression] pairs. Renders nothing on a full refresh.
#}
{% macro flow_kpi_emptied_days(placeholders) %}
{%- if is_incremental() %}
emptied_days as (

    select
        affected_days.day,
        {%- for column, expression in placeholders %}
        {{ expression }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from affected_days
    left join (select distinct daily.day from daily) as days_with_flows
        on affected_days.day = days_with_flows.day
    where days_with_flows.day is null

),
{%- endif %}
{% endmacro %}
