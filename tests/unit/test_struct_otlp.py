"""The structure of traces kept from OTLP spans, OpenInference span dumps and Vercel AI SDK spans:
every span is a step (LLM calls as records, tools, agents, retrievers... as steps) under its
parent span's record."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from reviewer.review.traces import list_traces, load_trace
from tests.conftest import FIXTURES, REAL_LOGS, records, rejects, run_import

PYDANTIC = REAL_LOGS / "pydantic-ai-otlp" / "support-agent.otlp.json"
PHOENIX = REAL_LOGS / "openinference-phoenix"
VERCEL = REAL_LOGS / "vercel-ai-sdk"


def trees(engine) -> dict[str, list[tuple[str, str | None, str, str | None]]]:
    """Each trace's steps in tree order as (span id, parent span id, kind, name)."""
    out = {}
    for row in list_traces(engine, order="oldest"):
        trace = load_trace(engine, row["key"])
        assert trace is not None
        out[row["key"]] = [
            (
                s.id.rsplit(":", 1)[-1],
                s.parent_id.split(":")[1] if s.parent_id else None,
                s.kind,
                s.name,
            )
            for s in trace.steps
        ]
    return out


def step(engine, span_id: str) -> dict:
    (r,) = records(engine, "id LIKE :s", s=f"%:{span_id}")
    for key in ("inputs", "outputs"):
        r[key] = orjson.loads(r[key]) if r[key] else None
    return r


def totals(engine, key: str) -> tuple:
    row = next(r for r in list_traces(engine) if r["key"] == key)
    tools = orjson.loads(row["tools"]) if row["tools"] else []
    return (
        row["steps"],
        row["llm_calls"],
        row["tool_calls"],
        row["errors"],
        row["tool_errors"],
        tools,
    )


# -- Pydantic AI: invoke_agent / chat / execute_tool spans, one tool failing -----------------------

AGENT_RUN = "e9aa936c79e22be3a79ea6726810d293"
HOURS_RUN = "7f64e52f7791ed036b4937fd36a47e54"


def test_pydantic_ai_agent_spans(engine):
    report = run_import(engine, PYDANTIC)
    assert rejects(engine) == []
    (file,) = report.files
    assert (file.format, file.lines, file.imported, file.skipped, file.without_content) == (
        "otlp", 1, 8, 0, 0,
    )  # fmt: skip
    assert trees(engine) == {
        AGENT_RUN: [
            ("d5e896edc824b98f", None, "agent", "support_agent"),
            ("086b80febc759766", "d5e896edc824b98f", "llm", None),
            ("beafb738e957eb91", "d5e896edc824b98f", "tool", "lookup_order"),
            ("a89ee619c0597142", "d5e896edc824b98f", "llm", None),
            ("e9c5edc81aea80ae", "d5e896edc824b98f", "tool", "check_stock"),
            ("2dd9deafd26d3caa", "d5e896edc824b98f", "llm", None),
        ],
        HOURS_RUN: [
            ("86442994c6e3150a", None, "agent", "support_agent"),
            ("8e3a08d06f39de72", "86442994c6e3150a", "llm", None),
        ],
    }
    assert totals(engine, AGENT_RUN) == (6, 3, 2, 1, 1, ["check_stock", "lookup_order"])
    assert totals(engine, HOURS_RUN) == (2, 1, 0, 0, 0, [])

    failed = step(engine, "e9c5edc81aea80ae")
    assert failed["id"] == f"{AGENT_RUN}:e9c5edc81aea80ae"  # ids arrive base64 in protobuf JSON
    assert failed["parent_id"] == f"{AGENT_RUN}:d5e896edc824b98f"
    assert failed["inputs"] == {"sku": "CB-2041-BRN", "size": 43}
    assert failed["outputs"] == "stock service timed out after 5 s"
    assert (
        failed["error"]
        == "pydantic_ai.exceptions.ToolRetryError: stock service timed out after 5 s"
    )
    assert (failed["timestamp"], failed["latency_ms"]) == ("2026-12-03T07:27:15.239528Z", 10.477455)
    assert failed["messages"] == [] and failed["output"] is None and failed["model"] is None
    assert failed["session_id"] == "01a23acc-e09d-76da-b94c-c33a1273bf2f"
    assert failed["metadata"]["gen_ai.tool.call.id"] == "call_2"
    assert failed["metadata"]["pydantic_ai.tool.retry.attempt"] == 1

    found = step(engine, "beafb738e957eb91")
    assert found["inputs"] == {"order_id": "A-1042"}
    assert found["outputs"] == {"order_id": "A-1042", "status": "delivered", "date": "2026-09-01"}
    assert found["error"] is None

    agent = step(engine, "d5e896edc824b98f")
    assert agent["outputs"] == (
        "Your order A-1042 was delivered on 2026-09-01. "
        "I could not check the stock of the Milano Loafer right now."
    )
    # the run's token totals stay in metadata: the trace counts its model calls' tokens once
    assert (agent["input_tokens"], agent["output_tokens"]) == (None, None)
    assert agent["metadata"]["gen_ai.aggregated_usage.input_tokens"] == 218
    calls = records(engine, "kind = 'llm' AND trace_id = :t", t=AGENT_RUN)
    row = next(r for r in list_traces(engine) if r["key"] == AGENT_RUN)
    assert row["input_tokens"] == sum(r["input_tokens"] for r in calls) == 218
    assert row["final_output"] == agent["outputs"]  # the root is the anchor

    again = run_import(engine, PYDANTIC)
    assert (again.total("imported"), again.total("duplicates")) == (0, 8)
    assert len(records(engine)) == 8


