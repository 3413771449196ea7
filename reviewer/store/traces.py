"""Traces: the steps of one agent run (or one chat session) and their totals.

A record is a step of a trace: its `trace_id` names the trace, its `parent_id` the step it ran
under, its `kind` what it is (an LLM call, a tool, a retriever, an agent...). Records of a plain
chat log that share no trace id but a session id form a trace too, in time order; its key is
`session:` and the session id.

The `traces` table keeps each trace's totals (steps, errors, tokens, cost, duration, the tools
called, the final output) so that listing, filtering and reviewing traces never reads the steps
themselves. It is rebuilt for the traces an import touched, and for every trace when a database
is upgraded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, text

from reviewer.records import TIMESTAMP_FORMAT
from reviewer.store.schema import RECORD_COLUMNS

SESSION_PREFIX = "session:"
#: the longest final output kept on a trace for `output contains` filters
FINAL_OUTPUT_CHARS = 4000
#: what a trace's totals are computed from (never the raw text or the messages)
STEP_COLUMNS = (
    "id", "trace_id", "session_id", "parent_id", "kind", "name", "timestamp", "latency_ms",
    "input_tokens", "output_tokens", "cost_usd", "error",
)  # fmt: skip
_CHUNK = 400


def trace_key(trace_id: str | None, session_id: str | None) -> str | None:
    """The trace a record belongs to: its trace id, else its session; None for neither."""
    if trace_id:
        return trace_id
    if session_id:
        return SESSION_PREFIX + session_id
    return None


def _epoch(timestamp: str) -> float | None:
    """Seconds since the epoch of a stored timestamp (fixed-width UTC text)."""
    try:
        return datetime.fromisoformat(timestamp).timestamp()
    except ValueError:
        return None


def _text_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(TIMESTAMP_FORMAT)


def end_time(timestamp: str | None, latency_ms: float | None) -> str | None:
    """When a step ended: its start plus its latency (its start when the latency is unknown)."""
    if timestamp is None or not latency_ms:
        return timestamp
    try:
        start = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return (start + timedelta(milliseconds=latency_ms)).strftime(TIMESTAMP_FORMAT)


@dataclass(slots=True)
class Totals:
    """One trace's row of the `traces` table."""

    key: str
    anchor_id: str = ""
    steps: int = 0
    llm_calls: int = 0
    tool_calls: int = 0
    errors: int = 0
    tool_errors: int = 0
    started: str | None = None
    ended: str | None = None
    duration_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    tools: list[str] = field(default_factory=list)
    final_output: str | None = None

    def escape_nul(self) -> None:
        """PostgreSQL text cannot hold NUL: written as the escape \\x00 (as in the records)."""
        if self.final_output is not None and "\x00" in self.final_output:
            self.final_output = self.final_output.replace("\x00", "\\x00")
        self.tools = [n.replace("\x00", "\\x00") for n in self.tools]
        self.anchor_id = self.anchor_id.replace("\x00", "\\x00")

    def row(self) -> dict[str, Any]:
        """The row as the table holds it (the tools as JSON text). Field by field: `asdict`
        copies every value deeply, which took longer than computing the totals."""
        row = {name: getattr(self, name) for name in TRACE_COLUMNS}
        row["tools"] = orjson.dumps(self.tools).decode() if self.tools else None
        return row


#: the `traces` table's columns, in `Totals`' order
TRACE_COLUMNS = tuple(f.name for f in fields(Totals))


def _add(total: int | float | None, value: int | float | None) -> Any:
    if value is None:
        return total
    return value if total is None else total + value


