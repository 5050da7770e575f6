"""Tests of scripts/generate_events.py: determinism, formats, realism, memory.

The lines are checked by an independent reading of the input formats of docs/data-contract.md
written here (not by the loader and not by the generator's own code), so a format slip in the
generator fails.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import gzip
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import generate_events
import pytest
from fxa_pipeline.generator import catalogue, render, timeline
from fxa_pipeline.generator.population import Population
from fxa_pipeline.generator.run import MANIFEST_NAME
from hypothesis import given
from hypothesis import strategies as st

KEY = "test-hmac-key"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXT_PREFIX = re.compile(r"^([\w-]+)\.(INFO|WARN|ERROR): (\S+) (\{.*)$")
SCRIPTS = Path(__file__).resolve().parents[1]

# 6 JSON days + 1 legacy day: a 7-day span, so a 7-day multi-device window differs from 5.
# GENERATOR_TEST_SEED re-runs the suite on another seed, to check that the properties tested
# hold for the generator, not for one lucky seed.
SAMPLE_ARGS = [
    *("--days", "6", "--flows-per-day", "300", "--users", "600", "--legacy-days", "1"),
    *("--seed", os.environ.get("GENERATOR_TEST_SEED", "42")),
]


def run_generator(out: Path, *args: str, key: str | None = KEY) -> int:
    env = {k: v for k, v in os.environ.items() if k != "FXA_METRICS_UID_HMAC_KEY"}
    if key is not None:
        env["FXA_METRICS_UID_HMAC_KEY"] = key
    with mock.patch.dict(os.environ, env, clear=True):
        return generate_events.main(["--out", str(out), *args])


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    assert run_generator(out, *SAMPLE_ARGS) == 0
    return out


@pytest.fixture(scope="module")
def manifest(sample: Path) -> dict[str, Any]:
    return json.loads((sample / MANIFEST_NAME).read_text())


# -- an independent reading of the input formats ------------------------------------------


def _time_ms(fields: dict[str, Any], envelope_ns: int | None) -> int | None:
    t = fields.get("time")
    if t is None:
        return None if envelope_ns is None else envelope_ns // 1_000_000
    if isinstance(t, bool):
        return None
    if isinstance(t, int):
        return t
    if isinstance(t, str) and ISO.match(t):
        parsed = dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        return int(parsed.timestamp() * 1000)
    return None


def classify_json_line(line: str) -> tuple[str, str | None, dict[str, Any] | None, int | None]:
    """(class, Type, Fields, time ms); class is blank / malformed / other / flow / activity."""
    if line == "":
        return "blank", None, None, None
    envelope_ns: int | None = None
    m = TEXT_PREFIX.match(line)
    try:
        if m:
            typ, fields = m.group(3), json.loads(m.group(4))
        else:
            obj = json.loads(line)
            typ, fields, envelope_ns = obj["Type"], obj["Fields"], obj["Timestamp"]
    except (ValueError, KeyError):
        return "malformed", None, None, None
    if typ not in ("flowEvent", "activityEvent"):
        return "other", typ, fields, None
    t = _time_ms(fields, envelope_ns)
    if not isinstance(fields.get("event"), str) or t is None:
        return "malformed", typ, fields, t
    if typ == "flowEvent":
        ft = fields.get("flow_time")
        ok = HEX64.match(str(fields.get("flow_id", ""))) and type(ft) is int and ft >= 0
        return ("flow" if ok else "malformed"), typ, fields, t
    ok = isinstance(fields.get("uid"), str) and (
        "device_id" not in fields or HEX32.match(fields["device_id"])
    )
    return ("activity" if ok else "malformed"), typ, fields, t


def read_lines(path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode("utf-8")
    assert text.endswith("\n")
    return text[:-1].split("\n")


def json_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("20*/*") if p.is_file())


Record = tuple[Path, str, dict[str, Any], int]


@pytest.fixture(scope="module")
def records(sample: Path) -> list[Record]:
    """(file, flow/activity, Fields, time ms) of every valid event line of the sample."""
    out: list[Record] = []
    for path in json_files(sample):
        for line in read_lines(path):
            cls, _, fields, t = classify_json_line(line)
            if cls in ("flow", "activity"):
                assert fields is not None and t is not None
                out.append((path, cls, fields, t))
    return out


# -- determinism, gzip ---------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    args = ["--days", "2", "--flows-per-day", "120", "--gzip", "--seed", "7"]
    assert run_generator(tmp_path / "a", *args) == 0
    assert run_generator(tmp_path / "b", *args) == 0
    assert run_generator(tmp_path / "c", *args[:-1], "8") == 0
    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert a == b
    assert a.keys() == c.keys() and a != c  # another seed, other data


def test_a_rerun_replaces_the_files_of_the_previous_run(tmp_path: Path) -> None:
    assert run_generator(tmp_path, "--days", "3", "--flows-per-day", "30") == 0
    (tmp_path / "notes.txt").write_text("not ours")
    assert run_generator(tmp_path, "--days", "1", "--flows-per-day", "30", "--gzip") == 0
    files = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    listed = set(json.loads((tmp_path / MANIFEST_NAME).read_text())["files"])
    assert files == listed | {MANIFEST_NAME, "notes.txt"}
    assert not (tmp_path / "2017-03-03").exists()


def test_gzip_files_hold_exactly_the_plain_text(sample: Path, tmp_path: Path) -> None:
    assert run_generator(tmp_path, *SAMPLE_ARGS, "--gzip") == 0
    plain = {k: v for k, v in _tree(sample).items() if k != MANIFEST_NAME}
    zipped = {k: v for k, v in _tree(tmp_path).items() if k != MANIFEST_NAME}
    # every file, the legacy CSV exports too, is gzipped and named so (DuckDB and other
    # readers go by the extension)
    assert {k + ".gz" for k in plain} == set(zipped)
    for name in plain:
        data = zipped[name + ".gz"]
        assert data[4:8] == b"\0\0\0\0"  # mtime 0: reproducible bytes
        assert gzip.decompress(data) == plain[name]


# -- accounting ----------------------------------------------------------------------------


def test_manifest_counts_match_an_independent_reading(sample: Path, manifest: dict) -> None:
    files = manifest["files"]
    assert set(files) == {str(p.relative_to(sample)) for p in sample.rglob("*.*")} - {MANIFEST_NAME}
    for path in json_files(sample):
        counts = collections.Counter()
        previous = None
        for line in read_lines(path):
            cls = classify_json_line(line)[0]
            counts[cls] += 1
            m = TEXT_PREFIX.match(line)
            try:
                json.loads(m.group(4) if m else line or "{}")
            except ValueError:
                counts["invalid_json"] += 1
            if cls in ("flow", "activity") and line == previous:
                counts["duplicates"] += 1
            previous = line
        expected = files[str(path.relative_to(sample))]
        assert expected["lines"] == sum(
            counts[c] for c in ("blank", "malformed", "other", "flow", "activity")
        )
        assert expected["malformed"] == counts["malformed"] > 0
        assert expected["blank"] == counts["blank"] > 0
        assert expected["other_type"] == counts["other"]
        assert expected["flow_events"] == counts["flow"]
        assert expected["activity_events"] == counts["activity"]
        assert expected["duplicates"] == counts["duplicates"] > 0
        # Only the truncated lines are not JSON; the other malformed lines are JSON that
        # breaks a rejection rule of docs/data-contract.md.
        assert counts["invalid_json"] == expected["malformed_by_kind"]["truncated_json"] > 0
        assert expected["expected_rejected"] == counts["malformed"]
        assert expected["expected_ignored"] == counts["other"] + counts["blank"]
        assert expected["expected_loaded"] == counts["flow"] + counts["activity"]


def test_every_rejection_reason_appears_in_each_auth_file(manifest: dict) -> None:
    for name, counts in manifest["files"].items():
        if "auth-server" in name:
            assert set(counts["malformed_by_kind"]) == {
                "truncated_json",
                "bad_flow_id",
                "negative_flow_time",
                "non_integer_flow_time",
                "bad_device_id",
                "bad_time",
                "missing_uid",
                "missing_event",
            }


# -- formats -------------------------------------------------------------------------------


def test_lines_follow_the_contract_formats(sample: Path) -> None:
    kinds = collections.Counter()
    for path in json_files(sample):
        day = dt.date.fromisoformat(path.parent.name)
        for line in read_lines(path):
            cls, typ, fields, t = classify_json_line(line)
            if cls not in ("flow", "activity"):
                continue
            assert fields is not None and t is not None
            assert dt.datetime.fromtimestamp(t / 1000, dt.UTC).date() == day, line
            text_mode = path.name.startswith("auth-server-text")
            if not text_mode:
                obj = json.loads(line)
                assert obj["Timestamp"] // 1_000_000 == t  # ns envelope, same millisecond
                assert obj["Logger"] == (
                    "fxa-content-server" if path.name.startswith("content") else "fxa-auth-server"
                )
                assert {"Severity", "Pid", "EnvVersion", "Hostname"} <= obj.keys()
            if "uid" in fields:
                assert HEX32.match(fields["uid"])  # raw uid, never HMACed in logs
            if path.name.startswith("content"):
                assert typ == "flowEvent" and ISO.match(fields["time"])
                assert "uid" not in fields
                kinds["content_iso"] += 1
            elif typ == "flowEvent":
                assert type(fields["time"]) is int
                kinds["auth_flow_ms"] += 1
            else:
                if "device_id" in fields:
                    kinds["activity_device"] += 1
                kinds["activity_time" if "time" in fields else "activity_envelope_only"] += 1
            if text_mode:
                kinds["text_mode"] += 1
                assert "time" in fields
    for k in (
        "content_iso",
        "auth_flow_ms",
        "activity_device",
        "activity_time",
        "activity_envelope_only",
        "text_mode",
    ):
        assert kinds[k] > 0, k


def test_agents_parse_as_the_catalogue_says() -> None:
    ua_parser = pytest.importorskip("ua_parser")
    for agent in catalogue.AGENTS:
        if agent.user_agent is None:
            continue
        result = ua_parser.parse(agent.user_agent)
        ua, os_ = result.user_agent, result.os
        version = None
        if ua is not None and ua.major:
            version = ua.major if ua.minor in (None, "", "0") else f"{ua.major}.{ua.minor}"
        assert (ua.family if ua else None, version, os_.family if os_ else None) == (
            agent.browser,
            agent.version,
            agent.os,
        ), agent.user_agent


# -- realism -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flows(records: list[Record]) -> dict[str, list[tuple[int, int, str, str]]]:
    """flow_id -> [(time ms, flow_time, event, day folder)], valid lines only."""
    out: dict[str, list[tuple[int, int, str, str]]] = collections.defaultdict(list)
    for path, cls, fields, t in records:
        if cls == "flow":
            out[fields["flow_id"]].append(
                (t, fields["flow_time"], fields["event"], path.parent.name)
            )
    return out


def test_some_flows_cross_midnight_into_the_next_days_files(sample: Path, flows: dict) -> None:
    legacy = {
        row[2] for row in csv.reader(read_lines(sample / "legacy/flow-2017-02-28.csv")) if row
    }
    crossing = [f for f, evs in flows.items() if len({e[3] for e in evs}) == 2]
    crossing += [f for f, evs in flows.items() if f in legacy]  # CSV export -> first JSON day
    assert crossing
    assert all(len({e[3] for e in evs}) <= 2 for evs in flows.values())


def test_flow_time_starts_at_zero_and_never_decreases(flows: dict) -> None:
    begun = 0
    longest = 0
    for evs in flows.values():
        evs = sorted(set(evs))
        times = [e[1] for e in evs]
        assert times == sorted(times)
        begins = [e for e in evs if re.fullmatch(r"flow\.(\w+\.)?begin", e[2])]
        if begins:
            begun += 1
            assert begins[0][1] == 0
            assert all(t - ft == begins[0][0] for t, ft, _, _ in evs)  # time = begin + flow_time
        longest = max(longest, times[-1])
    assert begun > 1000
    assert 60_000 < longest <= 100 * 60_000  # minutes of email round trips, under 2 hours


def test_funnel_counts_fall_step_by_step(flows: dict) -> None:
    steps = [
        lambda e: any(re.fullmatch(r"flow\.(\w+\.)?begin", x) for x in e),
        lambda e: any(x.endswith(".view") for x in e),
        lambda e: any(x.endswith(".engage") for x in e),
        lambda e: any(x.endswith(".submit") for x in e),
        lambda e: any(x.endswith(".attempt") for x in e),
        lambda e: bool(e & {"account.created", "account.login"}),
        lambda e: bool(e & {"email.verification.sent", "email.confirmation.sent"}),
        lambda e: bool(e & {"account.verified", "account.confirmed"}),
    ]
    events = [{x[2] for x in evs} for evs in flows.values()]
    events = [e for e in events if steps[0](e)]
    counts = [sum(1 for e in events if step(e)) for step in steps]
    assert all(a > b > 0 for a, b in itertools.pairwise(counts)), counts
    sign_ups = sum(1 for e in events if "account.created" in e)
    sign_ins = sum(1 for e in events if "account.login" in e)
    completed = sum(1 for e in events if "flow.complete" in e)
    assert 0 < completed < len(events) and sign_ups > 0 and sign_ins > 0


def test_error_and_edge_events_occur(records: list[Record], flows: dict) -> None:
    names = {x[2] for evs in flows.values() for x in evs}
    for name in (
        "route./account/login.400.103",
        "customs.blocked",
        "account.keyfetch",
        "account.signed",
        "route./account/login.200",
    ):
        assert name in names, name
    assert any(re.fullmatch(r"email\.\w+\.bounced", n) for n in names)
    assert any(re.fullmatch(r"email\.\w+\.delivered", n) for n in names)
    assert any(re.fullmatch(r"flow\.\w+\.begin", n) for n in names)  # trains 71-74 name
    fields = [f for _, cls, f, _ in records if cls == "flow"]
    utm = [f.get("utm_campaign") for f in fields]
    assert None in utm and "fx-new-tab" in utm
    assert any(" " in f.get("utm_campaign", "") for f in fields)  # invalid: NULLed by the loader
    assert any(len(f.get("utm_content", "")) > 100 for f in fields)
    assert any(f.get("entrypoint") == "none" for f in fields)
    assert any(f.get("service") == "" for f in fields)
    assert any(f.get("migration") in ("sync11", "amo") for f in fields)
    assert any("userAgent" not in f for f in fields)
    assert any(re.fullmatch(r"[0-9a-f]{16}", f.get("service", "")) for f in fields)  # OAuth
    activity = {f["event"] for _, cls, f, _ in records if cls == "activity"}
    assert {
        "account.created",
        "account.login",
        "account.verified",
        "account.signed",
        "device.created",
    } <= activity


def _device_days(sample: Path, records: list[Record]) -> dict[int, dict[str, set[str]]]:
    days: dict[int, dict[str, set[str]]] = collections.defaultdict(
        lambda: collections.defaultdict(set)
    )
    for _, cls, f, t in records:
        if cls == "activity" and "device_id" in f:
            days[t // 86_400_000][f["uid"]].add(f["device_id"])
    for path in sample.glob("legacy/events-*.csv"):
        for row in csv.reader(path.read_text().splitlines()):
            if len(row) == 8 and row[7] and row[0].isdigit():
                days[int(row[0]) // 86_400][row[4]].add(row[7])
    return days


def _multi_device_share(days: dict, day: int, window: int) -> float:
    today = days[day]
    multi = 0
    for uid in today:
        seen = set().union(*(days.get(d, {}).get(uid, set()) for d in range(day - window, day + 1)))
        multi += len(seen) >= 2
    return multi / len(today)


def test_users_are_active_on_several_devices_and_days(sample: Path, records: list[Record]) -> None:
    raw = _device_days(sample, records)
    # The legacy day holds HMACed uids: map them back so both sources agree.
    uids = {u for d in raw.values() for u in d if len(u) == 32}
    back = {hmac.new(KEY.encode(), u.encode(), hashlib.sha256).hexdigest(): u for u in uids}
    days: dict[int, dict[str, set[str]]] = collections.defaultdict(
        lambda: collections.defaultdict(set)
    )
    for day, users in raw.items():
        for uid, devices in users.items():
            days[day][back.get(uid, uid)] |= devices
    assert any(u in back for d in raw.values() for u in d if len(u) == 64)  # HMAC is right
    last = max(days)
    five = _multi_device_share(days, last, 5)
    seven = _multi_device_share(days, last, 7)
    assert 0 < five < seven < 1
    daily = [set(days[d]) for d in sorted(days)]
    assert all(daily)
    monthly = set().union(*daily)
    assert max(len(d) for d in daily) < len(monthly)  # engagement ratio strictly below 1
    assert len(set.intersection(*daily[-3:])) > 0  # some users are active day after day


# -- legacy CSV ----------------------------------------------------------------------------


def test_legacy_csv_exports(sample: Path, manifest: dict) -> None:
    parsed = {(a.browser or "", a.version or "", a.os or "") for a in catalogue.AGENTS}
    flow_path = sample / "legacy/flow-2017-02-28.csv"
    events_path = sample / "legacy/events-2017-02-28.csv"
    day_start = int(dt.datetime(2017, 2, 28, tzinfo=dt.UTC).timestamp())
    for path, good_counts in ((flow_path, {16, 18}), (events_path, {7, 8})):
        counts = collections.Counter()
        malformed = 0
        for row in csv.reader(read_lines(path)):
            if not row:
                continue
            if (
                len(row) not in good_counts
                or not row[0].isdigit()
                or (len(row) >= 16 and (not HEX64.match(row[2]) or not row[3].isdigit()))
            ):
                malformed += 1
                continue
            counts[len(row)] += 1
            assert day_start <= int(row[0]) < day_start + 86_400
            triple = tuple(row[4:7]) if len(row) >= 16 else tuple(row[1:4])
            assert triple in parsed
            uid = row[17] if len(row) == 18 else (row[4] if len(row) <= 8 else "")
            assert uid == "" or HEX64.match(uid)
        assert set(counts) == good_counts
        assert malformed == manifest["files"][str(path.relative_to(sample))]["malformed"] > 0


def test_legacy_days_need_the_hmac_key(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_generator(tmp_path / "x", "--days", "1", "--flows-per-day", "10", key=None) == 2
    assert "FXA_METRICS_UID_HMAC_KEY" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    args = ["--days", "1", "--flows-per-day", "10", "--legacy-days", "0"]
    assert run_generator(tmp_path / "y", *args, key=None) == 0


# -- memory --------------------------------------------------------------------------------

# Peak RSS of the generator process itself. VmHWM belongs to the process image and starts
# afresh at exec; ru_maxrss would also count the pages of the forking pytest process.
_PEAK_RSS = """
import resource, sys
import generate_events
generate_events.main(sys.argv[1:])
try:
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK_KB", peak)
"""


def _start(out: Path, days: int, flows_per_day: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "FXA_METRICS_UID_HMAC_KEY": KEY}
    args = ["--out", str(out), "--days", str(days), "--flows-per-day", str(flows_per_day)]
    return subprocess.Popen(
        [sys.executable, "-c", _PEAK_RSS, *args, "--legacy-days", "0"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _peak_rss_kb(proc: subprocess.Popen) -> int:
    stdout, _ = proc.communicate()
    assert proc.returncode == 0
    return int(stdout.rsplit("PEAK_KB", 1)[1])


def test_memory_does_not_grow_with_days_or_flows(tmp_path: Path) -> None:
    small, big = _start(tmp_path / "small", 1, 500), _start(tmp_path / "big", 2, 4000)
    small_kb, big_kb = _peak_rss_kb(small), _peak_rss_kb(big)
    # 16x the lines. The bounded caches (users, uid HMACs, ISO minutes) and the open flows
    # add under 10 MiB; holding one day of the big run's lines would add about 60 MiB.
    assert big_kb < small_kb + 24 * 1024, (small_kb, big_kb)
    assert big_kb < 100 * 1024


def test_no_noise_gives_only_clean_lines(tmp_path: Path) -> None:
    args = ["--days", "2", "--flows-per-day", "100", "--legacy-days", "1", "--no-noise"]
    assert run_generator(tmp_path, *args) == 0
    totals = json.loads((tmp_path / MANIFEST_NAME).read_text())["totals"]
    assert totals["malformed"] == totals["duplicates"] == totals["blank"] == 0
    assert (
        totals["other_type"] > 0
        and totals["lines"] == totals["expected_loaded"] + totals["other_type"]
    )


# -- building blocks (property-based) ------------------------------------------------------


@given(st.integers(min_value=946_684_800_000, max_value=4_102_444_799_999))
def test_iso_time_matches_datetime(ms: int) -> None:
    expected = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert render.iso_time(ms) == f"{expected}.{ms % 1000:03d}Z"


@given(
    st.integers(min_value=0, max_value=300),
    st.floats(min_value=0.0, max_value=0.99),
    st.floats(min_value=0.01, max_value=1.0),
    st.integers(min_value=0, max_value=2**32),
)
def test_sorted_starts_are_sorted_in_range_and_exactly_n(
    n: int, lo: float, width: float, seed: int
) -> None:
    hi = min(1.0, lo + width)
    day = 17_226 * timeline.DAY_MS
    times = list(timeline.sorted_starts(random.Random(seed), n, day, lo, hi))
    assert len(times) == n
    assert times == sorted(times)
    assert all(
        day + int(lo * timeline.DAY_MS) - 1 <= t < day + hi * timeline.DAY_MS + 1 for t in times
    )


def _week_1_return(signups_per_day: int, cohort_day: int) -> float:
    """Share of the accounts created on `cohort_day` picked again in week 1 after it (days
    +7..+13), with as many picks a day per sign-up as the generator makes (~7); as in the
    generator, 3 in 5 sign-up flows create an account."""
    population = Population(seed=1, existing_users=10_000)
    rng = random.Random(7)
    cohort: set[int] = set()
    returned: set[int] = set()
    for day in range(cohort_day + 14):
        for i in range(signups_per_day * 5 // 3):
            user = population.new_user()
            if i % 5 < 3:
                population.note_signup(user, day)
                if day == cohort_day:
                    cohort.add(user.index)
        if day >= cohort_day + 7:
            for _ in range(7 * signups_per_day):
                picked = population.pick_existing(rng, day).index
                if picked in cohort:
                    returned.add(picked)
    return len(returned) / len(cohort)


def test_new_accounts_come_back_by_age_not_by_run_length_or_traffic() -> None:
    """A new account's chance to come back depends on its age only: a cohort a month into the
    run, or of a day with five times the sign-ups, retains like the first cohort of a quiet run
    (a pool of recent sign-ups picked uniformly made later and busier cohorts retain less)."""
    first = _week_1_return(1_000, cohort_day=0)
    assert 0.18 < first < 0.34
    for signups, day in ((1_000, 30), (5_000, 0)):
        assert abs(_week_1_return(signups, day) - first) < 0.04, (signups, day)
