{#
    The funnel steps between `begin` and `complete`, in funnel order: the vocabulary of the
    `funnel_step` column of the `flow_event_catalogue` seed. Which events belong to a step is
    data (the seed); which steps exist is schema: each becomes a contracted column
    `flows_<step>` of `kpi_flow_funnel_daily`, so the list must be known at compile time.
    `begin` and `complete` are the funnel's ends, counted as `flows_begun` and
    `flows_completed` from flow_metadata.

    The singular test `assert_flow_event_catalogue_funnel_steps_known` keeps this list and the
    seed in step: it fails if the seed names a step missing here, or a step here has no event.
#}
{% macro funnel_steps() %}
    {{ return(adapter.dispatch('funnel_steps', 'fxa_metrics')()) }}
{% endmacro %}

{% macro default__funnel_steps() %}
    {{ return([
        'view',
        'engage',
        'submit',
        'attempt',
        'account_created',
        'account_login',
        'email_sent',
        'email_verified',
    ]) }}
{% endmacro %}

{# The two ends of the funnel, which the catalogue also marks. #}
{% macro funnel_end_steps() %}
    {{ return(['begin', 'complete']) }}
{% endmacro %}
