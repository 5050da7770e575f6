"""Which files a run reads, and the name each is recorded under (docs/loader.md).

`iter_files` expands the paths of a load (folders recursed, sorted, hidden files skipped);
`iter_unload_names` those of `--unload` (a path that no longer exists names the file it was
loaded as); `ledger_name` is the name of a file in the ledger and in `source_file`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path


def ledger_name(path: Path) -> str:
    """The name under which a file is recorded in the ledger and in `source_file`: its
    absolute path, symbolic links resolved (the file need not exist any more)."""
    return str(path.resolve())


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and files under folders named (recursively, sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in relative.parts):
                    yield child
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")


def iter_unload_names(paths: Iterable[Path]) -> Iterator[str]:
    """Ledger names for `--unload`: a folder is recursed as a load recurses it; any other path
    (a file, or one that no longer exists) names one file."""
    for path in paths:
        if path.is_dir():
            yield from (ledger_name(file) for file in iter_files([path]))
        else:
            yield ledger_name(path)
