{#
    The build lock on the dbt side (scripts/fxa_pipeline/build_lock.py,
    docs/operations.md#one-build-at-a-time). `scripts/build.py` (`make build`, `make daily`)
    holds the lock for a whole build; dbt cannot: it closes a hook's connection after the hook,
    which releases a session lock. So:

    - refuse_if_building() (on-run-start): a `dbt build`, `run`, `seed` or `snapshot` started
      by hand stops at once, with one line naming the holder, while a build holds the lock
      (the build holding it passes its session's pid in FXA_BUILD_LOCK_PID);
    - model_lock() (every model's first pre-hook, inside the model's transaction): on
      Postgres a transaction-level advisory lock per model, so that two builds running at once
      (hand-run ones) build a model one after the other, the second reading the first's
      watermark: never the same rows twice;
    - pause_point() (tests only): with the var `pause_before_model` naming this model, wait on
      an advisory lock a test holds, to commit something at a known moment of a build.

    The keys are those of build_lock.py: BUILD_LOCK_KEY = 0x46584142 ('FXAB'); the model locks
    use the two-integer form (0x46584D4C 'FXML', hashtext(model)), the pause 0x46584150 'FXAP'.
#}

{% macro refuse_if_building() %}
    {{ return(adapter.dispatch('refuse_if_building', 'fxa_metrics')()) }}
{% endmacro %}

{% macro default__refuse_if_building() %}
    {{ return('') }}
{% endmacro %}

{% macro postgres__refuse_if_building() %}
    {%- if execute and flags.WHICH in ['build', 'run', 'seed', 'snapshot'] -%}
        {%- set own = env_var('FXA_BUILD_LOCK_PID', '') | trim -%}
        {%- set holders -%}
            select
                activity.pid,
                activity.application_name,
                to_char(activity.backend_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            from pg_locks as locks
            inner join pg_stat_activity as activity on locks.pid = activity.pid
            where
                locks.locktype = 'advisory'
                and locks.granted
                and locks.mode = 'ExclusiveLock'
                and locks.database = (
                    select pg_database.oid from pg_database
                    where pg_database.datname = current_database()
                )
                and locks.classid = 0
                and locks.objid = 1180188994
                and locks.objsubid = 1
                {%- if own %}
                and activity.pid <> {{ own | int }}
                {%- endif %}
            order by activity.backend_start
            limit 1
        {%- endset -%}
        {%- set found = run_query(holders) -%}
        {%- if found.rows | length > 0 -%}
            {%- set row = found.rows[0] -%}
            {{ exceptions.raise_compiler_error(
                "not started: a build holds the build lock ('" ~ row[1] ~ "', server pid "
                ~ row[0] ~ ", since " ~ row[2] ~ " UTC); nothing was written. Build with "
                ~ "`make build` (it waits for the running build), see "
                ~ "docs/operations.md#one-build-at-a-time") }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- Redshift: the build lock is `lock raw.build_lock` held by an open transaction. -#}
{% macro redshift__refuse_if_building() %}
    {%- if execute and flags.WHICH in ['build', 'run', 'seed', 'snapshot'] -%}
        {%- set holders -%}
            select transactions.pid, transactions.txn_owner, transactions.txn_start
            from svv_transactions as transactions
            where
                transactions.granted
                and transactions.relation = (
                    select tables.table_id from svv_table_info as tables
                    where tables.schema = 'raw' and tables."table" = 'build_lock'
                )
            order by transactions.txn_start
            limit 1
        {%- endset -%}
        {%- set found = run_query(holders) -%}
        {%- if found.rows | length > 0 -%}
            {%- set row = found.rows[0] -%}
            {{ exceptions.raise_compiler_error(
                "not started: a build holds the build lock (" ~ row[1] ~ ", server pid "
                ~ row[0] ~ ", since " ~ row[2] ~ "); nothing was written. Build with "
                ~ "`make build`, see docs/operations.md#one-build-at-a-time") }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro model_lock() %}
    {{ return(adapter.dispatch('model_lock', 'fxa_metrics')()) }}
{% endmacro %}

{% macro default__model_lock() %}
    {{ return('') }}
{% endmacro %}

{% macro postgres__model_lock() %}
    {{ return("select pg_advisory_xact_lock(1180192076, hashtext('"
        ~ model.unique_id ~ "'))") }}
{% endmacro %}

{#- dbt-redshift falls back on postgres__: Redshift has no advisory locks. -#}
{% macro redshift__model_lock() %}
    {{ return('') }}
{% endmacro %}

{% macro pause_point() %}
    {{ return(adapter.dispatch('pause_point', 'fxa_metrics')()) }}
{% endmacro %}

{% macro default__pause_point() %}
    {{ return('') }}
{% endmacro %}

{% macro postgres__pause_point() %}
    {%- if var('pause_before_model', none) == model.name -%}
        {{ return('select pg_advisory_xact_lock_shared(1180189008)') }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro redshift__pause_point() %}
    {{ return('') }}
{% endmacro %}
