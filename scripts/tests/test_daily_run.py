"""daily_run with its steps stubbed: order, stop at the first failure, the summary line."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import daily_run
import pytest


class Stub:
    """Stands in for the subprocesses: records each step, writes what dbt would write."""

    def __init__(self, target_dir: Path, fail: str | None = None) -> None:
        self.target_dir = target_dir
        self.fail = fail
        self.calls: list[list[str]] = []

    def step_name(self, argv) -> str:
        if argv[-1].endswith("logs") or "load_events.py" in " ".join(argv):
            return "load"
        return "freshness" if "freshness" in argv else "build"

    def __call__(self, argv, log: Path) -> int:
        self.calls.append(list(argv))
        name = self.step_name(argv)
        with log.open("a") as out:
            out.write(f"output of {name}\n")
        if name == "load":
            with log.open("a") as out:  # the loader's closing line
                out.write(
                    "total: 3 files loaded, 9 skipped, 0 failed; 1205037 lines, 1200000 loaded,"
                    " 37 rejected, 5000 ignored\n"
                )
        elif name == "freshness":
            results = [{"status": "pass"}] * 3 + [{"status": "warn"}]
            (self.target_dir / "sources.json").write_text(json.dumps({"results": results}))
        else:
            statuses = ["success"] * 20 + ["pass"] * 28 + ["warn"] * 2
            if self.fail == "build":
                statuses += ["fail", "skipped"]
            results = [{"status": s} for s in statuses]
            (self.target_dir / "run_results.json").write_text(json.dumps({"results": results}))
        return 1 if name == self.fail else 0


@pytest.fixture
def setup(tmp_path: Path):
    logs = tmp_path / "logs"
    (logs / "2026" / "11").mkdir(parents=True)
    for i in range(12):
        (logs / "2026" / "11" / f"{i}.log.gz").write_bytes(b"")
    target = tmp_path / "target"
    target.mkdir()
    (target / "run_results.json").write_text('{"results": [{"status": "error"}]}')  # stale
    return logs, target, tmp_path / "daily.log"


def clock_from(values):
    it = iter(values)
    return lambda: next(it)


def run_main(setup, stub: Stub, seconds: list[float], capsys) -> tuple[int, list[str]]:
    logs, target, log = setup
    code = daily_run.main(
        [str(logs), "--target", "postgres", "--log-file", str(log)],
        runner=stub,
        clock=clock_from(seconds),
        now=lambda: dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC),
        target_dir=target,
    )
    return code, capsys.readouterr().out.splitlines()


def test_all_steps_ok(setup, capsys):
    stub = Stub(setup[1])
    code, out = run_main(setup, stub, [0, 1, 30, 30, 40, 40, 191, 192], capsys)
    assert code == 0
    assert [stub.step_name(c) for c in stub.calls] == ["load", "freshness", "build"]
    assert stub.calls[0][-3:] == ["--target", "postgres", str(setup[0])]
    assert stub.calls[1][-4:] == ["source", "freshness", "--target", "postgres"]
    assert stub.calls[2][1].endswith("scripts/build.py")  # dbt build under the build lock
    assert stub.calls[2][-4:] == [
        "--target",
        "postgres",
        "--exclude-resource-type",
        "unit_test",
    ]
    assert out == [
        "fxa-metrics daily 2026-11-27 [postgres]: OK | files 12 (3 new) "
        "| loaded 1.2M rejected 37 ignored 5k | freshness 3 pass, 1 warn "
        "| build 48 ok, 2 warn | 3m12s"
    ]
    assert "output of build" in setup[2].read_text()


def test_a_failing_load_stops_the_run(setup, capsys):
    stub = Stub(setup[1], fail="load")
    code, out = run_main(setup, stub, [0, 0, 5, 7], capsys)
    assert code == 1
    assert len(stub.calls) == 1
    assert out[0].startswith("fxa-metrics daily 2026-11-27 [postgres]: FAILED at load (exit 1) |")
    assert "freshness" not in out[0] and "build" not in out[0]
    assert out[0].endswith("| 7s")
    assert out[1].startswith("--- last lines of load")
    assert out[-2] == "output of load"
    assert out[-1].startswith("total: 3 files loaded")


def test_a_failing_build_says_so_and_counts_errors(setup, capsys):
    stub = Stub(setup[1], fail="build")
    code, out = run_main(setup, stub, [0, 1, 2, 2, 3, 3, 4, 4000], capsys)
    assert code == 1
    assert "FAILED at build (exit 1)" in out[0]
    assert "| build 48 ok, 2 warn, 1 error, 1 skipped | 1h06m" in out[0]


def test_failing_freshness_stops_before_build(setup, capsys):
    stub = Stub(setup[1], fail="freshness")
    code, out = run_main(setup, stub, [0, 1, 2, 2, 3, 3], capsys)
    assert code == 1
    assert [stub.step_name(c) for c in stub.calls] == ["load", "freshness"]
    assert "FAILED at freshness" in out[0] and "build" not in out[0]


def test_no_total_line_is_reported_not_fatal(setup, capsys):
    logs, target, log = setup

    def quiet_loader(argv, log_file):
        return 0  # writes nothing, not even its total line

    argv = [str(logs), "--log-file", str(log)]
    code = daily_run.main(argv, runner=quiet_loader, target_dir=target)
    out = capsys.readouterr().out
    assert code == 0
    assert "| files 12 (new ?) | loaded ? |" in out


def test_parse_load_totals_takes_the_last_total_line():
    output = (
        "a.log: 3 lines, 2 loaded, 1 rejected, 0 ignored (100 lines/s)\n"
        "total: 1 files loaded, 0 skipped, 0 failed; 3 lines, 2 loaded, 1 rejected, 0 ignored\n"
        "total: 2 files loaded, 5 skipped, 1 failed; 9 lines, 7 loaded, 1 rejected, 1 ignored\n"
    )
    assert daily_run.parse_load_totals(output) == daily_run.LoadTotals(2, 5, 1, 9, 7, 1, 1)
    assert daily_run.parse_load_totals("no totals here") is None


def test_failed_files_are_shown():
    report = daily_run.RunReport(
        target="duckdb",
        day=dt.date(2026, 11, 27),
        files_found=4,
        load=daily_run.LoadTotals(2, 1, 1, 10, 8, 1, 1),
        steps=[daily_run.StepResult("load", 1, 2.0)],
        seconds=2.0,
    )
    assert daily_run.summary_line(report) == (
        "fxa-metrics daily 2026-11-27 [duckdb]: FAILED at load (exit 1) "
        "| files 4 (2 new, 1 failed) | loaded 8 rejected 1 ignored 1 | 2s"
    )


def test_hidden_files_are_not_counted(tmp_path):
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "x.log").write_text("")
    (tmp_path / ".hidden.log").write_text("")
    (tmp_path / "a.log").write_text("")
    assert daily_run.count_files(tmp_path) == 1


def test_missing_folder_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        daily_run.main([str(tmp_path / "nope")])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "0"), (999, "999"), (1000, "1k"), (5017, "5k"), (1_250_000, "1.2M"), (37, "37")],
)
def test_human(number, text):
    assert daily_run.human(number) == text


def test_counts_keep_unknown_statuses():
    assert daily_run._counts(Counter(ok=2, odd=1), ("ok", "warn")) == "2 ok, 1 odd"
