"""Import keeps the structure of Langfuse and LangSmith traces: every observation or run is a
step (LLM calls as before, the others with kind, name, inputs, outputs, time and error), placed
under its parent; a Langfuse download's trace object is the root step. Pinned on the real files:
each trace's steps in tree order (depth, id, parent id, kind, name), its totals, one tool step's
content, and that importing twice adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine

from reviewer.review.traces import load_trace
from tests.conftest import REAL_LOGS, records, run_import

TRACES = REAL_LOGS / "langfuse-trace-download"
SUPPORT_AGENT = REAL_LOGS / "langsmith-run-payloads" / "langsmith_py_traceable_support_agent.json"

# (depth, id, parent id, kind, name) in tree order; ROOT is the trace's own step,
# `langfuse-trace:<trace id>`
LANGFUSE_TREES = {
    "claude-agent-2025-12-22.trace.json": [
        (0, "ROOT", None, "agent", "claude.conversation"),
        (1, "805dc5dff9e33e32", "ROOT", "chain", "claude.conversation"),
        (2, "e9aac170e5d48125", "805dc5dff9e33e32", "llm", "claude.assistant.turn"),
        (2, "2cc13e77781787fd", "805dc5dff9e33e32", "llm", "claude.assistant.turn"),
        (2, "f8e8f040dc94e67e", "805dc5dff9e33e32", "llm", "claude.assistant.turn"),
        (2, "f411dab686a064b1", "805dc5dff9e33e32", "tool", "mcp__weather__get_weather"),
        (2, "edbd987c5f361fdf", "805dc5dff9e33e32", "tool", "mcp__weather__get_weather"),
        (2, "371496f71d82baed", "805dc5dff9e33e32", "llm", "claude.assistant.turn"),
    ],
    "google-adk-2025-08-28.trace.json": [
        (0, "ROOT", None, "agent", "invocation [hello_app]"),
        (1, "86cd4912944ddc41", "ROOT", "chain", "invocation [hello_app]"),
        (2, "6d8beb2e6a36b133", "86cd4912944ddc41", "agent", "agent_run [hello_agent]"),
        (3, "f6e4c65297e40c96", "6d8beb2e6a36b133", "llm", "call_llm"),
        (4, "04290e4d82aba1bc", "f6e4c65297e40c96", "tool", "execute_tool say_hello"),
        (3, "bded677884f031ce", "6d8beb2e6a36b133", "llm", "call_llm"),
    ],
    "langgraph-python-2025-08-22.trace.json": [
        (0, "ROOT", None, "chain", "LangGraph"),
        (1, "b024c7ee7680b708", "ROOT", "chain", "LangGraph"),
        (2, "98d3e02591797c04", "b024c7ee7680b708", "chain", "agent"),
        (3, "4f6535aaebcda355", "98d3e02591797c04", "llm", "ChatOpenAI"),
        (3, "c7fbfdc6ab70ca4d", "98d3e02591797c04", "chain", "should_continue"),
        (2, "c8a18a38a3a115cb", "b024c7ee7680b708", "chain", "tools"),
        (3, "21441266a9f21251", "c8a18a38a3a115cb", "tool", "Web-Search"),
        (2, "3b239b11cbb2ac0b", "b024c7ee7680b708", "chain", "agent"),
        (3, "5ba09605e0929d78", "3b239b11cbb2ac0b", "llm", "ChatOpenAI"),
        (3, "e638064431445dce", "3b239b11cbb2ac0b", "chain", "should_continue"),
    ],
    "llamaindex-2025-06-05.trace.json": [
        (0, "ROOT", None, "chain", "llama-index-trace"),
        (1, "3344aabdd4e66110", "ROOT", "chain", "llama-index-trace"),
        (2, "7ca8b22f6628d0c7", "3344aabdd4e66110", "llm", "OpenAI.complete"),
    ],
    "openai-agents-2025-09-30.trace.json": [
        (0, "ROOT", None, "agent", "Agent workflow"),
        (1, "e5a76f27f51ad40e", "ROOT", "agent", "Agent workflow"),
        (2, "d950b668796240b5", "e5a76f27f51ad40e", "agent", "Hello world"),
        (3, "98870087af69bf06", "d950b668796240b5", "llm", "response"),
        (3, "5b99c3e3411ed17b", "d950b668796240b5", "tool", "get_weather"),
        (3, "90d94774e8e3724d", "d950b668796240b5", "llm", "response"),
    ],
    "pydantic-ai-2025-06-06.trace.json": [
        (0, "ROOT", None, "chain", "pydantic-ai-qa-trace"),
        (1, "538fed87d11686d3", "ROOT", "chain", "pydantic-ai-qa-trace"),
        (2, "0a4fac2553f22f2e", "538fed87d11686d3", "chain", "qa_agent run"),
        (3, "5cb389a3bdd21a6e", "0a4fac2553f22f2e", "llm", "chat gpt-4o"),
    ],
    "pydantic-ai-with-gemini-2025-12-24.trace.json": [
        (0, "ROOT", None, "chain", "chat gemini-2.5-flash"),
        (1, "8ffb64580a84a3f0", "ROOT", "llm", "chat gemini-2.5-flash"),
    ],
    "vercel-aisdk-2025-11-17.trace.json": [
        (0, "ROOT", None, "agent", "ai.generateText"),
        (1, "1dc6768109615657", "ROOT", "llm", "ai.generateText"),
        (2, "91a17a2274bfd23f", "1dc6768109615657", "llm", "ai.generateText.doGenerate"),
        (2, "e9bb8c191e1e4706", "1dc6768109615657", "tool", "getWeather"),
    ],
}
# trace totals: steps, LLM calls, tool calls, errors
LANGFUSE_TOTALS = {
    "claude-agent-2025-12-22.trace.json": (8, 4, 2, 0),
    "google-adk-2025-08-28.trace.json": (6, 2, 1, 0),
    "langgraph-python-2025-08-22.trace.json": (10, 2, 1, 0),
    "llamaindex-2025-06-05.trace.json": (3, 1, 0, 0),
    "openai-agents-2025-09-30.trace.json": (6, 2, 1, 0),
    "pydantic-ai-2025-06-06.trace.json": (4, 1, 0, 0),
    "pydantic-ai-with-gemini-2025-12-24.trace.json": (2, 1, 0, 0),
    "vercel-aisdk-2025-11-17.trace.json": (4, 2, 1, 0),
}


def tree(engine: Engine, key: str) -> list[tuple[int, str, str | None, str, str | None]]:
    trace = load_trace(engine, key)
    assert trace is not None, key
    return [(s.depth, s.id, s.parent_id, s.kind, s.name) for s in trace.steps]


def by_id(engine: Engine) -> dict[str, dict]:
    return {r["id"]: r for r in records(engine)}


def js(value: str | None):
    return None if value is None else orjson.loads(value)


@pytest.mark.parametrize("name", sorted(LANGFUSE_TREES))
def test_langfuse_download_is_a_tree_of_steps(engine, name):
    trace_id = json.loads((TRACES / name).read_text())["trace"]["id"]
    root = f"langfuse-trace:{trace_id}"
    report = run_import(engine, TRACES / name)
    expected = [
        (depth, root if rid == "ROOT" else rid, root if parent == "ROOT" else parent, kind, label)
        for depth, rid, parent, kind, label in LANGFUSE_TREES[name]
    ]
    assert tree(engine, trace_id) == expected
    assert report.total("records") == len(expected) == LANGFUSE_TOTALS[name][0]
    trace = load_trace(engine, trace_id)
    assert trace is not None
    totals = trace.totals
    assert (totals["steps"], totals["llm_calls"], totals["tool_calls"], totals["errors"]) == (
        LANGFUSE_TOTALS[name]
    )
    assert totals["anchor_id"] == root  # the trace's one root carries its review
    again = run_import(engine, TRACES / name)
    assert (again.total("imported"), again.total("duplicates")) == (0, len(expected))
    assert len(records(engine)) == len(expected)


def test_langfuse_root_step_is_the_trace(engine):
    run_import(engine, TRACES / "claude-agent-2025-12-22.trace.json")
    root = by_id(engine)["langfuse-trace:097f1d8982fa909b8cffb14a166ec272"]
    assert (root["kind"], root["name"], root["parent_id"]) == ("agent", "claude.conversation", None)
    assert root["trace_id"] == "097f1d8982fa909b8cffb14a166ec272"
    assert root["timestamp"] == "2025-12-22T10:46:15.528000Z" and root["latency_ms"] == 7360.0
    # the trace's input and output were JSON encoded twice: decoded to the values
    assert js(root["inputs"]) == {
        "prompt": "What's the weather like in Berlin and New York?",
        "system": "You are a friendly travel assistant who helps with weather information.",
    }
    assert js(root["outputs"])["content"][0]["text"].startswith(
        "Great! Here's the current weather for both cities:"
    )
    assert root["messages"] == [] and root["output"] is None
    assert (root["input_tokens"], root["output_tokens"], root["cost_usd"]) == (None, None, None)
    assert root["metadata"]["observation_type"] == "TRACE"
    assert "observations" not in orjson.loads(root["raw"])  # each observation is its own record
    trace = load_trace(engine, "097f1d8982fa909b8cffb14a166ec272")
    assert trace is not None and trace.totals["final_output"].startswith(
        '{"content":[{"type":"text","text":"Great! Here'
    )


def test_langfuse_tool_step_content(engine):
    run_import(engine, TRACES / "openai-agents-2025-09-30.trace.json")
    tool = by_id(engine)["5b99c3e3411ed17b"]
    assert (tool["kind"], tool["name"], tool["parent_id"]) == (
        "tool",
        "get_weather",
        "d950b668796240b5",
    )
    assert js(tool["inputs"]) == {"city": "Tokyo"}
    assert js(tool["outputs"]) == "The weather in Tokyo is sunny."
    assert tool["error"] is None
    assert tool["timestamp"] == "2025-09-30T09:04:01.000000Z" and tool["latency_ms"] == 0.0
    assert tool["trace_id"] == "fee618f96dc31e0ca38b2f7b26eb8b29"
    assert tool["metadata"]["observation_type"] == "TOOL"
    assert tool["metadata"]["attributes"]["openinference.span.kind"] == "TOOL"
    assert tool["messages"] == [] and tool["output"] is None and tool["model"] is None
    call = by_id(engine)["98870087af69bf06"]  # an LLM call keeps its fields and gains its place
    assert (call["kind"], call["parent_id"], call["name"]) == (
        "llm",
        "d950b668796240b5",
        "response",
    )


def test_langchain_tool_span_and_python_repr_input(engine):
    run_import(engine, TRACES / "langgraph-python-2025-08-22.trace.json")
    tool = by_id(engine)["21441266a9f21251"]  # a SPAN whose output is a LangChain tool message
    assert tool["kind"] == "tool" and tool["name"] == "Web-Search"
    assert js(tool["inputs"]) == {"query": "example"}  # logged as "{'query': 'example'}"
    out = js(tool["outputs"])
    assert (out["type"], out["name"]) == ("tool", "Web-Search")
    assert (
        out["content"]
        == '[{"url": "https://example.com", "title": "Example Result", "q": "example"}]'
    )


def test_langfuse_failed_step_and_observation_rows(engine, tmp_path):
    data = json.loads((TRACES / "claude-agent-2025-12-22.trace.json").read_text())
    tool = next(o for o in data["observations"] if o["id"] == "f411dab686a064b1")
    failed = {**tool, "level": "ERROR", "statusMessage": "weather API timed out", "output": None}
    rows = tmp_path / "observations.jsonl"
    rows.write_bytes(
        orjson.dumps(failed)
        + b"\n"
        + orjson.dumps({**tool, "id": "x", "type": "RETRIEVER"})
        + b"\n"
    )
    report = run_import(engine, rows)
    assert (report.total("records"), report.total("skipped"), report.total("rejected")) == (2, 0, 0)
    got = by_id(engine)
    step = got["f411dab686a064b1"]
    assert step["source_format"] == "langfuse-observation"
    assert (step["kind"], step["error"], step["outputs"]) == ("tool", "weather API timed out", None)
    assert js(step["inputs"]) == {"input": {"city": "Berlin"}}
    assert step["parent_id"] == "805dc5dff9e33e32"
    assert got["x"]["kind"] == "retriever"
    trace = load_trace(engine, "097f1d8982fa909b8cffb14a166ec272")
    assert trace is not None
    assert (trace.totals["steps"], trace.totals["errors"], trace.totals["tool_errors"]) == (2, 1, 1)


def test_langfuse_observation_without_id_or_odd_shapes_never_crash(engine, tmp_path):
    data = {
        "trace": {"id": "t-odd", "name": None, "input": "{'a': (1,", "output": 7, "tags": "x"},
        "observations": [
            "not an observation",
            {"type": "SPAN", "name": "no id", "startTime": "2025-01-01T00:00:00Z"},
            {"id": "s0", "type": ["GENERATION"], "startTime": "2025-01-01T00:00:00Z"},
            {
                "id": "s1",
                "type": "MYSTERY",
                "startTime": "nonsense",
                "input": "[1, 2",
                "level": "ERROR",
            },
        ],
    }
    path = tmp_path / "odd.trace.json"
    path.write_text(json.dumps(data))
    report = run_import(engine, path)
    assert (report.total("records"), report.total("rejected")) == (3, 0)
    got = by_id(engine)
    root, step = got["langfuse-trace:t-odd"], got["s1"]
    assert got["s0"]["kind"] == "chain"  # a type that is not a text: an unknown type
    assert (root["kind"], js(root["inputs"]), js(root["outputs"])) == ("chain", "{'a': (1,", 7)
    assert (step["kind"], step["error"], step["timestamp"], js(step["inputs"])) == (
        "chain", "ERROR", None, "[1, 2",
    )  # fmt: skip
    assert step["parent_id"] == "langfuse-trace:t-odd"


# the offline LangSmith capture: one trace of 8 runs under the agent's chain run
AGENT_TRACE = "01a23acc-6b23-75f2-8dda-7639cb27f568"
SUPPORT_AGENT_TREE = [
    (0, AGENT_TRACE, None, "chain", "support_agent"),
    (1, "01a23acc-6b47-7d6d-84d5-ae826daadf09", AGENT_TRACE, "retriever", "search_policies"),
    (1, "01a23acc-6b48-7a28-a89e-277f0e7b0892", AGENT_TRACE, "chain", "support_prompt"),
    (1, "01a23acc-6b48-707b-890e-3dd15e5145e0", AGENT_TRACE, "llm", "ChatOpenAI"),
    (1, "01a23acc-6b49-7505-889d-a0606c3b5a6c", AGENT_TRACE, "tool", "lookup_order"),
    (1, "01a23acc-6b49-7ffc-9049-60eaf3d0ec53", AGENT_TRACE, "tool", "check_stock"),
    (1, "01a23acc-6b4a-7ecf-84fc-76b18273c483", AGENT_TRACE, "llm", "ChatOpenAI"),
    (1, "01a23acc-6b4a-7923-912c-5303d0b06326", AGENT_TRACE, "chain", "final_answer"),
]


def test_langsmith_payload_is_a_tree_of_runs(engine):
    report = run_import(engine, SUPPORT_AGENT)
    assert (report.total("lines"), report.total("records"), report.total("skipped")) == (1, 8, 0)
    assert report.total("without_content") == 0
    assert tree(engine, AGENT_TRACE) == SUPPORT_AGENT_TREE
    trace = load_trace(engine, AGENT_TRACE)
    assert trace is not None
    t = trace.totals
    assert (t["steps"], t["llm_calls"], t["tool_calls"], t["errors"], t["tool_errors"]) == (
        8,
        2,
        2,
        1,
        1,
    )
    assert (t["input_tokens"], t["output_tokens"]) == (530, 85)
    assert orjson.loads(t["tools"]) == ["check_stock", "lookup_order"]
    assert t["anchor_id"] == AGENT_TRACE
    assert t["final_output"].startswith('{"answer":"Your order A-1042 was delivered on 2026-09-01')
    again = run_import(engine, SUPPORT_AGENT)
    assert (again.total("imported"), again.total("duplicates")) == (0, 8)


def test_langsmith_failing_tool_and_retriever_steps(engine):
    run_import(engine, SUPPORT_AGENT)
    got = by_id(engine)
    failed = got["01a23acc-6b49-7ffc-9049-60eaf3d0ec53"]
    assert js(failed["inputs"]) == {"sku": "RUN-42", "size": 43}
    assert js(failed["outputs"]) == {"output": None}
    assert failed["error"] == (
        "TimeoutError('inventory service did not answer within 5 s')\n\n"
        "Traceback (most recent call last):\n"
        '  File "/tmp/lsgen/gen.py", line 81, in check_stock\n'
        '    raise TimeoutError("inventory service did not answer within 5 s")\n'
        "TimeoutError: inventory service did not answer within 5 s\n"
    )
    assert failed["timestamp"] == "2026-12-03T07:26:45.065274Z" and failed["latency_ms"] == 0.612
    assert (failed["session_id"], failed["user_id"]) == ("thread-77", "cust-311")
    assert (
        failed["metadata"]["run_type"] == "tool" and failed["metadata"]["project"] == "shoe-support"
    )
    assert failed["metadata"]["dotted_order"].endswith("Z01a23acc-6b49-7ffc-9049-60eaf3d0ec53")
    docs = js(got["01a23acc-6b47-7d6d-84d5-ae826daadf09"]["outputs"])["output"]
    assert [d["metadata"]["source"] for d in docs] == ["returns-policy.md", "refunds.md"]
    call = got["01a23acc-6b48-707b-890e-3dd15e5145e0"]
    assert (call["kind"], call["parent_id"], call["model"]) == ("llm", AGENT_TRACE, "gpt-4o-mini")
    assert [c["name"] for c in call["output"]["tool_calls"]] == ["lookup_order", "check_stock"]
    assert call["inputs"] is None and call["outputs"] is None


def test_langsmith_wrapped_call_is_a_one_step_trace(engine):
    path = REAL_LOGS / "langsmith-run-payloads" / "langsmith_py_wrap_openai_.json"
    run_import(engine, path)
    key = "d0d84d31-923d-4cb5-94a8-40a0a0087578"
    assert tree(engine, key) == [(0, key, None, "llm", "ChatOpenAI")]


def test_langfuse_and_langsmith_tree_files_are_the_real_ones():
    assert sorted(p.name for p in TRACES.glob("*.trace.json")) == sorted(LANGFUSE_TREES)
    assert Path(SUPPORT_AGENT).is_file()


def test_langsmith_odd_runs_never_crash(engine, tmp_path):
    runs = [
        {"id": "r1", "run_type": ["llm"], "trace_id": "t", "inputs": "not json {", "outputs": 3},
        {"id": "r2", "run_type": "tool", "parent_run_id": "r1", "trace_id": "t", "error": {"x": 1}},
    ]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"post": runs, "patch": None}))
    report = run_import(engine, path)
    assert (report.total("records"), report.total("rejected")) == (2, 0)
    got = by_id(engine)
    assert (got["r1"]["kind"], js(got["r1"]["inputs"]), js(got["r1"]["outputs"])) == (
        "chain", "not json {", 3,
    )  # fmt: skip
    assert (got["r2"]["kind"], got["r2"]["parent_id"], got["r2"]["error"]) == (
        "tool",
        "r1",
        '{"x":1}',
    )
