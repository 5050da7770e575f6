{#
    Fails for every row whose `part_column / total_column` exceeds `max_share` (rows with a
    total of 0 or NULL never fail). On `raw.load_ledger` (`part_column: rejected`,
    `total_column: lines`) it is the production guard "the share of rejected lines per file
    stays under the limit": a file that is mostly garbage (wrong format, a truncated or
    corrupted export) alerts instead of being silently published with its good lines only.
#}
{% test share_at_most(model, part_column, total_column, max_share) %}
    {{ return(adapter.dispatch('test_share_at_most', 'fxa_metrics')(
        model, part_column, total_column, max_share)) }}
{% endtest %}
