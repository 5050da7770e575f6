"""`make daily` as cron runs it, on a scratch DuckDB: the summary line, escape codes, dbt's
target path and the options that pass through to dbt. Plus the pieces of scripts/daily_run.py
those rely on, with the steps stubbed.

The end-to-end tests run the real Makefile target in a subprocess, with hand-made logs, and a
scratch warehouse, target path, dbt log folder and daily log under the test's temporary folder:
nothing of the project (its target/ and logs/ folders) is read or written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import daily_run
import duckdb
import pytest
from dbt_harness import PROJECT_ROOT, Warehouse, base_environment

FLOW_ID = "f3f49249dc28ff90a5aec7978306d03bf38b2ffc80a4df5a51c9bc701e7ea419"
UID = "1919e93ad11745ad498893101c593af5"
ESC = "\x1b"
WARN_TEST = "raw_load_ledger_rejected_share_per_file_at_most_limit"
ERROR_TEST = "stg_fxa__load_ledger_lines_are_loaded_rejected_or_ignored"

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def log_line(kind: str, **fields: object) -> str:
    return json.dumps({"Type": kind, "Fields": fields})


def write_logs(folder: Path) -> Path:
    """One server log of today: 3 flow events, 1 activity event, 1 rejected line, 1 ignored."""
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    lines = [
        log_line("flowEvent", event="flow.begin", flow_id=FLOW_ID, flow_time=0, time=now),
        log_line("flowEvent", event="flow.signin.view", flow_id=FLOW_ID, flow_time=5, time=now),
        log_line("flowEvent", event="flow.complete", flow_id=FLOW_ID, flow_time=9000, time=now),
        log_line("activityEvent", event="account.login", uid=UID, time=now),
        '{"Type": "flowEvent", "Fields": {"event": "flow.begin"',  # invalid JSON: rejected
        "",  # blank: ignored
    ]
    folder.mkdir(parents=True)
    (folder / "fxa-auth.log").write_text("\n".join(lines) + "\n")
    return folder


def make_daily(work: Path, logs: Path, **make_vars: str) -> subprocess.CompletedProcess[str]:
    """`make daily LOGS=... NAME=value ...` in the project, as cron runs it, on the scratch
    warehouse `work/warehouse.duckdb`; dbt's artifacts go to DBT_TARGET_PATH=`work/target`.

    The environment asks for colours (DBT_USE_COLORS=true, FORCE_COLOR=1) the way a careless
    crontab might: the daily run must turn them off anyway.
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))},
        **base_environment(),
        "FXA_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "dbt-logs"),
        "DBT_USE_COLORS": "true",
        "DBT_USE_COLORS_FILE": "true",
        "FORCE_COLOR": "1",
    }
    env.pop("FXA_TARGET", None)
    arguments = [f"{name}={value}" for name, value in {"LOGS": str(logs), **make_vars}.items()]
    return subprocess.run(
        ["make", "--no-print-directory", "daily", *arguments],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def project_target_state() -> dict[str, tuple[int, int] | None]:
    """(mtime, size) of the project's own dbt artifacts, None for those that do not exist."""
    state: dict[str, tuple[int, int] | None] = {}
    for name in ("run_results.json", "sources.json", "manifest.json"):
        path = PROJECT_ROOT / "target" / name
        state[name] = (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None
    return state


# ---- end to end: `make daily` ----------------------------------------------------------------


@needs_make
@pytest.mark.integration
def test_make_daily_summary_target_path_options_and_no_escape_codes(tmp_path):
    """One cron run with every option, a warn-level guard tripped through VARS and an
    error-level test failed by a corrupt ledger row:

    - the summary line names the warned and the failed test, and counts what the build ran;
    - no output or log file holds an escape character, though the environment asks for colour;
    - DBT_TARGET_PATH is where dbt writes and where the summary reads, and the project's
      target/ is left alone;
    - FULL_REFRESH, VARS and SELECT reach dbt build verbatim, quotes and spaces included.
    """
    logs = write_logs(tmp_path / "logs")
    database = tmp_path / "warehouse.duckdb"
    Warehouse("duckdb", {"FXA_DUCKDB_PATH": str(database)}, tmp_path).create_raw_tables()
    with duckdb.connect(str(database)) as con:
        # A ledger row that lost 5 of its 10 lines: lines != loaded + rejected + ignored.
        con.execute(
            "insert into raw.load_ledger values ('/corrupt/lost-lines.log', ?, 10, 5, 0, 0, "
            "current_timestamp - interval 1 day)",
            ["0" * 64],
        )
    daily_log = tmp_path / "daily.log"
    before = project_target_state()

    result = make_daily(
        tmp_path,
        logs,
        FULL_REFRESH="1",
        # the loaded file has 1 rejected line of 6: above a limit of 0, the guard warns
        VARS="{raw_rejected_share_limit: 0, retention_reference_date: '2026-01-02'}",
        SELECT="stg_fxa__rejected_lines +load_quality_daily",
        LOG_FILE=str(daily_log),
    )

    output = result.stdout.splitlines()
    assert result.returncode != 0, result.stdout + result.stderr
    summary = output[0]
    assert summary.startswith("fxa-metrics daily "), summary
    assert "[duckdb]: FAILED at build (exit 1)" in summary
    assert "| files 1 (1 new) | loaded 4 rejected 1 ignored 1 |" in summary
    assert "| freshness 3 pass |" in summary  # flow_events, activity_events, load_ledger
    assert f", 1 warn ({WARN_TEST}), 1 error ({ERROR_TEST})," in summary
    assert " skipped |" in summary  # load_quality_daily and its tests, after the failed test
    assert output[1].startswith(f"--- last lines of build (full output: {daily_log}) ---")

    # the summary's counts are those of the run_results.json in DBT_TARGET_PATH
    run_results = json.loads((tmp_path / "target" / "run_results.json").read_text())
    statuses = [
        entry["status"]
        for entry in run_results["results"]
        if not entry["unique_id"].startswith("operation.")  # the on-run-start hook
    ]
    assert len(statuses) >= 12  # 3 models, their data tests and the source's
    assert f"| build {statuses.count('success') + statuses.count('pass')} ok, " in summary
    assert f", {statuses.count('skipped')} skipped |" in summary
    assert (tmp_path / "target" / "sources.json").exists()
    assert project_target_state() == before

    log_text = daily_log.read_text()
    assert "Done. PASS=" in log_text and ERROR_TEST in log_text
    build_command = next(
        line for line in log_text.splitlines() if "build.py --target duckdb" in line
    )
    assert f"DBT_TARGET_PATH={tmp_path / 'target'}" in build_command
    assert build_command.endswith(
        "--full-refresh --vars '{raw_rejected_share_limit: 0, retention_reference_date: "
        "'\"'\"'2026-01-02'\"'\"'}' --select 'stg_fxa__rejected_lines +load_quality_daily'"
    ), build_command

    written = [daily_log, *files_under(tmp_path / "dbt-logs")]
    assert len(written) > 1  # dbt's own dbt.log is checked too
    for text, where in [
        (result.stdout, "stdout"),
        (result.stderr, "stderr"),
        *((path.read_text(errors="replace"), str(path)) for path in written),
    ]:
        assert ESC not in text, f"an escape character in {where}"


# ---- the pieces, steps stubbed ---------------------------------------------------------------


def write_run_results(target: Path, results: list[dict[str, str]]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").write_text(json.dumps({"results": results}))


def test_the_summary_names_warned_and_failed_results_from_run_results(tmp_path, capsys):
    """Names by status, sorted; sources as `source.table`; exposures (no-op) and the
    on-run-start hook not counted."""
    logs = write_logs(tmp_path / "logs")
    target = tmp_path / "target"
    target.mkdir()
    calls: list[list[str]] = []

    def runner(argv, log):
        calls.append(list(argv))
        if any(arg.endswith("build.py") for arg in argv):
            write_run_results(
                target,
                [
                    {"unique_id": "model.fxa_metrics.flow_events", "status": "success"},
                    {"unique_id": "test.fxa_metrics.unique_x_day.1a2b", "status": "pass"},
                    {"unique_id": f"test.fxa_metrics.{WARN_TEST}.9f8e", "status": "warn"},
                    {"unique_id": "test.fxa_metrics.b_test.77aa", "status": "fail"},
                    {"unique_id": "model.fxa_metrics.a_model", "status": "error"},
                    {"unique_id": "model.fxa_metrics.downstream", "status": "skipped"},
                    {"unique_id": "exposure.fxa_metrics.some_dashboard", "status": "no-op"},
                    {
                        "unique_id": "operation.fxa_metrics.fxa_metrics-on-run-start-0",
                        "status": "success",
                    },
                ],
            )
            return 1
        if "freshness" in argv:
            results = [
                {"unique_id": "source.fxa_metrics.fxa.flow_events", "status": "pass"},
                {"unique_id": "source.fxa_metrics.fxa.activity_events", "status": "warn"},
            ]
            (target / "sources.json").write_text(json.dumps({"results": results}))
        return 0

    code = daily_run.main(
        [str(logs), "--log-file", str(tmp_path / "daily.log")], runner=runner, target_dir=target
    )
    summary = capsys.readouterr().out.splitlines()[0]
    assert code == 1
    assert (
        "| freshness 1 pass, 1 warn (fxa.activity_events) "
        f"| build 2 ok, 1 warn ({WARN_TEST}), 2 error (a_model, b_test), 1 skipped |"
    ) in summary


def test_many_names_are_cut_short():
    counter = daily_run.Counter(error=13)
    names = {"error": [f"t{i:02d}" for i in range(13)]}
    assert daily_run._counts(counter, ("ok", "error"), names) == (
        "13 error (t00, t01, t02, t03, t04, t05, t06, t07, t08, t09, +3 more)"
    )


def test_a_step_that_left_no_results_file_shows_a_question_mark(tmp_path, capsys):
    """dbt writing its artifacts elsewhere must not read as a build of nothing."""
    logs = write_logs(tmp_path / "logs")
    argv = [str(logs), "--log-file", str(tmp_path / "daily.log")]
    code = daily_run.main(argv, runner=lambda argv, log: 0, target_dir=tmp_path / "target")
    summary = capsys.readouterr().out
    assert code == 0
    assert "| freshness ? | build ? |" in summary


def test_options_reach_the_dbt_commands(tmp_path):
    options = daily_run.DbtOptions(full_refresh=True, vars="{a: 1}", select="+x y")
    steps = dict(daily_run.steps("postgres", tmp_path, options))
    assert steps["freshness"][-6:] == [
        "source",
        "freshness",
        "--target",
        "postgres",
        "--vars",
        "{a: 1}",
    ]
    assert steps["build"][1].endswith("scripts/build.py")
    assert steps["build"][2:] == [
        "--target",
        "postgres",
        "--exclude-resource-type",
        "unit_test",
        "--full-refresh",
        "--vars",
        "{a: 1}",
        "--select",
        "+x y",
    ]
    assert "--full-refresh" not in steps["freshness"] and "--select" not in steps["freshness"]


def test_vars_must_be_a_yaml_mapping(tmp_path, capsys):
    for bad in ("[1, 2]", "{unclosed: "):
        with pytest.raises(SystemExit) as exit_info:
            daily_run.main([str(tmp_path), "--vars", bad])
        assert exit_info.value.code == 2
        assert "--vars" in capsys.readouterr().err


def test_target_path_comes_from_the_option_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert daily_run.target_path(Path("mine"), {"DBT_TARGET_PATH": "/x"}) == tmp_path / "mine"
    assert daily_run.target_path(None, {"DBT_TARGET_PATH": "/x/t"}) == Path("/x/t")
    assert daily_run.target_path(None, {"DBT_TARGET_PATH": "rel"}) == PROJECT_ROOT / "rel"
    assert daily_run.target_path(None, {}) == PROJECT_ROOT / "target"


def test_the_target_path_reaches_dbt_and_colours_are_off(tmp_path):
    env = daily_run.step_environment(tmp_path / "t")
    assert env["DBT_TARGET_PATH"] == str(tmp_path / "t")
    assert env["DBT_USE_COLORS"] == env["DBT_USE_COLORS_FILE"] == "false"


def test_escape_sequences_are_removed_from_a_step_output(tmp_path):
    log = tmp_path / "step.log"
    script = (
        r"print('\x1b[0m06:00:01  \x1b[32mOK\x1b[0m created \x1b]8;;http://x\x07link\x1b]8;;\x07');"
        r"print('\x1b(Bcharset, \x1b7saved; stray \x1b')"
    )
    status = daily_run.run_subprocess([daily_run.sys.executable, "-c", script], log)
    text = log.read_text()
    assert status == 0
    assert ESC not in text
    assert "06:00:01  OK created link" in text
    assert "charset, saved; stray \n" in text


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("\x1b[0m\x1b[1;31mERROR\x1b[0m x", "ERROR x"),
        ("\x1b[2K\x1b[1Gprogress", "progress"),
        ("\x1b]0;title\x1b\\after", "after"),
        ("no escapes", "no escapes"),
        ("\x1b(Bcharset \x1b7saved", "charset saved"),
        ("lone \x1b", "lone "),
    ],
)
def test_plain(text, plain):
    assert daily_run.plain(text) == plain


def test_every_step_gets_the_run_start_for_the_rejected_share_guard(tmp_path, monkeypatch):
    """FXA_DAILY_RUN_STARTED_AT: the run's start in UTC, without a zone (as `loaded_at` is
    stored), before anything is loaded; the guard checks the files loaded from then on."""
    seen: list[dict[str, str]] = []

    def fake_subprocess(argv, log, env=None):
        seen.append(dict(env or {}))
        return 0

    monkeypatch.setattr(daily_run, "run_subprocess", fake_subprocess)
    started = dt.datetime(2026, 11, 27, 7, 30, 0, 250, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    daily_run.run("duckdb", write_logs(tmp_path / "logs"), tmp_path / "d.log", now=lambda: started)
    assert len(seen) == 3
    assert {env["FXA_DAILY_RUN_STARTED_AT"] for env in seen} == {"2026-11-27 06:30:00.000250"}


@needs_make
@pytest.mark.integration
def test_make_daily_builds_despite_a_refused_file_and_warns_only_for_its_own_files(tmp_path):
    """Two cron runs on a folder holding a file that is not a log:

    - each run names it as refused, still builds, and exits non-zero;
    - the rejected-share guard warns in the run that loaded the file with a rejected line, and
      not in the next run, which loaded only a clean file.
    """
    logs = write_logs(tmp_path / "logs")  # 1 rejected line of 6: above a limit of 0
    (logs / "README.txt").write_text("These are the auth server's logs.\n")
    guard = {"VARS": "{raw_rejected_share_limit: 0}", "SELECT": WARN_TEST}

    first = make_daily(tmp_path, logs, LOG_FILE=str(tmp_path / "first.log"), **guard)
    output = first.stdout.splitlines()
    assert first.returncode != 0, first.stdout + first.stderr
    assert (
        ": FAILED: files not loaded (load exit 1) | files 2 (1 new, 1 refused (README.txt))"
        in (output[0])
    ), output
    assert f"| build 1 warn ({WARN_TEST}) |" in output[0]
    assert output[1] == f"--- files not loaded (full output: {tmp_path / 'first.log'}) ---"
    assert output[2].startswith(f"error: {(logs / 'README.txt').resolve()}: not a log: ")

    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    clean = log_line("flowEvent", event="flow.begin", flow_id=FLOW_ID, flow_time=0, time=now)
    (logs / "fxa-auth-2.log").write_text(clean + "\n")
    second = make_daily(tmp_path, logs, LOG_FILE=str(tmp_path / "second.log"), **guard)
    output = second.stdout.splitlines()
    assert second.returncode != 0, second.stdout + second.stderr
    assert (
        "| files 3 (1 new, 1 refused (README.txt)) | loaded 1 rejected 0 ignored 0 |" in (output[0])
    ), output
    assert "| build 1 ok |" in output[0]  # fxa-auth.log's rejected line is yesterday's news


def test_the_summary_reads_the_real_loaders_lines_about_files(tmp_path, capsys):
    """The load step is the real loader (a subprocess, scratch DuckDB), the dbt steps stubbed:
    a changed file is named as replaced, a file that is not a log as refused, and the dbt
    steps run after it."""
    logs = write_logs(tmp_path / "logs")
    target = tmp_path / "target"
    target.mkdir()
    env = {**base_environment(), "FXA_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")}
    ran: list[str] = []

    def runner(argv, log):
        if "load_events.py" in " ".join(argv):
            ran.append("load")
            return daily_run.run_subprocess(argv, log, env)
        ran.append("freshness" if "freshness" in argv else "build")
        return 0

    def daily() -> tuple[int, str]:
        argv = [str(logs), "--log-file", str(tmp_path / "daily.log")]
        code = daily_run.main(argv, runner=runner, target_dir=target)
        return code, capsys.readouterr().out

    assert daily()[0] == 0
    with (logs / "fxa-auth.log").open("a") as log:  # the same file, grown: replaced
        log.write(log_line("flowEvent", event="flow.begin", flow_id=FLOW_ID, flow_time=0) + "\n")
    (logs / "notes.txt").write_text("not a log line\n")
    ran.clear()
    code, out = daily()
    assert code == 1, out
    assert ran == ["load", "freshness", "build"]
    assert "| files 2 (0 new, 1 replaced (fxa-auth.log), 1 refused (notes.txt)) |" in out, out
