"""`make pytest` / `make test` end with how many tests were skipped and why
(scripts/pytest_skips.py on pytest's `-rs` output), so that a run without Postgres does not
read as a full pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_skips
from dbt_harness import PROJECT_ROOT

POSTGRES = (
    "needs Postgres: set PGHOST, PGPORT, PGUSER, PGDATABASE (and PGPASSWORD if needed), "
    "e.g. PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGDATABASE=fxa_test"
)

# What `pytest -n 2 -rs` printed for a run without Postgres (shortened).
XDIST_OUTPUT = f"""\
created: 2/2 workers
2 workers [536 items]

..s.s.s.....s................................................ [ 11%]
\x1b[33ms\x1b[0m............................................................ [100%]
=========================== short test summary info ============================
SKIPPED [30] scripts/tests/dbt_harness.py:173: {POSTGRES}
SKIPPED [3] scripts/tests/conftest.py:154: {POSTGRES}
SKIPPED [1] scripts/tests/test_report.py:343: needs Debian's chromium for the browser test: \
apt-get install chromium
=========== 502 passed, 34 skipped, 3 warnings in 512.41s (0:08:32) ============
"""


def test_the_skips_of_a_run_are_counted_by_reason():
    assert pytest_skips.summary(XDIST_OUTPUT) == (
        f"34 skipped: 33 {POSTGRES}; 1 needs Debian's chromium for the browser test: "
        "apt-get install chromium"
    )


def test_a_run_without_skips_says_so():
    assert pytest_skips.summary("....\n==== 4 passed in 0.5s ====\n") == "nothing skipped"
    failed = "F.\n==== 1 failed, 1 passed in 0.5s ====\n"
    assert pytest_skips.summary(failed) == "nothing skipped"


def test_skips_without_their_reasons_are_still_counted():
    output = "ss.\n======= 1 passed, 2 skipped in 0.1s =======\n"
    assert pytest_skips.summary(output) == (
        "2 skipped: 2 for reasons not shown (run pytest with -rs)"
    )


def test_an_unreadable_output_file_is_an_error(tmp_path, capsys):
    assert pytest_skips.main([str(tmp_path / "missing.log")]) == 1
    assert "cannot read" in capsys.readouterr().err


# ---- the Makefile recipe, on a tiny selection --------------------------------------------------

TINY_TESTS = """
import pytest

def test_passes():
    pass

@pytest.mark.parametrize("n", [1, 2])
def test_needs_a_server(n):
    pytest.skip("needs Postgres: set PGHOST")

def test_needs_a_browser():
    pytest.skip("needs chromium")
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_pytest_ends_with_what_it_skipped(tmp_path):
    tests = tmp_path / "test_tiny.py"
    tests.write_text(TINY_TESTS)
    log = tmp_path / "pytest.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    pytest_command = f"{sys.executable} -m pytest -n 0 -p no:cacheprovider --rootdir={tmp_path}"

    def make_pytest(selection: Path) -> subprocess.CompletedProcess[str]:
        variables = [f"PYTEST={pytest_command} {selection}", f"PYTEST_LOG={log}"]
        return subprocess.run(
            # -o: never (re)build the virtualenv from a test
            ["make", "--no-print-directory", "-o", ".venv/.installed", "pytest", *variables],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    result = make_pytest(tests)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == (
        "make pytest: passed (3 skipped: 2 needs Postgres: set PGHOST; 1 needs chromium)"
    ), lines[-5:]
    assert "1 passed, 3 skipped" in log.read_text()

    failing = tmp_path / "test_failing.py"
    failing.write_text("def test_fails():\n    assert False\n")
    result = make_pytest(failing)
    assert result.returncode != 0
    assert "make pytest: passed" not in result.stdout
