{#
    Incremental models find new raw rows by *load* time, never by event time, so that a log
    file for an old day that arrives weeks late is still picked up (CONTRACT.md section 3).

    Every incremental mart carries `_loaded_at`: the latest `loaded_at` among the raw rows the
    mart row was built from. It is deterministic (a full refresh computes the same value), so
    the watermark `max(_loaded_at)` of the existing table says which loads are already in it.
#}

{% macro loaded_after_watermark(loaded_at_column='loaded_at', watermark_column='_loaded_at') %}
    {{ return(adapter.dispatch('loaded_after_watermark', 'fxa_metrics')(
        loaded_at_column, watermark_column)) }}
{% endmacro %}

{% macro default__loaded_after_watermark(loaded_at_column, watermark_column) %}
    {%- if is_incremental() -%}
        {{ loaded_at_column }} > {{ fxa_metrics.watermark(watermark_column) }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{% endmacro %}

{#
    `watermark(column)`: max(column) of the model's own table, the load time up to which it
    is built. When the model runs against a warehouse it is read once, before the model's SQL
    is sent, and written into that SQL as a timestamp literal: a predicate `loaded_at > <a
    constant>` is pushed into the table scan, where DuckDB's zone maps (and Redshift's, on a
    sort key) skip every block loaded before, so an incremental run reads only the new rows
    whatever the history. A scalar subquery instead would be joined to every row of the scan.
    The subquery form remains where no query can run: at parse time, in the offline Redshift
    compile (`force_incremental`), and in unit tests (`this` is then a fixture CTE).
#}
{% macro watermark(watermark_column='_loaded_at') %}
    {{ return(adapter.dispatch('watermark', 'fxa_metrics')(watermark_column)) }}
{% endmacro %}

{% macro default__watermark(watermark_column) -%}
    {%- if fxa_metrics.can_query_this() -%}
        {%- set result = run_query(
            'select cast(max(' ~ watermark_column ~ ') as ' ~ dbt.type_string() ~ ') from '
            ~ this) -%}
        {{ fxa_metrics.timestamp_literal(result.columns[0].values()[0]) }}
    {%- else -%}
        (
            select coalesce(max({{ watermark_column }}), {{ fxa_metrics.epoch_timestamp() }})
            from {{ this }}
        )
    {%- endif -%}
{%- endmacro %}

{# True when the running model may query the warehouse for constants (see watermark()). #}
{% macro can_query_this() %}
    {{ return(
        execute
        and model.resource_type == 'model'
        and this is not string
        and var('force_incremental', none) is none
    ) }}
{% endmacro %}

{# A timestamp value read back as text, as a literal; NULL (an empty table) is the epoch. #}
{% macro timestamp_literal(text) %}
    {%- if text is none -%}
        {{ return(fxa_metrics.epoch_timestamp()) }}
    {%- endif -%}
    {{ return("cast('" ~ text ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{% endmacro %}

{# The earliest representable load time: the watermark of an empty table. #}
{% macro epoch_timestamp() %}
    {{ return(adapter.dispatch('epoch_timestamp', 'fxa_metrics')()) }}
{% endmacro %}

{% macro default__epoch_timestamp() -%}
    cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#
    `new_rows_bounds(relation, min_expression, max_expression, loaded_at_column)`: the two
    values [min_expression, max_expression] over the rows of `relation` loaded after the
    model's watermark, read once before the model runs and returned as timestamp literals
    (the epoch for both when there is no new row), or none where no query can run (see
    watermark()); the caller then keeps its subquery form. A range written as constants is
    pushed into the scan and prunes it by zone maps / sort keys.
#}
{% macro new_rows_bounds(relation, min_expression, max_expression, loaded_at_column) %}
    {%- if not fxa_metrics.can_query_this() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        'select cast(' ~ min_expression ~ ' as ' ~ dbt.type_string() ~ '), cast('
        ~ max_expression ~ ' as ' ~ dbt.type_string() ~ ') from ' ~ relation ~ ' where '
        ~ fxa_metrics.loaded_after_watermark(loaded_at_column)) -%}
    {{ return([
        fxa_metrics.timestamp_literal(result.columns[0].values()[0]),
        fxa_metrics.timestamp_literal(result.columns[1].values()[0]),
    ]) }}
{% endmacro %}
