{#
    The keys (event time and uid) of the raw activity event rows the loader deleted (a `--force` reload, a changed
    file replaced, or `--unload`), with the time of the deletion. Incremental models read the
    retractions after their watermark as changes, so that the units the deleted rows fed are
    recomputed (macros/incremental/recompute.sql).
#}

with source as (

    select * from {{ source('fxa', 'retracted_activity_events') }}

),

renamed as (

    select
        cast("timestamp" as {{ dbt.type_timestamp() }}) as "timestamp",
        nullif(nullif(uid, ''), 'none') as uid,
        source_file,
        cast(retracted_at as {{ dbt.type_timestamp() }}) as retracted_at

    from source

)

select * from renamed
