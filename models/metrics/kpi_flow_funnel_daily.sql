{#
    Sign-in and sign-up funnels: one row per (day, flow_kind), day = UTC date of begin_time.

    Incremental by day. A flow touched by a load (its flow_metadata row has a newer
    `_loaded_at`) affects the day it begins on now, and the day it began on before if an
    earlier `flow.begin` arrived late: both are days of one of its `flow.begin` events, so the
    affected days are the days of the touched flows' `flow.begin` events. Those days are
    recomputed from all their flows (delete+insert on `day`). An affected day left with no flow
    at all gets a placeholder row (flows_begun = 0) so that delete+insert clears its old rows;
    the post-hook then deletes the placeholder (a full rebuild never has such a day).
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
        post_hook=["delete from {{ this }} where flows_begun = 0"],
        dist=('all' if target.type == 'redshift' else none),
        sort=(['day'] if target.type == 'redshift' else none),
    )
}}

{%- set steps = fxa_metrics.funnel_steps() %}
{%- set quoted_steps = "'" ~ steps | join("', '") ~ "'" %}

with

flow_metadata as (

    select
        flow_id,
        begin_time,
        completed,
        new_account,
        _loaded_at
    from {{ ref('flow_metadata') }}

),

flow_events as (

    select
        flow_id,
        type,
        "timestamp"
    from {{ ref('flow_events') }}

),

catalogue as (

    select
        event_pattern,
        match_kind,
        funnel_step
    from {{ ref('flow_event_catalogue') }}
    where funnel_step in ({{ quoted_steps }})

),

{{ fxa_metrics.flow_kpi_affected_days('flow_metadata', 'flow_events') }}

flows as (

    select
        flow_id,
        cast(begin_time as date) as day,
        completed,
        new_account,
        _loaded_at
    from flow_metadata
    {% if is_incremental() %}
        where
            begin_time >= (
                select cast(min(affected_days.day) as {{ dbt.type_timestamp() }})
                from affected_days
            )
            and cast(begin_time as date) in (select affected_days.day from affected_days)
    {% endif %}

),

{# Events of the selected flows. A flow's events follow its begin by at most its lifetime
   (two hours), but clocks of the two servers differ, so the range prune allows a day. #}
events_range as (

    select
        {{ dbt.dateadd('day', -1, 'cast(min(day) as ' ~ dbt.type_timestamp() ~ ')') }}
            as first_timestamp
    from flows

),

flow_events_of_flows as (

    select
        flow_events.flow_id,
        flow_events.type
    from flow_events
    inner join flows
        on flow_events.flow_id = flows.flow_id
    where flow_events."timestamp" >= (select events_range.first_timestamp from events_range)

),

{# Match each distinct event name once against the catalogue (names for `exact` rows, LIKE
   patterns for `like` rows: a small cross join), then join the events on the name, an
   equi-join instead of a LIKE per event. #}
event_types as (

    select distinct type
    from flow_events_of_flows

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
        flow_events_of_flows.flow_id,
        {% for step in steps %}
        max(case when event_type_steps.funnel_step = '{{ step }}' then 1 else 0 end)
            as reached_{{ step }},
        {% endfor %}
        max(case when flow_events_of_flows.type = 'account.login' then 1 else 0 end)
            as has_account_login
    from flow_events_of_flows
    left join event_type_steps
        on flow_events_of_flows.type = event_type_steps.type
    group by flow_events_of_flows.flow_id

),

flows_classified as (

    select
        flows.day,
        cast(
            case
                when flows.new_account then 'sign_up'
                when flow_steps.has_account_login = 1 then 'sign_in'
                else 'unknown'
            end as varchar
        ) as flow_kind,
        case when flows.completed then 1 else 0 end as is_completed,
        {% for step in steps %}
        coalesce(flow_steps.reached_{{ step }}, 0) as reached_{{ step }},
        {% endfor %}
        flows._loaded_at
    from flows
    left join flow_steps
        on flows.flow_id = flow_steps.flow_id

),

daily as (

    select
        day,
        flow_kind,
        cast(count(*) as {{ dbt.type_bigint() }}) as flows_begun,
        cast(sum(is_completed) as {{ dbt.type_bigint() }}) as flows_completed,
        {% for step in steps %}
        cast(sum(reached_{{ step }}) as {{ dbt.type_bigint() }}) as flows_{{ step }},
        {% endfor %}
        max(_loaded_at) as _loaded_at
    from flows_classified
    group by day, flow_kind

),

{%- set step_placeholders = [] %}
{%- for step in steps %}
{%- do step_placeholders.append(['flows_' ~ step, 'cast(0 as ' ~ dbt.type_bigint() ~ ')']) %}
{%- endfor %}
{{ fxa_metrics.flow_kpi_emptied_days([
    ['flow_kind', "cast('unknown' as varchar)"],
    ['flows_begun', 'cast(0 as ' ~ dbt.type_bigint() ~ ')'],
    ['flows_completed', 'cast(0 as ' ~ dbt.type_bigint() ~ ')'],
] + step_placeholders + [
    ['_loaded_at', 'cast(null as ' ~ dbt.type_timestamp() ~ ')'],
]) }}

final as (

    select
        day,
        flow_kind,
        flows_begun,
        flows_completed,
        {% for step in steps %}
        flows_{{ step }},
        {% endfor %}
        _loaded_at
    from daily
    {% if is_incremental() %}
        union all
        select
            day,
            flow_kind,
            flows_begun,
            flows_completed,
            {% for step in steps %}
                flows_{{ step }},
            {% endfor %}
            _loaded_at
        from emptied_days
    {% endif %}

)

select * from final
