{#
    The lines the loader rejected: one row per rejected line of a loaded file, with the
    reason and the line as read (uids and device ids replaced by their HMAC, user agents
    redacted). Every row of a file carries the `loaded_at` of the file's ledger row.
#}

with source as (

    select * from {{ source('fxa', 'rejected_lines') }}

),

renamed as (

    select
        source_file,
        line_number,
        reason,
        raw_line,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from renamed
