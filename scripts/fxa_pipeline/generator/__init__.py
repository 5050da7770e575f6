"""Sample FxA server logs for fxa-metrics: realistic, deterministic, streamed.

Layout written under the output folder (DIR):

    DIR/<YYYY-MM-DD>/auth-server.jsonl[.gz]      auth-server mozlog JSON lines, that day (UTC)
        Type flowEvent: auth-server flow events, `Fields.time` in epoch ms, raw 32-hex `uid`
        Type activityEvent: activity events; about half carry `Fields.time` (ms), the others
            only the envelope `Timestamp` (ns)
        Type request.summary: request logs, ignored by the loader
    DIR/<YYYY-MM-DD>/content-server.jsonl[.gz]   content-server flow events (`flow.begin`,
        `flow.<view>.view/engage/submit/...`, `flow.<action>.attempt`), ISO-8601 `Fields.time`;
        plus request.summary lines
    DIR/<YYYY-MM-DD>/auth-server-text.log[.gz]   every third day (day 2, 5, 8, ...): the lines of
        one auth host in the human-readable mode `fxa-auth-server.INFO: <Type> {Fields}`
    DIR/legacy/flow-<YYYY-MM-DD>.csv[.gz]        legacy flow export for each of the
        `--legacy-days` days before the start date: 16- and 18-column rows, epoch seconds,
        parsed user agents, HMACed uids (FXA_METRICS_UID_HMAC_KEY)
    DIR/legacy/events-<YYYY-MM-DD>.csv[.gz]      legacy activity export: 7- and 8-column rows
    DIR/.manifest.json                           options, and per file: lines, valid flow /
        activity event lines, duplicates, malformed lines by kind, other-Type and blank
        lines, and the loaded / rejected / ignored counts the loader's ledger must show

A file holds the events whose time falls on its UTC day, so a flow crossing midnight has
events in two days' files. See run.py for the generation loop, flows.py for the funnel,
population.py for users and devices, render.py for line formats and noise.
"""

from fxa_pipeline.generator.run import Options, Stats, generate

__all__ = ["Options", "Stats", "generate"]
