"""The incremental guarantee, scenario by scenario (docs/data-contract.md#the-guarantee).

Whatever the order in which files are loaded, replaced (`--force` with other content) or
unloaded, and however many builds run in between, every table of `analytics` (the spec's
tables, the KPI tables, flow_funnel, the sampled tables; every column) must equal a
`--full-refresh` build of the same raw data after every build, and no build may fail.

Each scenario below is a list of steps on one warehouse; after every `build` step the warehouse
is compared with a full rebuild of a copy of it. The files are generated sample logs (flows
crossing midnight, duplicates, damaged lines, a legacy CSV day) plus three hand-made files for
the hard cases:

- `lone-day.jsonl`: the only flow (completed) and activity of 2017-03-10;
- `earlier-begin.jsonl`: an earlier `flow.begin` of that flow, at 23:50 on 2017-03-09. Loaded
  after a build, it moves the flow to 2017-03-09 and leaves 2017-03-10 with no flow at all:
  both flow KPI tables must then drop that day;
- `weeks-late.jsonl`: a flow and two-device activity on 2017-02-01, four weeks before the
  rest. It moves the first loaded activity day, so `full_window` flips on later days.

and one made from the generated logs: `first-activity.jsonl`, an `account.created` and a login
on 2017-02-01 of a user the generated logs create on 2017-03-02: the user's earliest activity,
four weeks late. Loaded, it moves the user's first day back (users_first_seen, and
users_last_seen.first_seen_day on every row of the user, rows more than 27 days after the
late day included) and its cohort from 2017-03-02 to 2017-02-01 (both cohort rows of
kpi_retention_daily change); unloaded, it moves them forward again.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dbt_harness import (
    PROJECT_ROOT,
    SCRIPTS,
    LogSet,
    Warehouse,
    differences_from_full_rebuild,
    log_files,
    scratch_warehouse,
)
from fxa_pipeline.uid_hmac import HmacKey

LONE_FLOW = "1" * 63 + "a"
WEEKS_LATE_FLOW = "2" * 63 + "b"
LONE_UID = "3" * 31 + "c"
WEEKS_LATE_UID = "4" * 31 + "d"
DEVICES = ("5" * 31 + "e", "6" * 31 + "f")
LONE_DAY = "2017-03-10"
LOGS = LogSet(days=3, flows_per_day=40, legacy_days=1)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _flow_line(flow_id: str, event: str, at: str, flow_time: int) -> str:
    fields = {
        "event": event,
        "flow_id": flow_id,
        "flow_time": flow_time,
        "time": _ms(at),
        "service": "sync",
        "context": "fx_desktop_v3",
        "entrypoint": "menupanel",
    }
    return _envelope("flowEvent", at, fields)


def _activity_line(uid: str, device_id: str, event: str, at: str) -> str:
    fields = {"event": event, "uid": uid, "device_id": device_id, "service": "sync"}
    fields["time"] = _ms(at)
    return _envelope("activityEvent", at, fields)


def _envelope(kind: str, at: str, fields: dict[str, object]) -> str:
    envelope = {
        "Timestamp": _ms(at) * 1_000_000,
        "Logger": "fxa-auth-server",
        "Type": kind,
        "Severity": 6,
        "Pid": 1,
        "EnvVersion": "2.0",
        "Hostname": "auth1",
        "Fields": fields,
    }
    return json.dumps(envelope)


def write_hard_cases(folder: Path) -> dict[str, Path]:
    """The three hand-made files of the module docstring, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    day = LONE_DAY
    files = {
        "lone-day": [
            _flow_line(LONE_FLOW, "flow.begin", f"{day} 00:30:00", 0),
            _flow_line(LONE_FLOW, "flow.signin.view", f"{day} 00:30:01", 1000),
            _flow_line(LONE_FLOW, "account.login", f"{day} 00:30:20", 20000),
            _flow_line(LONE_FLOW, "flow.complete", f"{day} 00:30:30", 30000),
            _activity_line(LONE_UID, DEVICES[0], "account.login", f"{day} 00:30:20"),
        ],
        "earlier-begin": [_flow_line(LONE_FLOW, "flow.begin", "2017-03-09 23:50:00", 0)],
        "weeks-late": [
            _flow_line(WEEKS_LATE_FLOW, "flow.begin", "2017-02-01 10:00:00", 0),
            _flow_line(WEEKS_LATE_FLOW, "flow.signup.view", "2017-02-01 10:00:02", 2000),
            _flow_line(WEEKS_LATE_FLOW, "account.created", "2017-02-01 10:01:00", 60000),
            _flow_line(WEEKS_LATE_FLOW, "flow.complete", "2017-02-01 10:01:30", 90000),
            _activity_line(WEEKS_LATE_UID, DEVICES[0], "account.created", "2017-02-01 10:01:00"),
            _activity_line(WEEKS_LATE_UID, DEVICES[1], "account.login", "2017-02-01 11:00:00"),
        ],
    }
    paths = {}
    for name, lines in files.items():
        paths[name] = folder / f"{name}.jsonl"
        paths[name].write_text("\n".join(lines) + "\n")
    return paths


