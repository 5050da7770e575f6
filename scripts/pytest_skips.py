"""How many tests a pytest run skipped, and why, in one line (for `make test`'s last line).

    python scripts/pytest_skips.py PYTEST_OUTPUT

Reads the output of a pytest run made with `-rs` (its "short test summary info" lists each
skip reason as `SKIPPED [N] file:line: reason`) and prints `34 skipped: 34 needs Postgres: set
PGHOST, ...`, reasons by count, most frequent first (`nothing skipped` when none was). The
count is the one of pytest's closing line (`== 500 passed, 34 skipped in 99s ==`); reasons
that add up to fewer (a run without `-rs`) are followed by `N for reasons not shown`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

# `SKIPPED [3] scripts/tests/dbt_harness.py:173: needs Postgres: ...` (-rs; skips of one
# reason at one place are counted together, `[N]`).
SKIPPED_LINE = re.compile(r"^SKIPPED \[(?P<count>\d+)\] (?P<where>\S+?):(?:\d+:)? (?P<why>.*)$")
# The closing line: `==== 3 failed, 500 passed, 34 skipped, 2 warnings in 99.1s ====`.
CLOSING_LINE = re.compile(r"^=+ (?P<counts>.*\d+ \w+.*) in [\d.]+s(?: \([^)]*\))? =+$")
SKIPPED_COUNT = re.compile(r"(\d+) skipped")
# Terminal colours, in case pytest wrote some (`--color=yes`).
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def skip_reasons(output: str) -> tuple[int, Counter[str]]:
    """(tests skipped according to the closing line, skips counted per reason)."""
    reasons: Counter[str] = Counter()
    total: int | None = None
    for raw in output.splitlines():
        line = ESCAPE.sub("", raw).strip()
        skipped = SKIPPED_LINE.match(line)
        if skipped:
            reasons[skipped.group("why").strip()] += int(skipped.group("count"))
            continue
        closing = CLOSING_LINE.match(line)
        if closing:
            count = SKIPPED_COUNT.search(closing.group("counts"))
            total = int(count.group(1)) if count else 0
    if total is None:  # no closing line (cut output): the listed reasons are all there is
        total = sum(reasons.values())
    return total, reasons


def summary(output: str) -> str:
    """`34 skipped: 30 needs Postgres: ...; 4 needs chromium: ...` or `nothing skipped`."""
    total, reasons = skip_reasons(output)
    if total == 0:
        return "nothing skipped"
    parts = [f"{count} {why}" for why, count in sorted(reasons.items(), key=lambda i: -i[1])]
    unexplained = total - sum(reasons.values())
    if unexplained > 0:
        parts.append(f"{unexplained} for reasons not shown (run pytest with -rs)")
    return f"{total} skipped: " + "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Summarise the skipped tests of a pytest run's output (made with -rs)."
    )
    parser.add_argument("output", type=Path, help="the file pytest's output was written to")
    args = parser.parse_args(argv)
    try:
        text = args.output.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        print(f"error: cannot read {args.output}: {error.strerror}", file=sys.stderr)
        return 1
    print(summary(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
