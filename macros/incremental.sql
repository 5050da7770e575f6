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
        {{ loaded_at_column }} > (
            select coalesce(max({{ watermark_column }}), {{ fxa_metrics.epoch_timestamp() }})
            from {{ this }}
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{% endmacro %}

{# The earliest representable load time: the watermark of an empty table. #}
{% macro epoch_timestamp() %}
    {{ return(adapter.dispatch('epoch_timestamp', 'fxa_metrics')()) }}
{% endmacro %}

{% macro default__epoch_timestamp() -%}
    cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}
