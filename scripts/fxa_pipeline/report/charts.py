"""Vega-Lite specs of the report's charts, rendered to inline SVG at build time.

vl-convert runs the Vega-Lite and Vega JavaScript libraries in an embedded engine and returns
each chart as SVG, so the page needs no JavaScript, no network and no font download when it is
viewed, and it looks the same in every browser and in print. Data are inline in each spec and
`allowed_base_urls=[]` forbids any fetch while rendering.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from typing import Any

import vl_convert

from fxa_pipeline.report.data import (
    RETENTION_WEEKS,
    WINDOW_DAYS,
    ActiveUsers,
    ConnectionTimes,
    DaysSeen,
    Funnel,
    Retention,
    WindowSeries,
)

Spec = dict[str, Any]

VL_VERSION = "6.4"  # pinned: a vl-convert upgrade must not change the charts silently
WIDTH = 860
KIND_COLOURS = {"sign_up": "#4c78a8", "sign_in": "#f58518", "unknown": "#9d9d9d"}
OTHER_COLOURS = ("#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b")
SERVICE_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2", "#72b7b2")
FULL = "full window"
WARM_UP = "warm-up (window reaches before the loaded data)"
UNKNOWN = "window unknown (full_window not built yet)"
PHASE_COLOURS = {FULL: "#4c78a8", WARM_UP: "#a3a3a3", UNKNOWN: "#4c78a8"}
BAND_COLOUR = "#d4d4d4"  # behind warm-up days, translucent so that the grid shows through
PHASE_DASHES = {FULL: [1, 0], WARM_UP: [5, 4], UNKNOWN: [1, 0]}

CONFIG: Spec = {
    "font": "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif",
    "title": {"fontSize": 15, "anchor": "start", "subtitleFontSize": 12, "offset": 12},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 420, "titleLimit": 420},
    "header": {"labelFontSize": 13, "labelFontWeight": "bold"},
    "view": {"stroke": None},
}


def _day(value: date) -> str:
    return value.isoformat()


def _time_axis(title: str, days: int) -> Spec:
    return {
        "field": "day",
        "type": "temporal",
        "scale": {"type": "utc"},
        "title": title,
        "axis": {"format": "%b %d", "labelAngle": 0, "tickCount": min(max(days, 2), 14)},
    }


def _funnel_values(funnel: Funnel, labels: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "step": step,
            "kind": kind.flow_kind,
            "kind_label": label,
            "share": kind.steps[step] / kind.begun,
        }
        for kind, label in zip(funnel.kinds, labels, strict=True)
        if kind.begun
        for step in funnel.steps
    ]


def _funnel_layers(labels: list[str], colours: list[str]) -> list[Spec]:
    """The bars, coloured by flow kind, and their labels."""
    return [
        {
            "mark": {"type": "bar"},
            "encoding": {
                "color": {
                    "field": "kind_label",
                    "type": "nominal",
                    "title": "Flow kind",
                    "scale": {"domain": labels, "range": colours},
                    "legend": {"orient": "bottom", "direction": "horizontal"},
                }
            },
        },
        {
            "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 10},
            "encoding": {
                "text": {"field": "share", "type": "quantitative", "format": ".1%"},
                "color": {"value": "#333333"},
            },
        },
    ]


def funnel_spec(funnel: Funnel) -> Spec:
    kinds = [kind.flow_kind for kind in funnel.kinds]
    others = iter(OTHER_COLOURS)
    colours = [KIND_COLOURS.get(kind) or next(others, "#333333") for kind in kinds]
    labels = [f"{kind.flow_kind} ({kind.begun:,} flows begun)" for kind in funnel.kinds]
    values = _funnel_values(funnel, labels)
    period = f"{funnel.first_day} to {funnel.last_day}" if funnel.first_day else "no days"
    return {
        "title": {
            "text": "Funnel by flow kind: share of flows begun that reached each step",
            "subtitle": f"all flows begun {period} (UTC days)",
        },
        "data": {"values": values},
        "width": WIDTH - 180,
        "height": {"step": 13},
        "encoding": {
            "y": {
                "field": "step",
                "type": "nominal",
                "sort": funnel.steps,
                "title": "Funnel step (in the order a flow walks them)",
                "axis": {"labelFontSize": 12},
            },
            "yOffset": {"field": "kind", "sort": kinds},
            "x": {
                "field": "share",
                "type": "quantitative",
                "title": "Flows that reached the step (% of the kind's flows begun)",
                "scale": {"domain": [0, 1]},
                "axis": {"format": ".0%"},
            },
        },
        "layer": _funnel_layers(labels, colours),
    }


def _line_and_point_marks(point_size: int) -> list[Spec]:
    return [
        {"mark": {"type": "line", "strokeWidth": 2}},
        {"mark": {"type": "point", "filled": True, "size": point_size}},
    ]


def connection_time_spec(times: ConnectionTimes) -> Spec:
    labels = [service.label for service in times.services]
    legend = [f"{s.label} ({s.completed_flows:,} completed)" for s in times.services]
    legend_of = dict(zip(labels, legend, strict=True))
    values = [
        {"day": _day(row.day), "service": legend_of[row.label], "percentile": name, "seconds": v}
        for row in times.days
        for name, v in (
            ("median (p50)", row.p50_seconds),
            ("90th percentile (p90)", row.p90_seconds),
        )
        if v is not None
    ]
    day_count = len({row.day for row in times.days})
    return {
        "title": {
            "text": "Device connection time: p50 and p90 per day, by service",
            "subtitle": "seconds from flow.begin to the flow's first flow.complete, "
            "completed flows by the UTC day they began",
        },
        "data": {"values": values},
        "facet": {
            "column": {
                "field": "percentile",
                "type": "nominal",
                "sort": ["median (p50)", "90th percentile (p90)"],
                "title": None,
            }
        },
        # p90 is several times p50: one y scale per panel keeps the medians readable
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": (WIDTH - 160) // 2,
            "height": 260,
            "encoding": {
                "x": _time_axis("Day the flow began (UTC)", day_count),
                "y": {
                    "field": "seconds",
                    "type": "quantitative",
                    "title": "Time to connect a device (seconds)",
                },
                "color": {
                    "field": "service",
                    "type": "nominal",
                    "title": "Service (completed flows, whole period)",
                    "scale": {"domain": legend, "range": list(SERVICE_COLOURS)},
                    "legend": {"orient": "bottom", "direction": "vertical"},
                },
            },
            "layer": _line_and_point_marks(30),
        },
    }


def _warm_up_bands(points: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A grey band behind each run of warm-up days, up to the first full-window day after it."""
    bands: list[dict[str, str]] = []
    start = None
    for point, following in zip(points, [*points[1:], None], strict=True):
        if point["phase"] != WARM_UP:
            continue
        start = start or point["day"]
        if following is None or following["phase"] != WARM_UP:
            end = point["day"] if following is None else following["day"]
            bands.append({"start": start, "end": end})
            start = None
    return bands