# -- OpenInference: the same 7 spans in four shapes give the same tree ---------------------------

PHOENIX_TREES = {
    "994d62da91919080c8bdfbf914697817": [("5f64e5a6be28c6d6", None, "llm", None)],
    "a9f34d0e46aa54946c19cd084eb9c19d": [
        ("060597f1c7b0a835", None, "agent", "weather-agent"),
        ("7bfddc93bc15354f", "060597f1c7b0a835", "llm", None),
        ("8c02a5bfaab298b5", "060597f1c7b0a835", "tool", "get_weather"),
        ("831e4029a8060b84", "060597f1c7b0a835", "llm", None),
    ],
    "7db40834da94fd57d55e72e717fbff28": [("80307c39e97abcf4", None, "llm", None)],
    "fa6e0941b53a6d73dde94b9d7b3e6278": [("02a1249832d7a697", None, "llm", None)],
}


@pytest.mark.parametrize(
    "name",
    [
        "otel-python-to_json.jsonl",
        "phoenix-rest-spans.json",
        "phoenix-rest-spans-otlpv1.json",
        "spans-dataframe.jsonl",
    ],
)
def test_openinference_trees(engine, name):
    report = run_import(engine, PHOENIX / name)
    assert rejects(engine) == [] and report.total("imported") == 7
    assert report.total("skipped") == 0
    assert trees(engine) == PHOENIX_TREES
    tool = step(engine, "8c02a5bfaab298b5")
    assert (tool["inputs"], tool["outputs"], tool["error"]) == (
        {"city": "Paris"},
        {"city": "Paris", "celsius": 18},
        None,
    )
    agent = step(engine, "060597f1c7b0a835")
    assert (agent["inputs"], agent["outputs"]) == ("What is the weather in Paris?", None)
    again = run_import(engine, PHOENIX / name)
    assert (again.total("imported"), again.total("duplicates")) == (0, 7)


# -- Vercel AI SDK: the outer run is the agent step, ai.toolCall a tool step ---------------------

