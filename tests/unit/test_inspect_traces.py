"""Inspect eval logs as traces: each sample is a trace whose root step is the sample; its model,
tool, span and reviewer-facing events are the steps, linked through their span ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from reviewer.review.traces import load_trace
from tests.conftest import REAL_LOGS, records, rejects, run_import

EVAL_LOG = REAL_LOGS / "inspect-eval-log" / "2025-05-12T20-28-13-04-00_popularity.json"
EVAL_ZIP = REAL_LOGS / "inspect-eval-zip" / "orders-tool-errors.eval"
RUN = "ckaEjtV26gZFD7rCCxv6Ry"
LOG_RUN = "VnKtvCqGnnegLQ7qSBFDzx"


def tree(engine: Any, key: str) -> list[tuple[str, str | None, str, str | None, int]]:
    trace = load_trace(engine, key)
    assert trace is not None, key
    return [(s.id, s.parent_id, s.kind, s.name, s.depth) for s in trace.steps]


def totals(engine: Any, key: str) -> tuple[Any, ...]:
    trace = load_trace(engine, key)
    assert trace is not None
    t = trace.totals
    return (t["steps"], t["llm_calls"], t["tool_calls"], t["errors"], t["tool_errors"])


def test_eval_zip_samples_are_traces_with_their_tool_steps(engine):
    report = run_import(engine, EVAL_ZIP)
    # steps that are not LLM calls have no messages by nature: not counted as without content
    assert (report.total("records"), report.total("without_content")) == (20, 0)
    root = f"{RUN}:archived:1"
    assert tree(engine, root) == [
        (root, None, "agent", "orders", 0),
        ("T5ZpS8tKwvxt57B8N6WS8j", root, "chain", "solvers", 1),
        ("4cdpivZqLwa5acQH4PwWdG", "T5ZpS8tKwvxt57B8N6WS8j", "chain", "generate", 2),
        ("36vZxLxieezE4Vfd9GLvUX", "4cdpivZqLwa5acQH4PwWdG", "llm", None, 3),
        ("PXCEd9FdNJmdybJk8QybW4", "4cdpivZqLwa5acQH4PwWdG", "tool", "lookup_order", 3),
        ("2d6pq7MW5uKJggYwvtutVf", "4cdpivZqLwa5acQH4PwWdG", "llm", None, 3),
        ("kg8oDBmnYtVrmZ6NBaGNe5", "4cdpivZqLwa5acQH4PwWdG", "tool", "lookup_order", 3),
        ("jHSdfFbQGptfhELZrnLYpy", "4cdpivZqLwa5acQH4PwWdG", "llm", None, 3),
    ]
    timeout = f"{RUN}:timeout:1"
    assert [(k, n) for _i, _p, k, n, _d in tree(engine, timeout)] == [
        ("agent", "orders"),
        ("chain", "solvers"),
        ("chain", "generate"),
        ("llm", None),
        ("tool", "lookup_order"),
        ("llm", None),
    ]
    assert totals(engine, root) == (8, 3, 2, 2, 2)
    assert totals(engine, timeout) == (6, 2, 1, 1, 1)
    assert totals(engine, f"{RUN}:delivered:1") == (6, 2, 1, 0, 0)
    # the empty spans (init, system_message, use_tools, the scorers) are left out; the tool
    # span that wraps each tool event is that event's step, not a second one
    kinds = [r["kind"] for r in records(engine)]
    assert (len(kinds), kinds.count("chain"), kinds.count("tool")) == (20, 6, 4)

    [tool] = records(engine, "id = 'PXCEd9FdNJmdybJk8QybW4'")
    assert (tool["trace_id"], tool["parent_id"], tool["name"]) == (
        root,
        "4cdpivZqLwa5acQH4PwWdG",
        "lookup_order",
    )
    assert orjson.loads(tool["inputs"]) == {"order_id": "A-1"}
    assert orjson.loads(tool["outputs"]) == ""
    assert tool["error"] == "unknown: order A-1 is archived"
    assert tool["latency_ms"] == 9.714453000015055
    assert tool["timestamp"] == "2026-12-03T06:44:54.162844Z"
    assert tool["metadata"] == {
        "tool_call_id": "call_2",
        "type": "function",
        "completed": "2026-12-03T06:44:54.172552+00:00",
        "message_id": "Au3mim3P9PPTNrshcxxHuZ",
    }
    assert (tool["messages"], tool["output"], tool["model"]) == ([], None, None)
    [ok] = records(engine, "kind = 'tool' AND trace_id = :t", t=f"{RUN}:delivered:1")
    assert orjson.loads(ok["outputs"]) == "{'status': 'delivered', 'date': '2026-09-01'}"
    assert ok["error"] is None

    # a model event's input given as references into events_data is the conversation
    [second] = records(engine, "id = '2d6pq7MW5uKJggYwvtutVf'")
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
    assert second["messages"][3]["error"] == "unknown: order A-1 is archived"
    assert second["output"]["tool_calls"] == [
        {"id": "call_3", "name": "lookup_order", "arguments": '{"order":"A-1"}'}
    ]
    assert (second["input_tokens"], second["output_tokens"]) == (68, 9)

    [span] = records(engine, "id = '4cdpivZqLwa5acQH4PwWdG'")
    assert (span["timestamp"], span["latency_ms"]) == ("2026-12-03T06:44:54.143257Z", 80.651)
    assert span["metadata"] == {"span_type": "solver"}


def test_json_log_samples_are_traces(engine):
    run_import(engine, EVAL_LOG)
    for n, span in (
        (1, "0fb30b5be49649e2aea1c0ac1e642b48"),
        (2, "4eb08f7ffaa9464486ae2fb23d799dae"),
        (3, "d7ae54af87984714b3bc80c24a30f5e3"),
    ):
        root = f"{LOG_RUN}:{n}:1"
        assert tree(engine, root) == [
            (root, None, "agent", "popularity", 0),
            (span, root, "chain", "generate", 1),
            (f"{root}#e7", span, "llm", None, 2),
        ]
        assert totals(engine, root) == (3, 1, 0, 0, 0)
    trace = load_trace(engine, f"{LOG_RUN}:2:1")
    assert trace is not None
    assert trace.totals["anchor_id"] == f"{LOG_RUN}:2:1"
    assert trace.totals["final_output"] == "No"
    assert (trace.totals["input_tokens"], trace.totals["output_tokens"]) == (58, 2)


def test_importing_twice_adds_nothing(engine):
    first = run_import(engine, EVAL_ZIP, EVAL_LOG)
    again = run_import(engine, EVAL_ZIP, EVAL_LOG)
    assert (first.total("imported"), again.total("imported"), again.total("duplicates")) == (
        29,
        0,
        29,
    )
    assert len(records(engine)) == 29


def _sample(events: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "s1",
        "epoch": 1,
        "input": "Fix the bug.",
        "target": "",
        "messages": [
            {"role": "user", "content": "Fix the bug."},
            {"role": "assistant", "content": "Done."},
        ],
        "output": {"model": "m", "choices": [], "completion": "Done."},
        "events": events,
        "attachments": {"big": "the long text"},
        **extra,
    }


def _log(tmp_path: Path, *samples: dict[str, Any]) -> Path:
    log = {
        "version": 2,
        "status": "success",
        "eval": {"eval_id": "E", "run_id": "R", "task": "fixer", "model": "openai/gpt-4o"},
        "samples": list(samples),
    }
    path = tmp_path / "log.json"
    path.write_bytes(orjson.dumps(log))
    return path


T = "2026-01-01T00:00:0{}+00:00"


def _model(at: int, **extra: Any) -> dict[str, Any]:
    return {
        "event": "model",
        "timestamp": T.format(at),
        "model": "openai/gpt-4o",
        "input": [{"role": "user", "content": "Fix the bug."}],
        "output": {
            "choices": [{"message": {"role": "assistant", "content": "ok"}}],
            "usage": {"input_tokens": 10, "output_tokens": 2},
        },
        **extra,
    }


def test_spans_subtasks_agents_and_reviewer_events(engine, tmp_path):
    events = [
        {"event": "span_begin", "id": "sp-agent", "type": "agent", "name": "coder",
         "timestamp": T.format(0)},
        _model(1, span_id="sp-agent", uuid="m1"),
        {"event": "tool", "uuid": "t1", "span_id": "sp-agent", "timestamp": T.format(2),
         "id": "c1", "function": "bash", "arguments": {"cmd": "ls"}, "result": "attachment://big",
         "working_time": 0.5},
        {"event": "span_begin", "id": "sp-tool", "parent_id": "sp-agent", "type": "tool",
         "name": "bash", "timestamp": T.format(2)},
        {"event": "sandbox", "uuid": "sb1", "span_id": "sp-tool", "timestamp": T.format(2),
         "action": "exec", "cmd": "ls", "result": 1, "output": "no such dir",
         "completed": "2026-01-01T00:00:02.250000+00:00"},
        {"event": "span_end", "id": "sp-tool", "timestamp": T.format(3)},
        {"event": "span_begin", "id": "sp-sub", "parent_id": "sp-agent", "type": "subtask",
         "name": "research", "timestamp": T.format(3)},
        {"event": "subtask", "uuid": "st1", "span_id": "sp-agent", "timestamp": T.format(3),
         "name": "research", "input": {"q": "bug"}, "result": "found it"},
        _model(4, span_id="sp-sub", uuid="m2"),
        {"event": "span_end", "id": "sp-sub", "timestamp": T.format(5)},
        {"event": "logger", "uuid": "l1", "span_id": "sp-agent", "timestamp": T.format(5),
         "message": {"level": "warning", "message": "retrying"}},
        {"event": "logger", "uuid": "l2", "span_id": "sp-agent", "timestamp": T.format(5),
         "message": {"level": "info", "message": "chatter"}},
        {"event": "info", "uuid": "i1", "span_id": "sp-agent", "timestamp": T.format(5),
         "source": "planner", "data": {"plan": ["a", "b"]}},
        {"event": "approval", "uuid": "a1", "span_id": "sp-agent", "timestamp": T.format(6),
         "message": "rm -rf?", "call": {"function": "bash"}, "approver": "human",
         "decision": "reject", "explanation": "too risky"},
        {"event": "score", "uuid": "sc1", "span_id": "sp-agent", "timestamp": T.format(6),
         "score": {"value": 0.5}, "intermediate": True},
        {"event": "score", "uuid": "sc2", "timestamp": T.format(8), "score": {"value": 1}},
        {"event": "state", "uuid": "st", "span_id": "sp-agent", "timestamp": T.format(6),
         "changes": []},
        {"event": "sample_limit", "uuid": "lim", "span_id": "sp-agent", "timestamp": T.format(7),
         "type": "token", "message": "token limit of 100 exceeded", "limit": 100},
        {"event": "error", "uuid": "err", "timestamp": T.format(7),
         "error": {"message": "RuntimeError: boom", "traceback": "tb"}},
        {"event": "span_end", "id": "sp-agent", "timestamp": T.format(8)},
        {"event": "span_begin", "id": "sp-empty", "type": "scorers", "name": "scorers",
         "timestamp": T.format(8)},
        {"event": "span_end", "id": "sp-empty", "timestamp": T.format(9)},
    ]  # fmt: skip
    report = run_import(engine, _log(tmp_path, _sample(events)))
    assert (report.total("imported"), report.total("rejected")) == (13, 0)
    assert tree(engine, "E:s1:1") == [
        ("E:s1:1", None, "agent", "fixer", 0),
        ("sp-agent", "E:s1:1", "agent", "coder", 1),
        ("m1", "sp-agent", "llm", None, 2),
        ("t1", "sp-agent", "tool", "bash", 2),
        ("sb1", "t1", "event", "sandbox exec", 3),
        ("st1", "sp-agent", "agent", "research", 2),
        ("m2", "st1", "llm", None, 3),
        ("i1", "sp-agent", "event", "info planner", 2),
        ("l1", "sp-agent", "event", "logger warning", 2),
        ("a1", "sp-agent", "event", "approval", 2),
        ("sc1", "sp-agent", "event", "score", 2),
        ("lim", "sp-agent", "event", "token limit", 2),
        ("err", "E:s1:1", "event", "error", 1),
    ]
    steps = {r["id"]: r for r in records(engine)}
    assert orjson.loads(steps["t1"]["outputs"]) == "the long text"  # attachment resolved
    assert steps["t1"]["latency_ms"] == 500.0
    assert orjson.loads(steps["sb1"]["inputs"]) == {"cmd": "ls"}
    assert orjson.loads(steps["sb1"]["outputs"]) == {"result": 1, "output": "no such dir"}
    assert steps["sb1"]["latency_ms"] == 250.0
    assert orjson.loads(steps["st1"]["inputs"]) == {"q": "bug"}
    assert orjson.loads(steps["st1"]["outputs"]) == "found it"
    assert steps["sp-agent"]["latency_ms"] == 8000.0
    assert steps["lim"]["error"] == "token limit of 100 exceeded"
    assert orjson.loads(steps["lim"]["inputs"]) == {"type": "token", "limit": 100}
    assert steps["err"]["error"] == "RuntimeError: boom"
    assert orjson.loads(steps["a1"]["outputs"]) == {
        "decision": "reject",
        "explanation": "too risky",
        "approver": "human",
    }
    assert orjson.loads(steps["i1"]["outputs"]) == {"plan": ["a", "b"]}
    assert orjson.loads(steps["sc1"]["outputs"]) == {"value": 0.5}
    assert totals(engine, "E:s1:1") == (13, 2, 1, 2, 0)
    assert orjson.loads(steps["E:s1:1"]["outputs"]) == "Done."


def test_older_logs_nest_by_event_lists_and_odd_shapes_do_not_crash(engine, tmp_path):
    """Without span ids, steps hang under the root in order, and events a tool or subtask event
    holds (`events`) under it; events of unknown or broken shapes are passed over."""
    events = [
        _model(1),
        {"event": "tool", "timestamp": T.format(2), "function": "search", "arguments": '{"q": 1}',
         "result": {"hits": 2}, "error": "plain error text",
         "events": [_model(3), "junk", {"event": "mystery"}]},
        "not an event",
        {"event": "span_begin"},
        {"event": "span_begin", "id": "sp-tool", "type": "tool", "name": "nobody"},
        {"event": "span_end", "id": "sp-tool", "timestamp": "garbage"},
        {"event": "model", "input": "odd", "input_refs": [[0, "x"], 5], "output": []},
        {"event": "logger", "message": "a bare string"},
    ]  # fmt: skip
    report = run_import(engine, _log(tmp_path, _sample(events)))
    assert (report.total("imported"), report.total("rejected")) == (5, 0), rejects(engine)
    assert tree(engine, "E:s1:1") == [
        ("E:s1:1", None, "agent", "fixer", 0),
        ("E:s1:1#e6", "E:s1:1", "llm", None, 1),
        ("E:s1:1#e0", "E:s1:1", "llm", None, 1),
        ("E:s1:1#e1", "E:s1:1", "tool", "search", 1),
        ("E:s1:1#e1.0", "E:s1:1#e1", "llm", None, 2),
    ]
    [tool] = records(engine, "kind = 'tool'")
    assert orjson.loads(tool["inputs"]) == {"q": 1}
    assert orjson.loads(tool["outputs"]) == {"hits": 2}
    assert tool["error"] == "plain error text"