def _phase(full: bool | None) -> str:
    return UNKNOWN if full is None else FULL if full else WARM_UP


def _band_layers(bands: list[dict[str, str]], x_axis: Spec) -> list[Spec]:
    """Grey bands behind the warm-up days, each labelled "warm-up" at the bottom."""
    return [
        {
            "data": {"values": bands},
            "mark": {"type": "rect", "color": BAND_COLOUR, "opacity": 0.45},
            "encoding": {"x": {**x_axis, "field": "start"}, "x2": {"field": "end"}},
        },
        {
            "data": {"values": bands},
            "mark": {"type": "text", "align": "left", "baseline": "bottom", "dx": 4, "dy": -4},
            "encoding": {
                "x": {**x_axis, "field": "start"},
                "y": {"value": "height"},
                "text": {"value": "warm-up"},
                "color": {"value": "#777777"},
            },
        },
    ]


def _warm_up_lines(points: list[dict[str, Any]], series: str | None = None) -> list[dict[str, Any]]:
    """The points of the lines: each phase is its own line, and the warm-up line of each
    series (the points with the same `series` field) runs on to its first full-window day, so
    that the line has no gap where the window fills up."""
    lines = list(points)
    by_series: dict[object, list[dict[str, Any]]] = {}
    for point in points:
        by_series.setdefault(point[series] if series else None, []).append(point)
    for same in by_series.values():
        for previous, current in pairwise(same):
            if previous["phase"] == WARM_UP and current["phase"] == FULL:
                lines.append({**current, "phase": WARM_UP})
    return lines


def _phase_dash(phases: list[str]) -> Spec:
    return {
        "field": "phase",
        "type": "nominal",
        "title": "Window",
        "scale": {"domain": phases, "range": [PHASE_DASHES[p] for p in phases]},
    }


