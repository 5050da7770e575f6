"""The daily production run, for cron: load new log files, check freshness, build, summarise.

    python scripts/daily_run.py [--target NAME] [--full-refresh] [--vars YAML] [--select SPEC]
        [--target-path DIR] [--log-file FILE] LOGS_FOLDER          (or: make daily LOGS=...)

Steps, stopping at the first that fails:
1. `load`      scripts/load_events.py --target NAME LOGS_FOLDER (files already in the ledger
               are skipped, so rerunning the same folder only loads what is new; so are files
               removed with --unload). Files it refused or failed to load do not stop the
               run: the others are built, the failed ones are named and the run exits 1;
2. `freshness` dbt source freshness (the raw tables' `loaded_at` against the sources' limits;
               `--vars` applies, the limits are vars);
3. `build`     scripts/build.py --exclude-resource-type unit_test: dbt build (models, snapshots,
               seeds and data tests; unit tests are CI's job and need no production data)
               under the build lock (it waits for a running build; exit 75 if that does not
               end in time), plus `--full-refresh`, `--vars` and `--select` when given.

dbt runs without colours and writes its artifacts to one folder, the target path
(`--target-path`, else $DBT_TARGET_PATH, else <project>/target); the summary reads
`sources.json` and `run_results.json` from there and from nowhere else.

Every step's own output goes to a log file of the run's own (default
logs/daily/<UTC time, microseconds>Z-<pid>.log, created exclusively), terminal escape
sequences removed. Standard output gets exactly one summary line (what cron mails), naming the
files replaced, refused or failed and the tests and models that warned or failed, then, when a
step failed, the last lines of that step's output. The exit status is 0 only when every step
succeeded; freshness or test warnings are reported in the line but do not fail the run.

The build's rejected-share guard checks only the files this run loaded: every step runs with
FXA_DAILY_RUN_STARTED_AT (the run's start, UTC), which the guard's `where` reads.

SIGINT (Ctrl-C) or SIGTERM: the step in progress (run in a process group of its own) gets one
SIGINT, which every step handles as Ctrl-C (the loader rolls back its file, dbt cancels its
queries); no later step starts; the summary line says `INTERRUPTED (SIGTERM) at <step>` and the
exit status is 130 after SIGINT, 143 after SIGTERM. See docs/operations.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fxa_pipeline import interrupts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGET_DIR = PROJECT_ROOT / "target"
DEFAULT_LOG_DIR = PROJECT_ROOT / "logs" / "daily"
# The run's start (UTC, no zone, as the loader stamps `loaded_at`), for the steps: the build's
# rejected-share guard (models/staging/_fxa__sources.yml) checks only files loaded since.
STARTED_AT_VARIABLE = "FXA_DAILY_RUN_STARTED_AT"
TAIL_LINES = 20
# At most this many names per status in the summary line ("+N more" for the rest; the log
# file has every result).
MAX_NAMES = 10

# A runner executes one step: (argv, log file) -> exit status.
Runner = Callable[[Sequence[str], Path], int]

# Terminal escape sequences (ECMA-48): CSI (colours, cursor moves: ESC [ parameters final),
# OSC (titles, links: ESC ] text, then BEL or ESC backslash), and the others (ESC, optional
# intermediate bytes, a final byte: charset selection ESC ( B, ESC 7, ESC M, ...).
ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])"
)


def plain(text: str) -> str:
    """`text` without terminal escape sequences, nor any stray escape character left over."""
    return ESCAPE_SEQUENCE.sub("", text).replace("\x1b", "")


@dataclass(frozen=True)
class DbtOptions:
    """What the operator passes through to dbt."""

    full_refresh: bool = False
    vars: str | None = None  # a YAML mapping, as dbt's --vars takes it
    select: str | None = None  # a dbt selection spec for the build


NO_OPTIONS = DbtOptions()


@dataclass(frozen=True)
class LoadTotals:
    """The loader's closing `total:` line (scripts/fxa_pipeline/progress.py)."""

    files_loaded: int
    files_skipped: int
    files_failed: int
    lines: int
    loaded: int
    rejected: int
    ignored: int


