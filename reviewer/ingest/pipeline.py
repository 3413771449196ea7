"""`reviewer import`: read sources, detect formats, parse, write, and report.

Every item ends up counted once: as a line whose records were imported (or were already
there), as a skipped line (it held no LLM call), or as a rejected line kept in the database
with its reason. Nothing stops the import but an unusable call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine

from reviewer.ingest.base import LogFormat, ParseContext, Rejected
from reviewer.ingest.formats import Detector, all_formats, by_name, format_names
from reviewer.ingest.outcomes import BatchRequest, Outcome, Parsed, Refused, Skipped, Stored
from reviewer.ingest.reader import (
    DEFAULT_MAX_LINE_BYTES,
    KEPT_RAW_BYTES,
    Item,
    Source,
    UsageError,
    expand_paths,
    iter_array,
    iter_csv,
    iter_document,
    iter_jsonl,
    open_source,
    sniff_kind,
)
from reviewer.records import NO_MESSAGES, TIMESTAMP_FORMAT, worth_keeping
from reviewer.redact import (
    REDACTED,
    may_hold_credentials,
    redact_text,
    redact_value,
    scrub_credential_text,
    scrub_credentials,
)
from reviewer.store.schema import RECORD_COLUMNS, ImportRun
from reviewer.store.writer import BulkWriter

#: A whole-document JSON file larger than this must be written as JSON lines.
MAX_DOCUMENT_BYTES = 1 << 31
#: Lines per chunk handed to a parsing worker.
PARALLEL_CHUNK = 500

ProgressFn = Callable[[str, int, int], None]
_MESSAGES = RECORD_COLUMNS.index("messages")
_OUTPUT = RECORD_COLUMNS.index("output")
_KIND = RECORD_COLUMNS.index("kind")


def without_content(rows: list[tuple[Any, ...]]) -> int:
    """How many of `rows` are calls logged without their content (no messages, no output);
    steps that are not LLM calls (tools, agents...) carry inputs and outputs instead."""
    return sum(
        1
        for r in rows
        if r[_OUTPUT] is None and r[_MESSAGES] in (None, NO_MESSAGES) and r[_KIND] in (None, "llm")
    )


@dataclass
class FileReport:
    """Counts for one file and format. lines = ok + rejected + skipped; records = imported + duplicates."""

    path: str
    format: str
    lines: int = 0
    records: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0
    #: LLM calls without content (no messages, no output), counted in `records` too
    without_content: int = 0
    #: batch request lines kept to be joined with their results, counted in `skipped` too
    batch_requests: int = 0
    #: why nothing (or not everything) of the file became records, when that needs saying
    reason: str | None = None


@dataclass
class Rejection:
    path: str
    line: int
    format: str | None
    reason: str


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)  # the first few, for the summary
    import_id: int | None = None
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def ok(self) -> bool:
        return self.total("rejected") == 0

    def to_dict(self) -> dict[str, Any]:
        totals = {
            k: self.total(k)
            for k in (
                "lines", "records", "imported", "duplicates", "rejected", "skipped",
                "without_content",
            )
        }  # fmt: skip
        return {
            "import_id": self.import_id,
            "seconds": round(self.seconds, 3),
            "totals": totals,
            "files": [asdict(f) for f in self.files],
            "rejections": [asdict(r) for r in self.rejections],
        }


def explain_batch_inputs(report: ImportReport) -> None:
    """Say why a batch input file imported nothing: its lines are requests, kept to be joined
    with the results of the batch's output file, and none was imported with it."""
    for rep in report.files:
        if not rep.batch_requests or rep.records:
            continue
        joined = any(o is not rep and o.format == rep.format and o.records for o in report.files)
        if joined:
            continue
        n = rep.batch_requests
        lines = "the line is a batch request" if n == 1 else f"the {n} lines are batch requests"
        rep.reason = (
            f"{lines}, kept to be joined with their results, and no batch output was imported "
            f"with them: import it together with the batch's output file: "
            f"reviewer import {rep.path} output.jsonl"
        )


def now_text() -> str:
    return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)


def _raw_text(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    return raw.decode("utf-8", "backslashreplace")


def _utf8_error(raw: bytes) -> str | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); convert the file to UTF-8"
    return None


