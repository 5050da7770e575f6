{#
    Retention of the analytics event tables: `retention_delete()` is the post-hook of every
    model in models/marts (dbt_project.yml) and deletes the rows older than the model's
    retention; with no retention set (the default) it renders nothing and no statement runs.

    vars (dbt_project.yml, or --vars):
      retention_days: {<model name>: <days kept> | null, ...}   default {}: keep everything
      retention_reference_date: 'YYYY-MM-DD' | null             default null: the UTC date the
                                                                 dbt invocation started
    A model keeping K days keeps the rows whose time column is on or after
    reference date - (K - 1) days: K = 1 keeps only the reference day.

    Deterministic, and equal to a full rebuild: the cut-off is a date literal computed once per
    dbt invocation (from `run_started_at`, never the database clock), the same on every target,
    and the post-hook runs after full and incremental builds alike, so both leave exactly the
    rows on or after the cut-off. Rows an incremental run recomputes for old units (late data)
    are deleted again by the same hook. A model built from another retained model cannot keep
    more than its input still holds, or a full rebuild (reading the trimmed input) would differ
    from the incremental history; so the EFFECTIVE retention is the smallest of:
      - the model's own `retention_days` entry;
      - for daily_activity_per_device: that of activity_events (its input);
      - for daily_multi_device_users: that of daily_activity_per_device minus
        `multi_device_window_days` (each day needs the N days before it);
      - for a `<table>_sampled_<rate>` model: that of `<table>`;
      - flow_events and flow_metadata (built from staging, not from each other) keep the
        smaller of their two entries, and so do their samples of one rate.
    What is dropped: from flow_events whole flows, those without any event on or after the
    cut-off (a flow active across the cut-off stays whole); from flow_metadata the flows that
    began before the cut-off; elsewhere the rows whose time column is before the cut-off.
    So every flow_metadata row still has all of its flow's events in flow_events, and the
    checks joining the two (begin before last event, completed has flow.complete) hold.
    The raw tables are never trimmed: they are the source of every rebuild.
#}

{#- The time column each retained table is trimmed on. -#}
{% macro retention_column(model_name) %}
    {%- set base_name = fxa_metrics.retention_base_name(model_name) -%}
    {%- set columns = {
        'flow_events': '"timestamp"',
        'flow_metadata': 'begin_time',
        'activity_events': '"timestamp"',
        'daily_activity_per_device': 'day',
        'daily_multi_device_users': 'day',
    } -%}
    {{- return(columns.get(base_name)) -}}
{% endmacro %}

{#- `flow_events_sampled_10` -> `flow_events`; other names unchanged. -#}
{% macro retention_base_name(model_name) %}
    {%- for rate in ['_sampled_10', '_sampled_50'] -%}
        {%- if model_name.endswith(rate) -%}
            {{- return(model_name[:-(rate | length)]) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(model_name) -}}
{% endmacro %}

{% macro retention_min_days(a, b) %}
    {%- if a is none -%}{{ return(b) }}{%- endif -%}
    {%- if b is none -%}{{ return(a) }}{%- endif -%}
    {{- return([a, b] | min) -}}
{% endmacro %}

{#- Days kept by a model after the constraints above; none = keep everything. -#}
{% macro retention_effective_days(model_name) %}
    {%- set configured = var('retention_days', {}) or {} -%}
    {%- if configured is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "var retention_days must be a mapping {model name: days | null}, got: "
            ~ configured) }}
    {%- endif -%}
    {%- set base_name = fxa_metrics.retention_base_name(model_name) -%}
    {%- set suffix = model_name[base_name | length:] -%}
    {#- flow_events and flow_metadata (and their samples of one rate) are trimmed together -#}
    {%- if base_name in ['flow_events', 'flow_metadata'] -%}
        {%- set names = ['flow_events' ~ suffix, 'flow_metadata' ~ suffix] -%}
    {%- else -%}
        {%- set names = [model_name] -%}
    {%- endif -%}
    {%- set own = namespace(days=none) -%}
    {%- for name in names -%}
        {%- set days = configured.get(name) -%}
        {%- if days is not none and (days is not number or days < 1 or days != (days | int)) -%}
            {{ exceptions.raise_compiler_error(
                "retention_days." ~ name ~ " must be a whole number of days >= 1 or null, got: "
                ~ days) }}
        {%- endif -%}
        {%- set own.days = fxa_metrics.retention_min_days(
            own.days, days | int if days is not none else none) -%}
    {%- endfor -%}
    {%- set upstream = none -%}
    {%- if base_name != model_name -%}
        {%- set upstream = fxa_metrics.retention_effective_days(base_name) -%}
    {%- elif model_name == 'daily_activity_per_device' -%}
        {%- set upstream = fxa_metrics.retention_effective_days('activity_events') -%}
    {%- elif model_name == 'daily_multi_device_users' -%}
        {%- set input_days = fxa_metrics.retention_effective_days('daily_activity_per_device') -%}
        {%- if input_days is not none -%}
            {%- set upstream = input_days - var('multi_device_window_days') -%}
            {%- if upstream < 1 -%}
                {{ exceptions.raise_compiler_error(
                    "daily_activity_per_device keeps " ~ input_days ~ " days, too few for the "
                    ~ var('multi_device_window_days') ~ "-day window of daily_multi_device_users:"
                    ~ " keep more than multi_device_window_days") }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{- return(fxa_metrics.retention_min_days(own.days, upstream)) -}}
{% endmacro %}

{#- The first date kept by a retention of `days` days, as a 'YYYY-MM-DD' string. -#}
{% macro retention_cutoff_date(days) %}
    {%- set reference = var('retention_reference_date', none) -%}
    {%- if reference is none -%}
        {%- set reference_date = run_started_at.date() -%}
    {%- else -%}
        {%- set reference_date = modules.datetime.datetime.strptime(
            reference | string, '%Y-%m-%d').date() -%}
    {%- endif -%}
    {{- return((reference_date - modules.datetime.timedelta(days=days - 1)).isoformat()) -}}
{% endmacro %}

{#-
    The rows a retention with cut-off date `cutoff` drops from `relation`, as a predicate:
    - flow_events (and its samples): whole flows, those with no event on or after the cut-off
      (a flow is never cut in two; flows active across the cut-off stay whole);
    - every other table: the rows whose time column is before the cut-off.
-#}
{% macro retention_dropped(relation, model_name, cutoff) %}
    {%- set column = fxa_metrics.retention_column(model_name) -%}
    {%- if column is none -%}
        {{ exceptions.raise_compiler_error(
            "retention_days names " ~ model_name ~ ", which has no retention column"
            ~ " (macros/retention.sql)") }}
    {%- endif -%}
    {%- set literal = "cast('" ~ cutoff ~ "' as "
        ~ ('date' if column == 'day' else dbt.type_timestamp()) ~ ")" -%}
    {%- if fxa_metrics.retention_base_name(model_name) == 'flow_events' -%}
        {{- return(column ~ " < " ~ literal ~ " and flow_id not in (select flow_id from "
            ~ relation ~ " where " ~ column ~ " >= " ~ literal ~ ")") -}}
    {%- endif -%}
    {{- return(column ~ " < " ~ literal) -}}
{% endmacro %}

{% macro retention_delete(relation) %}
    {{- return(adapter.dispatch('retention_delete', 'fxa_metrics')(relation)) -}}
{% endmacro %}

{% macro default__retention_delete(relation) -%}
    {%- set model_name = relation.identifier -%}
    {%- set days = fxa_metrics.retention_effective_days(model_name) -%}
    {%- if days is not none -%}
        {%- set cutoff = fxa_metrics.retention_cutoff_date(days) -%}
        delete from {{ relation }}
        where {{ fxa_metrics.retention_dropped(relation, model_name, cutoff) }}
    {%- endif -%}
{%- endmacro %}
