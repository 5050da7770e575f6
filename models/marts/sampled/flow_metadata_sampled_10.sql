{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flow_id',
        on_schema_change='fail',
        dist=('flow_id' if target.type == 'redshift' else none),
        sort=('begin_time' if target.type == 'redshift' else none),
    )
}}

{# The flows whose id_cohort(flow_id) < 10: the 10 % sample matching flow_events_sampled_10. #}

{{ fxa_metrics.sample_by_cohort(
    parent=ref('flow_metadata'),
    id_column='flow_id',
    rate=10,
    unit_column='flow_id',
    columns=[
        'flow_id', 'begin_time', 'duration', 'completed', 'new_account',
        'ua_browser', 'ua_version', 'ua_os', 'context', 'entrypoint', 'migration', 'service',
        'utm_campaign', 'utm_content', 'utm_medium', 'utm_source', 'utm_term', '_loaded_at',
    ],
) }}
