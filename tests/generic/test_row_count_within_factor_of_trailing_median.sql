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
