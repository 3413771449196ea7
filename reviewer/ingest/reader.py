"""Reading log files as a stream of items, in constant memory whatever their size.

An item is one unit of input with its line number: a JSONL line, a whole JSON document,
an element of a top-level JSON array, or a CSV row. Reading problems (bad encoding, a line
over the size limit, a truncated gzip) come out as items carrying an error, so the import
counts and keeps them and goes on with the rest.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

#: Extensions read when a folder is given.
LOG_SUFFIXES = (
    ".jsonl",
    ".json",
    ".csv",
    ".ndjson",
    ".jsonl.gz",
    ".json.gz",
    ".csv.gz",
    ".ndjson.gz",
    ".eval",
)
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
#: A gzip file may expand to this many times its compressed size (at least GUNZIP_FLOOR bytes)
#: unless a fixed limit is given: JSON logs compress 5 to 30 times, a decompression bomb 1,000.
GUNZIP_RATIO = 100
GUNZIP_FLOOR = 64 * 1024 * 1024
#: How much of a rejected item's text is kept in the database.
KEPT_RAW_BYTES = 1024 * 1024


class UsageError(Exception):
    """The call itself cannot be carried out (a missing path, an unknown format)."""


@dataclass(slots=True)
class Item:
    line: int
    raw: bytes | str  # the source text (a CSV row arrives as its JSON object)
    obj: Any = None  # parsed value when the reader already parsed it (JSON arrays, CSV rows)
    error: str | None = None  # a reading problem: the item is rejected with this reason
    size: int = 0  # the full size of the item when raw was cut short


@dataclass(slots=True)
class Source:
    """One input to read: a file path or standard input."""

    path: str  # as shown in reports; "-" for stdin
    file: Path | None

    @property
    def display(self) -> str:
        return "<stdin>" if self.path == "-" else self.path


def expand_paths(args: list[str]) -> list[Source]:
    """Files, folders (recursively, log files only), globs and `-`, in a stable order.

    Raises UsageError for a path that matches nothing.
    """
    sources: list[Source] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = str(p.resolve())
        if key not in seen:
            seen.add(key)
            sources.append(Source(str(p), p))

    for arg in args:
        if arg == "-":
            sources.append(Source("-", None))
            continue
        path = Path(arg)
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if (
                    sub.is_file()
                    and sub.name.lower().endswith(LOG_SUFFIXES)
                    and not any(part.startswith(".") for part in sub.relative_to(path).parts)
                ):
                    add(sub)
        elif path.is_file():
            add(path)
        elif any(ch in arg for ch in "*?["):
            matches = sorted(glob.glob(arg, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise UsageError(f"{arg}: no file matches this pattern")
            for f in files:
                add(f)
        else:
            raise UsageError(f"{arg}: no such file or folder")
    return sources


class _Counting(io.RawIOBase):
    """Wraps a binary stream to count the bytes read from it (for the progress bar)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self.inner.close()
        super().close()

    def readinto(self, b: Any) -> int:
        data = self.inner.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


def open_source(
    source: Source, max_decompressed: int | None = None
) -> tuple[IO[bytes], _Counting, int]:
    """Open a source as decompressed bytes, without a UTF-8 byte order mark; returns (stream,
    byte counter of the raw file, raw size). Gzip data may expand to `max_decompressed` bytes,
    else to GUNZIP_RATIO times the compressed size (at least GUNZIP_FLOOR); past that, reading
    fails with `DecompressionLimit`."""
    raw: IO[bytes]
    if source.file is None:
        raw = sys.stdin.buffer
        total = 0
    else:
        raw = open(source.file, "rb")  # noqa: SIM115  (closed by the caller)
        total = os.fstat(raw.fileno()).st_size
    counter = _Counting(raw)
    buffered = io.BufferedReader(counter, buffer_size=1 << 20)
    head = buffered.peek(2)[:2]
    if head == b"\x1f\x8b":
        gunzip = _Gunzip(buffered, counter, max_decompressed)
        stream: IO[bytes] = io.BufferedReader(gunzip, buffer_size=1 << 20)  # type: ignore[arg-type]
    else:
        stream = buffered
    head = stream.peek(4)[:4]  # type: ignore[attr-defined]
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        text = io.TextIOWrapper(stream, encoding="utf-16", newline="")
        stream = io.BufferedReader(_Utf8FromText(text), buffer_size=1 << 20)  # type: ignore[arg-type]
    elif head[:3] == codecs.BOM_UTF8:
        stream.read(3)  # the mark says the encoding; it is not part of the first line
    return stream, counter, total


