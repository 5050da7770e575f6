{#
    The funnel steps of macros/funnel_steps.sql and the `funnel_step` column of the
    flow_event_catalogue seed must agree: a step named in the seed but unknown to the macro
    would be silently dropped from kpi_flow_funnel_daily, and a step of the macro with no
    event in the seed would always count zero.
#}
{%- set known_steps = fxa_metrics.funnel_steps() + fxa_metrics.funnel_end_steps() %}

with

catalogue_steps as (

    select distinct funnel_step
    from {{ ref('flow_event_catalogue') }}
    where funnel_step is not null and funnel_step != ''

),

known_steps as (

    {% for step in known_steps %}
    select cast('{{ step }}' as {{ dbt.type_string() }}) as funnel_step
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

unknown_in_seed as (

    select
        catalogue_steps.funnel_step,
        'in the seed, not in macro funnel_steps()' as problem
    from catalogue_steps
    left join known_steps
        on catalogue_steps.funnel_step = known_steps.funnel_step
    where known_steps.funnel_step is null

),

missing_from_seed as (

    select
        known_steps.funnel_step,
        'in macro funnel_steps(), no event in the seed' as problem
    from known_steps
    left join catalogue_steps
        on known_steps.funnel_step = catalogue_steps.funnel_step
    where catalogue_steps.funnel_step is null

),

validation_errors as (

    select * from unknown_in_seed
    union all
    select * from missing_from_seed

)

select * from validation_errors
