"""The static KPI report (`make report`): warehouse reads, Vega-Lite charts, the HTML page."""
