"""The report's HTML: one static, self-contained page (inline CSS and SVG, no script, no link).

Every value that comes from the warehouse is escaped; the only markup not written here is the
SVG vl-convert renders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from fxa_pipeline.report import charts
from fxa_pipeline.report.data import (
    ENGAGEMENT,
    MULTI_DEVICE,
    ConnectionTimes,
    Funnel,
    LoadQuality,
    LoadTotals,
    NotBuilt,
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
    ("load-quality", "4. Load quality"),
)


def render(report: Report) -> str:
    bodies = (
        funnel_section(report.funnel),
        connection_section(report.connection_times),
        window_section(report.engagement, report.multi_device),
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
