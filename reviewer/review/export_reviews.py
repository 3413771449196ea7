"""`reviewer export reviews`: the labelled data itself, every review joined with its record.

A line (JSONL) is one reviewer's current review of one queue item (its latest event), or with
`history` every review event in order::

    {"review_id": 41, "queue": "thumbs-down", "queue_item_id": 17, "record_id": "chatcmpl-...",
     "reviewer": "ana", "verdict": "fail" | "pass" | null, "scores": {"helpful": 2},
     "themes": ["invented-policy"], "note": "..." | null, "corrected": "..." | null,
     "skipped": false, "complete": true, "seconds": 31.5, "created_at": "2026-11-20T09:00:00.000Z",
     "trace_id": "..." | null, "step_id": "..." | null, "step_notes": {"step record id": "note"},
     "record": {the canonical record: id, timestamp, source, model, messages, output, ...}}

`trace_id` is the trace the reviewed record belongs to (its trace id, else `session:` and its
session id); a review of a trace (a `unit: trace` queue, whose items are the traces' anchors)
adds `step_id`, the step it marked as where the trace went wrong, and `step_notes`, its notes
on single steps.

`review_id` is the event id (for a current review, that of its latest event); with `history`
each line also has `action` (verdict, score, themes, note, correct, skip, undo, promote) and
`undoes` (the event an undo reverts). A current review left empty (every action undone) is no
review and is left out. CSV has the same columns, the record's flattened into `record.*` ones,
lists and objects as JSON text.

Events are read in id order by keyset pages and each page's records in one query, so the
export runs in constant memory whatever the number of reviews.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson
from sqlalchemy import Engine, select

from reviewer.exporting import ExportReport, TextStream
from reviewer.redact import redact_value
from reviewer.store.events import EVENTS, RECORDS, is_latest
from reviewer.store.records import export_dict
from reviewer.store.schema import RECORD_COLUMNS
from reviewer.store.traces import trace_key

REVIEW_KEYS = (
    "review_id", "queue", "queue_item_id", "record_id", "reviewer", "verdict", "scores", "themes",
    "note", "corrected", "skipped", "complete", "seconds", "created_at", "trace_id", "step_id",
    "step_notes",
)  # fmt: skip
HISTORY_KEYS = ("action", "undoes")
#: The record's columns in CSV (paths into the canonical record; `record_id` is already there).
RECORD_CSV_PATHS = (
    "timestamp", "source.path", "source.line", "source.format", "provider", "model", "params",
    "messages", "output", "usage.input_tokens", "usage.output_tokens", "latency_ms", "cost_usd",
    "user_id", "session_id", "trace_id", "prompt.name", "prompt.version", "feedback.score",
    "feedback.comment", "error", "metadata",
)  # fmt: skip
REVIEW_FORMATS = ("jsonl", "csv")


def _loads(value: str | None, default: Any) -> Any:
    return orjson.loads(value) if value else default


def _is_empty(row: Any) -> bool:
    return (
        row.verdict is None
        and not row.scores
        and not row.themes
        and not row.note
        and not row.corrected
        and not row.skipped
        and not getattr(row, "step_id", None)
        and not getattr(row, "step_notes", None)
    )


def review_dict(row: Any, record: dict[str, Any], history: bool = False) -> dict[str, Any]:
    """A review event row and its record as an export line."""
    out: dict[str, Any] = {
        "review_id": row.id,
        "queue": row.queue,
        "queue_item_id": row.queue_item_id,
        "record_id": row.record_id,
        "reviewer": row.reviewer,
        "verdict": row.verdict,
        "scores": _loads(row.scores, {}),
        "themes": _loads(row.themes, []),
        "note": row.note,
        "corrected": row.corrected,
        "skipped": bool(row.skipped),
        "complete": bool(row.complete),
        "seconds": float(row.seconds or 0.0),
        "created_at": row.created_at,
        "trace_id": trace_key(record.get("trace_id"), record.get("session_id")),
        "step_id": getattr(row, "step_id", None),
        "step_notes": _loads(getattr(row, "step_notes", None), {}),
    }
    if history:
        out["action"] = row.action
        out["undoes"] = row.undoes
    out["record"] = record
    return out


def iter_reviews(
    engine: Engine, *, queue: str | None = None, history: bool = False, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """Every current review (or, with `history`, every review event), in event order, each
    with its record in the canonical shape; in constant memory."""
    e = EVENTS.alias("e")
    record_cols = [RECORDS.c[name] for name in RECORD_COLUMNS if name != "raw"]
    last = 0
    with engine.connect() as conn:
        while True:
            query = select(e).where(e.c.id > last).order_by(e.c.id).limit(batch)
            if queue is not None:
                query = query.where(e.c.queue == queue)
            if not history:
                query = query.where(is_latest(e))
            rows = conn.execute(query).all()
            if not rows:
                return
            ids = {r.record_id for r in rows}
            records = {
                r["id"]: export_dict(dict(r))
                for r in conn.execute(select(*record_cols).where(RECORDS.c.id.in_(ids))).mappings()
            }
            for row in rows:
                if not history and _is_empty(row):
                    continue
                record = records.get(row.record_id) or {"id": row.record_id}
                yield review_dict(row, record, history)
            last = rows[-1].id


def _path(value: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)  # type: ignore[assignment]
    return value


def csv_columns(history: bool = False) -> list[str]:
    """The CSV header of a reviews export."""
    keys = list(REVIEW_KEYS) + (list(HISTORY_KEYS) if history else [])
    return keys + [f"record.{p}" for p in RECORD_CSV_PATHS]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def csv_row(line: dict[str, Any], history: bool = False) -> list[Any]:
    keys = list(REVIEW_KEYS) + (list(HISTORY_KEYS) if history else [])
    record = line.get("record") or {}
    return [_cell(line.get(k)) for k in keys] + [_cell(_path(record, p)) for p in RECORD_CSV_PATHS]


def write_reviews_jsonl(lines: Iterable[dict[str, Any]], out: IO[bytes]) -> ExportReport:
    report = ExportReport("jsonl")
    for line in lines:
        out.write(orjson.dumps(line, option=orjson.OPT_NON_STR_KEYS))
        out.write(b"\n")
        report.written += 1
    return report


def write_reviews_csv(
    lines: Iterable[dict[str, Any]], out: IO[bytes], history: bool = False
) -> ExportReport:
    report = ExportReport("csv")
    with TextStream(out) as text:
        writer = csv.writer(text)
        writer.writerow(csv_columns(history))
        for line in lines:
            writer.writerow(csv_row(line, history))
            report.written += 1
    return report


def export_reviews(
    engine: Engine,
    out: IO[bytes],
    fmt: str = "jsonl",
    *,
    queue: str | None = None,
    history: bool = False,
    redact: bool = False,
    lines: Iterable[dict[str, Any]] | None = None,
) -> ExportReport:
    """Write the reviews (see the module doc) as JSONL or CSV to `out`; `redact` masks
    personal data and keys in every string (best-effort, see `reviewer.redact`).
    `lines` replaces the reading (a caller counting progress passes `iter_reviews` wrapped)."""
    if fmt not in REVIEW_FORMATS:
        raise ValueError(f"unknown format {fmt!r} (formats: {', '.join(REVIEW_FORMATS)})")
    source = lines if lines is not None else iter_reviews(engine, queue=queue, history=history)
    if redact:
        source = (redact_value(line) for line in source)
    if fmt == "csv":
        return write_reviews_csv(source, out, history)
    return write_reviews_jsonl(source, out)
