"""Events to log lines: mozlog JSON, the text mode, legacy CSV rows; and the noise.

JSON is written with string templates, not `json.dumps` (about 3x faster per line); it is
valid because every value is either a number, a hex id, or a catalogue string checked to be
JSON-safe (see catalogue.py), and a test parses every line with `json.loads`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from fxa_pipeline.generator import catalogue as cat
from fxa_pipeline.generator.catalogue import Agent
from fxa_pipeline.generator.events import (
    ACTIVITY,
    AUTH_FLOW,
    AUTH_REQUEST,
    CONTENT_FLOW,
    CONTENT_REQUEST,
    Event,
    FlowContext,
)

_UTM_NAMES = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")
TYPE_OF_KIND = {
    CONTENT_FLOW: "flowEvent",
    AUTH_FLOW: "flowEvent",
    ACTIVITY: "activityEvent",
    AUTH_REQUEST: "request.summary",
    CONTENT_REQUEST: "request.summary",
}


@lru_cache(maxsize=64)
def day_text(day_number: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day_number)).isoformat()


_MINUTE_PREFIX: dict[int, str] = {}


def iso_time(time_ms: int) -> str:
    """`2017-03-01T16:59:58.250Z` from epoch milliseconds (the content server's format)."""
    minute, ms = divmod(time_ms, 60_000)
    prefix = _MINUTE_PREFIX.get(minute)
    if prefix is None:
        if len(_MINUTE_PREFIX) > 4096:  # bounded: the events being written span ~2 hours
            _MINUTE_PREFIX.clear()
        day, minute_of_day = divmod(minute, 1440)
        h, m = divmod(minute_of_day, 60)
        prefix = _MINUTE_PREFIX[minute] = f"{day_text(day)}T{h:02d}:{m:02d}:"
    s, ms = divmod(ms, 1000)
    return f"{prefix}{s:02d}.{ms:03d}Z"


def _pair(name: str, value: str) -> str:
    return f'"{name}": "{value}"'


def _metrics_context(ctx: FlowContext) -> list[str]:
    """The metrics context fields, as the servers log them: absent when unset, but `none`
    and empty-string placeholders kept where a server would write them."""
    parts = [_pair("context", ctx.context)]
    if ctx.entrypoint:
        parts.append(_pair("entrypoint", ctx.entrypoint))
    if ctx.migration:
        parts.append(_pair("migration", ctx.migration))
    parts.append(_pair("service", ctx.service))
    parts += [_pair(n, v) for n, v in zip(_UTM_NAMES, ctx.utm, strict=True) if v]
    return parts


def _agent_part(agent: Agent | None) -> list[str]:
    if agent is None or agent.user_agent is None:
        return []
    return [_pair("userAgent", agent.user_agent)]


def content_tail(ctx: FlowContext) -> str:
    if not ctx.content_tail:
        ctx.content_tail = ", " + ", ".join(_metrics_context(ctx) + _agent_part(ctx.agent))
    return ctx.content_tail


def auth_tail(ctx: FlowContext) -> str:
    if not ctx.auth_tail:
        parts = [*_agent_part(ctx.agent), _pair("locale", ctx.locale), *_metrics_context(ctx)]
        ctx.auth_tail = ", " + ", ".join(parts)
    return ctx.auth_tail


def fields_object(ev: Event, with_time: bool) -> str:
    """The `Fields` object of an event line (also the object of a text-mode line)."""
    kind = ev.kind
    if kind == AUTH_FLOW:
        ctx = ev.flow
        assert ctx is not None
        uid = f', "uid": "{ev.uid}"' if ev.uid else ""
        return (
            f'{{"event": "{ev.name}", "flow_id": "{ctx.flow_id}", "flow_time": {ev.flow_time},'
            f' "time": {ev.time_ms}{auth_tail(ctx)}{uid}}}'
        )
    if kind == CONTENT_FLOW:
        ctx = ev.flow
        assert ctx is not None
        return (
            f'{{"event": "{ev.name}", "flow_id": "{ctx.flow_id}", "flow_time": {ev.flow_time},'
            f' "time": "{iso_time(ev.time_ms)}"{content_tail(ctx)}}}'
        )
    if kind == ACTIVITY:
        device = f', "device_id": "{ev.device_id}"' if ev.device_id else ""
        agent = ev.agent
        ua = f', "userAgent": "{agent.user_agent}"' if agent and agent.user_agent else ""
        time = f', "time": {ev.time_ms}' if with_time else ""
        return (
            f'{{"event": "{ev.name}", "uid": "{ev.uid}"{device}, "service": "{ev.extra}"'
            f"{ua}{time}}}"
        )
    return ev.extra  # request logs: pre-rendered


TEXT_MODE_HOST_INDEX = cat.AUTH_HOSTS.index(cat.TEXT_MODE_HOST)


@lru_cache(maxsize=64)
def _envelope(logger: str, kind: int, host: int) -> tuple[str, str]:
    """The constant parts of a mozlog envelope around the Pid."""
    hosts = cat.CONTENT_HOSTS if logger == "fxa-content-server" else cat.AUTH_HOSTS
    return (
        f', "Logger": "{logger}", "Type": "{TYPE_OF_KIND[kind]}", "Severity": 6, "Pid": ',
        f', "EnvVersion": "2.0", "Hostname": "{hosts[host]}", "Fields": ',
    )


def json_line(ev: Event, logger: str, host: int, pid: int, ns: int, with_time: bool) -> str:
    """A mozlog JSON line; `ns` is the envelope Timestamp (event time plus logging delay),
    `host` the index of the server in the catalogue's host list."""
    before_pid, after_pid = _envelope(logger, ev.kind, host)
    return f'{{"Timestamp": {ns}{before_pid}{pid}{after_pid}{fields_object(ev, with_time)}}}'


def text_line(ev: Event, logger: str) -> str:
    """The servers' human-readable mode: `logger.INFO: Type {Fields}` (time always in Fields)."""
    return f"{logger}.INFO: {TYPE_OF_KIND[ev.kind]} {fields_object(ev, True)}"


# ----------------------------------------------------------------------------------------
# Noise: what real logs contain and the loader must reject
# (docs/data-contract.md#rejected-lines).
# Each kind applies to some events only; `corrupt` returns None when it does not apply.

JSON_MALFORMED_KINDS = (
    "truncated_json",
    "bad_flow_id",
    "negative_flow_time",
    "non_integer_flow_time",
    "bad_device_id",
    "bad_time",
    "missing_uid",
    "missing_event",
)
CONTENT_MALFORMED_KINDS = (
    "truncated_json",
    "bad_flow_id",
    "negative_flow_time",
    "non_integer_flow_time",
    "missing_event",
)
CSV_FLOW_MALFORMED_KINDS = ("wrong_column_count", "bad_flow_id", "negative_flow_time", "bad_time")
CSV_ACTIVITY_MALFORMED_KINDS = ("wrong_column_count", "bad_time")


def corrupt(kind: str, line: str, ev: Event) -> str | None:
    """The line damaged in the way `kind` names, or None if it cannot apply to this event."""
    flow = ev.flow
    is_flow = ev.kind in (AUTH_FLOW, CONTENT_FLOW)
    out: str | None = None
    if kind == "truncated_json":
        out = line[: max(10, len(line) * (2 + ev.time_ms % 7) // 10)]  # 20-80% of it
    elif kind == "missing_event":
        out = line.replace(f'"event": "{ev.name}", ', "", 1)
    elif is_flow and flow is not None:
        if kind == "bad_flow_id":
            out = line.replace(flow.flow_id, flow.flow_id[:-1], 1)
        elif kind == "negative_flow_time":
            out = line.replace(
                f'"flow_time": {ev.flow_time},', f'"flow_time": -{ev.flow_time + 1},'
            )
        elif kind == "non_integer_flow_time":
            out = line.replace(f'"flow_time": {ev.flow_time},', f'"flow_time": {ev.flow_time}.5,')
        elif kind == "bad_time" and ev.kind == AUTH_FLOW:
            out = line.replace(f'"time": {ev.time_ms}', '"time": "yesterday"', 1)
    elif ev.kind == ACTIVITY:
        if kind == "bad_device_id" and ev.device_id:
            out = line.replace(ev.device_id, ev.device_id[:-2] + "zz", 1)
        elif kind == "missing_uid":
            out = line.replace(f'"uid": "{ev.uid}", ', "", 1)
    if out is None or out == line:
        return None
    return out


def corrupt_csv(kind: str, row: list[str], ev: Event) -> list[str] | None:
    """A legacy CSV row damaged in the way `kind` names, or None if it cannot apply."""
    if kind == "wrong_column_count":  # fits neither export (16/18 or 7/8 columns)
        return row[:12] if len(row) >= 16 else row[:5]
    if ev.kind not in (AUTH_FLOW, CONTENT_FLOW):
        if kind == "bad_time":
            return ["1488x", *row[1:]]
        return None
    if kind == "bad_flow_id":
        return [row[0], row[1], row[2][:-1], *row[3:]]
    if kind == "negative_flow_time":
        return [*row[:3], f"-{int(row[3]) + 1}", *row[4:]]
    if kind == "bad_time":
        return ["1488x", *row[1:]]
    return None
