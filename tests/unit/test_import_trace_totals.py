"""Parsing workers store the totals of the traces whose steps are all in their chunk with the
chunk; the others are rebuilt at the end: the traces table is the one a rebuild from every
step gives, whatever the chunks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from reviewer.store.db import open_engine, sqlite_url
from reviewer.store.traces import rebuild_traces
from tests.conftest import REAL_LOGS, run_import
from tests.unit.test_openai_chat import COMPLETION

SPAN = orjson.loads(
    (REAL_LOGS / "openinference-phoenix" / "otel-python-to_json.jsonl").read_bytes().split(b"\n")[0]
)


def chat_line(n: int, session: str, answer: str | None = None) -> bytes:
    response = dict(COMPLETION, id=f"chatcmpl-{n}", created=1760000000 + n)
    if answer is not None:
        message = {"role": "assistant", "content": answer}
        response["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{n}"}]}
    return orjson.dumps(
        {"session_id": session, "latency_ms": 100 + n, "request": request, "response": response}
    )


def span_line(n: int, trace: int, parent: int | None) -> bytes:
    span = dict(SPAN, parent_id=None if parent is None else f"0x{parent:016x}")
    span["context"] = dict(SPAN["context"], trace_id=f"0x{trace:032x}", span_id=f"0x{n:016x}")
    span["start_time"] = f"2026-12-03T06:{n // 60 % 60:02d}:{n % 60:02d}.000000Z"
    span["end_time"] = f"2026-12-03T06:{n // 60 % 60:02d}:{n % 60:02d}.250000Z"
    return orjson.dumps(span)


def traces_table(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM traces ORDER BY key"))]


def check_traces(engine: Engine, tmp_path: Path, workers: int) -> None:
    earlier = tmp_path / "earlier.jsonl"  # a session the big file adds steps to
    earlier.write_bytes(chat_line(10_000, "s-far") + b"\n")
    lines, last_span = [], {}
    for i in range(700):
        if i % 4 == 3:  # five agent traces, their steps all over the file
            trace = i % 5
            lines.append(span_line(i, trace, last_span.get(trace)))
            last_span[trace] = i
        elif i % 100 == 0:
            lines.append(chat_line(i, "s-far"))
        else:
            lines.append(chat_line(i, f"s-{i // 7}"))  # short sessions, some across chunks
    lines.append(chat_line(8, "s-1"))  # a duplicate
    # the last step of session s-20 (lines 140-146): its answer is the trace's final output
    lines[146] = chat_line(146, "s-20", "a NUL \u0000 in the answer")
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    run_import(engine, earlier, workers=0)
    report = run_import(engine, path, workers=workers, parallel_min_bytes=0)
    assert (report.total("imported"), report.total("duplicates")) == (700, 1)
    imported = traces_table(engine)
    rebuild_traces(engine)
    assert imported == traces_table(engine)
    keys = [row[0] for row in imported]
    assert len(keys) == 5 + 1 + len({i // 7 for i in range(700) if i % 4 != 3 and i % 100})
    far = next(row for row in imported if row[0] == "session:s-far")
    assert far[2] == 1 + 7  # its step from the earlier import and the seven in the big file
    s20 = next(row for row in imported if row[0] == "session:s-20")
    nul = "\x00" if engine.dialect.name == "sqlite" else "\\x00"  # PostgreSQL text holds no NUL
    assert s20[-1] == f"a NUL {nul} in the answer"


@pytest.mark.parametrize(("workers", "chunk"), [(2, 50), (2, 7), (1, 500)])
def test_the_traces_are_those_a_rebuild_gives_however_the_file_is_split(
    tmp_path, monkeypatch, workers, chunk
):
    monkeypatch.setattr("reviewer.ingest.pipeline.PARALLEL_CHUNK", chunk)
    engine = open_engine(sqlite_url(tmp_path / "db" / "r.db"))
    check_traces(engine, tmp_path, workers)
    engine.dispose()


def test_the_traces_are_those_a_rebuild_gives_on_postgres(pg_engine, tmp_path, monkeypatch):
    monkeypatch.setattr("reviewer.ingest.pipeline.PARALLEL_CHUNK", 50)
    check_traces(pg_engine, tmp_path, 2)


def test_the_traces_table_declares_the_totals_columns_in_their_order() -> None:
    """The SQLModel table and the `Totals` dataclass name the same columns (the table must
    declare its own; the writer and the readers go by `TRACE_COLUMNS`)."""
    from reviewer.store.schema import TraceRow
    from reviewer.store.traces import TRACE_COLUMNS, Totals

    table = TraceRow.__table__  # type: ignore[attr-defined]
    assert tuple(c.name for c in table.columns) == TRACE_COLUMNS
    assert [c.name for c in table.primary_key.columns] == ["key"]
    # the defaults a fresh trace row starts from are the dataclass's
    fresh = Totals(key="t").row()
    declared = {c.name: c.default.arg if c.default is not None else None for c in table.columns}
    assert {k: v for k, v in fresh.items() if k != "key"} == {
        k: v for k, v in declared.items() if k != "key"
    }
