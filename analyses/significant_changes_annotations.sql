{#
    Redash table "Significant changes" shown beside every KPI chart (all four dashboards):
    what changed in logging, per train, newest first. Trains carry no dates in the spec, so
    the annotation is by train number (see the significant_changes seed's documentation).
#}

with

final as (

    select
        train,
        component,
        change,
        link
    from {{ ref('significant_changes') }}

)

select * from final
order by train desc, component asc, change asc
