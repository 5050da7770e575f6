{#
    Row-count anomaly guard for production runs: fails (one row) when the number of rows whose
    event day is the latest day differs from the median daily count of the `trailing_days`
    days before it by more than `factor` in either direction, i.e. when
    `latest < median / factor` or `latest > median * factor`.

    - The latest day is the latest event day that is not in the future (a stray future-dated
      event must not become "today"). Days after it are ignored.
    - The median is over the trailing days that have rows (no date spine, so the SQL stays
      portable): a day with no rows at all is not a zero in the baseline. A missing *latest*
      day is what source freshness catches.
    - With fewer than `min_trailing_days` days of history there is no baseline and the test
      passes: a new warehouse does not alert.
    - `timestamp_column` is quoted here (`timestamp` is reserved in Redshift).
#}
{% test row_count_within_factor_of_trailing_median(
    model, timestamp_column, factor=3, trailing_days=28, min_trailing_days=7) %}
    {{ return(adapter.dispatch('test_row_count_within_factor_of_trailing_median', 'fxa_metrics')(
        model, timestamp_column, factor, trailing_days, min_trailing_days)) }}
{% endtest %}

{% macro default__test_row_count_within_factor_of_trailing_median(
    model, timestamp_column, factor, trailing_days, min_trailing_days) %}
{%- if factor | float < 1 -%}
    {{ exceptions.raise_compiler_error(
        "row_count_within_factor_of_trailing_median: factor must be a number >= 1, got: " ~ factor) }}
{%- endif -%}
{%- if trailing_days | int < 1 or min_trailing_days | int < 1
        or min_trailing_days | int > trailing_days | int -%}
    {{ exceptions.raise_compiler_error(
        "row_count_within_factor_of_trailing_median: need 1 <= min_trailing_days <= trailing_days,"
        ~ " got min_trailing_days=" ~ min_trailing_days ~ ", trailing_days=" ~ trailing_days) }}
{%- endif -%}

with daily_counts as (
    select
        cast({{ adapter.quote(timestamp_column) }} as date) as event_day,
        count(*) as row_count
    from {{ model }}
    where cast({{ adapter.quote(timestamp_column) }} as date)
        <= cast({{ dbt.current_timestamp() }} as date)
    group by cast({{ adapter.quote(timestamp_column) }} as date)
),

latest_day as (
    select max(event_day) as event_day
    from daily_counts
),

trailing_counts as (
    select daily_counts.row_count
    from daily_counts
    cross join latest_day
    where
        daily_counts.event_day < latest_day.event_day
        and daily_counts.event_day
        >= {{ dbt.dateadd('day', -1 * (trailing_days | int), 'latest_day.event_day') }}
),

baseline as (
    select
        count(*) as trailing_days_seen,
        percentile_cont(0.5) within group (
            order by cast(row_count as {{ dbt.type_float() }})
        ) as median_row_count
    from trailing_counts
),

latest_count as (
    select
        daily_counts.event_day,
        daily_counts.row_count
    from daily_counts
    inner join latest_day
        on daily_counts.event_day = latest_day.event_day
),

validation_errors as (
    select
        latest_count.event_day,
        latest_count.row_count,
        baseline.median_row_count,
        baseline.trailing_days_seen
    from latest_count
    cross join baseline
    where
        baseline.trailing_days_seen >= {{ min_trailing_days | int }}
        and (
            latest_count.row_count * {{ factor | float }} < baseline.median_row_count
            or latest_count.row_count > baseline.median_row_count * {{ factor | float }}
        )
)

select * from validation_errors
{% endmacro %}
