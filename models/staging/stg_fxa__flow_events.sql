{#
    One row per loaded flow event log line: a cheap view, so that the marts' filters on
    `loaded_at`, `timestamp` and `flow_id` push down to the raw table. Identical events are
    NOT removed here: the marts de-duplicate where they build their grain, on the slice of
    flows they recompute (see _fxa__models.yml).

    `timestamp` is quoted everywhere: TIMESTAMP is a reserved word in Redshift.
#}

with

source as (

    select * from {{ source('fxa', 'flow_events') }}

),

renamed as (

    select
        cast("timestamp" as {{ dbt.type_timestamp() }}) as "timestamp",
        cast(flow_time as {{ dbt.type_bigint() }}) as flow_time,
        flow_id,
        type,

        {#- the loader already stores NULL for '' and 'none' (docs/data-contract.md); repeated
            here so that a row written by any other path cannot put '' into a mart #}
        {%- for column in [
            'ua_browser', 'ua_version', 'ua_os', 'context', 'entrypoint', 'migration',
            'service', 'utm_campaign', 'utm_content', 'utm_medium', 'utm_source', 'utm_term',
            'locale', 'uid',
        ] %}
        nullif(nullif({{ column }}, ''), 'none') as {{ column }},
        {%- endfor %}

        source_file,
        source_line,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from renamed
