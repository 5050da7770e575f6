{# The rows of flow_metadata whose id_cohort < 50: a 50 % sample of whole flows. #}

{{ fxa_metrics.sample_by_cohort('flow_metadata', 50) }}
