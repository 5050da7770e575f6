{#
    `completed` means the flow has a `flow.complete` event: fails for every completed flow
    without a `flow.complete` row in flow_events, and for every flow with one that is not
    marked completed.
#}

with

flow_metadata as (
    select
        flow_id,
        completed
    from {{ ref('flow_metadata') }}
),

complete_events as (
    select distinct flow_id
    from {{ ref('flow_events') }}
    where type = 'flow.complete'
),

validation_errors as (
    select
        flow_metadata.flow_id,
        flow_metadata.completed
    from flow_metadata
    left join complete_events
        on flow_metadata.flow_id = complete_events.flow_id
    where
        (flow_metadata.completed and complete_events.flow_id is null)
        or (not flow_metadata.completed and complete_events.flow_id is not null)
)

select * from validation_errors