class DecompressionLimit(EOFError):
    """Gzip data that expands past its limit (a decompression bomb?)."""

    def __init__(self, limit: int, compressed: int, fixed: bool) -> None:
        self.limit = limit
        why = (
            "the limit"
            if fixed
            else f"the limit for a file of {compressed:,} bytes ({GUNZIP_RATIO} times its "
            f"size, at least {GUNZIP_FLOOR >> 20} MiB)"
        )
        super().__init__(
            f"gzip data expands past {limit:,} bytes, {why}: a decompression bomb? The rest of "
            "the file is not read; raise the limit with --max-decompressed-bytes"
        )


class _Gunzip(io.RawIOBase):
    """Decompresses gzip (several members too) and, unlike GzipFile, hands out every byte it
    could decompress before reporting a truncated or corrupt stream."""

    def __init__(self, inner: IO[bytes], compressed: _Counting, max_out: int | None = None) -> None:
        self.inner = inner
        self.compressed = compressed  # bytes of the file read so far
        self.max_out = max_out
        self.out = 0
        self.z = zlib.decompressobj(wbits=31)
        self.pending = b""
        self.done = False

    def readable(self) -> bool:
        return True

    def _limit(self) -> int:
        if self.max_out is not None:
            return self.max_out
        return max(GUNZIP_FLOOR, GUNZIP_RATIO * self.compressed.count)

    def readinto(self, b: Any) -> int:
        while not self.pending and not self.done:
            chunk = self.inner.read(1 << 16)
            if not chunk:
                self.done = True
                if not self.z.eof:
                    raise EOFError("truncated gzip stream")
                break
            self.pending = self.z.decompress(chunk)
            while self.z.eof and self.z.unused_data:  # a second gzip member follows
                rest = self.z.unused_data
                self.z = zlib.decompressobj(wbits=31)
                self.pending += self.z.decompress(rest)
        room = self._limit() - self.out
        if room <= 0 and self.pending:
            raise DecompressionLimit(self._limit(), self.compressed.count, self.max_out is not None)
        n = min(len(b), len(self.pending), room)
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        self.out += n
        return n


