{#
    The flow models' unit of recomputation is a flow: on an incremental run every flow touched
    by raw rows loaded after the mart's watermark is rebuilt from ALL of its raw rows, so the
    result equals a full rebuild whatever order files arrive in (CONTRACT.md section 3).

    `flow_recompute_scope(events)` is a predicate over the rows of `events` (a relation or CTE
    with the staging columns `flow_id`, `"timestamp"`, `loaded_at`) keeping exactly those
    rows. Two filters keep the scan proportional to what was touched, never to the history:

      - a constant time range: from the earliest new row's timestamp minus
        `var('flow_lookaround_hours')` to the latest one's plus the same margin. A flow id
        lives two hours (spec, train 71/73), so every event of a touched flow lies within two
        hours of any of its new rows; the default margin (24 h) is generous on purpose. The
        range is a scalar on both ends, so a sort key / zone map on `timestamp` prunes it.
      - a semi-join on the touched flow ids.

    On a full refresh (or the first run) it is `1 = 1`. Given `relation` (the relation behind
    `events`), the range is read before the model runs and written in as two constants, and the touched flow ids
    are read from `relation` (so that `events`, a CTE, is referenced once).

    The step is a macro rather than an intermediate model: an ephemeral model is compiled in
    its own context, where `is_incremental()` and `this` do not refer to the mart, and unit
    tests can then give the marts plain staging rows.
#}
{% macro flow_recompute_scope(events, relation=none) %}
    {{ return(adapter.dispatch('flow_recompute_scope', 'fxa_metrics')(events, relation)) }}
{% endmacro %}

{% macro default__flow_recompute_scope(events, relation=none) -%}
    {%- if is_incremental() -%}
        {%- set margin_hours = var('flow_lookaround_hours', 24) | int -%}
        {%- if margin_hours < 2 -%}
            {{ exceptions.raise_compiler_error(
                "var('flow_lookaround_hours') must be at least 2 (a flow id lives two hours), got "
                ~ margin_hours) }}
        {%- endif -%}
        {%- set new_rows = ' where ' ~ fxa_metrics.loaded_after_watermark('loaded_at') -%}
        {%- set bounds = none if relation is none else fxa_metrics.new_rows_bounds(
            relation,
            dbt.dateadd('hour', -margin_hours, 'min("timestamp")'),
            dbt.dateadd('hour', margin_hours, 'max("timestamp")'),
            'loaded_at',
        ) -%}
        {%- if bounds is not none -%}
        {#- the range read once and written in as constants (see watermark()), so that the
            scan of `events` prunes by its zone maps #}
        "timestamp" >= {{ bounds[0] }}
        and "timestamp" <= {{ bounds[1] }}
        and flow_id in (select touched.flow_id from {{ relation }} as touched {{ new_rows }})
        {%- else -%}
        {#- each subquery gets its own alias (sqlfluff AL04) #}
        "timestamp" >= (
            select {{ dbt.dateadd('hour', -margin_hours, 'min(window_start."timestamp")') }}
            from {{ events }} as window_start {{ new_rows }}
        )
        and "timestamp" <= (
            select {{ dbt.dateadd('hour', margin_hours, 'max(window_end."timestamp")') }}
            from {{ events }} as window_end {{ new_rows }}
        )
        and flow_id in (select touched.flow_id from {{ events }} as touched {{ new_rows }})
        {%- endif -%}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
