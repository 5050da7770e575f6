{#
    A chunk of a legacy CSV export (flow: 16 or 18 columns, activity: 7 or 8) parsed into
    `{{ into }}`, with the same columns as a server log's parse (sql/log_parse.sql). Rendered by
    normalise.csv_parse_sql(), which builds the per-field fragments.
#}
create or replace temp table {{ into }} as
with
src as (
    select
        l.line_no,
        l.line,
        q.error as csv_error,
        case when q.line_no is null then string_split(l.line, ',') else q.fields end as f
    from _fxa_lines as l
    left join _fxa_csv_quoted as q on l.line_no = q.line_no
),

shaped as (
    select
        line_no,
        line,
        csv_error,
        f,
        len(f) as n,
        len(f) in (16, 18) as is_flow,
        len(f) in (7, 8) as is_activity
    from src
),

fields as (
    select
        *,
        {{ columns }}
    from shaped
),

timed as (
    select
        *,
        case when regexp_full_match(c_timestamp, '[0-9]{1,12}(\.[0-9]+)?')
            then floor(cast(c_timestamp as decimal(38, 9)) * 1000)
        end as ms,
        case when regexp_full_match(c_flow_time, '[0-9]{1,18}(\.0+)?')
            then cast(cast(c_flow_time as decimal(38, 0)) as bigint)
        end as flow_time_value
    from fields
),

checked as (
    select
        *,
        case
            when {{ blank_line }} then null
            when csv_error is not null then csv_error
            when not (is_flow or is_activity)
                then 'CSV row has ' || n || ' columns (expected 16 or 18 for flow events,'
                    || ' 7 or 8 for activity events)'
            when c_type is null then 'missing required field type'
            {{ identifier_checks }}
            when is_flow and c_flow_time is not null and flow_time_value is null
                then 'flow_time is not an integer >= 0'
            {{ time_checks }}
            {{ type_length_check }}
            {{ short_checks }}
            {{ uid_length_check }}
        end as reason
    from timed
)

{{ parsed_select }}