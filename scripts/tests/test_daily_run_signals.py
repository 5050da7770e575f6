"""scripts/daily_run.py stopped by SIGINT or SIGTERM: one summary line naming the step the
signal stopped, exit 130 / 143, no traceback, the step in progress told to stop (one SIGINT)
and waited for, no later step started.

The daily run runs in a subprocess whose steps are small Python programs (its `steps()`
replaced): the step to interrupt installs its SIGINT handler and only then sends the signal
to the daily run itself, so the signal always arrives while that step runs, whatever the
machine's speed. The step exits 130 when it gets SIGINT; it gives up after a minute (alarm)
if nothing ever comes, so a broken daily run cannot leave it behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_harness import PROJECT_ROOT

# A step that signals the daily run (its parent) once it is ready to be stopped.
STOPPED_STEP = """
import os, signal, sys
def stop(signum, frame):
    print(f"{name} got {{signal.Signals(signum).name}}", flush=True)
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
signal.alarm(60)
print("{name} started", flush=True)
os.kill(os.getppid(), signal.{signal})
while True:
    signal.pause()
"""

QUICK_STEP = "print('{name} ran', flush=True)"

DRIVER = """
import sys
import daily_run
steps = {steps!r}
daily_run.steps = lambda target, logs, options=None: steps
sys.exit(daily_run.main(sys.argv[1:]))
"""


def run_daily(tmp_path: Path, stopped: str, signal_name: str) -> subprocess.CompletedProcess:
    steps = []
    for name in ("load", "freshness", "build"):
        code = STOPPED_STEP if name == stopped else QUICK_STEP
        steps.append((name, [sys.executable, "-c", code.format(name=name, signal=signal_name)]))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text("\n")
    argv = [str(logs), "--log-file", str(tmp_path / "daily.log")]
    argv += ["--target-path", str(tmp_path / "target")]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "scripts")}
    return subprocess.run(
        [sys.executable, "-c", DRIVER.format(steps=steps), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("stopped", "signal_name"),
    [("load", "SIGTERM"), ("load", "SIGINT"), ("build", "SIGTERM"), ("freshness", "SIGINT")],
)
def test_a_signal_stops_the_run_with_its_summary_line(tmp_path, stopped, signal_name):
    result = run_daily(tmp_path, stopped, signal_name)
    signum = signal.Signals[signal_name]
    output = result.stdout.splitlines()
    assert result.returncode == 128 + signum, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert output, result.stderr
    assert f": INTERRUPTED ({signal_name}) at {stopped} (exit {128 + signum}) |" in output[0]
    assert output[1] == f"--- last lines of {stopped} (full output: {tmp_path / 'daily.log'}) ---"
    log = (tmp_path / "daily.log").read_text()
    # the step got exactly one SIGINT, and the daily run waited for it to end
    assert log.count(f"{stopped} got SIGINT") == 1, log
    assert output[-1] == f"{stopped} got SIGINT"
    order = ["load", "freshness", "build"]
    for earlier in order[: order.index(stopped)]:
        assert f"{earlier} ran" in log
    for later in order[order.index(stopped) + 1 :]:
        assert f"{later} ran" not in log and later not in output[0].split("|", 2)[-1]


def test_a_signal_between_steps_starts_no_further_step(tmp_path, capsys):
    """A signal recorded while no step runs: the next step does not start."""
    from fxa_pipeline import interrupts

    logs = tmp_path / "logs"
    logs.mkdir()
    ran: list[str] = []

    def runner(argv, log):
        ran.append(argv[1] if "freshness" not in argv else "freshness")
        if "freshness" in argv:
            interrupts.request(signal.SIGTERM)  # as the handler records it
        return 0

    import daily_run

    with interrupts.handling():
        report = daily_run.run("duckdb", logs, tmp_path / "d.log", runner=runner)
    assert report.interrupted == signal.SIGTERM and report.interrupted_step == "freshness"
    assert [step.name for step in report.steps] == ["load", "freshness"]
    assert report.exit_code == 143
    assert "INTERRUPTED (SIGTERM) at freshness (exit 143)" in daily_run.summary_line(report)
