{#
    A chunk of a server log (mozlog JSON lines, or the text mode's `<Logger>.<LEVEL>: <Type>
    {json}`) parsed into `{{ into }}`: one row per line with its kind (flow, activity, ignored),
    the normalised fields and, for a rejected line, the reason (docs/loader.md). Rendered by
    normalise.log_parse_sql(), which builds the per-field fragments.
#}
create or replace temp table {{ into }} as
with
lines as (
    {{ lines_sql }}
),

src as (
    select
        line_no,
        line,
        case when starts_with(line, '{') then null
            else regexp_extract(line, {{ text_mode_pattern }}, ['type', 'json'])
        end as text_mode
    from lines
),

docs as (
    select
        line_no,
        line,
        case when text_mode.json <> ''
            then '{"Type":"' || text_mode.type || '","Fields":' || text_mode.json || '}'
            else line
        end as doc,
        coalesce(text_mode.json <> '', false) as text_mode_line
    from src
),

transformed as (
    select
        line_no,
        line,
        doc,
        text_mode_line,
        -- try() alone would redo a whole vector row by row for one invalid line in it
        case when json_valid(doc) then try(json_transform(doc, {{ log_structure }})) end
            as j
    from docs
),

fields as (
    select
        line_no,
        line,
        doc,
        text_mode_line,
        j,
        j."Type" as log_type,
        j."Type" = 'flowEvent' as is_flow,
        j."Type" = 'activityEvent' as is_activity,
        -- JSON values as their JSON text (a cast of the JSON type itself would read true as 1)
        cast(j."Timestamp" as varchar) as ts_json,
        case when cast(j.Fields."time" as varchar) not in ('""', '"none"')
            then cast(j.Fields."time" as varchar)
        end as time_json,
        cast(j.Fields.flow_time as varchar) as flow_time_json,
        {{ field_columns }}
    from transformed
),

timed as (
    select
        *,
        case
            when time_json is not null and starts_with(time_json, '"')
                then cast(epoch_ms(try_cast(time_json ->> '$' as timestamptz)) as double)
            when time_json is not null then floor(try_cast(time_json as double))
            when ts_json is not null
                then coalesce(
                    cast(try_cast(ts_json as bigint) // 1000000 as double),
                    floor(try_cast(ts_json as double) / 1e6)
                )
        end as ms,
        case
            when flow_time_json is null or flow_time_json in ('""', '"none"') then null
            when regexp_full_match(flow_time_json, '[0-9]{1,18}')
                then cast(flow_time_json as bigint)
            when regexp_full_match(flow_time_json, '"[0-9]{1,18}"')
                then cast(substr(flow_time_json, 2, length(flow_time_json) - 2) as bigint)
            when not starts_with(flow_time_json, '"')
                and try_cast(flow_time_json as double) >= 0
                and try_cast(flow_time_json as double) < 9.2e18
                and try_cast(flow_time_json as double) = floor(try_cast(flow_time_json as double))
                then cast(try_cast(flow_time_json as double) as bigint)
        end as flow_time_value
    from fields
),

checked as (
    select
        *,
        case
            when {{ blank_line }} then null
            when j is null
                then case when json_valid(doc) then 'not a JSON object' else 'invalid JSON' end
            when log_type is null
                then case when json_type(doc) <> 'OBJECT' then 'not a JSON object'
                    else 'missing required field Type' end
            when not (is_flow or is_activity) then null
            when contains(doc, '\u0000') then 'a string contains an escaped NUL character'
            {{ not_string_checks }}
            when f_event is null then 'missing required field event'
            {{ identifier_checks }}
            when is_flow and flow_time_json is not null and flow_time_value is null
                and flow_time_json not in ('""', '"none"')
                then 'flow_time is not an integer >= 0'
            {{ time_checks }}
            {{ event_length_check }}
            {{ flow_length_checks }}
            when is_activity and {{ service_length_check }}
        end as reason
    from timed
)

{{ parsed_select }}