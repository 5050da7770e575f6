"""Stream a (possibly gzip-compressed) file as large chunks of whole lines, with line numbers.

Python owns the byte-level concerns the SQL side cannot see: exact 1-based line numbers, line
ends (`\\n`, with a trailing `\\r` removed later), a UTF-8 byte-order mark at the start of the
file, invalid UTF-8 and NUL bytes, and gzip streams that end early. It never splits a chunk into
Python objects per line unless the chunk is dirty (invalid UTF-8 or a NUL byte somewhere): a clean
chunk goes to DuckDB as one string and is split there.

Line counting: a file has as many lines as a text editor shows: every `\\n` ends a line, and a
last line without `\\n` still counts; a final `\\n` does not start another line. Gzip is
recognised by its magic bytes, not by the file name.

The ledger's SHA-256 is that of the bytes loaded: `iter_chunks` hashes the bytes it reads from
disk as it streams them and, given the `FileVersion` hashed before (the loader's skip decision
needs the hash before it reads), raises `FileChangedError` when the file it opened is not that
one (rotated, replaced, written to in between) or changes while it is read.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
# 128 MiB: a chunk of server logs (~270,000 lines) then holds more than one DuckDB row group
# (122,880 rows) of flow events, and DuckDB writes an insert of whole row groups straight to the
# file's blocks, where a smaller one goes through the WAL and is written again at the
# checkpoint. Measured on 6 days of generated logs: 23-25 s against 26-28 s with 64 MiB, and
# the commits 1.0-1.2 s against 2.8-3.3 s; 256 MiB was no faster. The price is memory: peak
# RSS 1.16 GiB against 0.82 GiB for one 1.1 GB file.
DEFAULT_CHUNK_BYTES = 128 * 1024 * 1024
READ_BYTES = 1024 * 1024  # one read() of the (decompressed) stream


class FileReadError(RuntimeError):
    """The file cannot be read to its end; nothing of it may be loaded."""


class FileChangedError(FileReadError):
    """The bytes read are not those hashed before (the file was rotated, replaced or written
    to in between), or the file changed while it was read."""


@dataclass(frozen=True)
class FileVersion:
    """A file's SHA-256 and what the file system says of the file hashed."""

    sha256: str
    device: int
    inode: int
    size: int
    mtime_ns: int

    def differences(self, stat: os.stat_result) -> list[str]:
        """What `stat` (the file read) has that differs from this version."""
        found = []
        if (stat.st_dev, stat.st_ino) != (self.device, self.inode):
            found.append("another file under its name (inode)")
        if stat.st_size != self.size:
            found.append(f"size {self.size:,} is now {stat.st_size:,} bytes")
        if stat.st_mtime_ns != self.mtime_ns:
            found.append("modification time")
        return found