# Counts with or without thousands separators (the loader writes them with).
_COUNT = r"(\d[\d,]*)"
TOTAL_LINE = re.compile(
    rf"^total: {_COUNT} files loaded, {_COUNT} skipped, {_COUNT} failed; {_COUNT} lines, "
    rf"{_COUNT} loaded, {_COUNT} rejected, {_COUNT} ignored$"
)


def parse_load_totals(output: str) -> LoadTotals | None:
    """The last `total:` line of the loader's output, or None when there is none."""
    totals = None
    for line in output.splitlines():
        match = TOTAL_LINE.match(line.strip())
        if match:
            totals = LoadTotals(*(int(group.replace(",", "")) for group in match.groups()))
    return totals


@dataclass(frozen=True)
class FileOutcomes:
    """What the load step said about single files (display names: relative to LOGS_FOLDER):
    those it replaced (a changed file: loaded again, its earlier rows removed), refused (not a
    log) or failed to load, and the loader's error line for each file not loaded."""

    replaced: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# The loader's lines about one file (scripts/fxa_pipeline/loader.py, progress.py), `NAME` its
# ledger name.
_LOADED = re.compile(r"^(?P<name>.+): [\d,]+ lines, [\d,]+ loaded, ")
_CHANGED = re.compile(r"^warning: (?P<name>.+) changed since it was loaded ")
_ERROR_PREFIX = "error: "
_REFUSED_MESSAGE = "not a log:"


def file_display_names(logs: Path) -> dict[str, str]:
    """Ledger name (the absolute path, links resolved, as the loader names a file) -> the
    name the summary shows (the path relative to the folder), for each file the loader walks."""
    if logs.is_file():
        return {str(logs.resolve()): logs.name}
    return {
        str(path.resolve()): str(path.relative_to(logs))
        for path in sorted(logs.rglob("*"))
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(logs).parts)
    }


def _error_file(line: str, names: Mapping[str, str]) -> tuple[str, str] | None:
    """(ledger name, message) of an `error: NAME: message` line about one of `names`."""
    if not line.startswith(_ERROR_PREFIX):
        return None
    rest = line[len(_ERROR_PREFIX) :]
    start = 0
    while (cut := rest.find(": ", start)) >= 0:  # a path may hold ": " itself
        if rest[:cut] in names:
            return rest[:cut], rest[cut + 2 :]
        start = cut + 1
    return None


def parse_file_outcomes(output: str, names: Mapping[str, str]) -> FileOutcomes:
    """The files of `names` the loader's `output` replaced, refused or failed to load."""
    loaded: set[str] = set()
    changed: list[str] = []
    outcomes = FileOutcomes()
    for line in output.splitlines():
        line = line.rstrip()
        error = _error_file(line, names)
        if error is not None:
            name, message = error
            kind = outcomes.refused if message.startswith(_REFUSED_MESSAGE) else outcomes.failed
            if names[name] not in kind:
                kind.append(names[name])
                outcomes.errors.append(line)
            continue
        for pattern, found in ((_CHANGED, changed), (_LOADED, None)):
            match = pattern.match(line)
            if match and match.group("name") in names:
                if found is None:
                    loaded.add(match.group("name"))
                else:
                    found.append(match.group("name"))
                break
    # a changed file counts as replaced once its new rows are committed
    outcomes.replaced.extend(names[name] for name in dict.fromkeys(changed) if name in loaded)
    return outcomes


@dataclass
class StepResult:
    name: str
    status: int
    seconds: float
    # the step failed for some files only and the run went on (the load step)
    continued: bool = False