def _line_layers(
    lines: list[dict[str, Any]],
    points: list[dict[str, Any]],
    encoding: tuple[Spec, Spec, Spec],
    point_size: int,
) -> list[Spec]:
    """A line per series and phase (`encoding`: y, colour, dash), and a point per value."""
    y_axis, colour, dash = encoding
    return [
        {
            "data": {"values": lines},
            "mark": {"type": "line", "strokeWidth": 2},
            "encoding": {"y": y_axis, "color": colour, "strokeDash": dash},
        },
        {
            "data": {"values": points},
            "mark": {"type": "point", "filled": True, "size": point_size},
            "encoding": {"y": y_axis, "color": {**colour, "legend": None}},
        },
    ]


def window_spec(series: WindowSeries, title: str, y_title: str, guide_subtitle: str) -> Spec:
    """A daily ratio; warm-up days grey and dashed, with their own legend entry."""
    days = [day for day in series.days if day.ratio is not None]

    points = [
        {"day": _day(day.day), "ratio": day.ratio, "phase": _phase(day.full_window)} for day in days
    ]
    lines = _warm_up_lines(points)
    phases = [p for p in (FULL, WARM_UP, UNKNOWN) if any(pt["phase"] == p for pt in points)]
    bands = _warm_up_bands(points)
    colour = {
        "field": "phase",
        "type": "nominal",
        "title": "Window",
        "scale": {"domain": phases, "range": [PHASE_COLOURS[p] for p in phases]},
        "legend": {"orient": "bottom", "direction": "horizontal", "symbolStrokeWidth": 2},
    }
    x_axis = _time_axis("Day (UTC)", len(points))
    y_axis = {
        "field": "ratio",
        "type": "quantitative",
        "title": y_title,
        "axis": {"format": ".0%"},
        "scale": {"zero": True},
    }
    return {
        "title": {"text": title, "subtitle": guide_subtitle},
        "width": WIDTH - 40,
        "height": 220,
        "encoding": {"x": x_axis},
        "layer": [
            *_band_layers(bands, x_axis),
            *_line_layers(lines, points, (y_axis, colour, _phase_dash(phases)), 40),
        ],
    }


# (ActiveUsersDay field, short name, legend label, colour)
ACTIVE_MEASURES = (
    ("daily", "DAU", "daily active users (DAU)", "#4c78a8"),
    ("weekly", "WAU", "weekly active users (WAU, 7 days)", "#f58518"),
    ("monthly", "MAU", "monthly active users (MAU, 28 days)", "#54a24b"),
)
ACTIVE_USERS_TITLE = "Active users per day: "