def _version(sha256: str, stat: os.stat_result) -> FileVersion:
    return FileVersion(sha256, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class Chunk:
    first_line: int  # 1-based number of the chunk's first line
    data: bytes  # whole lines joined by b"\n", without the final line end
    line_count: int
    position: int  # bytes of the file on disk consumed so far (for progress)


@dataclass(frozen=True)
class BadLine:
    line_number: int
    reason: str
    text: str  # decoded with replacement characters, NUL bytes replaced


@dataclass(frozen=True)
class CleanLines:
    """Valid UTF-8 lines without NUL bytes, kept as numbered Python strings (dirty chunks)."""

    line_numbers: list[int]
    lines: list[str]


def sha256_of(path: Path) -> str:
    return file_version(path).sha256


def file_version(path: Path) -> FileVersion:
    """The file's SHA-256, with its inode, size and modification time when it was opened."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        while block := handle.read(1 << 22):
            digest.update(block)
    return _version(digest.hexdigest(), stat)


class _HashingReader(io.RawIOBase):
    """The bytes of a file as read from disk, hashed on the way (SHA-256)."""

    def __init__(self, raw: io.FileIO) -> None:
        super().__init__()
        self.raw = raw
        self.digest = hashlib.sha256()
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self.raw.readinto(buffer)
        if count:
            self.digest.update(memoryview(buffer)[:count])
            self.position += count
        return count or 0

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        self.raw.close()
        super().close()


def _open(path: Path) -> tuple[BinaryIO, io.BufferedIOBase]:
    raw = path.open("rb")
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")
    raw.seek(0)
    return raw, raw


def iter_chunks(
    path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES, expected: FileVersion | None = None
) -> Iterator[Chunk]:
    """Yield the file's lines in chunks of about `chunk_bytes` (more for a longer line).

    Memory stays bounded by `chunk_bytes` plus the longest line. A truncated or corrupt gzip
    stream raises `FileReadError` naming the last complete line read. With `expected` (the
    version hashed before): `FileChangedError` before the first chunk when the file opened is
    not that version, and after the last when the bytes read do not have its SHA-256 or the
    file changed meanwhile.
    """
    hashing = _open_hashing(path, expected)
    raw, stream = _open_stream(hashing)
    next_line = 1
    rest = b""
    first = True
    try:
        while True:
            block = _read_block(stream, chunk_bytes, next_line - 1, rest)
            if first:
                first = False
                if block.startswith(BOM):
                    block = block[len(BOM) :]
            if not block:
                if rest:
                    yield Chunk(next_line, rest, rest.count(b"\n") + 1, hashing.position)
                if expected is not None:
                    _check_read(path, hashing, expected)
                return
            data = rest + block if rest else block
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            body, rest = data[:cut], data[cut + 1 :]
            count = body.count(b"\n") + 1
            yield Chunk(next_line, body, count, hashing.position)
            next_line += count
    finally:
        stream.close()
        raw.close()


def _open_hashing(path: Path, expected: FileVersion | None) -> _HashingReader:
    """The file, hashed as it is read; `FileChangedError` when it is not `expected`."""
    hashing = _HashingReader(io.FileIO(path, "rb"))
    if expected is not None:
        opened = os.fstat(hashing.raw.fileno())
        if differences := expected.differences(opened):
            hashing.close()
            raise FileChangedError(
                _changed(path, "between its hashing and its reading", differences)
            )
    return hashing


def _read_block(
    stream: io.BufferedIOBase, chunk_bytes: int, lines_before: int, rest: bytes
) -> bytes:
    """Up to `chunk_bytes` of the stream (b"" at its end). Read in parts with read1(): a gzip
    stream that ends early raises in the call that finds the end, after every byte before it
    was returned by earlier calls (read() would drop those of its own call: up to a whole
    part), so the error can name the last complete line of the file (`lines_before` the
    unfinished line `rest`, and those of `rest` and of the block read)."""
    parts: list[bytes] = []
    size = 0
    try:
        while size < chunk_bytes:
            part = stream.read1(min(READ_BYTES, chunk_bytes - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except (EOFError, OSError, zlib.error) as error:
        readable = lines_before + rest.count(b"\n") + sum(p.count(b"\n") for p in parts)
        raise FileReadError(
            f"the gzip stream is truncated or corrupt ({error}) after line "
            f"{readable:,} ({readable:,} complete lines could be read); nothing of this "
            "file was loaded: copy the complete file again and rerun"
        ) from error
    return b"".join(parts)


def _changed(path: Path, when: str, differences: list[str]) -> str:
    return (
        f"the file changed {when} ({'; '.join(differences)}): it was rotated, replaced or "
        "written to meanwhile; nothing of it was written. Load it again once nothing writes "
        "to it any more"
    )


def _check_read(path: Path, hashing: _HashingReader, expected: FileVersion) -> None:
    """After the last byte: what was read is `expected`, and the name still holds it."""
    differences = []
    read = hashing.digest.hexdigest()
    if read != expected.sha256:
        differences.append(f"SHA-256 {expected.sha256} when hashed, {read} of the bytes read")
    differences += expected.differences(os.fstat(hashing.raw.fileno()))
    try:
        now = os.stat(path)
    except OSError:
        differences.append("its name was removed")
    else:
        if (now.st_dev, now.st_ino) != (expected.device, expected.inode):
            differences.append("another file under its name (inode)")
    if differences:
        raise FileChangedError(_changed(path, "while it was read", sorted(set(differences))))


def _open_stream(hashing: _HashingReader) -> tuple[io.BufferedReader, io.BufferedIOBase]:
    raw = io.BufferedReader(hashing, buffer_size=READ_BYTES)
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")
    return raw, raw


def is_blank(path: Path) -> bool:
    """True when the file has no line but blank ones: 0 bytes, an empty gzip stream, or only
    spaces, tabs and line ends (a UTF-8 byte-order mark at the start dropped), as the parsers
    see them: a line is blank when it is spaces and tabs followed by nothing but `\r`s. Reads
    only as far as the first other byte. False when the file cannot be read that far (loading
    it then reports why)."""
    try:
        raw, stream = _open(path)
    except OSError:
        return False
    try:
        head = b""
        while len(head) < len(BOM) and (part := stream.read(len(BOM) - len(head))):
            head += part
        block = head.removeprefix(BOM)
        previous = b""
        while True:
            if block.strip(b" \t\r\n"):
                return False
            window = previous + block
            if b"\r " in window or b"\r\t" in window:
                return False  # a carriage return inside a line: not a blank line
            previous = block[-1:] or previous
            block = stream.read(READ_BYTES)
            if not block:
                return True
    except (EOFError, OSError, zlib.error):
        return False
    finally:
        stream.close()
        raw.close()


def is_clean(data: bytes) -> bool:
    """True when `data` is valid UTF-8 without NUL bytes (the fast path)."""
    if b"\0" in data:
        return False
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def split_dirty(chunk: Chunk) -> tuple[CleanLines, list[BadLine]]:
    """Per-line handling of a chunk with invalid UTF-8 or NUL bytes somewhere."""
    numbers: list[int] = []
    lines: list[str] = []
    bad: list[BadLine] = []
    for offset, line in enumerate(chunk.data.split(b"\n")):
        number = chunk.first_line + offset
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            shown = line.decode("utf-8", "replace").replace("\0", "\ufffd")
            bad.append(BadLine(number, "invalid UTF-8", shown))
            continue
        if "\0" in text:
            bad.append(BadLine(number, "line contains a NUL byte", text.replace("\0", "\ufffd")))
            continue
        numbers.append(number)
        lines.append(text)
    return CleanLines(numbers, lines), bad


def first_nonblank_line(data: bytes) -> bytes | None:
    start = 0
    size = len(data)
    while start <= size:
        end = data.find(b"\n", start)
        if end < 0:
            end = size
        line = data[start:end].strip(b" \t\r")
        if line:
            return line
        start = end + 1
    return None
