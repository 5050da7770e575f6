{# The rows of flow_events whose id_cohort < 10: a 10 % sample of whole flows. #}

{{ fxa_metrics.sample_by_cohort('flow_events', 10) }}
