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


# ---- files the loader refused, failed or replaced ---------------------------------------------


def loader_output(logs: Path, failed: int = 0, loaded: int = 1) -> dict[str, str]:
    """What the loader writes about some files of `logs` (by their ledger names)."""
    name = {n: str((logs / "2026" / "11" / f"{n}.log.gz").resolve()) for n in range(4)}
    return {
        "loaded": f"{name[0]}: 10 lines, 9 loaded, 1 rejected, 0 ignored (100 lines/s)\n",
        "changed": (
            f"warning: {name[1]} changed since it was loaded (SHA-256 {'a' * 64} is now "
            f"{'b' * 64}): replacing its rows\n"
            f"{name[1]}: 5 lines, 5 loaded, 0 rejected, 0 ignored (100 lines/s)\n"
        ),
        "refused": f"error: {name[2]}: not a log: none of its 3 lines is a log line\n",
        "failed": f"error: {name[3]}: FileReadError: gzip cut short after line 7\n",
        "total": (
            f"total: {loaded} files loaded, 0 skipped, {failed} failed; 15 lines, 14 loaded,"
            " 1 rejected, 0 ignored\n"
        ),
    }


class LoaderStub(Stub):
    """The steps stubbed, the load step writing `output` and exiting `status`."""

    def __init__(self, target_dir: Path, output: str, status: int) -> None:
        super().__init__(target_dir)
        self.output, self.status = output, status

    def __call__(self, argv, log: Path) -> int:
        if self.step_name(argv) != "load":
            return super().__call__(argv, log)
        self.calls.append(list(argv))
        with log.open("a") as out:
            out.write(self.output)
        return self.status


def test_refused_and_failed_files_are_named_and_the_build_still_runs(setup, capsys):
    logs = setup[0]
    lines = loader_output(logs, failed=2, loaded=1)
    output = lines["loaded"] + lines["refused"] + lines["failed"] + lines["total"]
    stub = LoaderStub(setup[1], output, status=1)
    code, out = run_main(setup, stub, [0, 1, 30, 30, 40, 40, 191, 192], capsys)
    assert code == 1
    assert [stub.step_name(c) for c in stub.calls] == ["load", "freshness", "build"]
    assert out[0] == (
        "fxa-metrics daily 2026-11-27 [postgres]: FAILED: files not loaded (load exit 1) "
        "| files 12 (1 new, 1 refused (2026/11/2.log.gz), 1 failed (2026/11/3.log.gz)) "
        "| loaded 14 rejected 1 ignored 0 | freshness 3 pass, 1 warn | build 48 ok, 2 warn | 3m12s"
    )
    assert out[1] == f"--- files not loaded (full output: {setup[2]}) ---"
    assert out[2:] == [lines["refused"].strip(), lines["failed"].strip()]


def test_a_load_that_failed_without_counting_failed_files_still_stops_the_run(setup, capsys):
    """Exit 1 with no file failed (or no total line): the loader could not run; stop."""
    lines = loader_output(setup[0])
    stub = LoaderStub(setup[1], lines["loaded"] + lines["total"], status=1)
    code, out = run_main(setup, stub, [0, 1, 30, 30], capsys)
    assert code == 1 and len(stub.calls) == 1
    assert "FAILED at load (exit 1)" in out[0]


def test_a_replaced_file_is_named_as_replaced(setup, capsys):
    lines = loader_output(setup[0], loaded=2)
    output = lines["loaded"] + lines["changed"] + lines["total"]
    stub = LoaderStub(setup[1], output, status=0)
    code, out = run_main(setup, stub, [0, 1, 30, 30, 40, 40, 191, 192], capsys)
    assert code == 0
    assert "OK | files 12 (1 new, 1 replaced (2026/11/1.log.gz)) | loaded 14 " in out[0]


def test_a_changed_file_that_then_failed_is_not_replaced(tmp_path):
    logs = tmp_path / "logs"
    (logs / "2026" / "11").mkdir(parents=True)
    for n in range(4):
        (logs / "2026" / "11" / f"{n}.log.gz").write_bytes(b"")
    lines = loader_output(logs)
    changed_then_failed = lines["changed"].splitlines()[0] + "\n" + lines["failed"]
    names = daily_run.file_display_names(logs)
    found = daily_run.parse_file_outcomes(changed_then_failed, names)
    assert found.replaced == [] and found.failed == ["2026/11/3.log.gz"]
    # a name holding ": " still matches; an error about no file is ignored
    (logs / "a: b.log").write_text("")
    names = daily_run.file_display_names(logs)
    odd = f"error: {(logs / 'a: b.log').resolve()}: invalid: x\nerror: cannot connect: y\n"
    assert daily_run.parse_file_outcomes(odd, names).failed == ["a: b.log"]


# ---- one log file per run ----------------------------------------------------------------------


def test_two_runs_started_in_the_same_second_write_two_log_files(setup, monkeypatch, capsys):
    logs, target, _ = setup
    folder = setup[2].parent / "daily-logs"
    monkeypatch.setattr(daily_run, "DEFAULT_LOG_DIR", folder)
    same_moment = dt.datetime(2026, 11, 27, 6, 0, 0, 123456, tzinfo=dt.UTC)
    for _ in range(2):
        code = daily_run.main(
            [str(logs)], runner=Stub(target), now=lambda: same_moment, target_dir=target
        )
        assert code == 0
    written = sorted(folder.iterdir())
    assert len(written) == 2, written
    for path in written:
        assert path.read_text().count("output of load") == 1
        assert path.name.startswith("20261127T060000.123456Z-")
    capsys.readouterr()
