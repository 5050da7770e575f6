{#
    Integer bit patterns of activity days, the bigquery-etl way (`days_seen_bits` of
    users_last_seen): bit i (value 2^i) set = active on day D - i, bit 0 = D itself. Written
    with the bit operators every target has (`&`, `<<`, `>>`, the `bit_or` aggregate) on
    bigint, so a 28-day pattern (up to 2^28 - 1) never overflows and a shift never meets an
    int4 on one target and an int8 on another.

        {{ fxa_metrics.day_bit('offset') }}          -- 2^offset, as bigint (offset: an integer)
        {{ fxa_metrics.bit_count('days_seen_bits') }} -- the number of set bits (days active)

    Redshift has no bit-count function and Postgres has one for bit strings only (bit_count of
    an integer fails there), so `bit_count()` is dispatched: DuckDB's `bit_count()`, elsewhere
    the sum of each bit, ((x >> i) & 1) for i = 0..width - 1, which runs on all three.
#}

{% macro day_bit(offset) -%}
    (cast(1 as {{ dbt.type_bigint() }}) << cast({{ offset }} as {{ dbt.type_int() }}))
{%- endmacro %}

{% macro bit_count(expression, width=28) %}
    {%- if width is not number or width < 1 or width > 62 or width != width | int -%}
        {{ exceptions.raise_compiler_error(
            "bit_count(): width must be a whole number of bits from 1 to 62, got: " ~ width) }}
    {%- endif -%}
    {{ return(adapter.dispatch('bit_count', 'fxa_metrics')(expression, width | int)) }}
{% endmacro %}

{% macro default__bit_count(expression, width) -%}
    cast((
        {%- for i in range(width) %}
        (({{ expression }} >> {{ i }}) & 1){{ ' +' if not loop.last }}
        {%- endfor %}
    ) as {{ dbt.type_int() }})
{%- endmacro %}

{#- the whole integer: a pattern never has bits at or above `width` -#}
{% macro duckdb__bit_count(expression, width) -%}
    cast(bit_count(cast({{ expression }} as {{ dbt.type_bigint() }})) as {{ dbt.type_int() }})
{%- endmacro %}