@dataclass
class Scene:
    """The files of a scenario: generated logs (a private copy: steps rewrite files) and the
    hand-made ones."""

    generated: list[Path]
    hard: dict[str, Path]

    def replace(self, path: Path, lines: list[str]) -> Path:
        path.write_text("".join(lines))
        return path


Step = Callable[[Warehouse, Scene], None]


def load(*names: str) -> Step:
    def step(warehouse: Warehouse, scene: Scene) -> None:
        warehouse.load(*(scene.hard[name] for name in names))

    step.__name__ = f"load {', '.join(names)}"
    return step


def build(warehouse: Warehouse, scene: Scene) -> None:
    """An incremental build of every model (`dbt run`: the data tests run once, at the end)."""
    warehouse.dbt("run")


def build_and_test(warehouse: Warehouse, scene: Scene) -> None:
    """`dbt build` as cron runs it: models and data tests (the unit tests read no warehouse
    data and have a test of their own)."""
    warehouse.dbt("build", "--exclude", "resource_type:unit_test")


BUILDS = (build, build_and_test)


def _batches(seed: int) -> Callable[[Warehouse, Scene], list[list[Path]]]:
    """The generated files in two batches shuffled by `seed`, the lone day in the first and the
    earlier begin in the second (so a build sees the lone day before it empties), then the
    weeks-late file alone (so that nothing newer widens the days it touches)."""

    def batches(warehouse: Warehouse, scene: Scene) -> list[list[Path]]:
        files = list(scene.generated)
        random.Random(seed).shuffle(files)
        third = len(files) // 3
        return [
            [*files[:third], scene.hard["lone-day"]],
            [*files[third:], scene.hard["earlier-begin"]],
            [scene.hard["weeks-late"]],
        ]

    return batches


def lone_day_counted(counted: bool) -> Step:
    """Check that both flow KPI tables have (or no longer have) a row for the lone day."""

    def check(warehouse: Warehouse, scene: Scene) -> None:
        for table in ("kpi_flow_funnel_daily", "kpi_device_connection_time_daily"):
            days = {str(row[0]) for row in warehouse.query(f"select day from analytics.{table}")}
            assert (LONE_DAY in days) is counted, f"{table} days: {sorted(days)}"

    check.__name__ = f"lone day {'counted' if counted else 'gone'}"
    return check


def shuffled(seed: int) -> list[Step]:
    steps: list[Step] = []
    for index in range(3):

        def load_batch(warehouse: Warehouse, scene: Scene, index: int = index) -> None:
            warehouse.load(*_batches(seed)(warehouse, scene)[index])

        load_batch.__name__ = f"load batch {index + 1} of seed {seed}"
        steps += [load_batch, build]
    # after batch 1 the lone day has its flow; batch 2's earlier begin moves it away
    return [*steps[:2], lone_day_counted(True), *steps[2:4], lone_day_counted(False), *steps[4:]]