@dataclass
class RunReport:
    """What the summary line says. `freshness` / `build` are None when dbt left no results
    file for a step that ran (shown as `?`); `*_names` name the results by status."""

    target: str
    day: dt.date
    files_found: int
    steps: list[StepResult] = field(default_factory=list)
    load: LoadTotals | None = None
    files: FileOutcomes = field(default_factory=FileOutcomes)
    freshness: Counter[str] | None = field(default_factory=Counter)
    build: Counter[str] | None = field(default_factory=Counter)
    freshness_names: dict[str, list[str]] = field(default_factory=dict)
    build_names: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    # the signal that stopped the run, and the step it stopped (or did not let start)
    interrupted: int | None = None
    interrupted_step: str | None = None

    @property
    def failed_step(self) -> StepResult | None:
        """The step whose failure stopped the run."""
        return next((s for s in self.steps if s.status != 0 and not s.continued), None)

    @property
    def files_not_loaded(self) -> bool:
        """The load step failed for some files and the run went on."""
        return any(step.continued for step in self.steps)

    @property
    def exit_code(self) -> int:
        if self.interrupted is not None:
            return 128 + self.interrupted
        return 1 if self.failed_step is not None or self.files_not_loaded else 0


def human(number: int) -> str:
    """1234 -> 1.2k, 1_200_000 -> 1.2M: short counts for a one-line summary."""
    for limit, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(number) >= limit:
            text = f"{number / limit:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return str(number)


def duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _named(names: Sequence[str]) -> str:
    """' (a, b)' for the names of one status, at most MAX_NAMES of them; '' for none."""
    if not names:
        return ""
    shown = list(names[:MAX_NAMES])
    if len(names) > MAX_NAMES:
        shown.append(f"+{len(names) - MAX_NAMES} more")
    return f" ({', '.join(shown)})"


def _counts(
    counter: Counter[str] | None,
    order: Sequence[str],
    names: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """'3 ok, 1 warn (name)': the counts by status, `order` first; '?' without results."""
    if counter is None:
        return "?"
    names = names or {}
    keys = [key for key in order if counter[key]]
    keys += [key for key in sorted(counter) if key not in order and counter[key]]
    shown = [f"{counter[key]} {key}{_named(names.get(key, ()))}" for key in keys]
    return ", ".join(shown) if shown else "none"


# Statuses whose results the summary line names (the others are only counted).
NAMED_STATUSES = ("warn", "error", "runtime error")


def run_state(report: RunReport) -> str:
    """`OK`, `INTERRUPTED (SIGTERM) at build (exit 143)`, `FAILED at build (exit 1)`, or
    `FAILED: files not loaded (load exit 1)` when only some files failed and the build ran."""
    if report.interrupted is not None:
        signal_name = signal.Signals(report.interrupted).name
        return f"INTERRUPTED ({signal_name}) at {report.interrupted_step} (exit {report.exit_code})"
    failed = report.failed_step
    if failed is not None:
        return f"FAILED at {failed.name} (exit {failed.status})"
    continued = next((step for step in report.steps if step.continued), None)
    if continued is not None:
        return f"FAILED: files not loaded ({continued.name} exit {continued.status})"
    return "OK"


def files_field(report: RunReport) -> str:
    """`files 12 (2 new, 1 replaced (a.log), 1 refused (b.bin), 1 failed (c.log.gz))`."""
    if report.load is None:
        return f"files {report.files_found} (new ?)"
    load, files = report.load, report.files
    replaced = len(files.replaced)
    shown = [f"{load.files_loaded - replaced} new"]
    if replaced:
        shown.append(f"{replaced} replaced{_named(files.replaced)}")
    if files.refused:
        shown.append(f"{len(files.refused)} refused{_named(files.refused)}")
    failed = load.files_failed - len(files.refused)
    if failed > 0:
        shown.append(f"{failed} failed{_named(files.failed)}")
    return f"files {report.files_found} ({', '.join(shown)})"


def summary_line(report: RunReport) -> str:
    parts = [f"fxa-metrics daily {report.day.isoformat()} [{report.target}]: {run_state(report)}"]
    parts.append(files_field(report))
    if report.load is None:
        parts.append("loaded ?")
    else:
        load = report.load
        parts.append(
            f"loaded {human(load.loaded)} rejected {human(load.rejected)} "
            f"ignored {human(load.ignored)}"
        )
    ran = {step.name for step in report.steps}
    if "freshness" in ran:
        counts = _counts(report.freshness, ("pass", "warn", "error"), report.freshness_names)
        parts.append("freshness " + counts)
    if "build" in ran:
        counts = _counts(report.build, ("ok", "warn", "error", "skipped"), report.build_names)
        parts.append("build " + counts)
    parts.append(duration(report.seconds))
    return plain(" | ".join(parts))


# ---------------------------------------------------------------------------------------------
# Reading what dbt and the loader left behind


@dataclass(frozen=True)
class Results:
    """The results of one dbt command: counts by (summary) status, and names by status."""

    counts: Counter[str]
    names: dict[str, list[str]]


def result_name(unique_id: str) -> str:
    """The readable name of a dbt node: a test's or model's name, a source's `source.table`.

    test.fxa_metrics.not_null_x_day.5f2a -> not_null_x_day; model.fxa_metrics.x -> x;
    source.fxa_metrics.fxa.load_ledger -> fxa.load_ledger.
    """
    parts = unique_id.split(".")
    if len(parts) < 3:
        return unique_id
    if parts[0] == "test":
        return parts[2]
    return ".".join(parts[2:])


def read_results(path: Path, statuses: Mapping[str, str] | None = None) -> Results | None:
    """Counts and names of the results in a dbt artifact (run_results.json, sources.json),
    each status mapped through `statuses`, exposures left out; None when the file does not
    exist."""
    if not path.exists():
        return None
    statuses = statuses or {}
    counts: Counter[str] = Counter()
    names: dict[str, list[str]] = {}
    for result in json.loads(path.read_text()).get("results", []):
        unique_id = result.get("unique_id")
        if str(unique_id).startswith(("exposure.", "operation.")):
            continue  # a dashboard dbt lists as `no-op`, the on-run-start hook: not built
        status = str(result.get("status"))
        status = statuses.get(status, status)
        counts[status] += 1
        if status in NAMED_STATUSES and unique_id:
            names.setdefault(status, []).append(plain(result_name(str(unique_id))))
    return Results(counts, {status: sorted(found) for status, found in names.items()})


_BUILD_STATUS = {"success": "ok", "pass": "ok", "fail": "error", "runtime error": "error"}


def count_files(folder: Path) -> int:
    """Files under the folder, recursively, skipping hidden ones, as the loader walks it."""
    if folder.is_file():
        return 1
    return sum(
        1
        for path in folder.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts)
    )


