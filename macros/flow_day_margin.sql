{#
    flow_day_margin(): how many days around a changed flow event a flow KPI recomputes. A
    flow's begin day (the day a KPI counts it on) lies within `flow_lookaround_hours` of each
    of its events, so within that many whole days (rounded up) of any changed event's day.
#}
{% macro flow_day_margin() %}
    {{ return(((fxa_metrics.flow_lookaround_hours() + 23) // 24) | int) }}
{% endmacro %}
