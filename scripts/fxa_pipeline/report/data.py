"""The figures of each report section, read from the warehouse with portable SQL.

Every reader returns its section's data, or `NotBuilt` naming the table or columns the
warehouse does not have yet (a new or old warehouse is reported, never a failure). Columns
added to a model later (`service_name`, `full_window`) are optional: without them the section
is still drawn, with a note. The queries only aggregate and filter, in SQL that DuckDB,
Postgres and Redshift all run the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fxa_pipeline.kpi_tables import KpiReader, NotBuilt, as_date, as_float, missing
from fxa_pipeline.raw_schema import literal

ANALYTICS = "analytics"
RAW = "raw"

# The funnel steps in the order a flow walks them: (column of kpi_flow_funnel_daily, label).
FUNNEL_STEPS = (
    ("flows_view", "view"),
    ("flows_engage", "engage"),
    ("flows_submit", "submit"),
    ("flows_attempt", "attempt"),
    ("flows_account_created", "account created"),
    ("flows_account_login", "account login"),
    ("flows_email_sent", "email sent"),
    ("flows_email_verified", "email verified"),
    ("flows_completed", "completed"),
)
# Flow kinds first in this order, any other kind after them by name.
KIND_ORDER = ("sign_up", "sign_in", "unknown")
SYNC_SERVICE = "sync"
TOP_SERVICES = 5  # sync and the other services with the most completed flows
TOP_REASONS = 10
TOP_FILES = 5


def _kind_key(kind: str) -> tuple[int, str]:
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)


# --- 1. funnel ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelKind:
    flow_kind: str
    begun: int
    steps: dict[str, int]  # step label -> flows that reached it


@dataclass(frozen=True)
class Funnel:
    first_day: date | None
    last_day: date | None
    kinds: list[FunnelKind]
    steps: list[str]  # labels of the steps the table has, in funnel order
    not_built: NotBuilt | None = None  # step columns the table does not have yet


def read_funnel(wh: KpiReader) -> Funnel | NotBuilt:
    table = "kpi_flow_funnel_daily"
    absent = wh.required(ANALYTICS, table, ("day", "flow_kind", "flows_begun"))
    if absent:
        return absent
    columns = wh.columns(ANALYTICS, table) or set()
    present = [(column, label) for column, label in FUNNEL_STEPS if column in columns]
    sums = "".join(f", sum({column})" for column, _ in present)
    rows = wh.rows(
        f"select flow_kind, min(day), max(day), sum(flows_begun){sums} "
        f"from {ANALYTICS}.{table} group by flow_kind"
    )
    kinds = sorted(
        (
            FunnelKind(
                flow_kind=str(row[0]),
                begun=int(row[3] or 0),
                steps={label: int(row[4 + i] or 0) for i, (_, label) in enumerate(present)},
            )
            for row in rows
        ),
        key=lambda kind: _kind_key(kind.flow_kind),
    )
    absent_steps = tuple(column for column, _ in FUNNEL_STEPS if column not in columns)
    return Funnel(
        first_day=min((as_date(row[1]) for row in rows), default=None),
        last_day=max((as_date(row[2]) for row in rows), default=None),
        kinds=kinds,
        steps=[label for _, label in present],
        not_built=NotBuilt(f"{ANALYTICS}.{table}", absent_steps) if absent_steps else None,
    )


# --- 2. device connection time ------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    service: str | None
    label: str  # the readable name, else the id
    completed_flows: int


@dataclass(frozen=True)
class ServiceDay:
    day: date
    label: str
    completed_flows: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class ConnectionTimes:
    services: list[Service]  # the services shown, most completed flows first
    days: list[ServiceDay]
    service_count: int  # all services in the table
    not_built: NotBuilt | None = None  # service_name, before the model has it


def _service_labels(names: dict[str | None, str | None]) -> dict[str | None, str]:
    """Readable name, else the id; a name two services share gets its id appended."""
    labels = {
        service: name or service or ("(no service)" if service is None else "(empty service id)")
        for service, name in names.items()
    }
    taken: dict[str, int] = {}
    for label in labels.values():
        taken[label] = taken.get(label, 0) + 1
    return {
        service: f"{label} ({service})" if taken[label] > 1 and service != label else label
        for service, label in labels.items()
    }


def read_connection_times(wh: KpiReader) -> ConnectionTimes | NotBuilt:
    table = "kpi_device_connection_time_daily"
    wanted = ("day", "service", "completed_flows", "p50_seconds", "p90_seconds")
    absent = wh.required(ANALYTICS, table, wanted)
    if absent:
        return absent
    has_name = "service_name" in (wh.columns(ANALYTICS, table) or set())
    name = "max(service_name)" if has_name else "cast(null as varchar)"
    totals = wh.rows(
        f"select service, {name}, sum(completed_flows) from {ANALYTICS}.{table} group by service"
    )
    totals.sort(key=lambda row: (-int(row[2] or 0), str(row[0])))
    shown = [row for row in totals if row[0] == SYNC_SERVICE]
    shown += [row for row in totals if row[0] != SYNC_SERVICE][: TOP_SERVICES - len(shown)]
    shown.sort(key=lambda row: (-int(row[2] or 0), str(row[0])))
    labels = _service_labels({row[0]: row[1] for row in shown})
    services = [Service(row[0], labels[row[0]], int(row[2] or 0)) for row in shown]
    days: list[ServiceDay] = []
    if shown:
        ids = [row[0] for row in shown if row[0] is not None]
        condition = " or ".join(
            ([f"service in ({', '.join(literal(i) for i in ids)})"] if ids else [])
            + (["service is null"] if len(ids) < len(shown) else [])
        )
        for row in wh.rows(
            "select day, service, completed_flows, p50_seconds, p90_seconds "
            f"from {ANALYTICS}.{table} where {condition} order by day, service"
        ):
            days.append(
                ServiceDay(
                    as_date(row[0]), labels[row[1]], int(row[2] or 0), as_float(row[3]),
                    as_float(row[4]),
                )
            )  # fmt: skip
    return ConnectionTimes(
        services=services,
        days=days,
        service_count=len(totals),
        not_built=None if has_name else NotBuilt(f"{ANALYTICS}.{table}", ("service_name",)),
    )


# --- 3. engagement ratio and multi-device share -------------------------------------------


@dataclass(frozen=True)
class WindowKpi:
    """A daily ratio whose window reaches back before the day (warm-up while it is partial)."""

    table: str
    ratio: str
    numerator: str
    denominator: str


ENGAGEMENT = WindowKpi(
    "kpi_engagement_ratio_daily", "engagement_ratio", "daily_active_users", "monthly_active_users"
)
MULTI_DEVICE = WindowKpi(
    "kpi_multi_device_usage_daily", "multi_device_share", "multi_device_users", "device_users"
)


@dataclass(frozen=True)
class WindowDay:
    day: date
    ratio: float | None
    numerator: int
    denominator: int
    full_window: bool | None  # None: the table has no full_window column yet


@dataclass(frozen=True)
class WindowSeries:
    kpi: WindowKpi
    days: list[WindowDay]
    not_built: NotBuilt | None = None  # full_window, before the model has it


def read_window_kpi(wh: KpiReader, kpi: WindowKpi) -> WindowSeries | NotBuilt:
    absent = wh.required(ANALYTICS, kpi.table, ("day", kpi.ratio, kpi.numerator, kpi.denominator))
    if absent:
        return absent
    has_flag = "full_window" in (wh.columns(ANALYTICS, kpi.table) or set())
    flag = "full_window" if has_flag else "cast(null as boolean)"
    rows = wh.rows(
        f"select day, {kpi.ratio}, {kpi.numerator}, {kpi.denominator}, {flag} "
        f"from {ANALYTICS}.{kpi.table} order by day"
    )
    days = [
        WindowDay(
            as_date(row[0]),
            as_float(row[1]),
            int(row[2] or 0),
            int(row[3] or 0),
            None if row[4] is None else bool(row[4]),
        )
        for row in rows
    ]
    return WindowSeries(
        kpi, days, None if has_flag else NotBuilt(f"{ANALYTICS}.{kpi.table}", ("full_window",))
    )


# --- 4. load quality ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadTotals:
    files: int
    lines: int
    loaded: int | None
    rejected: int
    ignored: int | None

    @property
    def rejected_share(self) -> float | None:
        return self.rejected / self.lines if self.lines else None


@dataclass(frozen=True)
class LoadQuality:
    source: str  # the table the totals come from
    totals: LoadTotals | NotBuilt
    first_loaded: datetime | date | None = None
    last_loaded: datetime | date | None = None
    reasons: list[tuple[str, int]] | NotBuilt = field(default_factory=list)
    rejected_lines: int = 0  # rows of raw.rejected_lines (every reason)
    worst_files: list[tuple[str, int, int]] = field(default_factory=list)  # name, lines, rejected


# A daily load-quality model, when the project has one, gives the totals; it must have at
# least these columns (loaded and ignored are shown when it has them too).
DAILY_MODEL = "load_quality_daily"
DAILY_MODEL_COLUMNS = ("day", "files", "lines", "rejected")


def _int(value: Any) -> int:
    return int(value or 0)


def _totals(wh: KpiReader) -> tuple[str, LoadTotals | NotBuilt, Any, Any]:
    daily = wh.columns(ANALYTICS, DAILY_MODEL)
    if daily is not None and not missing(daily, DAILY_MODEL_COLUMNS):
        optional = [c if c in daily else "cast(null as bigint)" for c in ("loaded", "ignored")]
        row = wh.rows(
            f"select sum(files), sum(lines), sum({optional[0]}), sum(rejected), "
            f"sum({optional[1]}), min(day), max(day) from {ANALYTICS}.{DAILY_MODEL}"
        )[0]
        source = f"{ANALYTICS}.{DAILY_MODEL}"
    else:
        absent = wh.required(
            RAW, "load_ledger", ("file_name", "lines", "loaded", "rejected", "ignored",
                                     "loaded_at")
        )  # fmt: skip
        if absent:
            return f"{RAW}.load_ledger", absent, None, None
        row = wh.rows(
            "select count(*), sum(lines), sum(loaded), sum(rejected), sum(ignored), "
            f"min(loaded_at), max(loaded_at) from {RAW}.load_ledger"
        )[0]
        source = f"{RAW}.load_ledger"
    totals = LoadTotals(
        files=_int(row[0]),
        lines=_int(row[1]),
        loaded=None if row[2] is None and row[0] else _int(row[2]),
        rejected=_int(row[3]),
        ignored=None if row[4] is None and row[0] else _int(row[4]),
    )
    return source, totals, row[5], row[6]


def read_load_quality(wh: KpiReader) -> LoadQuality:
    source, totals, first, last = _totals(wh)
    reasons: list[tuple[str, int]] | NotBuilt
    rejected_lines = 0
    absent = wh.required(RAW, "rejected_lines", ("reason",))
    if absent:
        reasons = absent
    else:
        counts = wh.rows(
            f"select reason, count(*) as n from {RAW}.rejected_lines "
            "group by reason order by n desc, reason"
        )
        reasons = [(str(reason), _int(n)) for reason, n in counts[:TOP_REASONS]]
        rejected_lines = sum(_int(n) for _, n in counts)
    worst: list[tuple[str, int, int]] = []
    if not wh.required(RAW, "load_ledger", ("file_name", "lines", "rejected")):
        worst = [
            (str(name), _int(lines), _int(rejected))
            for name, lines, rejected in wh.rows(
                f"select file_name, lines, rejected from {RAW}.load_ledger where rejected > 0 "
                f"order by rejected desc, file_name limit {TOP_FILES}"
            )
        ]
    return LoadQuality(
        source=source,
        totals=totals,
        first_loaded=first,
        last_loaded=last,
        reasons=reasons,
        rejected_lines=rejected_lines,
        worst_files=worst,
    )


# --- 4. active users and days seen ----------------------------------------------------------


@dataclass(frozen=True)
class ActiveUsersDay:
    day: date
    daily: int
    weekly: int | None  # None: the table has no weekly_active_users column yet
    monthly: int
    full_window: bool | None  # None: the table has no full_window column yet


@dataclass(frozen=True)
class ActiveUsers:
    days: list[ActiveUsersDay]
    not_built: NotBuilt | None = None  # weekly_active_users or full_window, before the model


ACTIVE_USERS_TABLE = "kpi_engagement_ratio_daily"


def read_active_users(wh: KpiReader) -> ActiveUsers | NotBuilt:
    table = ACTIVE_USERS_TABLE
    absent = wh.required(ANALYTICS, table, ("day", "daily_active_users", "monthly_active_users"))
    if absent:
        return absent
    columns = wh.columns(ANALYTICS, table) or set()
    optional = ("weekly_active_users", "full_window")
    weekly, flag = (
        name if name in columns else f"cast(null as {kind})"
        for name, kind in zip(optional, ("bigint", "boolean"), strict=True)
    )
    rows = wh.rows(
        f"select day, daily_active_users, {weekly}, monthly_active_users, {flag} "
        f"from {ANALYTICS}.{table} order by day"
    )
    days = [
        ActiveUsersDay(
            as_date(row[0]),
            _int(row[1]),
            None if row[2] is None else _int(row[2]),
            _int(row[3]),
            None if row[4] is None else bool(row[4]),
        )
        for row in rows
    ]
    absent_optional = tuple(name for name in optional if name not in columns)
    return ActiveUsers(
        days, NotBuilt(f"{ANALYTICS}.{table}", absent_optional) if absent_optional else None
    )


WINDOW_DAYS = 28  # users_last_seen's window: bits 0..27 = [day - 27, day]


@dataclass(frozen=True)
class DaysSeen:
    day: date | None  # the latest day of users_last_seen (None: the table has no rows)
    first_day: date | None  # its earliest day: before day - 27 the counts are complete
    users: list[tuple[int, int]]  # (days_seen, uids), days_seen ascending

    @property
    def full_window(self) -> bool:
        """The 28 days up to `day` are all in the loaded data (days_seen is not truncated)."""
        if self.day is None or self.first_day is None:
            return False
        return (self.day - self.first_day).days >= WINDOW_DAYS - 1


def read_days_seen(wh: KpiReader) -> DaysSeen | NotBuilt:
    table = "users_last_seen"
    absent = wh.required(ANALYTICS, table, ("day", "uid", "days_seen"))
    if absent:
        return absent
    first, last = wh.rows(f"select min(day), max(day) from {ANALYTICS}.{table}")[0]
    if last is None:
        return DaysSeen(None, None, [])
    rows = wh.rows(
        f"select days_seen, count(*) from {ANALYTICS}.{table} "
        f"where day = (select max(day) from {ANALYTICS}.{table}) "
        "group by days_seen order by days_seen"
    )
    return DaysSeen(as_date(last), as_date(first), [(_int(n), _int(users)) for n, users in rows])


# --- 5. new-account retention ---------------------------------------------------------------

RETENTION_WEEKS = (1, 2, 3)
TOP_RETENTION_SERVICES = 3  # the services with the most new accounts, beside all services
ALL_SERVICES = "all services"


@dataclass(frozen=True)
class RetentionCohort:
    cohort_day: date
    group: str  # ALL_SERVICES or a service's label
    new_accounts: int
    retained: tuple[int | None, ...]  # weeks 1, 2, 3; None while the week is not over

    def share(self, week: int) -> float | None:
        retained = self.retained[week - 1]
        if retained is None or not self.new_accounts:
            return None
        return retained / self.new_accounts


@dataclass(frozen=True)
class RetentionGroup:
    label: str
    service: str | None  # None for ALL_SERVICES and for the NULL service
    new_accounts: int
    # per week: (retained, new accounts of the cohorts whose week is over); (0, 0) if none is
    over: tuple[tuple[int, int], ...]

    def share(self, week: int) -> float | None:
        retained, accounts = self.over[week - 1]
        return retained / accounts if accounts else None


@dataclass(frozen=True)
class Retention:
    groups: list[RetentionGroup]  # all services first, then the top services
    cohorts: list[RetentionCohort]
    service_count: int
    latest_cohort: date | None


def _service_names(wh: KpiReader) -> dict[str, str]:
    """Readable names of services from the oauth_services seed, when it is built."""
    if wh.required(ANALYTICS, "oauth_services", ("service", "service_name")):
        return {}
    return {
        str(service): str(name)
        for service, name in wh.rows(
            f"select service, service_name from {ANALYTICS}.oauth_services"
        )
        if service is not None and name is not None
    }


def read_retention(wh: KpiReader) -> Retention | NotBuilt:
    table = "kpi_retention_daily"
    weeks = tuple(f"retained_week_{week}" for week in RETENTION_WEEKS)
    absent = wh.required(ANALYTICS, table, ("cohort_day", "service", "new_accounts", *weeks))
    if absent:
        return absent
    sums = ", ".join(f"sum({week})" for week in weeks)
    # sum() of a week that is not over is NULL: every service of a cohort shares that state
    rows = wh.rows(
        f"select cohort_day, service, sum(new_accounts), {sums} from {ANALYTICS}.{table} "
        "group by cohort_day, service order by cohort_day"
    )
    totals: dict[str | None, int] = {}
    for row in rows:
        totals[row[1]] = totals.get(row[1], 0) + _int(row[2])
    ranked = sorted(totals, key=lambda s: (-totals[s], s is None, str(s)))
    top = ranked[:TOP_RETENTION_SERVICES]
    names = _service_names(wh)
    labels = _service_labels({service: names.get(service or "") for service in top})
    by_group: dict[tuple[date, str], list[Any]] = {}
    for row in rows:
        day = as_date(row[0])
        groups = [ALL_SERVICES] + ([labels[row[1]]] if row[1] in labels else [])
        for group in groups:
            entry = by_group.setdefault((day, group), [0, *([None] * len(weeks))])
            entry[0] += _int(row[2])
            for i, value in enumerate(row[3:]):
                if value is not None:
                    entry[1 + i] = (entry[1 + i] or 0) + _int(value)
    order = [ALL_SERVICES] + [labels[service] for service in top]
    cohorts = sorted(
        (
            RetentionCohort(day, group, entry[0], tuple(entry[1:]))
            for (day, group), entry in by_group.items()
        ),
        key=lambda c: (order.index(c.group), c.cohort_day),
    )
    groups = []
    for label, service in [(ALL_SERVICES, None)] + [(labels[s], s) for s in top]:
        mine = [c for c in cohorts if c.group == label]
        over = tuple(
            (
                sum(c.retained[i] or 0 for c in mine if c.retained[i] is not None),
                sum(c.new_accounts for c in mine if c.retained[i] is not None),
            )
            for i in range(len(weeks))
        )
        groups.append(RetentionGroup(label, service, sum(c.new_accounts for c in mine), over))
    return Retention(
        groups=groups,
        cohorts=cohorts,
        service_count=len(totals),
        latest_cohort=max((c.cohort_day for c in cohorts), default=None),
    )