VERCEL_TREES = {
    "1c6ef3d20b91f3d9d41ab1873fa321c0": [
        ("0e5c434dfb05f83d", None, "agent", "support-answer"),
        ("a2365293f33da0dd", "0e5c434dfb05f83d", "llm", None),
    ],
    "71bb3669704a49778ecfff1e3990558e": [
        ("ff29b95cba23bb6c", None, "agent", "weather-agent"),
        ("7f572b901567e6a7", "ff29b95cba23bb6c", "llm", None),
        ("e9b66f07dab72a4c", "ff29b95cba23bb6c", "tool", "get_weather"),
        ("18ffcc57381b7df4", "ff29b95cba23bb6c", "llm", None),
    ],
    "52bccdba5f7b82809d7753213524a1ee": [
        ("c25e93c54da9416f", None, "agent", "support-stream"),
        ("76f643bd4f14d619", "c25e93c54da9416f", "llm", None),
    ],
    "fcf7fc7f4a10f32e9b33d65b75e59949": [
        ("e2e8ec2f21ccfd7d", None, "agent", "broken"),
        ("b06644bd0eb5d996", "e2e8ec2f21ccfd7d", "llm", None),
    ],
}


@pytest.mark.parametrize("name", ["readable-spans.jsonl", "otlp-export.json"])
def test_vercel_ai_trees(engine, name):
    report = run_import(engine, VERCEL / name)
    assert rejects(engine) == [] and report.total("imported") == 10
    assert (report.total("skipped"), report.total("without_content")) == (0, 0)
    assert trees(engine) == VERCEL_TREES
    tool = step(engine, "e9b66f07dab72a4c")
    assert (tool["inputs"], tool["outputs"], tool["error"]) == (
        {"city": "Paris"},
        {"city": "Paris", "celsius": 18, "sky": "sunny"},
        None,
    )
    assert tool["metadata"]["tool_call_id"] == "call_weather_1"
    assert tool["latency_ms"] == pytest.approx(0.665037)
    run = step(engine, "ff29b95cba23bb6c")
    assert run["inputs"] == {"prompt": "What is the weather in Paris?"}
    assert run["outputs"] == "It is 18°C and sunny in Paris."
    assert (run["model"], run["provider"], run["user_id"]) == ("gpt-4o-mini", "openai", "user-42")
    assert (run["input_tokens"], run["metadata"]["ai.usage.inputTokens"]) == (None, 89)
    broken = step(engine, "e2e8ec2f21ccfd7d")
    assert broken["error"] == "The model `no-such-model` does not exist"
    assert totals(engine, "fcf7fc7f4a10f32e9b33d65b75e59949") == (2, 1, 0, 2, 0, [])
    assert totals(engine, "71bb3669704a49778ecfff1e3990558e") == (4, 2, 1, 0, 0, ["get_weather"])
    again = run_import(engine, VERCEL / name)
    assert (again.total("imported"), again.total("duplicates")) == (0, 10)


# -- the GenAI styles fixture and the sample log ---------------------------------------------------


def test_genai_styles_trees(engine):
    run_import(engine, FIXTURES / "otlp_genai_styles.jsonl")
    assert trees(engine) == {
        "4bf92f3577b34da6a3ce929d0e0e4736": [
            ("00f067aa0ba902b7", None, "chain", "POST /chat"),
            ("b7ad6b7169203331", "00f067aa0ba902b7", "llm", None),
        ],
        "0af7651916cd43dd8448eb211c80319c": [
            ("a2fb4a1d1a96d312", None, "chain", "travel_workflow.workflow"),
            ("53995c3f42cd8ad8", "a2fb4a1d1a96d312", "llm", None),
        ],
        "8f14e45fceea167a5a36dedd4bea2543": [
            ("c4ca4238a0b92382", None, "chain", "TravelChain"),
            ("c81e728d9d4c2f63", "c4ca4238a0b92382", "llm", None),
        ],
        "eccbc87e4b5ce2fe28308fd9f2a7baf3": [("a87ff679a2f3e71d", None, "llm", None)],
    }


