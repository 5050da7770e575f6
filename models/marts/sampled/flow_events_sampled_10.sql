{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flow_id',
        on_schema_change='fail',
        dist=('flow_id' if target.type == 'redshift' else none),
        sort=('"timestamp"' if target.type == 'redshift' else none),
    )
}}

{# The events of the flows whose id_cohort(flow_id) < 10: a 10 % sample of whole flows. #}

{{ fxa_metrics.sample_by_cohort(
    parent=ref('flow_events'),
    id_column='flow_id',
    rate=10,
    unit_column='flow_id',
    columns=['"timestamp"', 'flow_time', 'flow_id', 'type', '_loaded_at'],
) }}
