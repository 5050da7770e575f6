{#
    A sampled model holds exactly the parent's rows of the ids in the cohort: for every id with
    id_cohort(id) < rate, the sample has as many rows as the parent, and no other id appears.
    So an id (a flow, a user) is wholly in or wholly out, and the rate is the documented one.
    When the sample keeps fewer days than its parent (retention_days), only the parent's rows
    from the sample's cut-off on are expected.
    Fails with one row per offending id (its row counts in parent and sample).
#}
{% test sampled_by_cohort(model, parent, id_column, rate) %}
    {{ return(adapter.dispatch('test_sampled_by_cohort', 'fxa_metrics')(
        model, parent, id_column, rate)) }}
{% endtest %}

{% macro default__test_sampled_by_cohort(model, parent, id_column, rate) %}
{%- set days = fxa_metrics.retention_effective_days(model.identifier) %}

with

parent_rows as (

    select
        {{ id_column }} as id,
        count(*) as row_count
    from {{ parent }}
    where
        {{ fxa_metrics.id_cohort(id_column) }} < {{ rate }}
        {%- if days is not none %}
        {#- the sample may keep fewer days than its parent (macros/retention.sql) #}
        and not ({{ fxa_metrics.retention_dropped(
            parent, model.identifier, fxa_metrics.retention_cutoff_date(days)) }})
        {%- endif %}
    group by {{ id_column }}

),

sample_rows as (

    select
        {{ id_column }} as id,
        count(*) as row_count
    from {{ model }}
    group by {{ id_column }}

),

validation_errors as (

    select
        coalesce(parent_rows.id, sample_rows.id) as id,
        parent_rows.row_count as parent_row_count,
        sample_rows.row_count as sample_row_count
    from parent_rows
    full outer join sample_rows
        on parent_rows.id = sample_rows.id
    where
        parent_rows.row_count is null
        or sample_rows.row_count is null
        or parent_rows.row_count != sample_rows.row_count

)

select * from validation_errors
{% endmacro %}