def anchor_of(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The step a reviewer's verdict on the whole trace is stored on: its root when it has one
    root, else (a chat session, or top-level steps side by side) the step that ended last."""
    ids = {s["id"] for s in steps}
    roots = [s for s in steps if not s["parent_id"] or s["parent_id"] not in ids]
    if len(roots) == 1:
        return roots[0]
    pool = roots or steps
    return max(pool, key=lambda s: (s.get("_end") or 0.0, s["timestamp"] or "", s["id"]))


def totals_of(key: str, steps: list[dict[str, Any]]) -> Totals:
    """A trace's totals from its steps (dicts of `STEP_COLUMNS`)."""
    t = Totals(key=key, steps=len(steps))
    tools: set[str] = set()
    first: float | None = None
    last: float | None = None
    for s in steps:
        kind = s["kind"] or "llm"
        start = _epoch(s["timestamp"]) if s["timestamp"] else None
        end = None if start is None else start + (s["latency_ms"] or 0.0) / 1000.0
        s["_end"] = end
        if kind == "llm":
            t.llm_calls += 1
        elif kind == "tool":
            t.tool_calls += 1
            if s["name"]:
                tools.add(s["name"])
            if s["error"]:
                t.tool_errors += 1
        if s["error"]:
            t.errors += 1
        t.input_tokens = _add(t.input_tokens, s["input_tokens"])
        t.output_tokens = _add(t.output_tokens, s["output_tokens"])
        t.cost_usd = _add(t.cost_usd, s["cost_usd"])
        if start is not None and (first is None or start < first):
            first, t.started = start, s["timestamp"]
        if end is not None and (last is None or end > last):
            last = end
    if first is not None and last is not None:
        t.ended = _text_of(last)
        t.duration_ms = round((last - first) * 1000.0, 3)
    t.tools = sorted(tools)
    t.anchor_id = anchor_of(steps)["id"]
    return t


def final_output_text(output: str | None, outputs: str | None) -> str | None:
    """The text a trace ended with: its anchor's output message, or its result (as JSON text)."""
    from reviewer.messages import text_of

    if output:
        message = orjson.loads(output)
        if isinstance(message, dict):
            calls = " ".join(
                f"{c.get('name', '')}({c.get('arguments', '')})"
                for c in message.get("tool_calls") or []
                if isinstance(c, dict)
            )
            shown = " ".join(x for x in (text_of([message]), calls) if x)
            return shown[:FINAL_OUTPUT_CHARS] or None
    if outputs:
        value = orjson.loads(outputs)
        shown = _genai_text(value) or (
            value if isinstance(value, str) else orjson.dumps(value).decode()
        )
        return shown[:FINAL_OUTPUT_CHARS] or None
    return None


def _genai_text(value: Any) -> str | None:
    """The text of a result logged as OpenTelemetry GenAI output messages (`[{"role", "parts":
    [{"type": "text", "content"}]}]`, as an agent span's `gen_ai.output.messages`, also as JSON
    text), else None: read as what the agent said, not as a JSON document."""
    if isinstance(value, str) and value[:1] == "[":
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(value, list) or not value:
        return None
    texts: list[str] = []
    for message in value:
        parts = message.get("parts") if isinstance(message, dict) else None
        if not isinstance(parts, list) or "role" not in message:
            return None
        texts += [
            str(part["content"])
            for part in parts
            if isinstance(part, dict) and part.get("type") == "text" and "content" in part
        ]
    return "\n".join(texts)


def _step(row: Any) -> dict[str, Any]:
    return dict(zip(STEP_COLUMNS, row, strict=True))


def trace_steps(conn: Connection, key: str) -> list[dict[str, Any]]:
    """The steps of trace `key` (dicts of STEP_COLUMNS), in no particular order."""
    cols = ", ".join(STEP_COLUMNS)
    if key.startswith(SESSION_PREFIX):
        sql = f"SELECT {cols} FROM records WHERE session_id = :k"
        rows = conn.execute(text(sql), {"k": key[len(SESSION_PREFIX) :]})
        return [_step(r) for r in rows if r[1] is None]  # trace_id is the second column
    rows = conn.execute(text(f"SELECT {cols} FROM records WHERE trace_id = :k"), {"k": key})
    return [_step(r) for r in rows]


def _grouped(conn: Connection, import_id: int | None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every trace an import touched (every trace with None) with its steps: two ordered scans,
    one by trace id and one by session, each over its index, one trace in memory at a time."""
    cols = ", ".join(STEP_COLUMNS)
    args = {} if import_id is None else {"imp": import_id}
    mine = "" if import_id is None else " AND import_id = :imp"
    scans = (
        (
            f"SELECT {cols} FROM records WHERE trace_id IN (SELECT DISTINCT trace_id FROM records"
            f" WHERE trace_id IS NOT NULL{mine}) ORDER BY trace_id",
            1,
            "",
        ),
        (
            f"SELECT {cols} FROM records WHERE session_id IN (SELECT DISTINCT session_id FROM"
            f" records WHERE trace_id IS NULL AND session_id IS NOT NULL{mine}) ORDER BY session_id",
            2,
            SESSION_PREFIX,
        ),
    )
    for sql, at, prefix in scans:
        current: str | None = None
        steps: list[dict[str, Any]] = []
        for row in conn.execute(text(sql), args):
            if prefix and row[1] is not None:  # a step of a trace that has an id
                continue
            value = row[at]
            if value != current:
                if steps:
                    yield prefix + current, steps  # type: ignore[operator]
                current, steps = value, []
            steps.append(_step(row))
        if steps:
            yield prefix + current, steps  # type: ignore[operator]


def _grouped_keys(conn: Connection, keys: set[str]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The traces named by `keys` with their steps, a few hundred traces a query."""
    from sqlalchemy import bindparam

    cols = ", ".join(STEP_COLUMNS)
    sessions = sorted(k[len(SESSION_PREFIX) :] for k in keys if k.startswith(SESSION_PREFIX))
    traces = sorted(k for k in keys if not k.startswith(SESSION_PREFIX))
    for values, column, prefix in (
        (traces, "trace_id", ""),
        (sessions, "session_id", SESSION_PREFIX),
    ):
        sql = text(f"SELECT {cols} FROM records WHERE {column} IN :v").bindparams(
            bindparam("v", expanding=True)
        )
        for start in range(0, len(values), _CHUNK):
            found: dict[str, list[dict[str, Any]]] = {}
            for row in conn.execute(sql, {"v": values[start : start + _CHUNK]}):
                if prefix and row[1] is not None:  # a step of a trace that has an id
                    continue
                found.setdefault(row[2] if prefix else row[1], []).append(_step(row))
            for value, steps in found.items():
                yield prefix + value, steps


def rebuild_traces(
    engine: Engine | Connection, import_id: int | None = None, keys: set[str] | None = None
) -> int:
    """Recompute the totals of the traces named by `keys`, else of those an import touched
    (every trace with None); returns how many traces were written, in one transaction."""
    if isinstance(engine, Connection):
        return _rebuild(engine, import_id, keys)
    with engine.begin() as conn:
        return _rebuild(conn, import_id, keys)


_INSERT = (
    f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)})"
    f" VALUES ({', '.join(':' + c for c in TRACE_COLUMNS)})"
)


