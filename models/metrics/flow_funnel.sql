{%- set recompute = {'changes': 'flow', 'unit': 'flow_id'} %}
{%- set lookaround_hours = fxa_metrics.flow_lookaround_hours() %}
{{ fxa_metrics.recompute_config(recompute, dist='flow_id', sort='begin_time') }}

{#
    One row per flow of flow_metadata (flows with a `flow.begin`): its day, intent
    (flow_kind), attributes, the funnel steps it reached, whether it completed and how long
    that took. The table to slice funnels by any dimension; kpi_flow_funnel_daily and
    kpi_device_connection_time_daily aggregate it. Recompute unit: the flow.
#}

{%- set steps = fxa_metrics.funnel_steps() %}
{%- set quoted_steps = "'" ~ steps | join("', '") ~ "'" %}

with

flow_metadata as (

    select * from {{ ref('flow_metadata') }}

),

flow_events as (

    select * from {{ ref('flow_events') }}

),

catalogue as (

    select
        event_pattern,
        match_kind,
        funnel_step
    from {{ ref('flow_event_catalogue') }}
    where funnel_step in ({{ quoted_steps }})

),

services as (

    select
        service,
        service_name
    from {{ ref('oauth_services') }}

),

flows as (

    select *
    from flow_metadata
    where {{ fxa_metrics.touched('flow_id', recompute) }}

),

events_of_flows as (

    select
        flow_id,
        type,
        "timestamp",
        flow_time
    from flow_events
    where
        {{ fxa_metrics.changed_time_range('"timestamp"', lookaround_hours, recompute) }}
        and {{ fxa_metrics.touched('flow_id', recompute) }}

),

{# Match each distinct event name once against the catalogue (names for `exact` rows, LIKE
   patterns for `like` rows: a small cross join), then join the events on the name. #}
event_types as (

    select distinct type
    from events_of_flows

),

event_type_steps as (

    select distinct
        event_types.type,
        catalogue.funnel_step
    from event_types
    inner join catalogue
        on
            (catalogue.match_kind = 'exact' and event_types.type = catalogue.event_pattern)
            or (catalogue.match_kind = 'like' and event_types.type like catalogue.event_pattern)

),

flow_steps as (

    select
        {%- for step in steps %}
        max(case when event_type_steps.funnel_step = '{{ step }}' then 1 else 0 end)
            as reached_{{ step }},
        {%- endfor %}
        events_of_flows.flow_id
    from events_of_flows
    left join event_type_steps
        on events_of_flows.type = event_type_steps.type
    group by events_of_flows.flow_id

),

{# The first flow.complete of each flow (by timestamp, then flow_time): its flow_time is the
   time the flow took to complete. #}
completions as (

    select
        flow_id,
        flow_time,
        row_number() over (
            partition by flow_id
            order by "timestamp", flow_time
        ) as completion_number
    from events_of_flows
    where type = 'flow.complete'

),

first_completions as (

    select
        flow_id,
        flow_time
    from completions
    where completion_number = 1

),

final as (

    select
        cast(flows.flow_id as varchar(64)) as flow_id,
        cast(flows.begin_time as date) as day,
        flows.begin_time,
        flows.flow_kind,
        flows.service,
        cast(services.service_name as varchar(256)) as service_name,
        flows.entrypoint,
        flows.context,
        flows.migration,
        flows.utm_campaign,
        flows.utm_content,
        flows.utm_medium,
        flows.utm_source,
        flows.utm_term,
        flows.ua_browser,
        flows.ua_version,
        flows.ua_os,
        {%- for step in steps %}
        cast(coalesce(flow_steps.reached_{{ step }}, 0) = 1 as {{ dbt.type_boolean() }})
            as reached_{{ step }},
        {%- endfor %}
        flows.completed,
        cast(first_completions.flow_time as double precision) / 1000 as seconds_to_complete,
        flows._loaded_at
    from flows
    left join flow_steps
        on flows.flow_id = flow_steps.flow_id
    left join first_completions
        on flows.flow_id = first_completions.flow_id
    left join services
        on flows.service = services.service

)

select * from final
{{ fxa_metrics.storage_order('begin_time') }}
