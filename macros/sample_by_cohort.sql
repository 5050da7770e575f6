{#
    The body of a sampled model (models/marts/sampled/): the rows of `parent` whose
    id_cohort(id_column) < rate, kept incrementally with the parent's own unit of recomputation.

    - Full build: every parent row of the cohort.
    - Incremental (delete+insert on `unit_column`, the parent's unique_key): the units the
      parent rebuilt since the sample's last build are those holding a row with
      `_loaded_at` > the sample's watermark (the parent recomputes a unit from all its raw rows,
      and any new raw row raises `_loaded_at` of the row it lands in); all of the parent's
      rows of those units in the cohort are selected again. So the sample always equals the
      cohort's slice of the parent, which a full build also gives.

    Arguments: parent (a ref), id_column (`flow_id` or `uid`), rate (10, 50: the percentage),
    unit_column (the parent's unique_key, quoted if need be), columns (explicit output list).
#}

{% macro sample_by_cohort(parent, id_column, rate, unit_column, columns) %}
    {{- return(adapter.dispatch('sample_by_cohort', 'fxa_metrics')(
        parent, id_column, rate, unit_column, columns)) -}}
{% endmacro %}

{% macro default__sample_by_cohort(parent, id_column, rate, unit_column, columns) %}
{%- if rate is not number or rate < 1 or rate > 99 -%}
    {{ exceptions.raise_compiler_error(
        "sample_by_cohort: rate must be a percentage 1..99, got: " ~ rate) }}
{%- endif %}

with

parent as (

    select * from {{ parent }}

),

{% if is_incremental() -%}

touched_units as (

    select distinct {{ unit_column }}
    from parent
    where {{ fxa_metrics.loaded_after_watermark('_loaded_at', '_loaded_at') }}
    {%- if unit_column == id_column %}
        and {{ fxa_metrics.id_cohort(id_column) }} < {{ rate }}
    {%- endif %}

),

rows_in_scope as (

    select parent.*
    from parent
    inner join touched_units
        on parent.{{ unit_column }} = touched_units.{{ unit_column }}
    {#- a constant range first, so Redshift's zone maps skip blocks when the unit is the sort key #}
    where
        parent.{{ unit_column }} >= (select min({{ unit_column }}) from touched_units)
        and parent.{{ unit_column }} <= (select max({{ unit_column }}) from touched_units)

),

{%- else -%}

rows_in_scope as (

    select * from parent

),

{%- endif %}

final as (

    select
        {%- for column in columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from rows_in_scope
    where {{ fxa_metrics.id_cohort(id_column) }} < {{ rate }}

)

select * from final
{%- endmacro %}
