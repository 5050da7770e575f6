"""The report's HTML: one static, self-contained page (inline CSS and SVG, no script, no link).

Every value that comes from the warehouse is escaped; the only markup not written here is the
SVG vl-convert renders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from fxa_pipeline.kpi_tables import NotBuilt
from fxa_pipeline.report import charts
from fxa_pipeline.report.data import (
    ENGAGEMENT,
    MULTI_DEVICE,
    RETENTION_WEEKS,
    TOP_RETENTION_SERVICES,
    WINDOW_DAYS,
    ActiveUsers,
    ConnectionTimes,
    DaysSeen,
    Funnel,
    LoadQuality,
    LoadTotals,
    Retention,
    WindowSeries,
)

CSS = """
body { margin: 0; background: #f6f6f4; color: #222;
       font: 15px/1.45 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
main { max-width: 940px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 12px; border-top: 1px solid #ddd; }
.meta { color: #555; margin: 0 0 12px; }
nav a { margin-right: 14px; }
figure { margin: 12px 0 8px; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 14px; margin-top: 4px; }
figcaption b { color: #222; }
table { border-collapse: collapse; margin: 10px 0 6px; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f0f0ee; font-weight: 600; }
td.text, th.text { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
.note { color: #555; font-size: 14px; }
.not-built { color: #8a5a00; background: #fff6e0; border-left: 4px solid #e0a800;
             padding: 6px 10px; }
"""


@dataclass(frozen=True)
class Report:
    target: str
    warehouse: str
    generated_at: datetime
    funnel: Funnel | NotBuilt
    connection_times: ConnectionTimes | NotBuilt
    engagement: WindowSeries | NotBuilt
    multi_device: WindowSeries | NotBuilt
    active_users: ActiveUsers | NotBuilt
    days_seen: DaysSeen | NotBuilt
    retention: Retention | NotBuilt
    load_quality: LoadQuality


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _moment(value: datetime | date | None) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _table(
    header: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "", text_cols: int = 1
) -> str:
    def cell(tag: str, i: int, value: object) -> str:
        css = ' class="text"' if i < text_cols else ""
        return f"<{tag}{css}>{escape(str(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _not_built(item: NotBuilt) -> str:
    return f'<p class="not-built">{escape(item.message())}</p>'


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _figure(svg: str, guide: str) -> str:
    return f"<figure>{svg}<figcaption><b>How to read:</b> {escape(guide)}</figcaption></figure>"


def funnel_section(funnel: Funnel | NotBuilt) -> str:
    if isinstance(funnel, NotBuilt):
        return _not_built(funnel)
    if not funnel.kinds:
        return _note("analytics.kpi_flow_funnel_daily has no rows yet.")
    out = [
        _figure(
            charts.render_svg(charts.funnel_spec(funnel), "funnel"),
            "each bar is the share of a kind's flows begun in the period that reached the "
            "step; the fall from one step to the next is the drop-off there.",
        ),
        _table(
            ["flow kind", "begun", *funnel.steps],
            [
                [kind.flow_kind, _count(kind.begun), *(_count(kind.steps[s]) for s in funnel.steps)]
                for kind in funnel.kinds
            ],
            "Flows that reached each step, all days",
        ),
    ]
    if funnel.not_built:
        out.append(_not_built(funnel.not_built))
    return "".join(out)


def connection_section(times: ConnectionTimes | NotBuilt) -> str:
    if isinstance(times, NotBuilt):
        return _not_built(times)
    if not times.days:
        return _note("analytics.kpi_device_connection_time_daily has no rows yet.")
    out = [
        _figure(
            charts.render_svg(charts.connection_time_spec(times), "connection"),
            "lower is faster: p50 is the typical flow, p90 the slow tail; a jump on a day "
            "with few completed flows is noise.",
        ),
        _note(
            f"Shown: sync and the services with the most completed flows, "
            f"{len(times.services)} of {times.service_count} services."
        ),
        _table(
            ["service", "service id", "completed flows"],
            [[s.label, s.service or "", _count(s.completed_flows)] for s in times.services],
            text_cols=2,
        ),
    ]
    if times.not_built:
        out.append(_not_built(times.not_built))
        out.append(_note("Services are labelled by their id until then."))
    return "".join(out)


def _latest(series: WindowSeries, numerator: str, denominator: str) -> str:
    days = [day for day in series.days if day.ratio is not None]
    warm_up = sum(1 for day in series.days if day.full_window is False)
    if not days:
        return "No day has a ratio yet (zero denominators)."
    last = days[-1]
    latest = (
        f"Latest day {last.day}: {_pct(last.ratio)} ({numerator} {last.numerator:,} / "
        f"{denominator} {last.denominator:,})"
    )
    if series.not_built:
        return f"{latest}."
    return f"{latest}; {warm_up} warm-up day{'' if warm_up == 1 else 's'} of {len(series.days)}."


def window_section(engagement: WindowSeries | NotBuilt, multi: WindowSeries | NotBuilt) -> str:
    out: list[str] = []
    for series, title, y_title, subtitle, guide, names, prefix in (
        (
            engagement,
            "Engagement ratio per day: daily / monthly active users",
            "Engagement ratio, DAU / MAU (%)",
            "users active that day / users active in the 28 days up to it",
            "higher means the month's users come back more often; on grey dashed warm-up days "
            "the 28-day window is not fully loaded, so MAU is low and the ratio too high.",
            ("DAU", "MAU"),
            "engagement",
        ),
        (
            multi,
            "Multi-device share per day",
            "Multi-device users (% of device users)",
            "users active that day who used two or more devices within the window",
            "higher means more users connect several devices; on grey dashed warm-up days the "
            "window is not fully loaded, so fewer second devices are seen and the share is low.",
            ("multi-device users", "device users"),
            "multi-device",
        ),
    ):
        kpi = ENGAGEMENT if prefix == "engagement" else MULTI_DEVICE
        if isinstance(series, NotBuilt):
            out.append(f"<h3>{escape(title)}</h3>" + _not_built(series))
            continue
        if not series.days:
            out.append(_note(f"analytics.{kpi.table} has no rows yet."))
            continue
        svg = charts.render_svg(charts.window_spec(series, title, y_title, subtitle), prefix)
        out.append(_figure(svg, guide))
        out.append(_note(_latest(series, *names)))
        if series.not_built:
            out.append(_not_built(series.not_built))
            out.append(_note("Warm-up days cannot be told apart until then."))
    return "".join(out)


def _latest_active(active: ActiveUsers) -> str:
    last = active.days[-1]
    parts = [f"DAU {last.daily:,}"]
    if last.weekly is not None:
        parts.append(f"WAU {last.weekly:,}")
    parts.append(f"MAU {last.monthly:,}")
    ratios = []
    if last.weekly:
        ratios.append(f"DAU / WAU {_pct(last.daily / last.weekly)}")
    if last.monthly:
        ratios.append(f"DAU / MAU {_pct(last.daily / last.monthly)}")
    warm_up = sum(1 for day in active.days if day.full_window is False)
    text = f"Latest day {last.day}: {', '.join(parts)}"
    if ratios:
        text += f" ({', '.join(ratios)})"
    if any(day.full_window is not None for day in active.days):
        text += f"; {warm_up} warm-up day{'' if warm_up == 1 else 's'} of {len(active.days)}"
    return text + "."


# Buckets of days_seen for the table under the distribution: (label, lowest, highest).
DAYS_SEEN_BUCKETS = (
    ("1 day", 1, 1),
    ("2-6 days", 2, 6),
    ("7-13 days", 7, 13),
    ("14-20 days", 14, 20),
    ("21-27 days", 21, 27),
    ("all 28 days", 28, 28),
)


def _days_seen(seen: DaysSeen | NotBuilt) -> str:
    title = "Days active in the last 28 days"
    if isinstance(seen, NotBuilt):
        return f"<h3>{escape(title)}</h3>" + _not_built(seen)
    if seen.day is None or not seen.users:
        return _note("analytics.users_last_seen has no rows yet.")
    total = sum(users for _, users in seen.users)
    out = [
        _figure(
            charts.render_svg(charts.days_seen_spec(seen), "days-seen"),
            "each bar counts the users active on that many of the 28 days up to the latest "
            "day: the bars on the left are occasional users (and accounts new this month), "
            "those on the right the regulars who come back nearly every day.",
        ),
        _table(
            ["days active", "users", "share"],
            [
                *(
                    [label, _count(n), _pct(n / total)]
                    for label, lo, hi in DAYS_SEEN_BUCKETS
                    for n in [sum(u for d, u in seen.users if lo <= d <= hi)]
                ),
                ["total", _count(total), _pct(1.0)],
            ],
            "Users by days active",
        ),
    ]
    if not seen.full_window:
        out.append(
            _note(
                f"The loaded data begin on {seen.first_day}, fewer than {WINDOW_DAYS} days "
                f"before {seen.day}: days before the data count as inactive, so the users are "
                "shifted towards fewer days."
            )
        )
    return "".join(out)


def active_users_section(active: ActiveUsers | NotBuilt, seen: DaysSeen | NotBuilt) -> str:
    out: list[str] = []
    if isinstance(active, NotBuilt):
        out.append("<h3>Active users per day: DAU, WAU and MAU</h3>" + _not_built(active))
    elif not active.days:
        out.append(_note("analytics.kpi_engagement_ratio_daily has no rows yet."))
    else:
        out.append(
            _figure(
                charts.render_svg(charts.active_users_spec(active), "active-users"),
                "the gap between the lines shows how often users come back: the closer DAU is "
                "to WAU and MAU, the more of them use their account every day. On grey dashed "
                "warm-up days the window reaches before the loaded data, so MAU (and, in the "
                "first six days, WAU) is understated.",
            )
        )
        out.append(_note(_latest_active(active)))
        if active.not_built:
            out.append(_not_built(active.not_built))
    out.append(_days_seen(seen))
    return "".join(out)


def _share_of(retained: int, accounts: int) -> str:
    return f"{_pct(retained / accounts)} of {accounts:,}" if accounts else "-"


def retention_section(retention: Retention | NotBuilt) -> str:
    if isinstance(retention, NotBuilt):
        return _not_built(retention)
    if not retention.cohorts:
        return _note("analytics.kpi_retention_daily has no rows yet.")
    out: list[str] = []
    if any(c.share(week) is not None for c in retention.cohorts for week in RETENTION_WEEKS):
        out.append(
            _figure(
                charts.render_svg(charts.retention_spec(retention), "retention"),
                "each point is the accounts created on one day; week k is days 7k to 7k + 6 "
                "after that day. Retention normally falls from week 1 to week 3; a line "
                "rising from left to right means newer accounts come back more. The latest "
                "cohorts have no point yet for the weeks that are not over. A service with "
                "few new accounts a day jumps from day to day.",
            )
        )
    else:
        out.append(
            _note(
                "No cohort has a finished week yet: week k of the accounts created on day D "
                "ends on D + 7k + 6, and the loaded data end before the first of them."
            )
        )
    out.append(
        _table(
            [
                "service",
                "service id",
                "new accounts",
                *(f"week {week}" for week in RETENTION_WEEKS),
            ],
            [
                [
                    group.label,
                    group.service or "",
                    _count(group.new_accounts),
                    *(_share_of(*group.over[week - 1]) for week in RETENTION_WEEKS),
                ]
                for group in retention.groups
            ],
            "Retained, over the cohorts whose week is over (% of their new accounts)",
            text_cols=2,
        )
    )
    out.append(
        _note(
            f"Shown: all services and the {TOP_RETENTION_SERVICES} with the most new accounts "
            f"({len(retention.groups) - 1} of {retention.service_count} services). A new "
            "account's service is the first one its account.created events name."
        )
    )
    return "".join(out)


def _totals_table(source: str, totals: LoadTotals) -> str:
    return _table(
        ["files", "lines", "loaded", "rejected", "ignored", "rejected share"],
        [
            [
                _count(totals.files),
                _count(totals.lines),
                _count(totals.loaded),
                _count(totals.rejected),
                _count(totals.ignored),
                _pct(totals.rejected_share),
            ]
        ],
        f"All loads (from {source})",
        text_cols=0,
    )


def load_quality_section(quality: LoadQuality) -> str:
    out: list[str] = []
    if isinstance(quality.totals, NotBuilt):
        out.append(_not_built(quality.totals))
    else:
        out.append(_totals_table(quality.source, quality.totals))
        if quality.first_loaded is not None:
            first, last = (_moment(t) for t in (quality.first_loaded, quality.last_loaded))
            out.append(_note(f"Loads from {first} to {last} (UTC)."))
    if isinstance(quality.reasons, NotBuilt):
        out.append(_not_built(quality.reasons))
    elif not quality.reasons:
        out.append(_note("No rejected lines."))
    else:
        total = quality.rejected_lines
        out.append(
            _table(
                ["reason", "rejected lines", "share of rejected lines"],
                [[r, _count(n), _pct(n / total)] for r, n in quality.reasons],
                f"Top rejection reasons (from raw.rejected_lines, {total:,} lines)",
            )
        )
    if quality.worst_files:
        out.append(
            _table(
                ["file", "lines", "rejected", "rejected share"],
                [
                    [name, _count(lines), _count(rej), _pct(rej / lines if lines else None)]
                    for name, lines, rej in quality.worst_files
                ],
                "Files with the most rejected lines",
            )
        )
    return "".join(out)


SECTIONS = (
    ("funnel", "1. Funnel by flow kind"),
    ("connection-time", "2. Device connection time"),
    ("engagement", "3. Engagement ratio and multi-device share"),
    ("active-users", "4. Active users and days active"),
    ("retention", "5. New-account retention"),
    ("load-quality", "6. Load quality"),
)


def render(report: Report) -> str:
    bodies = (
        funnel_section(report.funnel),
        connection_section(report.connection_times),
        window_section(report.engagement, report.multi_device),
        active_users_section(report.active_users, report.days_seen),
        retention_section(report.retention),
        load_quality_section(report.load_quality),
    )
    nav = "".join(f'<a href="#{anchor}">{escape(title)}</a>' for anchor, title in SECTIONS)
    sections = "".join(
        f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'
        for (anchor, title), body in zip(SECTIONS, bodies, strict=True)
    )
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Firefox Accounts KPI report</title>"
        f"<style>{CSS}</style></head><body><main>"
        "<h1>Firefox Accounts KPI report</h1>"
        f'<p class="meta">Target <b>{escape(report.target)}</b>: '
        f"{escape(report.warehouse)}. Generated {generated}.</p>"
        f"<nav>{nav}</nav>{sections}</main></body></html>\n"
    )
