{# The rows of flow_metadata whose id_cohort < 10: a 10 % sample of whole flows. #}

{{ fxa_metrics.sample_by_cohort('flow_metadata', 10) }}
