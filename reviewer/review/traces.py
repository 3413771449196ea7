"""Reading traces back: the list of traces with their totals, and one trace's tree of steps.

A trace's tree is read from the few columns a step needs to be shown in a tree (never its
messages or raw text), so a trace of 10,000 steps loads at once; a step's content is read when
it is selected (`step_record`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy import Engine, text

from reviewer.store.traces import SESSION_PREFIX, TRACE_COLUMNS, end_time

#: how much of a step's error text the tree carries (the step's content has all of it)
ERROR_CHARS = 200


@dataclass(slots=True)
class Step:
    """One step of a trace as its tree shows it."""

    id: str
    parent_id: str | None
    kind: str
    name: str | None
    model: str | None
    timestamp: str | None
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    error: str | None
    depth: int = 0
    children: int = 0

    @property
    def status(self) -> Literal["ok", "error"]:
        return "error" if self.error else "ok"

    @property
    def label(self) -> str:
        """What the tree calls the step: its name, else its model, else its kind."""
        return self.name or self.model or self.kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "kind": self.kind,
            "name": self.name,
            "model": self.model,
            "start": self.timestamp,
            "end": end_time(self.timestamp, self.latency_ms),
            "duration_ms": self.latency_ms,
            "depth": self.depth,
            "status": self.status,
            "error": self.error,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }


@dataclass(slots=True)
class Trace:
    """A trace's totals (a row of the `traces` table) and its steps in tree order."""

    totals: dict[str, Any]
    steps: list[Step] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.totals["key"])

    def to_dict(self) -> dict[str, Any]:
        return {**summary(self.totals), "tree": [s.to_dict() for s in self.steps]}


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """A `traces` row as the documented JSON object (`reviewer traces list --json`)."""
    tools = orjson.loads(row["tools"]) if row.get("tools") else []
    return {
        "id": row["key"],
        "anchor_id": row["anchor_id"],
        "steps": row["steps"],
        "llm_calls": row["llm_calls"],
        "tool_calls": row["tool_calls"],
        "errors": row["errors"],
        "tool_errors": row["tool_errors"],
        "duration_ms": row["duration_ms"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cost_usd": row["cost_usd"],
        "tools": tools,
        "first": row["started"],
        "last": row["ended"],
    }


def list_traces(
    engine: Engine, *, limit: int | None = None, order: Literal["newest", "oldest"] = "newest"
) -> Iterator[dict[str, Any]]:
    """The traces' rows (TRACE_COLUMNS), newest first by default, in constant memory."""
    direction = "DESC" if order == "newest" else "ASC"
    cols = ", ".join(TRACE_COLUMNS)
    sql = f"SELECT {cols} FROM traces ORDER BY COALESCE(started, '') {direction}, key {direction}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(text(sql))
        for row in result.mappings():
            yield dict(row)


def trace_row(engine: Engine, ref: str) -> dict[str, Any] | None:
    """A trace's row, found by its id (`session:ID` for a chat session) or by one of its steps'
    record ids; None when there is none."""
    cols = ", ".join(TRACE_COLUMNS)
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT {cols} FROM traces WHERE key = :k"), {"k": ref}).first()
        if row is None:
            step = conn.execute(
                text("SELECT trace_id, session_id FROM records WHERE id = :id"), {"id": ref}
            ).first()
            if step is not None:
                key = step[0] or (SESSION_PREFIX + step[1] if step[1] else None)
                if key is not None:
                    row = conn.execute(
                        text(f"SELECT {cols} FROM traces WHERE key = :k"), {"k": key}
                    ).first()
    return dict(row._mapping) if row is not None else None


def load_trace(engine: Engine, ref: str) -> Trace | None:
    """A trace and its steps in tree order (see `tree_order`), or None."""
    row = trace_row(engine, ref)
    if row is None:
        return None
    key = row["key"]
    cols = (
        "id, parent_id, kind, name, model, timestamp, latency_ms, input_tokens, output_tokens,"
        f" cost_usd, substr(error, 1, {ERROR_CHARS}) AS error"
    )
    if key.startswith(SESSION_PREFIX):
        sql = f"SELECT {cols} FROM records WHERE trace_id IS NULL AND session_id = :k"
        arg = key[len(SESSION_PREFIX) :]
    else:
        sql = f"SELECT {cols} FROM records WHERE trace_id = :k"
        arg = key
    with engine.connect() as conn:
        steps = [Step(*r) for r in conn.execute(text(sql), {"k": arg})]
    for step in steps:
        step.kind = step.kind or "llm"
    return Trace(totals=row, steps=tree_order(steps))


def tree_order(steps: list[Step]) -> list[Step]:
    """The steps depth first, each step's children in time order, with their depth and number
    of children set. A step whose parent is not in the trace is a root; so is each step of a
    cycle (a malformed log), which is shown once."""
    ids = {s.id for s in steps}
    children: dict[str | None, list[Step]] = {}
    for step in steps:
        parent = step.parent_id if step.parent_id in ids and step.parent_id != step.id else None
        children.setdefault(parent, []).append(step)
    for group in children.values():
        group.sort(key=lambda s: (s.timestamp or "", s.id))
    ordered: list[Step] = []
    seen: set[str] = set()

    def walk(roots: list[Step]) -> None:
        stack = [(s, 0) for s in reversed(roots)]
        while stack:
            step, depth = stack.pop()
            if step.id in seen:
                continue
            seen.add(step.id)
            step.depth = depth
            kids = children.get(step.id, [])
            step.children = len(kids)
            ordered.append(step)
            stack.extend((k, depth + 1) for k in reversed(kids))

    walk(children.get(None, []))
    if len(ordered) < len(steps):  # cycles: no step of theirs is reachable from a root
        walk(
            sorted((s for s in steps if s.id not in seen), key=lambda s: (s.timestamp or "", s.id))
        )
    return ordered


def step_record(engine: Engine, step_id: str) -> dict[str, Any]:
    """One step's content (messages, output, inputs, outputs, error...) in the export shape,
    read when the step is selected."""
    from reviewer.store.events import load_record

    with engine.connect() as conn:
        return load_record(conn, step_id)
