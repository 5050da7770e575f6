{#
    Project override of dbt's built-in `is_incremental()`, so that the offline Redshift check
    (`make redshift-check`, scripts/check_redshift_sql.py) can compile both code paths of every
    incremental model with no warehouse connection: the built-in asks the database whether the
    table exists.

    - `--vars '{force_incremental: true}'`: incremental models compile their incremental path
      (non-incremental models still get false), without any query.
    - `--vars '{force_incremental: false}'`: every model compiles its full-build path.
    - var unset (every normal run): dbt's own macro decides, exactly as without this file.
#}
{% macro is_incremental() %}
    {%- set forced = var('force_incremental', none) -%}
    {%- if forced is none -%}
        {{ return(dbt.is_incremental()) }}
    {%- endif -%}
    {%- if forced is string -%}
        {%- set forced = forced | lower in ('true', '1', 'yes') -%}
    {%- endif -%}
    {{ return(forced and model.config.materialized == 'incremental') }}
{% endmacro %}