# ---------------------------------------------------------------------------------------------
# Running


def step_environment(target_dir: Path, started_at: dt.datetime | None = None) -> dict[str, str]:
    """What every step runs with on top of the inherited environment: dbt's artifacts in
    `target_dir`, no colours (on the console nor in dbt's own log file), and the run's start
    (`STARTED_AT_VARIABLE`, UTC without a zone) when given."""
    env = {
        "DBT_TARGET_PATH": str(target_dir),
        "DBT_USE_COLORS": "false",
        "DBT_USE_COLORS_FILE": "false",
        "NO_COLOR": "1",
    }
    if started_at is not None:
        utc = started_at.astimezone(dt.UTC) if started_at.tzinfo else started_at
        env[STARTED_AT_VARIABLE] = utc.replace(tzinfo=None).isoformat(sep=" ")
    return env


def run_subprocess(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    """Run one step with its output (escape sequences removed) appended to the log file.

    The step runs in a process group of its own, so that a Ctrl-C on the terminal reaches the
    daily run only; while it runs, a SIGINT or SIGTERM the daily run receives (with
    `interrupts.handling()` installed) is passed on to it as one SIGINT (interrupts.forwarding).
    """
    env = dict(env or {})
    shown = [f"{name}={shlex.quote(value)}" for name, value in env.items()]
    with log.open("a", encoding="utf-8") as out:
        out.write(plain(f"\n$ {' '.join([*shown, shlex.join(argv)])}\n"))
        out.flush()
        with subprocess.Popen(
            list(argv),
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        ) as process:
            assert process.stdout is not None
            try:
                with interrupts.forwarding(process.pid):
                    for raw in process.stdout:
                        out.write(plain(raw.decode("utf-8", errors="replace")))
                        out.flush()
                    return process.wait()
            except BaseException:  # a KeyboardInterrupt without the handlers: stop it too
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGINT)
                process.wait()
                raise


