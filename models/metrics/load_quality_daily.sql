{#
    Load quality: one row per UTC day of `loaded_at` on which the loader loaded a file (a row
    of the load ledger), with the day's files and line counts, the share of rejected lines
    and the day's three most frequent rejection reasons.

    A file counts on the day of its latest load: the ledger keeps one row per file, and a
    `--force` reload or a replaced file moves it to the reload's day (`--unload` removes it).
    Rejected lines carry their file's `loaded_at`, so they count on the same day.

    Materialized as a table, an exception to the folder's default (incremental, `recompute`
    strategy): the ledger is small (one row per file), so rebuilding from it costs nothing,
    and a table is always equal to a full rebuild, whatever was reloaded or unloaded.
#}
{{
    config(
        materialized='table',
        dist=('all' if target.type == 'redshift' else none),
        sort=(['day'] if target.type == 'redshift' else none),
    )
}}

{%- set top_reasons = 3 %}

with

load_ledger as (

    select
        lines,
        loaded,
        rejected,
        ignored,
        loaded_at
    from {{ ref('stg_fxa__load_ledger') }}

),

rejected_lines as (

    select
        reason,
        loaded_at
    from {{ ref('stg_fxa__rejected_lines') }}

),

loads_per_day as (

    select
        cast(loaded_at as date) as day,
        cast(count(*) as {{ dbt.type_bigint() }}) as files,
        cast(sum(lines) as {{ dbt.type_bigint() }}) as lines,
        cast(sum(loaded) as {{ dbt.type_bigint() }}) as loaded,
        cast(sum(rejected) as {{ dbt.type_bigint() }}) as rejected,
        cast(sum(ignored) as {{ dbt.type_bigint() }}) as ignored,
        max(loaded_at) as last_loaded_at
    from load_ledger
    group by cast(loaded_at as date)

),

reasons_per_day as (

    select
        cast(loaded_at as date) as day,
        coalesce(reason, '(no reason)') as reason,
        count(*) as rejected_lines
    from rejected_lines
    group by
        cast(loaded_at as date),
        coalesce(reason, '(no reason)')

),

{# Most frequent first; equal counts in the reasons' alphabetical order. #}
ranked_reasons as (

    select
        day,
        reason,
        rejected_lines,
        row_number() over (
            partition by day
            order by rejected_lines desc, reason asc
        ) as reason_rank
    from reasons_per_day

),

top_reasons_per_day as (

    select
        day,
        cast(
            {{ dbt.listagg(
                measure="reason || ' (' || cast(rejected_lines as " ~ dbt.type_string() ~ ") || ')'",
                delimiter_text="'; '",
                order_by_clause='order by reason_rank',
            ) }}
            as varchar(65535)
        ) as top_rejection_reasons
    from ranked_reasons
    where reason_rank <= {{ top_reasons }}
    group by day

),

final as (

    select
        loads_per_day.day,
        loads_per_day.files,
        loads_per_day.lines,
        loads_per_day.loaded,
        loads_per_day.rejected,
        loads_per_day.ignored,
        case
            when loads_per_day.lines = 0 then null
            else cast(loads_per_day.rejected as double precision) / loads_per_day.lines
        end as rejected_share,
        top_reasons_per_day.top_rejection_reasons,
        loads_per_day.last_loaded_at
    from loads_per_day
    left join top_reasons_per_day on loads_per_day.day = top_reasons_per_day.day

)

select * from final
