from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from tests.conftest import REAL_LOGS, records, rejects, run_import

RUNS = REAL_LOGS / "langsmith-run-payloads"


def write_jsonl(path: Path, objs: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    return path


def test_real_wrapped_openai_post_patch(engine):
    report = run_import(engine, RUNS / "langsmith_py_wrap_openai_.json")
    assert report.total("rejected") == 0 and rejects(engine) == []
    assert (report.total("lines"), report.total("records")) == (1, 1)
    (r,) = records(engine)
    assert r["id"] == "d0d84d31-923d-4cb5-94a8-40a0a0087578"
    assert r["source_format"] == "langsmith"
    assert (r["provider"], r["model"]) == ("openai", "gpt-4o-mini")
    assert r["messages"] == [{"role": "user", "content": "howdy"}]
    assert r["output"] == {
        "role": "assistant",
        "content": "Howdy! How can I assist you today?",
    }  # from the patch
    assert (r["input_tokens"], r["output_tokens"]) == (9, 9)
    assert r["timestamp"] == "2024-10-11T20:58:23.298773Z"
    assert r["latency_ms"] == pytest.approx(
        1118.333
    )  # end_time from the patch - start_time from the post
    assert r["trace_id"] == "d0d84d31-923d-4cb5-94a8-40a0a0087578"
    md = r["metadata"]
    assert md["project"] == "default" and md["run_name"] == "ChatOpenAI"
    assert md["response_model"] == "gpt-4o-mini-2024-07-18"
    assert md["finish_reason"] == "stop" and md["system_fingerprint"] == "fp_e2bde53e6e"
    assert md["ls_method"] == "traceable"
    assert r["error"] is None
    merged = orjson.loads(r["raw"])
    assert (
        merged["inputs"]["messages"] == [{"role": "user", "content": "howdy"}]
        and merged["end_time"] == "2024-10-11T20:58:24.417106+00:00"
    )


def test_real_reasoning_run(engine):
    report = run_import(engine, RUNS / "langsmith_py_wrap_openai_reasoning.json")
    assert report.total("rejected") == 0 and report.total("records") == 1
    (r,) = records(engine)
    assert r["id"] == "a8b34ded-ccd2-4fb7-bccb-9cd625066a14"
    assert r["model"] == "o1-mini" and r["metadata"]["response_model"] == "o1-mini-2024-09-12"
    assert [m["role"] for m in r["messages"]] == ["user"]
    assert r["messages"][0]["content"] == (
        "Write a bash script that takes a matrix represented as a string with format '[1,2],[3,4],[5,6]' "
        "and prints the transpose in the same format."
    )
    assert r["output"]["content"].startswith(
        "Certainly! Below is a **Bash script** that takes a matrix"
    )
    assert (r["input_tokens"], r["output_tokens"]) == (43, 2497)
    assert r["metadata"]["output_token_details"] == {"reasoning": 1408}
    assert r["latency_ms"] == pytest.approx(15138.093)


LC_RUN = {
    "id": "5d1b3c1e-0000-4000-8000-000000000001",
    "name": "ChatAnthropic",
    "run_type": "llm",
    "start_time": "2025-02-03T10:00:00.000000",
    "end_time": "2025-02-03T10:00:01.250000",
    "trace_id": "5d1b3c1e-0000-4000-8000-0000000000aa",
    "parent_run_id": "5d1b3c1e-0000-4000-8000-0000000000aa",
    "session_id": "project-uuid",
    "tags": ["prod", "support"],
    "extra": {
        "invocation_params": {
            "model": "claude-3-5-sonnet-20241022",
            "temperature": 0.1,
            "max_tokens": 1024,
            "_type": "anthropic-chat",
        },
        "metadata": {
            "ls_provider": "anthropic",
            "ls_model_name": "claude-3-5-sonnet-20241022",
            "thread_id": "thread-77",
            "user_id": "cust-5",
        },
    },
    "inputs": {
        "messages": [
            [
                {
                    "lc": 1,
                    "type": "constructor",
                    "id": ["langchain", "schema", "messages", "SystemMessage"],
                    "kwargs": {"content": "You answer billing questions.", "type": "system"},
                },
                {
                    "lc": 1,
                    "type": "constructor",
                    "id": ["langchain", "schema", "messages", "HumanMessage"],
                    "kwargs": {"content": "Refund order 7?", "type": "human"},
                },
            ]
        ]
    },
    "outputs": {
        "generations": [
            [
                {
                    "text": "",
                    "generation_info": {"finish_reason": "tool_use"},
                    "type": "ChatGeneration",
                    "message": {
                        "lc": 1,
                        "type": "constructor",
                        "id": ["langchain", "schema", "messages", "AIMessage"],
                        "kwargs": {
                            "content": "Let me check.",
                            "type": "ai",
                            "tool_calls": [
                                {
                                    "name": "lookup_order",
                                    "args": {"order_id": "7"},
                                    "id": "toolu_1",
                                    "type": "tool_call",
                                }
                            ],
                            "usage_metadata": {
                                "input_tokens": 120,
                                "output_tokens": 33,
                                "total_tokens": 153,
                            },
                        },
                    },
                }
            ]
        ],
        "llm_output": {"model": "claude-3-5-sonnet-20241022"},
    },
    "error": None,
    "feedback_stats": {"user_feedback": {"n": 1, "avg": 0.0, "values": {}}},
    "total_cost": 0.00086,
}
CHAIN_RUN = {
    "id": "5d1b3c1e-0000-4000-8000-0000000000aa",
    "name": "Agent",
    "run_type": "chain",
    "inputs": {"question": "Refund order 7?"},
    "outputs": {"answer": "Done"},
}
FAILED_RUN = {
    "id": "5d1b3c1e-0000-4000-8000-000000000002",
    "name": "ChatOpenAI",
    "run_type": "llm",
    "start_time": "2025-02-03T10:05:00Z",
    "end_time": "2025-02-03T10:05:30Z",
    "extra": {"metadata": {"ls_provider": "openai", "ls_model_name": "gpt-4o"}},
    "inputs": {
        "messages": [{"role": "user", "content": "Summarise the ticket."}],
        "model": "gpt-4o",
        "temperature": 0,
    },
    "outputs": None,
    "error": "openai.APITimeoutError: Request timed out.",
}


def test_exported_runs_one_per_line(engine, tmp_path):
    report = run_import(
        engine, write_jsonl(tmp_path / "runs.jsonl", [CHAIN_RUN, LC_RUN, FAILED_RUN])
    )
    assert (
        report.total("lines"),
        report.total("records"),
        report.total("skipped"),
        report.total("rejected"),
    ) == (3, 3, 0, 0)  # the chain run is a step of its trace
    rows = {r["id"]: r for r in records(engine)}
    chain = rows[CHAIN_RUN["id"]]
    assert (chain["kind"], chain["name"], chain["parent_id"]) == ("chain", "Agent", None)
    assert (chain["inputs"], chain["outputs"]) == (
        '{"question":"Refund order 7?"}',
        '{"answer":"Done"}',
    )
    assert chain["messages"] == [] and chain["output"] is None
    r = rows[LC_RUN["id"]]
    assert (r["provider"], r["model"]) == ("anthropic", "claude-3-5-sonnet-20241022")
    assert r["messages"] == [
        {"role": "system", "content": "You answer billing questions."},
        {"role": "user", "content": "Refund order 7?"},
    ]
    assert r["output"]["content"] == "Let me check."
    assert r["output"]["tool_calls"] == [
        {"id": "toolu_1", "name": "lookup_order", "arguments": '{"order_id":"7"}'}
    ]
    assert (r["input_tokens"], r["output_tokens"]) == (120, 33)
    assert r["params"] == {"temperature": 0.1, "max_tokens": 1024}
    assert r["timestamp"] == "2025-02-03T10:00:00.000000Z" and r["latency_ms"] == 1250.0
    assert (r["session_id"], r["user_id"], r["trace_id"]) == (
        "thread-77",
        "cust-5",
        "5d1b3c1e-0000-4000-8000-0000000000aa",
    )
    assert r["cost_usd"] == pytest.approx(0.00086)
    assert r["feedback_score"] == 0.0
    assert (
        r["metadata"]["tags"] == ["prod", "support"]
        and r["metadata"]["finish_reason"] == "tool_use"
    )
    assert r["metadata"]["feedback_stats"]["user_feedback"]["n"] == 1
    failed = rows[FAILED_RUN["id"]]
    assert failed["error"] == "openai.APITimeoutError: Request timed out."
    assert failed["output"] is None and failed["params"] == {"temperature": 0}
    assert failed["latency_ms"] == 30000.0


def test_post_patch_merge_runs_and_keeps_chains(engine, tmp_path):
    post = [
        dict(CHAIN_RUN),
        {k: v for k, v in FAILED_RUN.items() if k not in ("end_time", "error", "outputs")},
    ]
    patch = [
        {"id": FAILED_RUN["id"], "end_time": "2025-02-03T10:05:02Z", "error": None,
         "outputs": {"choices": [{"index": 0, "message": {"role": "assistant", "content": "The customer wants a refund."}, "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 50, "completion_tokens": 7}}},
        {"id": CHAIN_RUN["id"], "end_time": "2025-02-03T10:05:03Z"},
    ]  # fmt: skip
    path = tmp_path / "payload.json"
    path.write_text(json.dumps({"post": post, "patch": patch}))
    report = run_import(engine, path)
    assert (report.total("records"), report.total("rejected")) == (2, 0)
    chain = records(engine, "kind = 'chain'")[0]
    assert chain["latency_ms"] is None  # patched with an end time, but posted without a start
    (r,) = records(engine, "kind = 'llm'")
    assert r["id"] == FAILED_RUN["id"] and r["error"] is None
    assert r["output"]["content"] == "The customer wants a refund."
    assert (r["input_tokens"], r["output_tokens"]) == (50, 7)
    assert r["latency_ms"] == 2000.0


def test_payload_with_only_chain_runs_gives_steps(engine, tmp_path):
    path = tmp_path / "chains.json"
    path.write_text(json.dumps({"post": [CHAIN_RUN], "patch": []}))
    report = run_import(engine, path)
    assert (report.total("skipped"), report.total("records"), report.total("rejected")) == (0, 1, 0)
    assert report.total("without_content") == 0


def test_a_patch_without_its_post_is_skipped(engine, tmp_path):
    path = tmp_path / "patch.json"
    patch = {"id": CHAIN_RUN["id"], "end_time": "2025-02-03T10:05:03Z", "trace_id": "t"}
    path.write_text(json.dumps({"post": [], "patch": [patch]}))
    report = run_import(engine, path)
    assert (report.total("skipped"), report.total("records"), report.total("rejected")) == (1, 0, 0)