def _json_error(exc: orjson.JSONDecodeError, raw: bytes | str = b"") -> str:
    # orjson counts lines and columns within the item; a character position reads better
    msg = re.sub(
        r":? line \d+ column \d+ \(char (\d+)\)",
        lambda m: f" at column {int(m.group(1)) + 1}",
        str(exc),
    )
    start = raw.lstrip()[:1] if raw else ""
    if start and start not in (b"{", b"[", "{", "["):
        return "not JSON: the line does not start with { or ["
    return f"malformed JSON: {msg[0].lower() + msg[1:] if msg else 'cannot parse'}"


class Importer:
    """One import call. Use `run(paths)`; the engine must already be migrated."""

    def __init__(
        self,
        engine: Engine,
        *,
        format_name: str | None = None,
        mapping: dict[str, Any] | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        progress: ProgressFn | None = None,
        keep_rejections: int = 20,
        label: Callable[[str], str] | None = None,
        workers: int | None = None,
        parallel_min_bytes: int = 32 * 1024 * 1024,
        max_decompressed_bytes: int | None = None,
        redact: bool = False,
    ) -> None:
        import os

        #: parsing processes for large JSONL files (0: parse in this process, as on one core)
        self.workers = (
            workers
            if workers is not None
            else (min(2, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0)
        )
        self.parallel_min_bytes = parallel_min_bytes
        self._pool: Any = None
        self.engine = engine
        self.label = label or (lambda p: p)
        self.max_line_bytes = max_line_bytes
        #: how far a gzip file may expand (None: GUNZIP_RATIO times its size, see the reader)
        self.max_decompressed_bytes = max_decompressed_bytes
        #: mask personal data in what is stored (`--redact`); credentials are masked always
        self.redact = redact
        self.progress = progress
        self.keep_rejections = keep_rejections
        self.forced: LogFormat | None = None
        if mapping is not None:
            from reviewer.ingest.formats.mapping import MappedFormat

            self.forced = MappedFormat(mapping)
        elif format_name:
            self.forced = by_name(format_name)
            if self.forced is None:
                raise UsageError(
                    f"unknown format {format_name!r}; known formats: {', '.join(format_names())}"
                )
        self.detector = Detector(all_formats())
        self.report = ImportReport()
        self._reports: dict[tuple[str, str], FileReport] = {}
        self._batch_cache: dict[str, dict[str, Any]] = {}
        #: whether this process wrote records (their traces are rebuilt at the end), and the
        #: traces parsing workers left to rebuild (their steps spread over several chunks)
        self._rows_here = False
        self._traces_left: set[str] = set()

    # -- counting ---------------------------------------------------------------------------

    def _file(self, path: str, fmt: str) -> FileReport:
        key = (path, fmt)
        rep = self._reports.get(key)
        if rep is None:
            rep = self._reports[key] = FileReport(path, fmt)
            self.report.files.append(rep)
        return rep

    def _written(self, rep: FileReport, inserted: bool) -> None:
        if inserted:
            rep.imported += 1
        else:
            rep.duplicates += 1

    def _reject(
        self, writer: BulkWriter, path: str, item: Item, fmt: str | None, reason: str
    ) -> None:
        rep = self._file(path, fmt or "unknown")
        rep.lines += 1
        rep.rejected += 1
        text = stored_reject_text(item.raw[:KEPT_RAW_BYTES], self.redact)
        writer.reject(path, item.line, fmt, reason, text, item.size or len(item.raw), now_text())
        if len(self.report.rejections) < self.keep_rejections:
            self.report.rejections.append(Rejection(path, item.line, fmt, reason))

    # -- the run -------------------------------------------------------------------------------

    def run(self, paths: list[str]) -> ImportReport:
        sources = expand_paths(paths)
        started = datetime.now(UTC)
        from sqlmodel import Session

        with Session(self.engine) as session:
            run = ImportRun(started_at=now_text())
            session.add(run)
            session.commit()
            self.report.import_id = run.id
        writer = BulkWriter(self.engine, self.report.import_id, self._written)
        try:
            # OpenAI Batch input files first, so output lines can be joined with their requests
            for source in sorted(sources, key=lambda s: 0 if self._is_batch_input(s) else 1):
                self._import_source(source, writer)
        finally:
            writer.close()
            if self._pool is not None:
                self._pool.close()
        from reviewer.store.traces import rebuild_traces

        if self._rows_here:  # written by this process: the traces of every record imported
            rebuild_traces(self.engine, self.report.import_id)
        elif self._traces_left:  # the workers wrote the totals of the others with their steps
            rebuild_traces(self.engine, keys=self._traces_left)
        self.report.seconds = (datetime.now(UTC) - started).total_seconds()
        explain_batch_inputs(self.report)
        with Session(self.engine) as session:
            stored = session.get(ImportRun, self.report.import_id)
            if stored is not None:
                stored.finished_at = now_text()
                stored.report = orjson.dumps(self.report.to_dict()).decode()
                session.add(stored)
                session.commit()
        return self.report

    def _is_batch_input(self, source: Source) -> bool:
        if source.file is None:
            return False
        try:
            stream, _counter, _total = open_source(source)
        except OSError:
            return False
        try:
            first = stream.readline(1 << 16)
            obj = orjson.loads(first)
        except Exception:
            return False
        finally:
            stream.close()
        if not isinstance(obj, dict) or "custom_id" not in obj:
            return False
        # OpenAI Batch input {custom_id, method, url, body}; Anthropic batch requests {custom_id, params}
        return ("body" in obj and "method" in obj) or isinstance(obj.get("params"), dict)

    def _items(self, kind: str, stream: Any, source: Source) -> Iterator[tuple[str, Item]]:
        if kind == "zip":
            if source.file is None:
                yield "json", Item(1, b"", error="a zip archive on standard input: give its path")
                return
            from reviewer.ingest.formats.inspect_ai import iter_eval_archive

            for item in iter_eval_archive(source.file, MAX_DOCUMENT_BYTES):
                yield "json", item
        elif kind == "binary":
            head = stream.peek(256)[:256]
            yield (
                "json",
                Item(
                    1,
                    head,
                    error="binary data, not a text log file (a NUL byte in the first 8 KiB)",
                    size=len(head),
                ),
            )
        elif kind == "jsonl":
            for item in iter_jsonl(stream, self.max_line_bytes):
                yield "json", item
        elif kind == "json":
            for item in iter_document(stream, MAX_DOCUMENT_BYTES):
                yield "json", item
        elif kind == "array":
            for item in iter_array(stream):
                yield "json", item
        else:
            for item in iter_csv(stream, self.max_line_bytes):
                yield "csv", item

    @staticmethod
    def _kind_of(source: Source, stream: Any) -> str:
        try:
            head = stream.peek(8192)[:8192]
            if head[:4] == b"PK\x03\x04":
                return "zip"  # an Inspect .eval log
            # Binary when a NUL byte is there and no line looks like JSON; else a NUL rejects
            # only its own line.
            if b"\x00" in head and not any(
                line.lstrip(b" \t").startswith((b"{", b"[")) for line in head.split(b"\n")
            ):
                return "binary"
        except (EOFError, OSError, ValueError):
            return "jsonl"  # the reader reports the damage at the line where it is found
        return sniff_kind(stream, source.path)

    def _import_source(self, source: Source, writer: BulkWriter) -> None:
        path = self.label(source.display)
        try:
            stream, counter, total = open_source(source, self.max_decompressed_bytes)
        except OSError as exc:
            self._reject(writer, path, Item(0, b""), None, f"cannot open: {exc.strerror or exc}")
            return
        pending: list[tuple[str, dict[str, Any]]] = []
        ctx = ParseContext(
            path,
            0,
            "",
            self._lookup_batch,
            lambda cid, body: pending.append((cid, body)),
            redact=self.redact,
        )
        progress = self.progress
        import_id = self.report.import_id
        try:
            kind = self._kind_of(source, stream)
            items = self._items(kind, stream, source)
            if (
                self.workers > 0
                and total >= self.parallel_min_bytes
                and kind == "jsonl"
                and not _joins_within_file(stream)
            ):
                self._import_parallel(path, items, writer, counter, total)
                return
            for n, (kind, item) in enumerate(items):
                if progress is not None and n % 2000 == 0:
                    progress(path, counter.count, total)
                if item.error is not None:
                    self._reject(writer, path, item, None, item.error)
                    continue
                outcome = parse_item(
                    item, kind, self.forced, self.detector, ctx, import_id, pending
                )
                if outcome is not None:
                    self._apply(outcome, path, item, writer)
        finally:
            if progress is not None:
                progress(path, counter.count, total)
            if source.file is not None:
                stream.close()
            writer.sync()  # batch requests of this file are visible to the next

    def _apply(self, outcome: Outcome, path: str, item: Item, writer: BulkWriter) -> None:
        """Count and write one item's outcome (see `parse_item`)."""
        if isinstance(outcome, Refused):
            self._reject(writer, path, item, outcome.format, outcome.reason)
            return
        rep = self._file(path, outcome.format)
        rep.lines += outcome.lines if isinstance(outcome, Stored) else 1
        if isinstance(outcome, Parsed):
            rep.records += len(outcome.rows)
            rep.without_content += without_content(outcome.rows)
            self._rows_here = True
            for row in outcome.rows:
                writer.add_row(row, rep)
            return
        if isinstance(outcome, Stored):  # written by a parsing worker
            rep.records += outcome.imported + outcome.duplicates
            rep.imported += outcome.imported
            rep.duplicates += outcome.duplicates
            rep.without_content += outcome.without_content
            return
        rep.skipped += 1  # no LLM call of its own
        if isinstance(outcome, BatchRequest):  # kept for joining with its result
            rep.batch_requests += 1
            self._batch_cache[outcome.custom_id] = orjson.loads(outcome.body)
            writer.add_batch_request(outcome.custom_id, path, item.line, outcome.body)

    def _import_parallel(
        self,
        path: str,
        items: Iterator[tuple[str, Item]],
        writer: BulkWriter,
        counter: Any,
        total: int,
    ) -> None:
        """JSON lines parsed and written by worker processes, counted here in file order."""
        from collections import deque

        from reviewer.ingest.parallel import ParallelParser

        if self._pool is None:
            self._pool = ParallelParser(
                self.forced,
                str(self.engine.url.render_as_string(hide_password=False)),
                self.workers,
                redact=self.redact,
            )
        pool = self._pool
        in_flight: deque[tuple[list[Item], Any]] = deque()
        chunk: list[Item] = []

        def drain(limit: int) -> None:
            while len(in_flight) > limit:
                chunk_items, future = in_flight.popleft()
                outcomes, traces_left = future.result()
                self._traces_left.update(traces_left)
                for at, outcome in outcomes:
                    self._apply(outcome, path, chunk_items[at], writer)
                if self.progress is not None:
                    self.progress(path, counter.count, total)

        for _kind, item in items:
            if item.error is not None:
                drain(0)
                self._reject(writer, path, item, None, item.error)
                continue
            chunk.append(item)
            if len(chunk) == PARALLEL_CHUNK:
                in_flight.append(
                    (
                        chunk,
                        pool.submit(path, self.report.import_id, [(i.line, i.raw) for i in chunk]),
                    )
                )
                chunk = []
                drain(self.workers * 3)
        if chunk:
            in_flight.append(
                (chunk, pool.submit(path, self.report.import_id, [(i.line, i.raw) for i in chunk]))
            )
        drain(0)

    def _lookup_batch(self, custom_id: str) -> dict[str, Any] | None:
        body = self._batch_cache.get(custom_id)
        if body is not None:
            return body
        from sqlalchemy import text

        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT body FROM batch_requests WHERE custom_id = :c"), {"c": custom_id}
            ).first()
        return orjson.loads(row[0]) if row and row[0] else None


