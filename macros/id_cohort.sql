{#
    id_cohort(column): the sampling cohort of a hex id, an integer 0..99.

        cohort = (integer value of the id's last 4 hex digits) mod 100

    e.g. an id ending in `03e7` has cohort 999 mod 100 = 99; `ffff` has 65535 mod 100 = 35.
    A row belongs to the N % sample when cohort < N, so the 10 % sample is inside the 50 % one,
    and every row of a flow (`flow_id`) or of a user (`uid`) falls on the same side: an id is
    wholly in or wholly out. The ids are uniformly random hex (64-hex flow ids, HMAC-SHA256 uids),
    so each cohort holds 1 % of them (cohorts 0..35 get 656/65536 of the values and 36..99
    655/65536: the 10 % sample is 10.01 %).

    Hex-to-integer differs per engine, hence one variant each; all give the same number for the
    same id (tests/marts/sampled/assert_id_cohort_known_values.sql, hand-computed ids and cohorts,
    and assert_id_cohort_matches_portable_formula.sql). `default__` is the portable formula
    (digit values by position in '0123456789abcdef'), used by any other adapter.
    Ids are lowercase hex (docs/data-contract.md); the formula ignores case anyway.
#}

{% macro id_cohort(column) %}
    {{- return(adapter.dispatch('id_cohort', 'fxa_metrics')(column)) -}}
{% endmacro %}

{% macro default__id_cohort(column) -%}
    mod(
        {%- for position in range(4) %}
        (strpos('0123456789abcdef', substr(lower(right({{ column }}, 4)), {{ position + 1 }}, 1)) - 1)
        * {{ 16 ** (3 - position) }}{{ ' +' if not loop.last }}
        {%- endfor %},
        100
    )
{%- endmacro %}

{% macro duckdb__id_cohort(column) -%}
    mod(cast('0x' || right({{ column }}, 4) as integer), 100)
{%- endmacro %}

{% macro postgres__id_cohort(column) -%}
    mod(cast(cast('x' || right({{ column }}, 4) as bit(16)) as integer), 100)
{%- endmacro %}

{% macro redshift__id_cohort(column) -%}
    mod(cast(strtol(right({{ column }}, 4), 16) as integer), 100)
{%- endmacro %}