def _tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else name


def steps(target: str, logs: Path, options: DbtOptions = NO_OPTIONS) -> list[tuple[str, list[str]]]:
    dbt = _tool("dbt")
    loader = str(PROJECT_ROOT / "scripts" / "load_events.py")
    vars_args = ["--vars", options.vars] if options.vars else []
    # dbt build under the build lock (scripts/build.py): waits for a running build, bootstraps
    # a fresh warehouse; its other arguments go to dbt build.
    builder = str(PROJECT_ROOT / "scripts" / "build.py")
    build = [sys.executable, builder, "--target", target, "--exclude-resource-type", "unit_test"]
    build += ["--full-refresh"] if options.full_refresh else []
    build += vars_args
    build += ["--select", options.select] if options.select else []
    return [
        ("load", [sys.executable, loader, "--target", target, str(logs)]),
        ("freshness", [dbt, "source", "freshness", "--target", target, *vars_args]),
        ("build", build),
    ]


# The dbt artifact each dbt step is summarised from, in the target path.
ARTIFACTS = {"freshness": "sources.json", "build": "run_results.json"}


def tail(log: Path, lines: int = TAIL_LINES) -> list[str]:
    if not log.exists():
        return []
    text = plain(log.read_text(encoding="utf-8", errors="replace"))
    return text.splitlines()[-lines:]


def target_path(option: Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """dbt's artifact folder: `--target-path` (relative to the current directory), else
    $DBT_TARGET_PATH (relative to the project, as dbt reads it), else <project>/target."""
    if option is not None:
        return option.resolve()
    from_env = environ.get("DBT_TARGET_PATH")
    if from_env:
        return (PROJECT_ROOT / from_env).resolve()
    return DEFAULT_TARGET_DIR


def run(
    target: str,
    logs: Path,
    log_file: Path,
    *,
    runner: Runner | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    target_dir: Path = DEFAULT_TARGET_DIR,
    options: DbtOptions = NO_OPTIONS,
) -> RunReport:
    """Run the steps; `target_dir` is the folder dbt writes its artifacts to (the default
    runner tells dbt so) and the only one read from. Before a dbt step, the artifact it is
    read from is removed there, so that a step that writes none is not summarised from an
    earlier run's.

    A load that failed for some files only (exit 1 after its `total:` line, counting them)
    does not stop the run. A signal recorded by `interrupts` (main() installs the handlers)
    stops it after the step in progress: no further step starts."""
    started_at = now()
    env = step_environment(target_dir, started_at)

    def run_step(argv: Sequence[str], log: Path) -> int:
        if runner is not None:
            return runner(argv, log)
        return run_subprocess(argv, log, env)

    started = clock()
    report = RunReport(target=target, day=started_at.date(), files_found=count_files(logs))
    log_file.parent.mkdir(parents=True, exist_ok=True)

    for name, argv in steps(target, logs, options):
        if _interrupted(report, name):
            break
        artifact = ARTIFACTS.get(name)
        if artifact is not None:  # read only what this run's step wrote
            (target_dir / artifact).unlink(missing_ok=True)
        step_start = clock()
        log_size = log_file.stat().st_size if log_file.exists() else 0
        status = run_step(argv, log_file)
        step = StepResult(name, status, clock() - step_start)
        report.steps.append(step)
        if name == "load" and log_file.exists():
            with log_file.open("rb") as log:
                log.seek(log_size)
                output = plain(log.read().decode("utf-8", errors="replace"))
            report.load = parse_load_totals(output)
            report.files = parse_file_outcomes(output, file_display_names(logs))
            # some files failed (named in the summary), the others loaded: build those
            step.continued = (
                status == 1 and report.load is not None and report.load.files_failed > 0
            )
        elif name == "freshness":
            results = read_results(target_dir / ARTIFACTS[name])
            report.freshness = results.counts if results else None
            report.freshness_names = results.names if results else {}
        elif name == "build":
            results = read_results(target_dir / ARTIFACTS[name], _BUILD_STATUS)
            report.build = results.counts if results else None
            report.build_names = results.names if results else {}
        if _interrupted(report, name) or (status != 0 and not step.continued):
            break
    report.seconds = clock() - started
    return report


def _interrupted(report: RunReport, step: str) -> bool:
    """Whether a signal asked the run to stop; the first time, `step` is recorded as the step
    it stopped (the one that ran when it came, or the one it kept from starting)."""
    signum = interrupts.requested()
    if signum is None:
        return False
    if report.interrupted is None:
        report.interrupted, report.interrupted_step = signum, step
    return True


def new_log_file(folder: Path, now: dt.datetime) -> Path:
    """A new, empty log file in `folder` that no other run writes to:
    `<UTC time with microseconds>Z-<pid>.log`, created exclusively (`-2`, `-3`, ... is
    appended when that name is taken)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S.%f}Z-{os.getpid()}"
    for attempt in range(1, 1000):
        path = folder / (stem + ("" if attempt == 1 else f"-{attempt}") + ".log")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder / stem}*.log: every name is taken")


def _vars(text: str) -> str:
    """argparse type of --vars: a YAML mapping (what dbt accepts), else a usage error."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise argparse.ArgumentTypeError(f"not YAML: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"not a YAML mapping: {text!r}")
    return text


