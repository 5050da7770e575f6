{# The rows of activity_events whose id_cohort < 50: a 50 % sample of whole users. #}

{{ fxa_metrics.sample_by_cohort('activity_events', 50) }}
