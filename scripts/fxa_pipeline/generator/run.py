"""The generation loop: flows and sessions in begin-time order, events written in time order.

Flow and session start times come as two sorted streams (timeline.py), merged. Each start is
simulated whole (flows.py) and its events go into a heap keyed by (time, sequence). Before a
start at time T is simulated, every pending event earlier than T is written: no later start
can produce an earlier event, so files come out in time order and the heap only ever holds
the events of flows still open (at most ~100 minutes of traffic). Memory does not grow with
the number of days or flows beyond that window.

Events are routed by the UTC day of their time: to the legacy CSV exports for the
`legacy_days` days before `start_date`, else to that day's JSON log files. Generation starts
two hours before the first day (events before it are dropped, so the first day has flows
without `flow.begin`, as real logs do) and stops at the end of the last day (later events are
dropped: the logs end there).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import heapq
import hmac
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fxa_pipeline.generator import render
from fxa_pipeline.generator.events import (
    ACTIVITY,
    AUTH_REQUEST,
    CONTENT_FLOW,
    CONTENT_REQUEST,
    Event,
)
from fxa_pipeline.generator.flows import simulate_flow, simulate_session
from fxa_pipeline.generator.population import Population
from fxa_pipeline.generator.sink import CountingWriter
from fxa_pipeline.generator.timeline import DAY_MS, sorted_starts, traffic_share

WARMUP_FRACTION = 22 / 24  # generation starts at 22:00 the day before the first day
MALFORMED_RATE = 0.0005
DUPLICATE_RATE = 0.001
BLANK_RATE = 0.00005
_ANY_NOISE_RATE = MALFORMED_RATE + DUPLICATE_RATE + BLANK_RATE
_CLEAN: tuple[None, None, bool, bool] = (None, None, False, False)
TEXT_MODE_EVERY = 3  # days 2, 5, 8, ... (index 1 mod 3): one auth host logs in text mode
SESSIONS_PER_FLOW = 1.0
MANIFEST_NAME = ".manifest.json"  # hidden: the loader skips it when given the folder


@dataclass(frozen=True)
class Options:
    out: Path
    days: int = 7
    start_date: dt.date = dt.date(2017, 3, 1)
    flows_per_day: int = 2000
    users: int = 4000
    seed: int = 42
    compress: bool = False
    legacy_days: int = 1
    noise: bool = True
    hmac_key: str | None = None


@dataclass
class Stats:
    flows: int = 0
    sessions: int = 0
    events_dropped_outside_range: int = 0
    lines: int = 0
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


def _day_number(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _starts(rng: random.Random, per_day: int, first_day: int, days: int) -> Iterator[int]:
    warmup = round(per_day * traffic_share(WARMUP_FRACTION, 1.0))
    yield from sorted_starts(rng, warmup, (first_day - 1) * DAY_MS, WARMUP_FRACTION, 1.0)
    for day in range(first_day, first_day + days):
        yield from sorted_starts(rng, per_day, day * DAY_MS)


class _Noise:
    """Decides, line by line, which valid event lines get a damaged twin, a duplicate or a
    blank line after them. Every file gets each kind that can apply to it at least once (a
    quota, served once the file has `QUOTA_AFTER_LINES` lines, so that a file never starts
    with a damaged line), then more at random."""

    QUOTA_AFTER_LINES = 20

    def __init__(self, rng: random.Random, enabled: bool) -> None:
        self.rng = rng
        self.enabled = enabled
        self.pending: dict[str, list[str]] = {}

    def write(
        self,
        w: CountingWriter,
        kinds: tuple[str, ...],
        corrupt: Callable[[str, Any, Event], str | None],
        source: Any,
        ev: Event,
        line: str,
        counter: str,
    ) -> None:
        """The event line `line` (made from `source`) written to `w`, counted as `counter`,
        with the damaged twin, duplicate or blank line `decide` gives it."""
        bad_kind, bad, dup, blank = self.decide(w, kinds, corrupt, source, ev)
        if bad_kind is not None and bad is not None:
            w.write_malformed(bad, bad_kind)
        w.write(line, counter)
        if dup:
            w.write(line, counter)
            w.counts["duplicates"] += 1
        if blank:
            w.write("", "blank")

    def decide(
        self,
        w: CountingWriter,
        kinds: tuple[str, ...],
        corrupt: Callable[[str, Any, Event], str | None],
        line: Any,
        ev: Event,
    ) -> tuple[str | None, str | None, bool, bool]:
        """(malformed kind, malformed line, duplicate?, blank line?) for the next event line;
        `kinds` are the malformations that can apply to this file, `corrupt(kind, line, ev)`
        makes one (None when it cannot apply)."""
        if not self.enabled:
            return _CLEAN
        r = self.rng.random()
        if r >= _ANY_NOISE_RATE and not self.pending.get(w.relative, True):
            return _CLEAN  # the hot path: nothing to do
        kind: str | None = None
        bad: str | None = None
        dup = blank = False
        if r < _ANY_NOISE_RATE:
            if r < MALFORMED_RATE:
                kind = kinds[int(r / MALFORMED_RATE * len(kinds))]
                bad = corrupt(kind, line, ev)
            elif r < MALFORMED_RATE + DUPLICATE_RATE:
                dup = True
            else:
                blank = True
        pending = self.pending.get(w.relative)
        if pending is None:
            pending = self.pending[w.relative] = [*kinds, "duplicate", "blank"]
        if pending and w.counts["lines"] >= self.QUOTA_AFTER_LINES:
            if pending[-1] == "blank":  # served first, before the malformed kinds
                blank = True
                pending.pop()
            elif pending[-1] == "duplicate":
                dup = True
                pending.pop()
            elif bad is None:
                for want in pending:
                    bad = corrupt(want, line, ev)
                    if bad is not None:
                        kind = want
                        break
            if bad is not None and kind in pending:
                pending.remove(kind)
        return (kind, bad, dup, blank) if bad is not None else (None, None, dup, blank)


class Emitter:
    """Writes events to the file of their day and server, with noise and counts."""

    def __init__(self, opts: Options, rng: random.Random, stats: Stats) -> None:
        self.opts = opts
        self.rng = rng
        self.stats = stats
        self.first_day = _day_number(opts.start_date)
        self.legacy_first = self.first_day - opts.legacy_days
        self.end_day = self.first_day + opts.days
        self.ext = ".gz" if opts.compress else ""
        self.current_day = -1
        self.writers: dict[str, CountingWriter] = {}
        self.noise = _Noise(rng, opts.noise)
        key = (opts.hmac_key or "").encode()
        self._hmac = lru_cache(maxsize=50_000)(
            lambda uid: hmac.new(key, uid.encode(), hashlib.sha256).hexdigest()
        )
        self._csv_rows: dict[str, Any] = {}
        self._json_day = -1
        self._json: tuple[CountingWriter, CountingWriter, CountingWriter | None]

    # -- files -------------------------------------------------------------------------
    def _writer(self, relative: str) -> CountingWriter:
        w = self.writers.get(relative)
        if w is None:
            w = CountingWriter(self.opts.out / relative, relative, self.opts.compress)
            self.writers[relative] = w
        return w

    def _enter_day(self, day: int) -> None:
        if day != self.current_day:
            self.close_all()
            self.current_day = day

    def close_all(self) -> None:
        self._json_day = -1
        for relative in sorted(self.writers):
            self.stats.files[relative] = self.writers[relative].close()
        self.writers.clear()
        self._csv_rows.clear()

    # -- routing -----------------------------------------------------------------------
    def emit(self, ev: Event) -> None:
        day = ev.time_ms // DAY_MS
        if day < self.legacy_first or day >= self.end_day:
            self.stats.events_dropped_outside_range += 1
            return
        self._enter_day(day)
        if day < self.first_day:
            self._emit_csv(ev, day)
        else:
            self._emit_json(ev, day)

    def _json_writers(
        self, day: int
    ) -> tuple[CountingWriter, CountingWriter, CountingWriter | None]:
        """(content, auth, auth text-mode or None) writers of a day, opened on first use."""
        folder = render.day_text(day)
        text_day = (day - self.first_day) % TEXT_MODE_EVERY == 1
        return (
            self._writer(f"{folder}/content-server.jsonl{self.ext}"),
            self._writer(f"{folder}/auth-server.jsonl{self.ext}"),
            self._writer(f"{folder}/auth-server-text.log{self.ext}") if text_day else None,
        )

    def _emit_json(self, ev: Event, day: int) -> None:
        rng = self.rng
        kind = ev.kind
        if self._json_day != day:
            self._json_day = day
            self._json = self._json_writers(day)
        content_w, auth_w, text_w = self._json
        ns = ev.time_ms * 1_000_000 + rng.getrandbits(19)
        bits = rng.getrandbits(17)  # 2 bits: host, 15 bits: process id
        host = bits & 3
        if kind in (CONTENT_FLOW, CONTENT_REQUEST):
            w = content_w
            line = render.json_line(ev, "fxa-content-server", host, 100 + (bits >> 2), ns, True)
            kinds = render.CONTENT_MALFORMED_KINDS
        else:
            kinds = render.JSON_MALFORMED_KINDS
            if text_w is not None and host == render.TEXT_MODE_HOST_INDEX:
                w = text_w
                line = render.text_line(ev, "fxa-auth-server")
            else:
                w = auth_w
                with_time = kind != ACTIVITY or rng.random() < 0.5
                line = render.json_line(
                    ev, "fxa-auth-server", host, 100 + (bits >> 2), ns, with_time
                )
        if kind in (AUTH_REQUEST, CONTENT_REQUEST):
            w.write(line, "other_type")
            return
        counter = "activity_events" if kind == ACTIVITY else "flow_events"
        self.noise.write(w, kinds, render.corrupt, line, ev, line, counter)

    def _emit_csv(self, ev: Event, day: int) -> None:
        kind = ev.kind
        if kind in (AUTH_REQUEST, CONTENT_REQUEST):
            return  # the old pipeline exported events only
        rng = self.rng
        folder = render.day_text(day)
        seconds = str(ev.time_ms // 1000)
        if kind == ACTIVITY:
            relative = f"legacy/events-{folder}.csv{self.ext}"
            a = ev.agent
            row = [
                seconds,
                (a and a.browser) or "",
                (a and a.version) or "",
                (a and a.os) or "",
                self._hmac(ev.uid),
                ev.name,
                ev.extra,
            ]
            if ev.device_id or rng.random() < 0.5:
                row.append(ev.device_id)  # 8 columns; older rows have 7
            counter = "activity_events"
            kinds = render.CSV_ACTIVITY_MALFORMED_KINDS
        else:
            relative = f"legacy/flow-{folder}.csv{self.ext}"
            ctx = ev.flow
            assert ctx is not None
            a = ctx.agent
            row = [
                seconds,
                ev.name,
                ctx.flow_id,
                str(ev.flow_time),
                a.browser or "",
                a.version or "",
                a.os or "",
                ctx.context,
                ctx.entrypoint,
                ctx.migration,
                ctx.service,
                *ctx.utm,
            ]
            if rng.random() < 0.7:  # 18 columns; older rows have 16
                row += [ctx.locale, self._hmac(ev.uid) if ev.uid else ""]
            counter = "flow_events"
            kinds = render.CSV_FLOW_MALFORMED_KINDS
        w = self._writer(relative)
        out = self._csv_rows.get(relative)
        if out is None:
            out = self._csv_rows[relative] = _CsvLine()
        line = out.format(row)
        self.noise.write(w, kinds, out.corrupt, row, ev, line, counter)


class _PendingEvents:
    """Events waiting for their time, in one-second buckets (cheaper than a heap of every
    event). `release_before(t)` hands over, in (time, arrival) order, the events of every
    whole second before the second of `t`: simulations started at `t` or later only add
    events at or after `t`, so those seconds are complete."""

    def __init__(self) -> None:
        self._buckets: dict[int, list[tuple[int, int, Event]]] = {}
        self._seq = 0
        self._next_second: int | None = None  # no bucket below this second

    def add(self, ev: Event) -> None:
        second = ev.time_ms // 1000
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = []
            if self._next_second is None or second < self._next_second:
                self._next_second = second
        bucket.append((ev.time_ms, self._seq, ev))
        self._seq += 1

    def release_before(self, time_ms: int, emit: Callable[[Event], None]) -> None:
        limit = time_ms // 1000
        second = self._next_second
        if second is None or second >= limit:
            return
        buckets = self._buckets
        while buckets and second < limit:
            bucket = buckets.pop(second, None)
            if bucket is not None:
                bucket.sort()
                for _, _, ev in bucket:
                    emit(ev)
            second += 1
        self._next_second = second if buckets else None


class _CsvLine:
    """csv.writer quoting rules, one row at a time, to a string."""

    def __init__(self) -> None:
        self._rows: list[str] = []
        self._writer = csv.writer(self, lineterminator="")

    def write(self, s: str) -> None:  # the file protocol csv.writer needs
        self._rows.append(s)

    def format(self, row: list[str]) -> str:
        self._rows.clear()
        self._writer.writerow(row)
        return "".join(self._rows)

    def corrupt(self, kind: str, row: list[str], ev: Event) -> str | None:
        bad = render.corrupt_csv(kind, row, ev)
        return None if bad is None else self.format(bad)


def write_manifest(opts: Options, stats: Stats) -> Path:
    totals: dict[str, int] = {}
    for counts in stats.files.values():
        for k, v in counts.items():
            if isinstance(v, int):
                totals[k] = totals.get(k, 0) + v
    manifest = {
        "generator": "scripts/generate_events.py",
        "options": {
            "days": opts.days,
            "start_date": opts.start_date.isoformat(),
            "flows_per_day": opts.flows_per_day,
            "users": opts.users,
            "seed": opts.seed,
            "gzip": opts.compress,
            "legacy_days": opts.legacy_days,
            "noise": opts.noise,
        },
        "simulated": {
            "flows": stats.flows,
            "sessions": stats.sessions,
            "events_dropped_outside_range": stats.events_dropped_outside_range,
        },
        "totals": dict(sorted(totals.items())),
        "files": dict(sorted(stats.files.items())),
    }
    path = opts.out / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def remove_previous_output(out: Path) -> None:
    """Delete the files an earlier run listed in `out/.manifest.json` (and only those), so a
    rerun with fewer days or without --gzip leaves no stale files behind."""
    manifest = out / MANIFEST_NAME
    if not manifest.is_file():
        return
    try:
        names = list(json.loads(manifest.read_text(encoding="utf-8")).get("files", {}))
    except (ValueError, AttributeError):
        return
    root = out.resolve()
    for name in names:
        path = (out / name).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
            if path.parent != root and not any(path.parent.iterdir()):
                path.parent.rmdir()
    manifest.unlink()


def generate(opts: Options) -> Stats:
    """Generate the sample logs of `opts` into `opts.out`, and their `.manifest.json`;
    returns the per-file counts."""
    if opts.legacy_days > 0 and not opts.hmac_key:
        raise ValueError("legacy CSV exports need FXA_METRICS_UID_HMAC_KEY to HMAC the uids")
    remove_previous_output(opts.out)
    rng = random.Random(opts.seed)
    population = Population(opts.seed, opts.users)
    stats = Stats()
    emitter = Emitter(opts, rng, stats)
    first = _day_number(opts.start_date) - opts.legacy_days
    n_days = opts.days + opts.legacy_days
    sessions_per_day = round(opts.flows_per_day * SESSIONS_PER_FLOW)
    flow_starts = ((t, 0) for t in _starts(rng, opts.flows_per_day, first, n_days))
    session_starts = ((t, 1) for t in _starts(rng, sessions_per_day, first, n_days))
    pending = _PendingEvents()
    end_ms = (first + n_days) * DAY_MS
    emit = emitter.emit
    for t0, what in heapq.merge(flow_starts, session_starts):
        pending.release_before(t0, emit)
        if what == 0:
            events = simulate_flow(rng, population, t0)
            stats.flows += 1
        else:
            events = simulate_session(rng, population, t0)
            stats.sessions += 1
        for ev in events:
            if ev.time_ms >= end_ms:
                stats.events_dropped_outside_range += 1
            else:
                pending.add(ev)
    pending.release_before(end_ms + 1, emit)
    emitter.close_all()
    stats.lines = sum(c["lines"] for c in stats.files.values())
    write_manifest(opts, stats)
    return stats
