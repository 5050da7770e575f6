{#
    Redash chart "Time taken for device connection" (dashboard: FxA device connection): p50
    and p90 seconds from flow.begin to flow.complete per day, one line per service (Sync
    flows without a service parameter shown as `sync (no service)`; a relier by its name from
    the oauth_services seed when it has one), for the services with the most completed flows.
#}

with

connection_times as (

    select
        day,
        coalesce(service_name, service, 'sync (no service)') as service,
        completed_flows,
        p50_seconds,
        p90_seconds
    from {{ ref('kpi_device_connection_time_daily') }}

),

top_services as (

    select
        service,
        sum(completed_flows) as completed_flows
    from connection_times
    group by service
    order by completed_flows desc
    limit 5

),

final as (

    select
        connection_times.day,
        connection_times.service,
        connection_times.completed_flows,
        connection_times.p50_seconds,
        connection_times.p90_seconds
    from connection_times
    inner join top_services
        on connection_times.service = top_services.service

)

select * from final
order by day, service
