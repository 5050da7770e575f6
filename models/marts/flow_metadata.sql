{%- set recompute = {'changes': 'flow', 'unit': 'flow_id'} %}
{%- set lookaround_hours = fxa_metrics.flow_lookaround_hours() %}
{{ fxa_metrics.recompute_config(recompute, dist='flow_id', sort='begin_time') }}

{#
    One row per flow_id with at least one `flow.begin` event, computed from all of the flow's
    raw rows (recompute unit: the flow). See _marts__models.yml for the tie-breaks, and
    docs/data-contract.md for flow_kind: the first sign-up or sign-in view decides.
#}

{%- set attribute_columns = [
    'ua_browser', 'ua_version', 'ua_os', 'context', 'entrypoint', 'migration', 'service',
    'utm_campaign', 'utm_content', 'utm_medium', 'utm_source', 'utm_term',
] -%}
{#- The kind of the flow's deciding views (NULL on other events): its first non-NULL value by
    the same order is the kind of the first deciding view. -#}
{%- set first_value_columns = attribute_columns + ['intent_kind'] -%}
{#- One window order for all attributes, so that the engine sorts each flow once (3-4x faster
    on DuckDB than one order per attribute): the data contract's (timestamp, flow_time, type),
    then the attribute values themselves, which only matter for the same event logged with
    different attributes. Rows tied on all of it carry the same values, so the first non-NULL
    value never depends on load or row order. #}
{%- set event_order = '"timestamp", flow_time nulls last, type, '
    ~ (first_value_columns | join(' nulls last, ')) ~ ' nulls last' %}
{%- set first_value_ignore_nulls = fxa_metrics.first_value_ignore_nulls %}
{#- Where the engine has the aggregate (DuckDB), each first value is one aggregate of the flow's
    group, over the events ranked once by that order; elsewhere a window over the flow, then the
    GROUP BY. Same values either way (macros/first_value_ignore_nulls.sql). #}
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

view_kinds as (

    select
        {{ dbt.concat(["'flow.'", 'view', "'.view'"]) }} as type,
        flow_kind
    from {{ ref('flow_view_kinds') }}

),

events_in_scope as (

    select
        events.*,
        view_kinds.flow_kind as intent_kind
    from events
    left join view_kinds
        on events.type = view_kinds.type
    where
        {{ fxa_metrics.changed_time_range('events."timestamp"', lookaround_hours, recompute) }}
        and {{ fxa_metrics.touched('events.flow_id', recompute) }}

),

{# Identical duplicates need no removal here: they change no minimum, maximum or first value. #}
{%- if by_aggregate %}
ranked_events as (

    select
        *,
        row_number() over (partition by flow_id order by {{ event_order }}) as event_rank
    from events_in_scope

),
{%- else %}
first_attribute_values as (

    select
        flow_id,
        "timestamp",
        flow_time,
        type,
        {%- for column in first_value_columns %}
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
        max(case when type = 'account.login' then 1 else 0 end) = 1 as has_account_login,
        {%- for column in first_value_columns %}
        {%- if by_aggregate %}
        {{ fxa_metrics.first_value_ignore_nulls_agg(column, 'event_rank') }} as {{ column }},
        {%- else %}
        {#- constant within a flow: max() only picks it #}
        max(first_{{ column }}) as {{ column }},
        {%- endif %}
        {%- endfor %}
        max(loaded_at) as _loaded_at
    from {{ 'ranked_events' if by_aggregate else 'first_attribute_values' }}
    group by flow_id

),

final as (

    select
        cast(flow_id as varchar(64)) as flow_id,
        cast(begin_time as {{ dbt.type_timestamp() }}) as begin_time,
        cast(duration as {{ dbt.type_bigint() }}) as duration,
        cast(completed as {{ dbt.type_boolean() }}) as completed,
        cast(new_account as {{ dbt.type_boolean() }}) as new_account,
        cast(
            case
                when intent_kind is not null then intent_kind
                when new_account then 'sign_up'
                when has_account_login then 'sign_in'
                else 'unknown'
            end as varchar(16)
        ) as flow_kind,
        {%- for column in attribute_columns %}
        cast({{ column }} as varchar({{ attribute_lengths.get(column, 1024) }})) as {{ column }},
        {%- endfor %}
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from flows
    where begin_time is not null

)

select * from final
{{ fxa_metrics.storage_order('begin_time') }}