def _joins_within_file(stream: Any) -> bool:
    """Whether the file's lines join with earlier lines of the same file (an OpenAI Evals run
    log: a match event with its sampling event), so they are parsed in order in this process."""
    from reviewer.ingest.formats.openai_evals import is_event, is_spec

    try:
        first = stream.peek(1 << 16)[: 1 << 16].split(b"\n", 1)[0]
        obj = orjson.loads(first)
    except Exception:
        return False
    return is_spec(obj) or is_event(obj)


def usable_records(records: list[Any]) -> list[Any]:
    """The records worth keeping: every step that is not an LLM call, the LLM calls with input
    messages, an output or an error, and those without content that still name the model or
    give tokens, time, latency or cost."""
    return [r for r in records if worth_keeping(r)]


def parse_item(
    item: Item,
    kind: str,
    forced: LogFormat | None,
    detector: Detector,
    ctx: ParseContext,
    import_id: int | None,
    pending: list[tuple[str, dict[str, Any]]],
) -> Outcome | None:
    """Decode, detect and parse one item into its outcome (None for a blank line). Runs in the
    main process or in a parsing worker."""
    from reviewer.store.writer import record_row

    obj = item.obj
    raw = item.raw
    if obj is None:
        if not raw.strip():
            return None
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return Refused(
                None,
                (_utf8_error(raw) if isinstance(raw, bytes) else None) or _json_error(exc, raw),
            )
    fmt = forced or detector.detect(obj, kind)
    if fmt is None:
        return Refused(None, _unknown_reason(obj, kind))
    ctx.line = item.line
    ctx.raw = _raw_text(raw).rstrip("\r\n")
    ctx.raw_is_line = True
    if ctx.redact or _may_hold_credentials(raw, obj):
        obj, text = scrub(obj, ctx.raw, redact=ctx.redact)
        if text is not ctx.raw:
            ctx.raw, ctx.raw_is_line = text, False
    try:
        records = list(fmt.parse(obj, ctx))
    except Rejected as exc:
        return Refused(fmt.name, str(exc))
    except Exception as exc:  # a parser bug must not stop the import: keep the line
        return Refused(
            fmt.name, f"could not be read as {fmt.name}: {exc.__class__.__name__}: {exc}"
        )
    if pending:
        cid, body = pending.pop()
        pending.clear()
        return BatchRequest(fmt.name, cid, orjson.dumps(body).decode())
    if not records:
        return Skipped(fmt.name)
    usable = usable_records(records)
    if not usable:
        return Refused(fmt.name, fmt.empty_reason)
    return Parsed(fmt.name, [record_row(r, import_id) for r in usable])


