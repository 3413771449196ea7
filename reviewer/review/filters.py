"""A queue's `filter:` as one SQLAlchemy condition over the `records` table.

All conditions are combined with AND; nothing a queue file says is pasted into SQL (values are
bound parameters, metadata keys go into JSON paths as parameters). The same condition runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true

from reviewer.records import MADE_HERE_FORMATS, NO_MESSAGES
from reviewer.review.queues import QueueDef, QueueFilter
from reviewer.review.where import (
    contains_text,
    json_text,
    metadata_equals,
    metadata_paths,
    parse_when,
    records_table,
    where_clause,
)
from reviewer.store.traces import SESSION_PREFIX

#: Feedback scores are in 0..1: below this is negative (thumbs down is 0), from it positive.
NEGATIVE_BELOW = 0.5


def filter_clause(
    f: QueueFilter, now: datetime | None = None, unit: str = "call"
) -> ColumnElement[bool]:
    """The condition a record meets to be in a queue; `now` anchors durations such as `since: 7d`.

    In a `unit: trace` queue the records are the traces' anchors (`reviewer.store.traces`): the
    trace conditions apply to the trace's totals, the others to any of its steps."""
    now = now or datetime.now(UTC)
    if unit == "trace":
        return _trace_clause(f, now)
    c = records_table().c
    conds = _step_conditions(f, now)
    conds.append(c.kind == "llm")  # tools, retrievers, agents... are reviewed in their trace
    if f.since is not None:
        conds.append(c.timestamp >= parse_when(f.since).resolve(now))
    if f.until is not None:
        conds.append(c.timestamp < parse_when(f.until).resolve(now, end_of_day=True))
    if f.has_error is not None:
        conds.append(c.error.is_not(None) if f.has_error else c.error.is_(None))
    if f.content != "any":
        conds.append(content_clause(f.content == "with"))
    bounds: list[tuple[Any, Any, Any]] = [
        (c.latency_ms, f.min_latency_ms, f.max_latency_ms),
        (c.input_tokens, f.min_input_tokens, f.max_input_tokens),
        (c.output_tokens, f.min_output_tokens, f.max_output_tokens),
    ]
    conds.extend(_bounds(bounds))
    if f.contains:
        conds.append(
            or_(contains_text(c.messages, f.contains), contains_text(c.output, f.contains))
        )
    return and_(*conds) if conds else true()


def queue_clause(queue: QueueDef, now: datetime | None = None) -> ColumnElement[bool]:
    """The condition a record meets to be in the queue: its filter's, or for a `unit: pair`
    queue, being one of the pair records of its two runs (the `pairs` table)."""
    if queue.unit == "pair":
        from sqlalchemy import select

        from reviewer.store.schema import PairRow

        assert queue.runs is not None
        p = PairRow.__table__.c  # type: ignore[attr-defined]
        run_a, run_b = queue.runs
        rt = records_table()
        return and_(
            rt.c.id.in_(select(p.record_id).where(p.run_a == run_a, p.run_b == run_b)),
            rt.c.kind == "pair",
        )
    return filter_clause(queue.filter, now, queue.unit)


def _bounds(bounds: list[tuple[Any, Any, Any]]) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for col, low, high in bounds:
        if low is not None:
            conds.append(col >= low)
        if high is not None:
            conds.append(col <= high)
    return conds


def _step_conditions(f: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The conditions on one record (a call, or any step of a trace)."""
    c = records_table().c
    conds: list[ColumnElement[bool]] = []
    if f.feedback == "negative":
        conds.append(c.feedback_score < NEGATIVE_BELOW)
    elif f.feedback == "positive":
        conds.append(c.feedback_score >= NEGATIVE_BELOW)
    elif f.feedback == "none":
        conds.append(c.feedback_score.is_(None))
    for values, col in ((f.provider, c.provider), (f.model, c.model), (f.format, c.source_format)):
        if values:
            conds.append(col.in_(values))
    if not f.format:  # records made here join only a queue that names their format
        conds.append(c.source_format.not_in(MADE_HERE_FORMATS))
    for key, value in f.metadata.items():
        conds.append(metadata_equals(key, value))
    if f.where:
        conds.append(where_clause(f.where, now))
    return conds


def trace_key_expression() -> ColumnElement[Any]:
    """A record's trace key (see `reviewer.store.traces.trace_key`) in SQL."""
    from sqlalchemy import func, literal

    c = records_table().c
    return func.coalesce(c.trace_id, literal(SESSION_PREFIX) + c.session_id)


def _trace_clause(f: QueueFilter, now: datetime) -> ColumnElement[bool]:
    from sqlalchemy import select

    from reviewer.store.schema import TraceRow

    t = TraceRow.__table__.c  # type: ignore[attr-defined]
    rt = records_table()
    conds: list[ColumnElement[bool]] = []
    if f.since is not None:
        conds.append(t.started >= parse_when(f.since).resolve(now))
    if f.until is not None:
        conds.append(t.started < parse_when(f.until).resolve(now, end_of_day=True))
    if f.has_error is not None:
        conds.append(t.errors > 0 if f.has_error else t.errors == 0)
    if f.has_tool_error is not None:
        conds.append(t.tool_errors > 0 if f.has_tool_error else t.tool_errors == 0)
    conds.extend(
        _bounds(
            [
                (t.duration_ms, f.min_latency_ms, f.max_latency_ms),
                (t.input_tokens, f.min_input_tokens, f.max_input_tokens),
                (t.output_tokens, f.min_output_tokens, f.max_output_tokens),
                (t.steps, f.min_steps, f.max_steps),
                (t.cost_usd, f.min_cost_usd, f.max_cost_usd),
            ]
        )
    )
    if f.tool:  # the JSON list of the tools called holds the name, quoted
        import orjson

        conds.append(or_(*(t.tools.contains(orjson.dumps(name).decode()) for name in f.tool)))
    if f.contains:
        conds.append(contains_text(t.final_output, f.contains))
    steps = _step_conditions(f, now)
    if steps:
        conds.append(t.key.in_(select(trace_key_expression()).where(and_(*steps))))
    anchors = select(t.anchor_id)
    if conds:
        anchors = anchors.where(and_(*conds))
    return rt.c.id.in_(anchors)


def content_clause(with_content: bool) -> ColumnElement[bool]:
    """Records with content (input messages or an output), or without (`with_content` False).

    Read from the columns as stored (no messages is the text `[]`, no output NULL): two plain
    comparisons, no JSON parsing, cheap beside the other conditions on any table size (and a
    sync with nothing changed only looks at the newly imported records, by import id)."""
    c = records_table().c
    no_messages = or_(c.messages.is_(None), c.messages == NO_MESSAGES)
    without = and_(c.output.is_(None), no_messages)
    if with_content:
        return or_(c.output.is_not(None), and_(c.messages.is_not(None), c.messages != NO_MESSAGES))
    return without


def field_expression(name: str) -> ColumnElement[Any]:
    """A record field by name (`model`, `metadata.KEY`...), as used by `sample.stratify`."""
    c = records_table().c
    if name.startswith("metadata."):
        from sqlalchemy import func

        paths = metadata_paths(name.removeprefix("metadata."))
        texts = [json_text(c.metadata, p) for p in paths]
        return texts[0] if len(texts) == 1 else func.coalesce(*texts)
    return c[name]  # type: ignore[no-any-return]
