"""Reading records back, and the canonical JSONL export (a contract other tools read)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import orjson
from sqlalchemy import Engine, text

from reviewer.store.schema import RECORD_COLUMNS


def _loads(value: str | None) -> Any:
    return orjson.loads(value) if value else None


def _message(m: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.get("role"), "content": m.get("content", "")}
    for key in ("tool_calls", "tool_call_id", "name", "parts", "error"):
        if m.get(key):
            out[key] = m[key]
    return out


def export_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A stored record row as the documented export object."""
    output = _loads(row["output"])
    feedback = None
    if row["feedback_score"] is not None or row["feedback_comment"]:
        feedback = {"score": row["feedback_score"], "comment": row["feedback_comment"]}
    return {
        "id": row["id"],
        "timestamp": row["timestamp"],
        "source": {
            "path": row["source_path"],
            "line": row["source_line"],
            "format": row["source_format"],
        },
        "provider": row["provider"],
        "model": row["model"],
        "params": _loads(row["params"]) or {},
        "messages": [_message(m) for m in (_loads(row["messages"]) or [])],
        "output": _message(output) if output else None,
        "usage": {"input_tokens": row["input_tokens"], "output_tokens": row["output_tokens"]},
        "latency_ms": row["latency_ms"],
        "cost_usd": row["cost_usd"],
        "user_id": row["user_id"],
        "session_id": row["session_id"],
        "trace_id": row["trace_id"],
        "parent_id": row.get("parent_id"),
        "kind": row.get("kind") or "llm",
        "name": row.get("name"),
        "inputs": _loads(row.get("inputs")),
        "outputs": _loads(row.get("outputs")),
        "prompt": {"name": row["prompt_name"], "version": row["prompt_version"]}
        if row["prompt_name"]
        else None,
        "feedback": feedback,
        "error": row["error"],
        "metadata": _loads(row["metadata"]) or {},
    }


def iter_rows(
    engine: Engine, *, batch: int = 1000, where: str = "", params: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Stored records as dicts of columns, in (timestamp, id) order, in constant memory.

    Pages by keyset rather than holding a cursor open, so it works the same on SQLite and
    PostgreSQL and never loads the whole table.
    """
    cols = ", ".join(c for c in RECORD_COLUMNS if c != "raw")
    last: tuple[str, str] | None = None
    extra = f" AND ({where})" if where else ""
    with engine.connect() as conn:
        while True:
            args = dict(params or {})
            if last is None:
                cond = "1=1"
            else:
                cond = "(COALESCE(timestamp, '') > :ts OR (COALESCE(timestamp, '') = :ts AND id > :id))"
                args.update(ts=last[0], id=last[1])
            sql = text(
                f"SELECT {cols} FROM records WHERE {cond}{extra} ORDER BY COALESCE(timestamp, ''), id LIMIT {batch}"
            )
            rows = conn.execute(sql, args).mappings().all()
            if not rows:
                return
            for row in rows:
                yield dict(row)
            last = (rows[-1]["timestamp"] or "", rows[-1]["id"])


def write_records(engine: Engine, out: IO[bytes]) -> int:
    """Write every record as one JSON object a line; returns the count."""
    count = 0
    for row in iter_rows(engine):
        out.write(orjson.dumps(export_dict(row)))
        out.write(b"\n")
        count += 1
    return count


def load_record(engine: Engine, record_id: str) -> dict[str, Any] | None:
    """One record in the export shape, or None."""
    with engine.connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM records WHERE id = :id"), {"id": record_id})
            .mappings()
            .first()
        )
    return export_dict(dict(row)) if row else None