def _rebuild(conn: Connection, import_id: int | None, keys: set[str] | None) -> int:
    written = 0
    batch: list[Totals] = []
    grouped = _grouped(conn, import_id) if keys is None else _grouped_keys(conn, keys)
    for key, steps in grouped:
        batch.append(totals_of(key, steps))
        if len(batch) >= _CHUNK:
            written += _write(conn, batch)
            batch = []
    if batch:
        written += _write(conn, batch)
    return written


def _write(conn: Connection, rows: list[Totals]) -> int:
    """Store a batch of traces' totals, with their final outputs, in place of the old ones."""
    from sqlalchemy import bindparam

    outputs: dict[str, tuple[str | None, str | None]] = {}
    stmt = text("SELECT id, output, outputs FROM records WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    for rid, output, outs in conn.execute(stmt, {"ids": [t.anchor_id for t in rows]}):
        outputs[rid] = (output, outs)
    for t in rows:
        t.final_output = final_output_text(*outputs.get(t.anchor_id, (None, None)))
        if conn.dialect.name != "sqlite":
            t.escape_nul()
    delete = text("DELETE FROM traces WHERE key IN :keys").bindparams(
        bindparam("keys", expanding=True)
    )
    conn.execute(delete, {"keys": [t.key for t in rows]})
    conn.execute(text(_INSERT), [t.row() for t in rows])
    return len(rows)


# -- the totals of the traces whose steps are all in one batch of rows, as it is written --

_AT = {name: RECORD_COLUMNS.index(name) for name in (*STEP_COLUMNS, "output", "outputs")}


@dataclass(slots=True)
class RowTraces:
    """The traces record rows (in RECORD_COLUMNS order) are steps of, each with its totals as
    these rows alone give them, and how many of the rows carry each trace and session id."""

    totals: list[Totals]
    by_trace: dict[str, int]
    by_session: dict[str, int]


def traces_of_rows(rows: list[tuple[Any, ...]]) -> RowTraces:
    """The totals of the traces `rows` are steps of, from these rows alone (true of a trace
    when the database has no other step of it: see `store_whole_traces`)."""
    at_trace, at_session = _AT["trace_id"], _AT["session_id"]
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    by_trace: dict[str, int] = {}
    by_session: dict[str, int] = {}
    for row in rows:
        trace_id, session_id = row[at_trace], row[at_session]
        if trace_id:
            by_trace[trace_id] = by_trace.get(trace_id, 0) + 1
        if session_id:
            by_session[session_id] = by_session.get(session_id, 0) + 1
        key = trace_key(trace_id, session_id)
        if key is not None:
            grouped.setdefault(key, []).append(row)
    step_at = [_AT[c] for c in STEP_COLUMNS]
    totals: list[Totals] = []
    for key, steps_rows in grouped.items():
        t = totals_of(key, [_step([r[i] for i in step_at]) for r in steps_rows])
        anchor = next(r for r in steps_rows if r[0] == t.anchor_id)
        t.final_output = final_output_text(anchor[_AT["output"]], anchor[_AT["outputs"]])
        totals.append(t)
    return RowTraces(totals, by_trace, by_session)


def store_whole_traces(cur: Any, ph: str, found: RowTraces) -> list[str]:
    """In the transaction that has just written the rows of `found` (on a DB-API cursor,
    placeholder `ph`): store the totals of the traces none of whose steps is elsewhere in the
    database; returns the keys of the others, whose totals must be rebuilt from the database
    (`rebuild_traces(keys=...)`) once all their steps are written."""
    counted: dict[str, int] = {}
    for column, mine, prefix in (
        ("trace_id", found.by_trace, ""),
        ("session_id", found.by_session, SESSION_PREFIX),
    ):
        values = list(mine)
        if ph == "%s":
            # PostgreSQL: one index lookup a key. An IN list of a chunk's keys is planned as a
            # scan of the whole table while it has no statistics yet (a first import), which
            # made each chunk slower than the last.
            cur.execute(
                f"SELECT k.v, (SELECT count(*) FROM records r WHERE r.{column} = k.v)"
                " FROM unnest(%s::text[]) AS k(v)",
                [values],
            )
            counted.update((prefix + value, n) for value, n in cur.fetchall() if n)
            continue
        for start in range(0, len(values), _CHUNK):
            part = values[start : start + _CHUNK]
            cur.execute(
                f"SELECT {column}, count(*) FROM records WHERE {column} IN"
                f" ({', '.join([ph] * len(part))}) GROUP BY {column}",
                part,
            )
            for value, n in cur.fetchall():
                counted[prefix + value] = n
    whole: list[Totals] = []
    left: list[str] = []
    for t in found.totals:
        if t.key.startswith(SESSION_PREFIX):
            mine_n = found.by_session[t.key[len(SESSION_PREFIX) :]]
        else:
            mine_n = found.by_trace[t.key]
        if counted.get(t.key) == mine_n:
            whole.append(t)
        else:
            left.append(t.key)
    for start in range(0, len(whole), _CHUNK):
        batch = whole[start : start + _CHUNK]
        cur.execute(
            f"DELETE FROM traces WHERE key IN ({', '.join([ph] * len(batch))})",
            [t.key for t in batch],
        )
        cur.executemany(
            f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)})"
            f" VALUES ({', '.join([ph] * len(TRACE_COLUMNS))})",
            [tuple(t.row().values()) for t in batch],
        )
    return left
