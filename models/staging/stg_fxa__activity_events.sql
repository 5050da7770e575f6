{#
    Activity events as loaded: the spec's columns with their warehouse types, empty strings and
    the `none` placeholder as NULL (the loader already normalises; repeated here so that no mart
    ever holds `''`), and `loaded_at` kept for the incremental marts.
    Deliberately no de-duplication: this view must stay a cheap projection so that the marts'
    predicates on `loaded_at` and `timestamp` reach the raw table; duplicates are removed in
    `activity_events`, on the slice it rebuilds.
    `timestamp` is quoted because it is a reserved word in Redshift.
#}

with source as (

    select * from {{ source('fxa', 'activity_events') }}

),

renamed as (

    select
        cast("timestamp" as {{ dbt.type_timestamp() }}) as "timestamp",
        nullif(nullif(type, ''), 'none') as type,
        nullif(nullif(uid, ''), 'none') as uid,
        nullif(nullif(device_id, ''), 'none') as device_id,
        nullif(nullif(service, ''), 'none') as service,
        nullif(nullif(ua_browser, ''), 'none') as ua_browser,
        nullif(nullif(ua_version, ''), 'none') as ua_version,
        nullif(nullif(ua_os, ''), 'none') as ua_os,
        source_file,
        source_line,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from renamed