class _Utf8FromText(io.RawIOBase):
    """Re-encodes a text stream (a UTF-16 file) as UTF-8 bytes."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while len(self.pending) < len(b):
            chunk = self.text.read(65536)
            if not chunk:
                break
            self.pending += chunk.encode("utf-8", "surrogatepass")
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


_READ_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, OSError, UnicodeDecodeError)


def _read_error(exc: BaseException) -> str:
    if isinstance(exc, DecompressionLimit):
        return str(exc)
    if isinstance(exc, EOFError):
        return "truncated gzip: the file ends before the end of the compressed stream"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"corrupt gzip data: {exc}"
    if isinstance(exc, UnicodeDecodeError):
        return f"cannot decode the file as {exc.encoding}: {exc.reason}"
    return f"read error: {exc}"


def sniff_kind(stream: IO[bytes], name: str) -> str:
    """'jsonl', 'json' (one document), 'array' (a top-level JSON array) or 'csv'."""
    lower = name.lower()
    for suffix in (".gz",):
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    head = stream.peek(65536)[:65536]  # type: ignore[attr-defined]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "array"
    if stripped.startswith(b"{"):
        # A .json file may hold one document or be JSON lines: one complete object on the first line
        first, sep, rest = stripped.partition(b"\n")
        if sep and rest.strip():
            try:
                orjson.loads(first)
                return "jsonl"
            except orjson.JSONDecodeError:
                return "json"
        return "json"
    if lower.endswith(".json"):
        return "json"
    # neither JSON-looking nor named: CSV if the first line has commas, else JSON lines
    first_line = stripped.split(b"\n", 1)[0]
    if b"," in first_line and not first_line.startswith((b"{", b"[")):
        return "csv"
    return "jsonl"


def iter_jsonl(stream: IO[bytes], max_line: int) -> Iterator[Item]:
    """JSON lines as bytes; an over-long line is cut to KEPT_RAW_BYTES and reported, then skipped."""
    line_no = 0
    readline = stream.readline
    limit = max_line + 1
    try:
        while True:
            raw = readline(limit)
            if not raw:
                return
            line_no += 1
            if len(raw) == limit and not raw.endswith(b"\n"):
                size = len(raw)
                kept = raw[:KEPT_RAW_BYTES]
                while True:  # skip the rest of the line in chunks: constant memory
                    chunk = readline(1 << 20)
                    size += len(chunk)
                    if not chunk or chunk.endswith(b"\n"):
                        break
                yield Item(
                    line_no,
                    kept,
                    error=f"line is {size:,} bytes, over the limit of {max_line:,} bytes (raise it with --max-line-bytes)",
                    size=size,
                )
                continue
            if raw.isspace():
                continue  # a blank line holds nothing: not even an item
            nul = raw.find(b"\x00")
            if nul >= 0:
                yield Item(
                    line_no,
                    raw,
                    error=f"a NUL byte at column {nul + 1}: binary data, not a line of text",
                )
                continue
            yield Item(line_no, raw)
    except _READ_ERRORS as exc:
        yield Item(line_no + 1, b"", error=_read_error(exc))


def iter_document(stream: IO[bytes], max_doc: int) -> Iterator[Item]:
    """A whole JSON document as one item (line 1)."""
    try:
        data = stream.read(max_doc + 1)
    except _READ_ERRORS as exc:
        yield Item(1, b"", error=_read_error(exc))
        return
    if len(data) > max_doc:
        yield Item(
            1,
            data[:KEPT_RAW_BYTES],
            error=f"JSON document is over the limit of {max_doc:,} bytes; write it as JSON lines",
            size=len(data),
        )
        return
    if data.strip():
        yield Item(1, data)


def iter_array(stream: IO[bytes]) -> Iterator[Item]:
    """Elements of a top-level JSON array, streamed; `line` is the element's position (1-based)."""
    import ijson

    index = 0
    try:
        for index, element in enumerate(ijson.items(stream, "item", use_float=True), start=1):  # noqa: B007
            yield Item(index, orjson.dumps(element), obj=element)
    except ijson.JSONError as exc:
        yield Item(index + 1, b"", error=f"malformed JSON array after element {index}: {exc}")
    except _READ_ERRORS as exc:
        yield Item(index + 1, b"", error=_read_error(exc))


def iter_csv(stream: IO[bytes], max_line: int) -> Iterator[Item]:
    """CSV rows as dicts keyed by the header; `line` is the row's first line in the file."""
    csv.field_size_limit(max_line)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, *_READ_ERRORS) as exc:
        yield Item(1, b"", error=f"cannot read the CSV header: {exc}")
        return
    line = reader.line_num + 1
    while True:
        start = line
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num + 1
            yield Item(start, b"", error=f"malformed CSV: {exc}")
            continue
        except _READ_ERRORS as exc:
            yield Item(start, b"", error=_read_error(exc))
            return
        line = reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        joined = ",".join(row)
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = joined[exc.start].encode("utf-8", "surrogateescape")
            yield Item(
                start,
                joined.encode("utf-8", "backslashreplace"),
                error=f"not valid UTF-8 (byte 0x{bad.hex()} at column {exc.start + 1})",
            )
            continue
        if len(row) != len(header):
            yield Item(
                start,
                joined.encode(),
                error=f"row has {len(row)} fields, the header has {len(header)}",
            )
            continue
        obj = dict(zip(header, row, strict=True))
        yield Item(start, orjson.dumps(obj), obj=obj)