def test_sample_extract_order_log_is_one_call_per_trace(engine):
    root = Path(__file__).resolve().parents[2]
    report = run_import(engine, root / "sample_logs" / "extract-order.otlp.jsonl")
    assert (report.total("lines"), report.total("imported"), report.total("skipped")) == (
        96,
        100,
        0,
    )
    got = trees(engine)
    assert len(got) == 100
    assert all(len(t) == 1 and t[0][1] is None and t[0][2] == "llm" for t in got.values())


# -- every OpenInference kind, and events inside spans (hand-written) ------------------------------

TRACE = "22222222222222222222222222222222"


def kv(key: str, value: object) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def otlp_span(span_id: str, parent: str | None, name: str, **attrs: object) -> dict:
    return {
        "traceId": TRACE,
        "spanId": span_id,
        **({"parentSpanId": parent} if parent else {}),
        "name": name,
        "startTimeUnixNano": "1767261600000000000",
        "endTimeUnixNano": "1767261600250000000",
        "attributes": [kv(k, v) for k, v in attrs.items()],
    }


def test_openinference_kinds_documents_and_events(engine, tmp_path):
    oi = "openinference.span.kind"
    spans = [
        otlp_span("00000000000000a1", None, "rag", **{oi: "CHAIN", "input.value": "returns?"}),
        otlp_span(
            "00000000000000a2", "00000000000000a1", "retrieve",
            **{
                oi: "RETRIEVER", "input.value": "return policy",
                "retrieval.documents.0.document.id": "kb-1",
                "retrieval.documents.0.document.content": "Returns within 30 days.",
                "retrieval.documents.0.document.score": 0.91,
                "retrieval.documents.0.document.metadata": '{"source": "faq"}',
                "retrieval.documents.1.document.id": "kb-2",
                "retrieval.documents.1.document.content": "Refunds in 5 days.",
            },
        ),
        otlp_span(
            "00000000000000a3", "00000000000000a1", "rerank",
            **{
                oi: "RERANKER", "reranker.query": "return policy",
                "reranker.model_name": "rerank-v3",
                "reranker.output_documents.0.document.id": "kb-1",
                "reranker.output_documents.0.document.score": 0.99,
            },
        ),
        otlp_span(
            "00000000000000a4", "00000000000000a1", "embed",
            **{
                oi: "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
                "embedding.embeddings.0.embedding.text": "return policy",
                "llm.token_count.prompt": 3,
            },
        ),
        otlp_span(
            "00000000000000a5", "00000000000000a1", "moderation",
            **{oi: "GUARDRAIL", "input.value": "returns?", "output.value": '{"flagged": false}'},
        ),
        otlp_span("00000000000000a6", "00000000000000a1", "odd", **{oi: "SOMETHING_NEW"}),
        otlp_span(
            "00000000000000a7", "00000000000000a1", "lookup",
            **{oi: "TOOL", "tool.name": "lookup", "input.value": "not json {",
               "tool.parameters": '{"type": "object"}'},
        ),
    ]  # fmt: skip
    logs = {
        "resourceLogs": [
            {
                "resource": {"attributes": [kv("service.name", "rag")]},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "eventName": "gen_ai.evaluation.result",
                                "traceId": TRACE,
                                "spanId": "00000000000000a1",
                                "timeUnixNano": "1767261600300000000",
                                "attributes": [
                                    kv("gen_ai.evaluation.name", "relevance"),
                                    kv("gen_ai.evaluation.score.value", 0.4),
                                ],
                            },
                            {
                                "eventName": "retry.failed",
                                "traceId": TRACE,
                                "spanId": "00000000000000a7",
                                "timeUnixNano": "1767261600200000000",
                                "severityNumber": 17,
                                "severityText": "ERROR",
                                "body": {"stringValue": "lookup backend unreachable"},
                            },
                            {  # a per-message event: the model call's content, no step
                                "eventName": "gen_ai.user.message",
                                "traceId": TRACE,
                                "spanId": "00000000000000a1",
                                "body": {"kvlistValue": {"values": [kv("content", "hi")]}},
                            },
                            {"eventName": "app.started", "timeUnixNano": "1767261600000000000"},
                        ]
                    }
                ],
            }
        ]
    }
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    path = tmp_path / "rag.jsonl"
    path.write_bytes(orjson.dumps(doc) + b"\n" + orjson.dumps(logs) + b"\n")
    report = run_import(engine, path)
    assert rejects(engine) == []
    by_format = {f.format: (f.lines, f.imported, f.skipped) for f in report.files}
    assert by_format == {"otlp": (1, 7, 0), "otlp-logs": (1, 2, 0)}
    (tree,) = trees(engine).values()
    events = [s for s in tree if s[2] == "event"]
    assert [s for s in tree if s[2] != "event"] == [
        ("00000000000000a1", None, "chain", "rag"),
        ("00000000000000a2", "00000000000000a1", "retriever", "retrieve"),
        ("00000000000000a3", "00000000000000a1", "reranker", "rerank"),
        ("00000000000000a4", "00000000000000a1", "embedding", "embed"),
        ("00000000000000a5", "00000000000000a1", "guardrail", "moderation"),
        ("00000000000000a6", "00000000000000a1", "chain", "odd"),
        ("00000000000000a7", "00000000000000a1", "tool", "lookup"),
    ]
    assert len(events) == 2
    retriever = step(engine, "00000000000000a2")
    assert retriever["inputs"] == "return policy"
    assert retriever["outputs"] == [
        {
            "id": "kb-1",
            "content": "Returns within 30 days.",
            "score": 0.91,
            "metadata": {"source": "faq"},
        },
        {"id": "kb-2", "content": "Refunds in 5 days."},
    ]
    assert not any(k.startswith("retrieval.") for k in retriever["metadata"])
    reranker = step(engine, "00000000000000a3")
    assert (reranker["inputs"], reranker["outputs"], reranker["model"]) == (
        "return policy", [{"id": "kb-1", "score": 0.99}], "rerank-v3",
    )  # fmt: skip
    embedding = step(engine, "00000000000000a4")
    assert (embedding["inputs"], embedding["model"], embedding["input_tokens"]) == (
        ["return policy"], "text-embedding-3-small", 3,
    )  # fmt: skip
    guard = step(engine, "00000000000000a5")
    assert (guard["inputs"], guard["outputs"]) == ("returns?", {"flagged": False})
    tool = step(engine, "00000000000000a7")
    assert tool["inputs"] == "not json {"  # not JSON: kept as logged
    assert tool["metadata"]["tool.parameters"] == '{"type": "object"}'  # the tool's schema

    evaluation, failure = (
        {**r, "outputs": orjson.loads(r["outputs"])}
        for r in sorted(records(engine, "kind = 'event'"), key=lambda r: r["name"])
    )
    assert (evaluation["name"], evaluation["parent_id"]) == (
        "gen_ai.evaluation.result", f"{TRACE}:00000000000000a1",
    )  # fmt: skip
    assert evaluation["outputs"] == {
        "gen_ai.evaluation.name": "relevance",
        "gen_ai.evaluation.score.value": 0.4,
    }
    assert (evaluation["timestamp"], evaluation["error"]) == ("2026-01-01T10:00:00.300000Z", None)
    assert (failure["name"], failure["parent_id"]) == ("retry.failed", f"{TRACE}:00000000000000a7")
    assert failure["outputs"] == "lookup backend unreachable"
    assert failure["error"] == "lookup backend unreachable"
    assert failure["metadata"]["severity"] == "ERROR"
    assert totals(engine, TRACE) == (9, 0, 1, 1, 0, ["lookup"])

    again = run_import(engine, path)
    assert (again.total("imported"), again.total("duplicates")) == (0, 9)
