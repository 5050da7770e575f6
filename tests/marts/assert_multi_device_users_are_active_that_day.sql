{#
    Every (day, uid) of daily_multi_device_users has a row in daily_activity_per_device on
    that day (by definition device A is active on `day` itself, see
    docs/data-contract.md#daily_multi_device_users). Fails with the orphans.
#}

with multi_device_users as (

    select
        day,
        uid
    from {{ ref('daily_multi_device_users') }}

),

device_users as (

    select distinct
        day,
        uid
    from {{ ref('daily_activity_per_device') }}

),

validation_errors as (

    select
        multi_device_users.day,
        multi_device_users.uid
    from multi_device_users
    left join device_users
        on
            multi_device_users.day = device_users.day
            and multi_device_users.uid = device_users.uid
    where device_users.uid is null

)

select * from validation_errors
