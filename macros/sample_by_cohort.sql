{#
    The body of a sampled model (models/marts/sampled/): the rows of `parent` whose
    id_cohort(<id>) < rate, every column of the parent, kept by the recompute strategy with the
    parent's own unit: the sample always equals the cohort's slice of the parent.

        {{ fxa_metrics.sample_by_cohort('flow_events', 10) }}

    Arguments: parent (the name of flow_events, flow_metadata or activity_events), rate (the
    percentage, 1..99). The columns are the parent's documented columns (its YAML, which the
    docs coverage test keeps complete), read from the project graph.
#}

{% macro sample_by_cohort(parent, rate) %}
    {{- return(adapter.dispatch('sample_by_cohort', 'fxa_metrics')(parent, rate)) -}}
{% endmacro %}

{% macro default__sample_by_cohort(parent, rate) %}
{#- The parent's id column (the cohort), its recompute unit, how changes touch it, and its time
    column (sort key): the touched rows lie within the flow lookaround of a change (flows) or
    at a changed timestamp (activity), so a range on it prunes the scan. -#}
{%- set parents = {
    'flow_events': {'id': 'flow_id', 'unit': 'flow_id', 'changes': 'flow', 'sort': '"timestamp"'},
    'flow_metadata': {'id': 'flow_id', 'unit': 'flow_id', 'changes': 'flow', 'sort': 'begin_time'},
    'activity_events': {
        'id': 'uid', 'unit': 'timestamp', 'changes': 'activity', 'sort': '"timestamp"'},
} -%}
{%- set parent_name = parent -%}
{%- if parent_name not in parents -%}
    {{ exceptions.raise_compiler_error(
        "sample_by_cohort: no sampling defined for " ~ parent_name ~ " (macros/sample_by_cohort.sql)") }}
{%- endif -%}
{%- if rate is not number or rate < 1 or rate > 99 -%}
    {{ exceptions.raise_compiler_error(
        "sample_by_cohort: rate must be a percentage 1..99, got: " ~ rate) }}
{%- endif -%}
{%- set sampling = parents[parent_name] -%}
{%- set unit = adapter.quote(sampling['unit']) if sampling['unit'] == 'timestamp' else sampling['unit'] -%}
{%- set recompute = {'changes': sampling['changes'], 'unit': sampling['unit']} -%}
{{ fxa_metrics.recompute_config(recompute, dist=sampling['id'], sort=sampling['sort']) }}
{%- set columns = [] -%}
{%- if execute -%}
    {%- for column in graph.nodes['model.fxa_metrics.' ~ parent_name].columns.values() -%}
        {%- do columns.append(adapter.quote(column.name)) -%}
    {%- endfor -%}
{%- else -%}
    {%- do columns.append('*') -%}
{%- endif %}

with

parent as (

    select * from {{ ref(parent_name) }}

),

final as (

    select
        {%- for column in columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from parent
    where
        {{ fxa_metrics.changed_time_range(
            sampling['sort'],
            fxa_metrics.flow_lookaround_hours() if sampling['changes'] == 'flow' else 0,
            recompute) }}
        {%- if sampling['id'] == sampling['unit'] and is_incremental() %}
        {#- The cohort is a property of the unit: it narrows the touched units (the changes,
            a few rows) rather than the parent's scan. Measured on DuckDB, 30 days x 30,000
            flows a day: a cohort test on the parent kept its time range and the touched flows
            from being pushed into its scan (all row groups read, 1.4 s); tested on the
            changes, the scan reads only the touched flows' row groups (0.3 s). #}
        and {{ fxa_metrics.touched(
            unit, recompute,
            changed_filter=fxa_metrics.id_cohort('changed.' ~ sampling['id']) ~ ' < ' ~ rate) }}
        {%- else %}
        and {{ fxa_metrics.id_cohort(sampling['id']) }} < {{ rate }}
        and {{ fxa_metrics.touched(unit, recompute) }}
        {%- endif %}

)

select * from final
{{ fxa_metrics.storage_order(sampling['sort']) }}
{%- endmacro %}