def _day_file(scene: Scene, day: str) -> Path:
    return next(path for path in scene.generated if day in str(path) and "auth-server" in path.name)


def replaced_and_unloaded() -> list[Step]:
    """On a warehouse holding every file: a file replaced by a shorter one (and the lone day's
    flow losing its completion), then by a longer one, then files unloaded; a build after each."""

    def replace_shorter(warehouse: Warehouse, scene: Scene) -> None:
        path = _day_file(scene, "2017-03-02")
        lines = path.read_text().splitlines(keepends=True)
        warehouse.load(scene.replace(path, lines[: len(lines) // 3]), force=True)
        # the lone day's flow loses its flow.complete: its day drops out of the connection KPI
        lone = scene.hard["lone-day"]
        kept = [line for line in lone.read_text().splitlines(True) if "flow.complete" not in line]
        warehouse.load(scene.replace(lone, kept), force=True)

    def replace_longer(warehouse: Warehouse, scene: Scene) -> None:
        path = _day_file(scene, "2017-03-02")
        other = _day_file(scene, "2017-03-03").read_text().splitlines(keepends=True)
        original = path.with_suffix(".original").read_text().splitlines(keepends=True)
        warehouse.load(scene.replace(path, original + other[:50]), force=True)

    def unload(warehouse: Warehouse, scene: Scene) -> None:
        warehouse.load(scene.hard["earlier-begin"], scene.hard["weeks-late"], unload=True)
        warehouse.load(_day_file(scene, "2017-03-01"), unload=True)

    return [replace_shorter, build, replace_longer, build, unload, build]


def killed_build() -> list[Step]:
    """A load, then a `dbt build` killed midway, then the next (cron's) build."""

    def load_lines(warehouse: Warehouse, scene: Scene) -> None:
        path = _day_file(scene, "2017-03-03")
        lines = path.read_text().splitlines(keepends=True)
        warehouse.load(scene.replace(path, lines + lines[:40]), force=True)

    def kill_a_build(warehouse: Warehouse, scene: Scene) -> None:
        kill_dbt_build_midway(warehouse)

    return [load_lines, kill_a_build, build_and_test]


def kill_dbt_build_midway(warehouse: Warehouse) -> None:
    """`dbt build` as cron runs it, killed (SIGKILL) once a few models have been written."""
    env = {**os.environ, **warehouse.env}
    log = warehouse.work_dir / "killed-build.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dbt")),
                "build",
                "--exclude",
                "resource_type:unit_test",
                "--target",
                warehouse.target,
                "--project-dir",
                str(PROJECT_ROOT),
                "--target-path",
                str(warehouse.work_dir / "killed-target"),
                "--log-path",
                str(warehouse.work_dir / "killed-logs"),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=SCRIPTS.parent,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if log.read_text().count("OK created") >= 6:
                break
            time.sleep(0.05)
        killed = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert killed, f"the build ended before it could be killed:\n{log.read_text()[-3000:]}"


EARLY_DAY = "2017-02-01"


CREATED = re.compile(r'activityEvent.*"event": "account\.created", "uid": "([0-9a-f]{32})"')


def _created_uid(scene: Scene, day: str) -> str:
    """The raw uid of the first account.created activity event in `day`'s generated auth
    server log (JSON lines or text mode; as generated: steps rewrite the files)."""
    path = _day_file(scene, day).with_suffix(".original")
    for line in path.read_text().splitlines():
        found = CREATED.search(line)
        if found:
            return found.group(1)
    raise AssertionError(f"no account.created activity event in {path}")


def first_activity_late() -> list[Step]:
    """A user's earliest activity (and an earlier account.created) arriving weeks late, then
    unloaded; a build and a check of the user's first day and cohort after each."""

    def path(scene: Scene) -> Path:
        return scene.generated[0].parent.parent / "first-activity.jsonl"

    def load_first_activity(warehouse: Warehouse, scene: Scene) -> None:
        uid = _created_uid(scene, "2017-03-02")
        lines = [
            _activity_line(uid, DEVICES[1], "account.created", f"{EARLY_DAY} 09:00:00"),
            _activity_line(uid, DEVICES[1], "account.login", f"{EARLY_DAY} 09:05:00"),
        ]
        warehouse.load(scene.replace(path(scene), [line + "\n" for line in lines]))

    def unload_first_activity(warehouse: Warehouse, scene: Scene) -> None:
        warehouse.load(path(scene), unload=True)

    def user_days(moved: bool) -> Step:
        def check(warehouse: Warehouse, scene: Scene) -> None:
            key = HmacKey(warehouse.env["FXA_METRICS_UID_HMAC_KEY"].encode("utf-8"))
            uid = key.hexdigest(_created_uid(scene, "2017-03-02"))
            first_day = EARLY_DAY if moved else "2017-03-02"
            seen = warehouse.query(
                f"select first_seen_day from analytics.users_first_seen where uid = '{uid}'"
            )
            assert [str(row[0]) for row in seen] == [first_day]
            # every row of the user, those more than 27 days after the late day included
            rows = warehouse.query(
                f"select distinct first_seen_day from analytics.users_last_seen where uid = '{uid}'"
            )
            assert [str(row[0]) for row in rows] == [first_day]
            cohorts = warehouse.query(
                "select distinct cohort_day from analytics.kpi_retention_daily"
            )
            assert (EARLY_DAY in {str(row[0]) for row in cohorts}) is moved

        check.__name__ = f"first day {'moved back' if moved else 'restored'}"
        return check

    return [
        load_first_activity,
        build,
        user_days(True),
        unload_first_activity,
        build,
        user_days(False),
    ]


def everything(seed: int) -> list[Step]:
    """A shuffled order, then the replacements, unloads and the killed build on its result."""
    return [*shuffled(seed), *replaced_and_unloaded(), *first_activity_late(), *killed_build()]


SCENARIOS: dict[str, Callable[[], list[Step]]] = {
    "shuffled-seed-1": lambda: [*shuffled(1)[:-1], build_and_test],
    "everything-seed-2": lambda: everything(2),
    "everything-seed-3": lambda: everything(3),
}

# Three shuffled orders, one per case: on DuckDB the first alone and the third followed by the
# replacements, unloads and killed build; on Postgres the second followed by all of that.
CASES = [
    pytest.param("duckdb", "shuffled-seed-1", id="duckdb-shuffled-seed-1"),
    pytest.param("duckdb", "everything-seed-3", id="duckdb-everything-seed-3"),
    pytest.param(
        "postgres", "everything-seed-2", id="postgres-everything-seed-2", marks=pytest.mark.postgres
    ),
]


@pytest.fixture
def generated_logs(log_sets: Callable[[LogSet], Path]) -> Path:
    return log_sets(LOGS)


@pytest.mark.integration
@pytest.mark.parametrize(("target", "scenario"), CASES)
def test_every_build_equals_a_full_rebuild(
    target: str, scenario: str, generated_logs: Path, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    generated = []
    for source in log_files(generated_logs):
        copy = logs / source.relative_to(generated_logs)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(source.read_bytes())
        copy.with_suffix(".original").write_bytes(source.read_bytes())
        generated.append(copy)
    scene = Scene(generated, write_hard_cases(tmp_path / "hard"))
    with scratch_warehouse(target, tmp_path / "warehouse") as warehouse:
        warehouse.create_raw_tables()
        warehouse.dbt("seed")
        warehouse.dbt("run", "--empty")
        history = []
        for step in SCENARIOS[scenario]():
            step(warehouse, scene)
            history.append(step.__name__)
            if step in BUILDS:
                differences = differences_from_full_rebuild(
                    warehouse, tmp_path / f"rebuild-{len(history)}"
                )
                assert not differences, (
                    f"after {' -> '.join(history)}, tables differ from a full rebuild:\n"
                    + "\n".join(f"  {table}: {what}" for table, what in differences.items())
                )
