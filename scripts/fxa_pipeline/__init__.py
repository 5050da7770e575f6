"""Python side of fxa-metrics: loading raw logs, generating sample logs, benchmarks.

Every transformation of the loaded data is SQL in the dbt project; this package only gets raw
log lines into the `raw` schema (docs/data-contract.md: input formats, raw layout).
"""
