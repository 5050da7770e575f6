{#
    Redash chart "Sign-in / sign-up funnel by step" (dashboard: FxA funnels): one bar per
    funnel step and flow kind, flows summed over the last 28 days of data, steps in funnel
    order. The steps come from macros/funnel_steps.sql, as in the KPI table; the compiled
    query (target/compiled/.../analyses/funnel_by_step.sql) is what gets pasted into Redash.
#}
{%- set steps = ['begun'] + fxa_metrics.funnel_steps() + ['completed'] %}

with

funnel as (

    select *
    from {{ ref('kpi_flow_funnel_daily') }}
    where day > (
        select {{ dbt.dateadd('day', -28, 'max(day)') }}
        from {{ ref('kpi_flow_funnel_daily') }}
    )

),

steps as (

    {% for step in steps %}
    select
        {{ loop.index }} as step_order,
        '{{ step }}' as step,
        flow_kind,
        sum(flows_{{ step }}) as flows
    from funnel
    group by flow_kind
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        steps.step_order,
        steps.step,
        steps.flow_kind,
        steps.flows,
        round(100.0 * steps.flows / nullif(begun.flows, 0), 1) as percent_of_begun
    from steps
    inner join steps as begun
        on steps.flow_kind = begun.flow_kind and begun.step = 'begun'

)

select * from final
order by flow_kind, step_order
