{# The rows of activity_events whose id_cohort < 10: a 10 % sample of whole users. #}

{{ fxa_metrics.sample_by_cohort('activity_events', 10) }}
