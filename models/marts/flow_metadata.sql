{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flow_id',
        on_schema_change='fail',
        dist=('flow_id' if target.type == 'redshift' else none),
        sort=('begin_time' if target.type == 'redshift' else none),
    )
}}

{#
    One row per flow_id with at least one `flow.begin` event, computed from all of the flow's
    raw rows (CONTRACT.md section 3). See _marts__models.yml for the tie-breaks.
#}

{%- set attribute_columns = [
    'ua_browser', 'ua_version', 'ua_os', 'context', 'entrypoint', 'migration', 'service',
    'utm_campaign', 'utm_content', 'utm_medium', 'utm_source', 'utm_term',
] -%}
{#- One window order for all attributes, so that the engine sorts each flow once (3-4x faster
    on DuckDB than one order per attribute): CONTRACT's (timestamp, flow_time, type), then the
    attribute values themselves, which only matter for the same event logged with different
    attributes. Rows tied on all of it carry the same values, so the first non-NULL value never
    depends on load or row order. #}
{%- set event_order = '"timestamp", flow_time nulls last, type, '
    ~ (attribute_columns | join(' nulls last, ')) ~ ' nulls last' %}
{%- set first_value_ignore_nulls = fxa_metrics.first_value_ignore_nulls %}
{#- Where the engine has an ordered aggregate (DuckDB), each first value is one aggregate of the
    flow's group, by the same order; elsewhere a window over the flow, then the GROUP BY. Same
    values either way (macros/first_value_ignore_nulls.sql). #}
{%- set by_aggregate = fxa_metrics.has_first_value_ignore_nulls_agg() %}
{#- String sizes as Redshift needs them (VARCHAR counts bytes: 4 x the loader's character
    limits of scripts/fxa_pipeline/raw_schema.py); DuckDB ignores them, Postgres never hits them. #}
{%- set attribute_lengths = {
    'utm_campaign': 400, 'utm_content': 400, 'utm_medium': 400, 'utm_source': 400,
    'utm_term': 400,
} %}

with

events as (

    select * from {{ ref('stg_fxa__flow_events') }}

),

events_in_scope as (

    select * from events
    where {{ fxa_metrics.flow_recompute_scope('events', ref('stg_fxa__flow_events')) }}

),

{# Identical duplicates need no removal here: they change no minimum, maximum or first value. #}
{%- if not by_aggregate %}
first_attribute_values as (

    select
        flow_id,
        "timestamp",
        flow_time,
        type,
        {%- for column in attribute_columns %}
        {{ first_value_ignore_nulls(column, 'flow_id', event_order) }} as first_{{ column }},
        {%- endfor %}
        loaded_at
    from events_in_scope

),
{%- endif %}

flows as (

    select
        flow_id,
        min(case when type = 'flow.begin' then "timestamp" end) as begin_time,
        max(flow_time) as duration,
        max(case when type = 'flow.complete' then 1 else 0 end) = 1 as completed,
        max(case when type = 'account.created' then 1 else 0 end) = 1 as new_account,
        {%- for column in attribute_columns %}
        {%- if by_aggregate %}
        {{ fxa_metrics.first_value_ignore_nulls_agg(column, event_order) }} as {{ column }},
        {%- else %}
        {#- constant within a flow: max() only picks it #}
        max(first_{{ column }}) as {{ column }},
        {%- endif %}
        {%- endfor %}
        max(loaded_at) as _loaded_at
    from {{ 'events_in_scope' if by_aggregate else 'first_attribute_values' }}
    group by flow_id

),

final as (

    select
        cast(flow_id as varchar(64)) as flow_id,
        cast(begin_time as {{ dbt.type_timestamp() }}) as begin_time,
        cast(duration as {{ dbt.type_bigint() }}) as duration,
        cast(completed as {{ dbt.type_boolean() }}) as completed,
        cast(new_account as {{ dbt.type_boolean() }}) as new_account,
        {%- for column in attribute_columns %}
        cast({{ column }} as varchar({{ attribute_lengths.get(column, 1024) }})) as {{ column }},
        {%- endfor %}
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from flows
    where begin_time is not null

)

select * from final
