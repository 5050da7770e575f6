{#
    dbt's `where` config of data tests, plus one placeholder resolved when the test runs (the
    `where` text itself is rendered once, when dbt parses the project):
    `__daily_run_started_at__` is the start of the daily run, `FXA_DAILY_RUN_STARTED_AT` (UTC,
    set by scripts/daily_run.py for its steps), as a timestamp; without a daily run (dbt by
    hand, CI) it is 1970-01-01, before any load, so the test reads every row. The
    rejected-share guard on `raw.load_ledger` uses it to check only the files the daily run
    loaded (docs/operations.md). The override of dbt's own macro follows dbt's documentation
    ("custom logic in the where config"); without the placeholder it does what dbt's does.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- if '__daily_run_started_at__' in where -%}
        {%- set started_at = env_var('FXA_DAILY_RUN_STARTED_AT', '') or '1970-01-01 00:00:00' -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?', started_at) -%}
            {{ exceptions.raise_compiler_error(
                "FXA_DAILY_RUN_STARTED_AT must be a UTC time YYYY-MM-DD HH:MM:SS[.ffffff], got: "
                ~ started_at) }}
        {%- endif -%}
        {%- set where = where | replace(
            '__daily_run_started_at__', "cast('" ~ started_at ~ "' as timestamp)") -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}
