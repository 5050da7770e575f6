"""Output files: buffered (optionally gzip) writers that count what they write.

Every file's counts go into `.manifest.json` so that tests can check the loader's accounting
(`lines = loaded + rejected + ignored`) against what was generated:

- `lines`: physical lines written (each ends in `\\n`);
- `flow_events`, `activity_events`: valid event lines, duplicates included;
- `duplicates`: extra exact copies of the line before (already counted as events);
- `malformed`: lines the loader must reject, with `malformed_by_kind`;
- `other_type`: request-log lines of another mozlog Type (ignored by the loader);
- `blank`: empty lines (ignored by the loader);
- `expected_loaded` / `expected_rejected` / `expected_ignored`: the sums the ledger must show.

Gzip files are written with `mtime=0` and no file name in the header, so identical content
gives identical bytes, at compression level 1: about 8x smaller than plain text for a quarter
of level 6's CPU time (the generator, not the disk, is the bottleneck of benchmarks).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO, Any

_FLUSH_EVERY = 4096


class CountingWriter:
    """Lines to one file, buffered, with the manifest counters."""

    def __init__(self, path: Path, relative: str, compress: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.relative = relative
        raw: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._raw = raw
        self._gz: gzip.GzipFile | None = None
        target: IO[bytes] = raw
        if compress:
            self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0)
            target = self._gz
        self._out = io.TextIOWrapper(target, encoding="utf-8", newline="\n", write_through=False)
        self._buffer: list[str] = []
        self.counts: dict[str, Any] = {
            "lines": 0,
            "flow_events": 0,
            "activity_events": 0,
            "duplicates": 0,
            "malformed": 0,
            "other_type": 0,
            "blank": 0,
            "malformed_by_kind": {},
        }

    def write(self, line: str, counter: str) -> None:
        self._buffer.append(line)
        c = self.counts
        c["lines"] += 1
        c[counter] += 1
        if len(self._buffer) >= _FLUSH_EVERY:
            self._flush()

    def write_malformed(self, line: str, kind: str) -> None:
        by_kind = self.counts["malformed_by_kind"]
        by_kind[kind] = by_kind.get(kind, 0) + 1
        self.write(line, "malformed")

    def _flush(self) -> None:
        if self._buffer:
            self._buffer.append("")
            self._out.write("\n".join(self._buffer))
            self._buffer.clear()

    def close(self) -> dict[str, Any]:
        self._flush()
        self._out.flush()
        self._out.detach()
        if self._gz is not None:
            self._gz.close()
        self._raw.close()
        c = self.counts
        c["malformed_by_kind"] = dict(sorted(c["malformed_by_kind"].items()))
        c["expected_loaded"] = c["flow_events"] + c["activity_events"]
        c["expected_rejected"] = c["malformed"]
        c["expected_ignored"] = c["other_type"] + c["blank"]
        assert c["lines"] == c["expected_loaded"] + c["expected_rejected"] + c["expected_ignored"]
        return c
