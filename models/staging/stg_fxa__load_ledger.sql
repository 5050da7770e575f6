{#
    The load ledger as the loader wrote it: one row per loaded file (its latest load; a
    `--force` reload or a replaced file deletes the earlier row, `--unload` deletes it), with
    its line counts, `lines = loaded + rejected + ignored`, and the time of the load.
#}

with source as (

    select * from {{ source('fxa', 'load_ledger') }}

),

renamed as (

    select
        file_name,
        file_sha256,
        cast(lines as {{ dbt.type_bigint() }}) as lines,
        cast(loaded as {{ dbt.type_bigint() }}) as loaded,
        cast(rejected as {{ dbt.type_bigint() }}) as rejected,
        cast(ignored as {{ dbt.type_bigint() }}) as ignored,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from renamed
