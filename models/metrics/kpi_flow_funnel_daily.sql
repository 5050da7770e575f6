{%- set margin_days = fxa_metrics.flow_day_margin() %}
{%- set recompute = {
            'changes': 'flow', 'unit': 'day',
            'days_before': margin_days, 'days_after': margin_days,
        } %}
{{ fxa_metrics.recompute_config(recompute, dist='all', sort=['day']) }}

{#
    Sign-in and sign-up funnels: one row per (day, flow_kind), day = UTC date of begin_time,
    flow_kind = the flow's intent. Aggregates flow_funnel. Recompute unit: the day; a changed
    flow event touches the days within the flow lookaround of it, where the flow's begin day
    was and is.
#}

{%- set steps = fxa_metrics.funnel_steps() %}

with

flow_funnel as (

    select * from {{ ref('flow_funnel') }}

),

flows as (

    select *
    from flow_funnel
    where {{ fxa_metrics.touched('day', recompute) }}

),

final as (

    select
        day,
        cast(flow_kind as varchar(16)) as flow_kind,
        cast(count(*) as {{ dbt.type_bigint() }}) as flows_begun,
        cast(sum(case when completed then 1 else 0 end) as {{ dbt.type_bigint() }})
            as flows_completed,
        {%- for step in steps %}
        cast(sum(case when reached_{{ step }} then 1 else 0 end) as {{ dbt.type_bigint() }})
            as flows_{{ step }},
        {%- endfor %}
        max(_loaded_at) as _loaded_at
    from flows
    group by
        day,
        flow_kind

)

select * from final
