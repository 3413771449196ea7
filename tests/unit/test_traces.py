"""Traces: steps stored with their parent, kind and name; each trace's totals; a chat session as
a trace; the tree in depth-first time order; `reviewer traces list|show`; a schema-4 database
upgraded with its traces built; the export carries the step fields."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.records import Record
from reviewer.review.traces import Step, load_trace, tree_order
from reviewer.store.db import SCHEMA_VERSION, open_engine, sqlite_url
from reviewer.store.records import write_records
from reviewer.store.traces import rebuild_traces
from reviewer.store.writer import BulkWriter
from tests.conftest import run_import
from tests.unit.test_bad_input import good_line


def step(rid: str, at: str, **fields: Any) -> Record:
    return Record(
        id=rid, source_format="test", raw="{}", timestamp=f"2026-11-20T10:00:{at}Z", **fields
    )


def store(engine: Engine, records: list[Record]) -> None:
    writer = BulkWriter(engine, None, lambda _key, _new: None)
    for record in records:
        writer.add(record, "k")
    writer.close()
    rebuild_traces(engine)


AGENT = [
    step("root", "00.000000", trace_id="t1", kind="agent", name="support-agent", latency_ms=9000.0,
         outputs={"answer": "Your order shipped."}),
    step("llm1", "00.100000", trace_id="t1", parent_id="root", model="gpt-4o-mini",
         messages=[{"role": "user", "content": "Where is A-1?"}],
         output={"role": "assistant", "content": "", "tool_calls": [
             {"id": "c1", "name": "lookup_order", "arguments": "{\"id\": \"A-1\"}"}]},
         input_tokens=100, output_tokens=20, cost_usd=0.001, latency_ms=800.0),
    step("tool1", "01.000000", trace_id="t1", parent_id="llm1", kind="tool", name="lookup_order",
         inputs={"id": "A-1"}, error="timeout after 5 s", latency_ms=5000.0),
    step("tool2", "06.000000", trace_id="t1", parent_id="root", kind="tool", name="lookup_order",
         inputs={"id": "A-1"}, outputs={"status": "shipped"}, latency_ms=300.0),
    step("llm2", "07.000000", trace_id="t1", parent_id="root", model="gpt-4o-mini",
         messages=[{"role": "user", "content": "Where is A-1?"}],
         output={"role": "assistant", "content": "Your order shipped."},
         input_tokens=150, output_tokens=10, cost_usd=0.002, latency_ms=1500.0),
]  # fmt: skip


def test_an_agent_trace_has_its_totals_its_anchor_and_its_tree(engine: Engine) -> None:
    store(engine, AGENT)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM traces WHERE key = 't1'")).mappings().one()
        kinds = dict(conn.execute(text("SELECT id, kind FROM records")).all())
    assert kinds == {
        "root": "agent",
        "llm1": "llm",
        "tool1": "tool",
        "tool2": "tool",
        "llm2": "llm",
    }
    assert (row["steps"], row["llm_calls"], row["tool_calls"]) == (5, 2, 2)
    assert (row["errors"], row["tool_errors"]) == (1, 1)
    assert (row["input_tokens"], row["output_tokens"]) == (250, 30)
    assert abs(row["cost_usd"] - 0.003) < 1e-12
    assert row["started"] == "2026-11-20T10:00:00.000000Z"
    assert row["ended"] == "2026-11-20T10:00:09.000000Z"
    assert row["duration_ms"] == 9000.0
    assert orjson.loads(row["tools"]) == ["lookup_order"]
    assert row["anchor_id"] == "root"  # one root: the agent's own step
    assert row["final_output"] == '{"answer":"Your order shipped."}'

    trace = load_trace(engine, "t1")
    assert trace is not None
    assert [(s.id, s.depth, s.children) for s in trace.steps] == [
        ("root", 0, 3), ("llm1", 1, 1), ("tool1", 2, 0), ("tool2", 1, 0), ("llm2", 1, 0),
    ]  # fmt: skip
    assert [s.status for s in trace.steps] == ["ok", "ok", "error", "ok", "ok"]
    assert trace.steps[0].label == "support-agent" and trace.steps[1].label == "gpt-4o-mini"
    # a step's record id finds its trace too
    by_step = load_trace(engine, "tool2")
    assert by_step is not None and by_step.key == "t1"


def test_a_chat_session_is_a_trace_in_time_order_ending_on_its_last_call(engine: Engine) -> None:
    store(
        engine,
        [
            step("c2", "05.000000", session_id="s-1", output={"role": "assistant", "content": "B"}),
            step("c1", "01.000000", session_id="s-1", output={"role": "assistant", "content": "A"}),
            step(
                "other", "02.000000", session_id="s-2", output={"role": "assistant", "content": "C"}
            ),
            step("alone", "03.000000", output={"role": "assistant", "content": "D"}),
        ],
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT key, steps, anchor_id, final_output FROM traces ORDER BY key")
        ).all()
    assert rows == [("session:s-1", 2, "c2", "B"), ("session:s-2", 1, "other", "C")]
    trace = load_trace(engine, "session:s-1")
    assert trace is not None and [s.id for s in trace.steps] == ["c1", "c2"]


def test_a_reimport_adds_nothing_and_rebuilding_is_idempotent(
    engine: Engine, tmp_path: Path
) -> None:
    store(engine, AGENT)
    store(engine, AGENT)
    assert rebuild_traces(engine) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM records")).scalar_one() == 5
        assert conn.execute(text("SELECT steps FROM traces")).all() == [(5,)]


def plain(rid: str, parent: str | None, at: str) -> Step:
    return Step(rid, parent, "llm", None, None, at, None, None, None, None, None)


def test_tree_order_survives_missing_parents_and_cycles() -> None:
    steps = [
        plain("b", "a", "2"), plain("a", None, "1"), plain("orphan", "gone", "0"),
        plain("x", "y", "5"), plain("y", "x", "6"), plain("self", "self", "7"),
    ]  # fmt: skip
    ordered = tree_order(steps)
    assert [(s.id, s.depth) for s in ordered] == [
        ("orphan", 0), ("a", 0), ("b", 1), ("self", 0), ("x", 0), ("y", 1),
    ]  # fmt: skip


def test_traces_list_and_show_from_the_shell(tmp_path: Path, monkeypatch: Any) -> None:
    ws = tmp_path / "ws"
    (ws / ".reviewer").mkdir(parents=True)
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    hostile = step(
        "evil", "30.000000", trace_id="t\x1b[31m2", output={"role": "assistant", "content": "x"}
    )
    store(engine, [*AGENT, hostile])
    engine.dispose()
    runner = CliRunner()
    listed = runner.invoke(app, ["--workspace", str(ws), "traces", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["t\x1b[31m2", "t1"]  # newest first
    assert {k: rows[1][k] for k in ("steps", "errors", "tool_errors", "duration_ms", "tools")} == {
        "steps": 5, "errors": 1, "tool_errors": 1, "duration_ms": 9000.0, "tools": ["lookup_order"],
    }  # fmt: skip
    assert rows[1]["first"] == "2026-11-20T10:00:00.000000Z"

    table = runner.invoke(app, ["--workspace", str(ws), "traces", "list"])
    assert table.exit_code == 0
    assert "\x1b" not in table.stdout and "t\\x1b[31m2" in table.stdout

    shown = runner.invoke(app, ["--workspace", str(ws), "traces", "show", "t1", "--json"])
    assert shown.exit_code == 0, shown.output
    tree = orjson.loads(shown.stdout)["tree"]
    assert [(s["id"], s["parent_id"], s["kind"], s["name"], s["status"]) for s in tree] == [
        ("root", None, "agent", "support-agent", "ok"),
        ("llm1", "root", "llm", None, "ok"),
        ("tool1", "llm1", "tool", "lookup_order", "error"),
        ("tool2", "root", "tool", "lookup_order", "ok"),
        ("llm2", "root", "llm", None, "ok"),
    ]
    assert tree[2]["start"] == "2026-11-20T10:00:01.000000Z" and tree[2]["duration_ms"] == 5000.0
    assert tree[2]["end"] == "2026-11-20T10:00:06.000000Z"

    text_out = runner.invoke(app, ["--workspace", str(ws), "traces", "show", "t1"])
    assert "    tool1" in text_out.stdout  # indented by depth
    assert "5 steps, 1 errors" in text_out.stdout
    missing = runner.invoke(app, ["--workspace", str(ws), "traces", "show", "nope"])
    assert missing.exit_code == 2 and "no trace or step 'nope'" in missing.stderr


def test_the_export_carries_each_step_fields(engine: Engine) -> None:
    store(engine, AGENT)
    out = io.BytesIO()
    write_records(engine, out)
    exported = {r["id"]: r for r in map(orjson.loads, out.getvalue().splitlines())}
    tool = exported["tool1"]
    assert (tool["trace_id"], tool["parent_id"], tool["kind"], tool["name"]) == (
        "t1", "llm1", "tool", "lookup_order",
    )  # fmt: skip
    assert tool["inputs"] == {"id": "A-1"} and tool["outputs"] is None
    assert tool["error"] == "timeout after 5 s"
    assert exported["llm2"]["kind"] == "llm" and exported["llm2"]["parent_id"] == "root"


def test_a_schema_4_database_gets_the_step_columns_and_its_traces(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "v4.db")
    engine = open_engine(url)
    log = tmp_path / "log.jsonl"
    log.write_bytes(good_line(1) + good_line(2))
    run_import(engine, log)
    with engine.begin() as conn:  # make it the database release 4 wrote
        conn.execute(text("UPDATE records SET session_id = 's-9'"))
        conn.execute(text("DROP TABLE traces"))
        conn.execute(text("DROP INDEX ix_records_session_id"))
        for column in ("parent_id", "kind", "name", "inputs", "outputs"):
            conn.execute(text(f"ALTER TABLE records DROP COLUMN {column}"))
        conn.execute(text("ALTER TABLE review_events DROP COLUMN step_id"))
        conn.execute(text("ALTER TABLE review_events DROP COLUMN step_notes"))
        conn.execute(text("UPDATE meta SET value = '4' WHERE key = 'schema_version'"))
    engine.dispose()

    engine = open_engine(url)
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT value FROM meta WHERE key = 'schema_version'")
        ).scalar_one() == str(SCHEMA_VERSION)
        assert conn.execute(text("SELECT id, kind, parent_id FROM records ORDER BY id")).all() == [
            ("chatcmpl-1", "llm", None), ("chatcmpl-2", "llm", None),
        ]  # fmt: skip
        assert conn.execute(text("SELECT key, steps FROM traces")).all() == [("session:s-9", 2)]
        columns = {c["name"] for c in inspect(conn).get_columns("review_events")}
        assert {"step_id", "step_notes"} <= columns
    engine.dispose()


def queue(**spec: Any) -> Any:
    from reviewer.review.queues import parse_queue

    return parse_queue({"name": "q", **spec}, "queues/q.yaml")


def members(engine: Engine, q: Any) -> list[str]:
    from reviewer.review.sync import sync_queues

    result = sync_queues(engine, [q])["q"]
    assert result.error is None, result.error
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT record_id FROM queue_items WHERE queue = 'q' AND active ORDER BY record_id"
            )
        ).all()
    return [r[0] for r in rows]


SECOND = [  # a quick trace without tools, on another model
    step("r2", "20.000000", trace_id="t2", kind="agent", name="support-agent", latency_ms=1000.0,
         outputs="Hello!"),
    step("l2", "20.100000", trace_id="t2", parent_id="r2", model="gpt-4o",
         messages=[{"role": "user", "content": "Hi"}], output={"role": "assistant", "content": "Hello!"},
         input_tokens=10, output_tokens=2, latency_ms=500.0),
]  # fmt: skip


def test_a_trace_queue_holds_each_trace_once_by_its_anchor_and_filters_on_the_trace(
    engine: Engine,
) -> None:
    store(engine, [*AGENT, *SECOND])
    # a call queue holds the LLM calls only: tools and agents are reviewed in their trace
    assert members(engine, queue()) == ["l2", "llm1", "llm2"]
    assert members(engine, queue(unit="trace")) == ["r2", "root"]
    checks = {
        "has_error": (True, ["root"]), "has_tool_error": (False, ["r2"]),
        "tool": ("lookup_order", ["root"]), "min_steps": (3, ["root"]), "max_steps": (2, ["r2"]),
        "min_latency_ms": (5000, ["root"]), "max_input_tokens": (100, ["r2"]),
        "min_cost_usd": (0.002, ["root"]), "contains": ("hello", ["r2"]),
        "model": ("gpt-4o", ["r2"]),  # any step
        "since": ("2026-11-20T10:00:10Z", ["r2"]),
        "where": ("kind = 'tool' and error is not null", ["root"]),
    }  # fmt: skip
    for key, (value, expected) in checks.items():
        assert members(engine, queue(unit="trace", filter={key: value})) == expected, key


def test_trace_filters_on_a_call_queue_are_refused_with_the_reason() -> None:
    import pytest

    from reviewer.review.queues import QueueFileError, parse_queue

    with pytest.raises(
        QueueFileError, match="min_steps applies to a whole trace: add `unit: trace`"
    ):
        parse_queue({"name": "q", "filter": {"min_steps": 3}}, "queues/q.yaml")


def test_a_trace_review_marks_a_step_and_notes_steps_and_undo_takes_them_back(
    engine: Engine,
) -> None:
    from reviewer.review.session import ReviewSession

    store(engine, [*AGENT, *SECOND])
    q = queue(unit="trace", filter={"has_error": True})
    assert members(engine, q) == ["root"]
    session = ReviewSession(engine, q, "ana")
    item = session.next_item()
    assert item is not None and item.record_id == "root"
    session.set_verdict(item, "fail")
    session.set_step(item, "tool1")
    session.set_step_note(item, "tool1", "no retry after the timeout")
    session.set_step_note(item, "llm2", "should apologise for the wait")
    with engine.connect() as conn:
        last = conn.execute(
            text("SELECT action, verdict, step_id, step_notes FROM review_events ORDER BY id DESC")
        ).first()
    assert last is not None
    assert (last.action, last.verdict, last.step_id) == ("step_note", "fail", "tool1")
    assert orjson.loads(last.step_notes) == {
        "tool1": "no retry after the timeout", "llm2": "should apologise for the wait",
    }  # fmt: skip
    session.undo()
    session.set_step_note(item, "tool1", "")
    with engine.connect() as conn:
        last = conn.execute(
            text("SELECT step_id, step_notes FROM review_events ORDER BY id DESC")
        ).first()
    assert last is not None and last.step_id == "tool1" and last.step_notes is None
    session.undo()
    session.undo()
    session.undo()
    with engine.connect() as conn:
        last = conn.execute(
            text("SELECT step_id, verdict FROM review_events ORDER BY id DESC")
        ).first()
    assert last is not None and (last.step_id, last.verdict) == (None, "fail")


def test_a_final_output_logged_as_genai_messages_is_their_text() -> None:
    from reviewer.store.traces import final_output_text

    said = [
        {"role": "assistant", "parts": [{"type": "text", "content": "Your return is ready."}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "Anything else?"}]},
    ]
    as_text = orjson.dumps(orjson.dumps(said).decode()).decode()  # JSON text inside the JSON
    assert final_output_text(None, as_text) == "Your return is ready.\nAnything else?"
    assert final_output_text(None, orjson.dumps(said).decode()) == (
        "Your return is ready.\nAnything else?"
    )
    # other results stay as they were logged
    assert final_output_text(None, '{"answer": "shipped"}') == '{"answer":"shipped"}'
    assert final_output_text(None, '"[not json"') == "[not json"
    calls_only = [{"role": "assistant", "parts": [{"type": "tool_call", "name": "x"}]}]
    assert (
        final_output_text(None, orjson.dumps(calls_only).decode())
        == orjson.dumps(calls_only).decode()
    )
