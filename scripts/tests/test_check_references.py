"""scripts/check_references.py: a reference to a document outside the repository fails the
check (`make lint`), clean text passes.

Every reference below is assembled from pieces, so this file itself stays clean for the check
(proved by `test_this_test_and_the_check_itself_are_not_reported`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import check_references
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "scripts" / "check_references.py"

REFERENCES = [
    "see " + "CON" + "TRACT.md section 3",
    "the rules of " + "contract" + ".md",
    "a fix for " + "issue" + " 7",
    "(" + "Issues" + " 2-8)",
    "(" + "issue" + " #12)",
    "as " + "the" + " lead decided",
    "the decisions of " + "the project" + " lead",
    "per " + "the" + " brief",
    "done in " + "this" + " round",
    "read " + "../" + "shared/spec/metrics-events.md",
    "measured since " + "6a87" + "fc2",
    "reverted in commit " + "2346436d272965519985e0bef7ddaa97" + "fc2c2c2c",
]

CLEAN = [
    "Redshift runs generate_series on the " + "leader node only",
    "    config: {contract: {enforced: true}}",
    "see docs/data-contract.md#privacy for the rules",
    "an issue with the loader, two issues in all",
    'FLOW_A = "f3f49249dc28ff90a5aec7978306d03bf38b2ffc80a4df5a51c9bc701e7ea419"',
    "the uid of 1919e93ad11745ad498893101c593af5 is hashed",
    "a brief note; round(p50_seconds, 1); the " + "lead-in",
    "ids 0123456789abcdef and 5882386c6d801776",
]


@pytest.mark.parametrize("reference", REFERENCES)
def test_each_kind_of_reference_is_found(reference: str) -> None:
    text = "a first clean line\n" + reference + "\nlast line\n"
    assert check_references.find_references(text) == [(2, reference)]


def test_clean_text_passes() -> None:
    assert check_references.find_references("\n".join(CLEAN)) == []


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_an_added_reference_fails_the_check_in_a_git_repo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "README.md").write_text("# project\n" + "\n".join(CLEAN) + "\n")
    (repo / "docs" / "page.md").write_text("The rules.\n")
    # Data and binary files may hold anything; an untracked file is not the repository's.
    (repo / "results.json").write_text('{"note": "' + REFERENCES[0] + '"}\n')
    (repo / "image.png").write_bytes(b"\x89PNG\0" + REFERENCES[0].encode())
    (repo / "scratch.md").write_text(REFERENCES[0] + "\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "README.md", "docs/page.md", "results.json", "image.png")

    assert check_references.main(["--root", str(repo)]) == 0
    assert capsys.readouterr().out == ""

    added = "Why: " + REFERENCES[2] + "."
    (repo / "docs" / "page.md").write_text("The rules.\n" + added + "\n")
    assert check_references.main(["--root", str(repo)]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"docs/page.md:2:{added}\n"
    assert "1 reference(s)" in captured.err

    # The same as a command, as `make lint` runs it: exit status 1.
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == f"docs/page.md:2:{added}\n"


def test_this_test_and_the_check_itself_are_not_reported() -> None:
    files = [Path("scripts/check_references.py"), Path("scripts/tests/test_check_references.py")]
    assert check_references.scan(PROJECT_ROOT, files) == []
