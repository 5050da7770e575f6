{# The rows of flow_events whose id_cohort < 50: a 50 % sample of whole flows. #}

{{ fxa_metrics.sample_by_cohort('flow_events', 50) }}
