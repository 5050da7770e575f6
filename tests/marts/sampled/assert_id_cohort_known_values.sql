{#
    id_cohort() on ids whose cohort was computed by hand (last 4 hex digits -> integer -> mod 100).
    Runs on every target with that target's variant of the macro; fails with the wrong rows.
#}

{%- set prefix = 'ab' * 30 -%}
{%- set cases = [
    ('0000', 0),
    ('0009', 9),
    ('000a', 10),
    ('0031', 49),
    ('0032', 50),
    ('0064', 0),
    ('03e7', 99),
    ('1f3f', 99),
    ('7a31', 81),
    ('ffff', 35),
    ('C350', 0),
] %}

with

known as (

    {%- for suffix, cohort in cases %}
    select
        cast('{{ prefix ~ suffix }}' as {{ dbt.type_string() }}) as id,
        {{ cohort }} as expected_cohort
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

validation_errors as (

    select
        id,
        expected_cohort,
        {{ fxa_metrics.id_cohort('id') }} as actual_cohort
    from known
    where {{ fxa_metrics.id_cohort('id') }} != expected_cohort

)

select * from validation_errors