def _may_hold_credentials(raw: bytes | str, obj: Any) -> bool:
    """False when the item surely holds no credential. The test reads the raw text; JSON may
    write any letter as a `\\u` escape (`"\\u0061pi_key"`), so a text with escapes that
    passes it is tested again as the item written without them."""
    if may_hold_credentials(raw):
        return True
    if b"\\u" not in raw if isinstance(raw, bytes) else "\\u" not in raw:
        return False
    try:
        return may_hold_credentials(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS))
    except TypeError:  # not JSON (cannot happen for a decoded item): the long way
        return True


def scrub(obj: Any, text: str, *, redact: bool = False) -> tuple[Any, str]:
    """The item and its raw text with credentials replaced by `[redacted]` (always) and, with
    `redact`, personal data masked: no stored record nor raw text holds them."""
    found: list[str] = []
    obj = scrub_credentials(obj, found)
    scrubbed = scrub_credential_text(text)
    for secret in found:
        for spelled in {secret, orjson.dumps(secret).decode()[1:-1]}:
            scrubbed = scrubbed.replace(spelled, REDACTED)
    if any(secret in scrubbed for secret in found) or (
        "\\u" in scrubbed and not _reads_as(scrubbed, obj)
    ):  # written in a way not found (escaped): the text is written anew from the item
        scrubbed = orjson.dumps(obj).decode()
    if redact:
        obj = redact_value(obj)
        scrubbed = redact_text(scrubbed)
    return obj, (text if scrubbed == text else scrubbed)


def _reads_as(text: str, obj: Any) -> bool:
    """Whether JSON `text` decodes to `obj` (a credential written with escapes was masked in
    the item but not in the text when they differ)."""
    try:
        return bool(orjson.loads(text) == obj)
    except orjson.JSONDecodeError:
        return True  # not one JSON value: the text scrub is all there is


def stored_reject_text(raw: bytes | str, redact: bool = False) -> str:
    """What is kept of a rejected item: its text, credentials (and with `redact` personal
    data) masked like an imported record's."""
    text = scrub_credential_text(_raw_text(raw))
    return redact_text(text) if redact else text


def _unknown_reason(obj: Any, kind: str) -> str:
    if kind == "csv":
        return f"unrecognised CSV columns {sorted(obj)[:8]}; use --mapping FILE.yaml or --format"
    if isinstance(obj, dict):
        keys = ", ".join(list(obj)[:8])
        return f"unrecognised log format (keys: {keys}); use --format NAME or --mapping FILE.yaml"
    return f"unrecognised log format: a JSON {type(obj).__name__}, not an object"
