{#
    begin_time is the earliest flow.begin of the flow, so it can never be later than the
    flow's last event in flow_events. Fails for every flow where it is (or whose begin has no
    events at all in flow_events).
#}

with

flow_metadata as (
    select
        flow_id,
        begin_time
    from {{ ref('flow_metadata') }}
),

last_events as (
    select
        flow_id,
        max("timestamp") as last_event_time
    from {{ ref('flow_events') }}
    group by flow_id
),

validation_errors as (
    select
        flow_metadata.flow_id,
        flow_metadata.begin_time,
        last_events.last_event_time
    from flow_metadata
    left join last_events
        on flow_metadata.flow_id = last_events.flow_id
    where
        last_events.last_event_time is null
        or flow_metadata.begin_time > last_events.last_event_time
)

select * from validation_errors
