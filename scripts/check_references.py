"""Fail on references to documents a reader of the repository does not have.

    python scripts/check_references.py [--root DIR] [PATH...]

The repository must explain itself: a comment, docstring or page that cites the pinned
contract file kept outside it, an issue number, a person's or a brief's decision, a remark
dating the text to a work session, or a commit hash points at something only its author could
read. Cite a page of `docs/` (e.g. `docs/data-contract.md#privacy`) or give the reason itself
instead.

Scans every git-tracked text file under `--root` (default: the current directory), or only
the given paths, and prints `file:line:text` for each line that matches one of `PATTERNS`.
Exit status 1 when there is at least one, else 0. Skipped: this file (it holds the patterns),
binary files and JSON data files (benchmark results are data, not prose). `make lint` runs it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# What a reference to a document outside the repository looks like. Word boundaries keep
# ordinary words out (a node's leader, dbt's lowercase `contract:` config key, this project's
# own docs/data-contract.md). Each pattern is written so that it does not match itself.
PATTERNS: dict[str, re.Pattern[str]] = {
    "the pinned contract file": re.compile(r"CONT[R]ACT|(?i:(?<![\w-])contract\.md)"),
    "an issue number": re.compile(r"(?i)\bissues?[ ]#?[0-9]"),
    "a person's decision": re.compile(r"(?i)\bthe[ ](?:project )?lead(?![\w-])"),
    "a brief": re.compile(r"(?i)\bthe[ ]brief\b"),
    "a work session": re.compile(r"(?i)\bthis[ ]round\b"),
    "a folder outside the repository": re.compile(r"\.\./shared\b"),
    # "since 6a87fc2": a commit hash, abbreviated (7-12 hex digits) or full (40), with letters
    # and digits, after a word that introduces one. uids (32) and flow ids (64) have other
    # lengths, and hex test data is not introduced by these words.
    "a commit hash": re.compile(
        r"(?i)\b(?:commits?|since|after|before|in|see|cf\.?|at|from|by|of|reverts?) `?"
        r"(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])(?:[0-9a-f]{7,12}|[0-9a-f]{40})\b"
    ),
}

SKIPPED_SUFFIXES = frozenset({".json"})
THIS_FILE = Path(__file__).resolve()


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.text}"


def find_references(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line of `text` that matches a pattern; 1-based."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if any(pattern.search(line) for pattern in PATTERNS.values()):
            found.append((number, line.strip()))
    return found


def tracked_files(root: Path) -> list[Path]:
    """The files git tracks under `root`, relative to it."""
    listing = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z"],
        capture_output=True,
        check=True,
    ).stdout
    return [Path(name) for name in listing.decode("utf-8").split("\0") if name]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a file to skip (binary, JSON data, this check itself)."""
    if path.suffix.lower() in SKIPPED_SUFFIXES or path.resolve() == THIS_FILE:
        return None
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None  # tracked but deleted in the working tree, or a submodule
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def scan(root: Path, paths: Iterable[Path]) -> list[Hit]:
    hits: list[Hit] = []
    for relative in paths:
        text = read_text(root / relative)
        if text is None:
            continue
        for number, line in find_references(text):
            hits.append(Hit(relative.as_posix(), number, line))
    return hits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fail on references to documents outside the repository."
    )
    parser.add_argument(
        "--root", type=Path, default=Path.cwd(), help="repository root (default: current dir)"
    )
    parser.add_argument(
        "paths", nargs="*", type=Path, help="files relative to --root (default: all tracked)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root
    hits = scan(root, args.paths or tracked_files(root))
    for hit in hits:
        print(hit)
    if hits:
        print(
            f"{len(hits)} reference(s) to documents outside the repository: cite a page of "
            "docs/ or give the reason instead",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