def _listing(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def _active_users_title(shown: set[str]) -> Spec:
    """The title naming the measures shown (DAU, WAU, MAU) and their windows."""
    names = _listing([name for key, name, _, _ in ACTIVE_MEASURES if key in shown])
    windows = _listing(
        [
            text
            for key, text in (("daily", "that day"), ("weekly", "in the 7 days"),
                              ("monthly", "in the 28 days"))
            if key in shown
        ]
    )  # fmt: skip
    return {
        "text": ACTIVE_USERS_TITLE + names,
        "subtitle": f"distinct uids with any activity event {windows} up to it (UTC days)",
    }


def active_users_spec(active: ActiveUsers) -> Spec:
    """DAU, WAU and MAU per day, one colour each; warm-up days dashed over a grey band."""
    measures = [
        (key, label, colour)
        for key, _, label, colour in ACTIVE_MEASURES
        if any(getattr(day, key) is not None for day in active.days)
    ]
    days = [{"day": _day(day.day), "phase": _phase(day.full_window)} for day in active.days]
    points = [
        {"day": _day(day.day), "measure": label, "users": value, "phase": _phase(day.full_window)}
        for day in active.days
        for key, label, _ in measures
        if (value := getattr(day, key)) is not None
    ]
    lines = _warm_up_lines(points, "measure")
    phases = [p for p in (FULL, WARM_UP, UNKNOWN) if any(d["phase"] == p for d in days)]
    x_axis = _time_axis("Day (UTC)", len(days))
    y_axis = {
        "field": "users",
        "type": "quantitative",
        "title": "Active users (distinct uids)",
        "axis": {"format": ",d"},
        "scale": {"zero": True},
    }
    colour = {
        "field": "measure",
        "type": "nominal",
        "title": "Active in",
        "scale": {"domain": [m[1] for m in measures], "range": [m[2] for m in measures]},
        "legend": {"orient": "bottom", "direction": "vertical"},
    }
    dash = {
        **_phase_dash(phases),
        "legend": {"orient": "bottom", "direction": "vertical", "symbolStrokeColor": "#555555"},
    }
    return {
        "title": _active_users_title({m[0] for m in measures}),
        "width": WIDTH - 40,
        "height": 240,
        "encoding": {"x": x_axis},
        "layer": [
            *_band_layers(_warm_up_bands(days), x_axis),
            *_line_layers(lines, points, (y_axis, colour, dash), 25),
        ],
    }


def days_seen_spec(seen: DaysSeen) -> Spec:
    """How many of the latest day's 28-day actives were active on 1, 2, ... 28 days."""
    values = [{"days_seen": n, "users": users} for n, users in seen.users]
    total = sum(users for _, users in seen.users)
    return {
        "title": {
            "text": f"Days active in the 28 days up to {seen.day}",
            "subtitle": f"the {total:,} users active at least once in [{seen.day} - 27 days, "
            f"{seen.day}], by the number of days they were active (days_seen)",
        },
        "data": {"values": values},
        "width": WIDTH - 60,
        "height": 200,
        "mark": {"type": "bar", "color": "#4c78a8"},
        "encoding": {
            "x": {
                "field": "days_seen",
                "type": "ordinal",
                "title": "Days active in the 28-day window (days_seen)",
                "scale": {"domain": list(range(1, WINDOW_DAYS + 1))},
                "axis": {"labelAngle": 0},
            },
            "y": {
                "field": "users",
                "type": "quantitative",
                "title": "Users (distinct uids)",
                "axis": {"format": ",d"},
            },
        },
    }


WEEK_COLOURS = ("#4c78a8", "#f58518", "#e45756")


def _week_label(week: int) -> str:
    return f"week {week} (days {7 * week}-{7 * week + 6} after sign-up)"


def retention_spec(retention: Retention) -> Spec:
    """Retention of each cohort in weeks 1-3, one panel per service group; a week that is not
    over yet has no point (it is not drawn as zero)."""
    group_label = {
        group.label: f"{group.label} ({group.new_accounts:,} new accounts)"
        for group in retention.groups
    }
    weeks = [_week_label(week) for week in RETENTION_WEEKS]
    values = [
        {
            "day": _day(cohort.cohort_day),
            "group": group_label[cohort.group],
            "week": weeks[week - 1],
            "share": share,
        }
        for cohort in retention.cohorts
        for week in RETENTION_WEEKS
        if (share := cohort.share(week)) is not None
    ]
    return {
        "title": {
            "text": "New-account retention by sign-up day: weeks 1, 2 and 3",
            "subtitle": "share of the day's new accounts with any activity event in the week; "
            "weeks not over in the loaded data are left out",
        },
        "data": {"values": values},
        "facet": {
            "row": {
                "field": "group",
                "type": "nominal",
                "sort": [group_label[g.label] for g in retention.groups],
                "title": None,
                "header": {
                    "labelAngle": 0,
                    "labelAlign": "left",
                    "labelAnchor": "start",
                    "labelOrient": "top",
                },
            }
        },
        "spec": _retention_panel(weeks, len({c.cohort_day for c in retention.cohorts})),
    }


def _retention_panel(weeks: list[str], day_count: int) -> Spec:
    """One service group's panel: a line per week over the cohorts' sign-up days."""
    return {
        "width": WIDTH - 60,
        "height": 130,
        "encoding": {
            "x": _time_axis("Sign-up day of the cohort (UTC, first account.created)", day_count),
            "y": {
                "field": "share",
                "type": "quantitative",
                "title": "Retained (% of new accounts)",
                "axis": {"format": ".0%", "tickCount": 4},
                "scale": {"zero": True},
            },
            "color": {
                "field": "week",
                "type": "nominal",
                "title": "Active again in",
                "scale": {"domain": weeks, "range": list(WEEK_COLOURS)},
                "legend": {"orient": "bottom", "direction": "vertical"},
            },
        },
        "layer": _line_and_point_marks(25),
    }


_ID = re.compile(r'\bid="([^"]+)"')


def scope_ids(svg: str, prefix: str) -> str:
    """Make the SVG's ids (clip paths, gradients) unique in a page of several charts."""
    for name in sorted(set(_ID.findall(svg)), key=len, reverse=True):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}-{name}"')
        svg = svg.replace(f"url(#{name})", f"url(#{prefix}-{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}-{name}"')
    return svg


def render_svg(spec: Spec, prefix: str) -> str:
    full = {
        "$schema": f"https://vega.github.io/schema/vega-lite/v{VL_VERSION.split('.')[0]}.json",
        "background": "white",
        "padding": 8,
        "config": CONFIG,
        **spec,
    }
    svg = vl_convert.vegalite_to_svg(full, vl_version=VL_VERSION, allowed_base_urls=[])
    return scope_ids(svg, prefix)
