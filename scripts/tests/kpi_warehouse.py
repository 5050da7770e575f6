"""A small hand-made warehouse for the analyses' worked-out values (test_analyses.py).

Creates the raw tables of `fxa_pipeline.raw_schema` in a scratch warehouse of dbt_harness,
fills them with a fixture of three days (flows going through the funnel step by step,
completions, users on one or two devices, three of them new accounts) and two later days
when two users come back, then builds the seeds and models with dbt (their tests are the
standard build's job: test_dbt_build.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from dbt_harness import Warehouse
from fxa_pipeline.raw_schema import RAW_TABLES

DAYS = (datetime(2017, 3, 1), datetime(2017, 3, 2), datetime(2017, 3, 3))
# Users 3, 4 and 5 create their accounts on the first day (user 3 with no service, 4 and 5
# for sync); user 4 comes back on 2017-03-13, day 12 after sign-up (late in week 1 of its
# cohort, 03-08 to 03-14: 12 / 7 rounded, not truncated, would make it week 2), and user 0 on
# 2017-03-14, the last day of the data; both with no device id (no multi-device rows).
NEW_ACCOUNTS = {3: None, 4: "sync", 5: "sync"}
COMEBACKS = ((datetime(2017, 3, 13), 4), (datetime(2017, 3, 14), 0))
LOADED_AT = datetime(2017, 3, 15, 6, 0, 0)
# Each day has nine flows; flow i logs the first 9 - i events of its path, so flow 0 completes
# and flow 8 only begins (the expectations are worked out in test_analyses.py).
FLOWS_PER_DAY = 9


def hex_id(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _flow_rows() -> list[tuple[Any, ...]]:
    """Raw flow events: per day, flow i reaches fewer steps as i grows (a falling funnel)."""
    rows: list[dict[str, Any]] = []
    for day in DAYS:
        for i in range(FLOWS_PER_DAY):
            flow_id = hex_id(f"flow-{day:%Y%m%d}-{i}", 64)
            sign_up = i % 2 == 0
            view = "signup" if sign_up else "signin"
            path = [
                "flow.begin",
                f"flow.{view}.view",
                f"flow.{view}.engage",
                f"flow.{view}.submit",
                f"flow.{view}.attempt",
                "account.created" if sign_up else "account.login",
                "email.verification.sent" if sign_up else "email.confirmation.sent",
                "account.verified" if sign_up else "account.confirmed",
                "flow.complete",
            ]
            reached = len(path) - i
            begin = day + timedelta(hours=8, minutes=i)
            for step, event in enumerate(path[:reached]):
                flow_time = step * 1000 * (i + 2)
                rows.append(
                    {
                        "timestamp": begin + timedelta(milliseconds=flow_time),
                        "type": event,
                        "flow_id": flow_id,
                        "flow_time": flow_time,
                        "ua_browser": "Firefox",
                        "ua_version": "51",
                        "ua_os": "Windows 10",
                        "service": "sync" if i % 3 else None,
                        "source_line": len(rows) + 1,
                    }
                )
    return [_as_tuple("flow_events", row) for row in rows]


def _activity_rows() -> list[tuple[Any, ...]]:
    """Raw activity events: six users a day, two of them on two devices; three sign-ups on
    the first day and two users coming back later."""
    rows: list[dict[str, Any]] = []
    for user, service in NEW_ACCOUNTS.items():
        rows.append(
            {
                "timestamp": DAYS[0] + timedelta(hours=8, minutes=user),
                "type": "account.created",
                "uid": hex_id(f"user-{user}", 64),
                "service": service,
                "source_line": len(rows) + 1,
            }
        )
    for day, user in COMEBACKS:
        rows.append(
            {
                "timestamp": day + timedelta(hours=12),
                "type": "account.signed",
                "uid": hex_id(f"user-{user}", 64),
                "service": "sync",
                "source_line": len(rows) + 1,
            }
        )
    for day in DAYS:
        for user in range(6):
            devices = [0, 1] if user < 2 else [0]
            for device in devices:
                rows.append(
                    {
                        "timestamp": day + timedelta(hours=9, minutes=user * 5 + device),
                        "type": "account.signed",
                        "uid": hex_id(f"user-{user}", 64),
                        "device_id": hex_id(f"device-{user}-{device}", 32),
                        "service": "sync",
                        "source_line": len(rows) + 1,
                    }
                )
    return [_as_tuple("activity_events", row) for row in rows]


def _as_tuple(table: str, values: dict[str, Any]) -> tuple[Any, ...]:
    values = {"source_file": f"/fixture/{table}.log", "loaded_at": LOADED_AT, **values}
    return tuple(values.get(column.name) for column in RAW_TABLES[table])


def fixture_rows() -> dict[str, list[tuple[Any, ...]]]:
    return {"flow_events": _flow_rows(), "activity_events": _activity_rows()}


def build_kpi_warehouse(warehouse: Warehouse) -> Warehouse:
    """Fill the empty `warehouse` with the fixture and build its seeds and models."""
    warehouse.create_raw_tables()
    for table, rows in fixture_rows().items():
        warehouse.insert(table, rows)
    warehouse.dbt("build", "--exclude", "resource_type:test", "resource_type:unit_test")
    return warehouse