def main(argv: Sequence[str] | None = None, **hooks: Any) -> int:
    parser = argparse.ArgumentParser(
        description="Daily run: load new files, dbt source freshness, dbt build; one summary line."
    )
    parser.add_argument("logs", type=Path, help="folder (or file) of log files to load")
    parser.add_argument(
        "--target",
        default=os.environ.get("FXA_TARGET", "duckdb"),
        choices=["duckdb", "postgres", "redshift"],
        help="dbt target and loader target (default: $FXA_TARGET or duckdb)",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="where the steps' output goes (default: logs/daily/<UTC time>.log)",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="dbt build --full-refresh: rebuild every incremental model from the raw tables",
    )
    parser.add_argument(
        "--vars",
        type=_vars,
        default=None,
        metavar="YAML",
        help="dbt --vars for source freshness and build, e.g. '{raw_rejected_share_limit: 0.05}'",
    )
    parser.add_argument(
        "--select",
        default=None,
        metavar="SPEC",
        help="dbt build --select SPEC, e.g. '+kpi_flow_funnel_daily' (default: everything)",
    )
    parser.add_argument(
        "--target-path",
        type=Path,
        default=None,
        metavar="DIR",
        help="dbt's artifact folder (default: $DBT_TARGET_PATH, else <project>/target)",
    )
    args = parser.parse_args(argv)
    if not args.logs.exists():
        parser.error(f"{args.logs} does not exist")
    now: Callable[[], dt.datetime] = hooks.get("now") or (lambda: dt.datetime.now(dt.UTC))
    log_file = args.log_file or new_log_file(DEFAULT_LOG_DIR, now())
    hooks.setdefault("target_dir", target_path(args.target_path))
    options = DbtOptions(full_refresh=args.full_refresh, vars=args.vars, select=args.select)
    # A signal is recorded, passed on to the step in progress and ends the run after it; the
    # summary is printed whatever comes (a second signal included), never a traceback.
    with interrupts.handling():
        report = run(args.target, args.logs, log_file, options=options, **hooks)
        print(summary_line(report), flush=True)
        if report.files_not_loaded:
            print(f"--- files not loaded (full output: {log_file}) ---")
            for line in report.files.errors:
                print(line)
        stopped = report.failed_step
        if report.interrupted is not None:
            stopped = next((s for s in report.steps if s.name == report.interrupted_step), None)
        if stopped is not None:
            print(f"--- last lines of {stopped.name} (full output: {log_file}) ---")
            for line in tail(log_file):
                print(line)
        sys.stdout.flush()
    return report.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
