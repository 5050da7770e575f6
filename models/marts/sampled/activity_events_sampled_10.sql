{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='"timestamp"',
        on_schema_change='fail',
        dist=('uid' if target.type == 'redshift' else none),
        sort=('"timestamp"' if target.type == 'redshift' else none),
    )
}}

{# The activity events of the users whose id_cohort(uid) < 10: a 10 % sample of whole users. #}

{{ fxa_metrics.sample_by_cohort(
    parent=ref('activity_events'),
    id_column='uid',
    rate=10,
    unit_column='"timestamp"',
    columns=[
        '"timestamp"', 'type', 'uid', 'device_id', 'service',
        'ua_browser', 'ua_version', 'ua_os', '_loaded_at',
    ],
) }}
