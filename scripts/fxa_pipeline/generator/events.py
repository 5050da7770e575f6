"""The in-memory shape of a generated event, before it is rendered into a log line.

Events of one flow share one `FlowContext` (the metrics context the servers attach to every
flow event), so a pending event costs a small object, not a rendered line.
"""

from __future__ import annotations

from typing import Final

from fxa_pipeline.generator.catalogue import Agent

# Event kinds: which server logs it and under which mozlog Type.
CONTENT_FLOW: Final = 0  # content server, Type flowEvent, ISO time
AUTH_FLOW: Final = 1  # auth server, Type flowEvent, ms time, uid once known
ACTIVITY: Final = 2  # auth server, Type activityEvent
AUTH_REQUEST: Final = 3  # auth server request log (Type request.summary): ignored by the loader
CONTENT_REQUEST: Final = 4  # content server request log: ignored by the loader


class FlowContext:
    """What the servers log with every event of one flow."""

    __slots__ = (
        "agent",
        "auth_tail",
        "content_tail",
        "context",
        "entrypoint",
        "flow_id",
        "locale",
        "migration",
        "service",
        "utm",
    )

    def __init__(
        self,
        flow_id: str,
        agent: Agent,
        service: str,
        context: str,
        entrypoint: str,
        migration: str,
        utm: tuple[str, str, str, str, str],
        locale: str,
    ) -> None:
        self.flow_id = flow_id
        self.agent = agent
        self.service = service
        self.context = context
        self.entrypoint = entrypoint
        self.migration = migration
        self.utm = utm
        self.locale = locale
        self.content_tail = ""  # rendered once, on first use (render.py)
        self.auth_tail = ""


class Event:
    """One event. `flow` is set for flow events, `uid` once the account is known."""

    __slots__ = (
        "agent",
        "device_id",
        "extra",
        "flow",
        "flow_time",
        "kind",
        "name",
        "time_ms",
        "uid",
    )

    def __init__(
        self,
        kind: int,
        name: str,
        time_ms: int,
        flow: FlowContext | None = None,
        flow_time: int = 0,
        uid: str = "",
        device_id: str = "",
        agent: Agent | None = None,
        extra: str = "",
    ) -> None:
        self.kind = kind
        self.name = name
        self.time_ms = time_ms
        self.flow = flow
        self.flow_time = flow_time
        self.uid = uid
        self.device_id = device_id
        self.agent = agent
        self.extra = extra  # activity: service; request logs: the rendered Fields object
