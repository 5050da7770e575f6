{#
    Schemas are named exactly as docs/data-contract.md fixes them (`analytics`, `staging`),
    not prefixed with the target schema as dbt does by default: Redash queries and the loader
    address `analytics.flow_metadata` on every target.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
