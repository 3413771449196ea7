"""Span dumps: Phoenix / OpenInference exports (`openinference`) and Vercel AI SDK spans
(`vercel-ai`, plain or inside OTLP/JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from reviewer.ingest.formats.spans import OpenInferenceSpans, VercelAISpans, is_span
from tests.conftest import REAL_LOGS, records, rejects, run_import

PHOENIX = REAL_LOGS / "openinference-phoenix"
VERCEL = REAL_LOGS / "vercel-ai-sdk"

SUPPORT_SYSTEM = {"role": "system", "content": "You are the support assistant of a shoe shop."}
RETURNS_Q = {"role": "user", "content": "Can I return shoes after 60 days?"}
RETURNS_A = "Returns are accepted within 30 days of delivery."
WEATHER_Q = {"role": "user", "content": "What is the weather in Paris?"}
NOT_FOUND = "The model `no-such-model` does not exist"


def by_span(engine) -> dict[str, dict]:
    """The LLM records by span id (the other spans are steps: see test_struct_otlp.py)."""
    return {r["id"].split(":")[1]: r for r in records(engine, "kind = 'llm'")}


def write_jsonl(path: Path, objs: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    return path


# -- OpenInference: the same 7 spans in four real shapes ------------------------------------------

# file: (format, lines, skipped, latency of the first call in ms); the AGENT and TOOL spans are
# steps, so nothing is skipped
PHOENIX_FILES = {
    "otel-python-to_json.jsonl": (7, 0, 105.088),
    "phoenix-rest-spans.json": (1, 0, 105.088),
    "phoenix-rest-spans-otlpv1.json": (1, 0, 105.088),
    "spans-dataframe.jsonl": (7, 0, 105.0),  # pandas writes epoch milliseconds
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.mark.parametrize("name", sorted(PHOENIX_FILES))
def test_real_openinference_exports(engine, name):
    lines, skipped, latency = PHOENIX_FILES[name]
    report = run_import(engine, PHOENIX / name)
    assert rejects(engine) == []
    (file,) = report.files
    assert (file.format, file.lines, file.imported, file.skipped) == (
        "openinference",
        lines,
        7,
        skipped,
    )
    got = by_span(engine)
    assert set(got) == {
        "5f64e5a6be28c6d6",
        "7bfddc93bc15354f",
        "831e4029a8060b84",
        "80307c39e97abcf4",
        "02a1249832d7a697",
    }
    for r in got.values():
        assert r["source_format"] == "openinference" and r["provider"] == "openai"

    plain = got["5f64e5a6be28c6d6"]
    assert plain["id"] == "994d62da91919080c8bdfbf914697817:5f64e5a6be28c6d6"
    assert plain["trace_id"] == "994d62da91919080c8bdfbf914697817"
    assert plain["messages"] == [SUPPORT_SYSTEM, RETURNS_Q]
    assert plain["output"] == {"role": "assistant", "content": RETURNS_A}
    assert plain["model"] == "gpt-4o-mini-2024-07-18"
    assert (plain["input_tokens"], plain["output_tokens"]) == (24, 10)
    assert plain["params"] == {"max_tokens": 200, "temperature": 0.2}
    assert (plain["user_id"], plain["session_id"]) == ("user-42", "sess-7")
    assert plain["metadata"]["feature"] == "returns"
    assert plain["metadata"]["span_name"] == "ChatCompletion"
    assert plain["latency_ms"] == pytest.approx(latency, abs=1e-3)
    assert plain["timestamp"].startswith("2026-12-03T06:49:08.388")
    assert plain["error"] is None

    call = got["7bfddc93bc15354f"]
    assert call["messages"] == [WEATHER_Q]
    assert call["output"] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_weather_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}
        ],
    }
    assert call["params"] == {"tools": [WEATHER_TOOL]}
    assert call["metadata"]["parent_span_id"] == "060597f1c7b0a835"  # the AGENT span
    assert (call["input_tokens"], call["output_tokens"]) == (31, 9)

    answer = got["831e4029a8060b84"]
    assert answer["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_weather_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}
            ],
        },
        {
            "role": "tool",
            "content": '{"city": "Paris", "celsius": 18}',
            "tool_call_id": "call_weather_1",
        },
    ]
    assert answer["output"] == {"role": "assistant", "content": "It is 18°C and sunny in Paris."}
    assert (answer["input_tokens"], answer["output_tokens"]) == (58, 11)

    stream = got["80307c39e97abcf4"]
    assert stream["output"] == {"role": "assistant", "content": RETURNS_A + " "}
    assert stream["params"] == {"stream": True, "stream_options": {"include_usage": True}}

    failed = got["02a1249832d7a697"]
    assert failed["error"] == "NotFoundError: Error code: 404 - " + NOT_FOUND
    assert failed["model"] == "no-such-model"  # from llm.invocation_parameters
    assert failed["messages"] == [{"role": "user", "content": "Hello?"}]
    assert failed["output"] is None
    assert (failed["input_tokens"], failed["output_tokens"]) == (None, None)


def test_phoenix_nested_attributes_and_hostile_shapes(engine, tmp_path):
    """Phoenix's own span JSON keeps attributes nested; odd shapes are skipped or rejected, never crash."""
    nested = {
        "name": "ChatOpenAI",
        "context": {"trace_id": "ab" * 16, "span_id": "cd" * 8},
        "span_kind": "LLM",
        "parent_id": None,
        "start_time": "2025-03-01T10:00:00.000000+00:00",
        "end_time": "2025-03-01T10:00:01.250000+00:00",
        "status_code": "ERROR",
        "status_message": "RateLimitError: slow down",
        "attributes": {
            "llm": {
                "model_name": "gpt-4o",
                "input_messages": [
                    {"message": {"role": "user", "content": "hi"}},
                ],
                "output_messages": [
                    {
                        "message": {
                            "role": "assistant",
                            "tool_calls": [
                                {
                                    "tool_call": {
                                        "id": "t1",
                                        "function": {"name": "lookup", "arguments": '{"q": 1}'},
                                    }
                                }
                            ],
                        }
                    }
                ],
                "token_count": {"prompt": 5, "completion": 2},
            },
            "metadata": {"tier": "gold"},
        },
        "events": [],
    }
    chain = {
        **nested,
        "span_kind": "CHAIN",
        "context": {"trace_id": "ab" * 16, "span_id": "ef" * 8},
    }
    odd = {
        "name": "x",
        "context": {"span_id": "12" * 8},
        "attributes": {"openinference.span.kind": "LLM", "llm.input_messages": "not a list"},
        "start_time": [None, "x"],
        "status": "weird",
    }
    path = write_jsonl(tmp_path / "phoenix.jsonl", [nested, chain, odd])
    report = run_import(engine, path)
    (file,) = report.files
    assert (file.format, file.imported, file.skipped, file.rejected) == ("openinference", 2, 0, 1)
    (r,) = records(engine, "kind = 'llm'")
    (step,) = records(engine, "kind != 'llm'")
    assert (step["id"], step["kind"], step["parent_id"]) == (
        "ab" * 16 + ":" + "ef" * 8,
        "chain",
        None,
    )
    assert r["id"] == "ab" * 16 + ":" + "cd" * 8
    assert r["messages"] == [{"role": "user", "content": "hi"}]
    assert r["output"]["tool_calls"] == [{"id": "t1", "name": "lookup", "arguments": '{"q": 1}'}]
    assert (r["model"], r["input_tokens"], r["output_tokens"]) == ("gpt-4o", 5, 2)
    assert r["latency_ms"] == 1250.0 and r["timestamp"] == "2025-03-01T10:00:00.000000Z"
    assert r["error"] == "RateLimitError: slow down"
    assert r["metadata"]["tier"] == "gold"
    (reject,) = rejects(engine)
    assert reject["line"] == 3


# -- Vercel AI SDK: one real run, as ReadableSpan JSONL and as OTLP/JSON ---------------------------


VERCEL_SPANS = {
    "a2365293f33da0dd",  # generateText
    "7f572b901567e6a7",  # step 1: tool call
    "18ffcc57381b7df4",  # step 2: answer after the tool
    "76f643bd4f14d619",  # streamText
    "b06644bd0eb5d996",  # failed call
}


@pytest.mark.parametrize(
    ("name", "fmt", "lines", "skipped"),
    [("readable-spans.jsonl", "vercel-ai", 10, 0), ("otlp-export.json", "otlp", 1, 0)],
)
def test_real_vercel_ai_spans(engine, name, fmt, lines, skipped):
    report = run_import(engine, VERCEL / name)
    assert rejects(engine) == []
    (file,) = report.files
    assert (file.format, file.lines, file.imported, file.skipped) == (fmt, lines, 10, skipped)
    got = by_span(engine)
    assert set(got) == VERCEL_SPANS  # the outer ai.generateText / ai.streamText spans are steps
    for r in got.values():
        assert (r["source_format"], r["provider"]) == (fmt, "openai")
        assert r["metadata"]["ai.model.provider"] == "openai.chat"

    plain = got["a2365293f33da0dd"]
    assert plain["trace_id"] == "1c6ef3d20b91f3d9d41ab1873fa321c0"
    assert plain["messages"] == [SUPPORT_SYSTEM, RETURNS_Q]
    assert plain["output"] == {"role": "assistant", "content": RETURNS_A}
    assert (plain["model"], plain["metadata"]["response_model"]) == (
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
    )
    assert (plain["input_tokens"], plain["output_tokens"]) == (24, 10)
    assert plain["latency_ms"] == pytest.approx(138.522443)
    assert plain["timestamp"] == "2026-12-03T06:43:11.153000Z"
    assert plain["params"] == {"max_tokens": 200, "temperature": 0.2}
    assert (plain["user_id"], plain["session_id"]) == ("user-42", "sess-7")
    meta = plain["metadata"]
    assert (meta["function_id"], meta["operation"], meta["finish_reason"]) == (
        "support-answer",
        "ai.generateText.doGenerate",
        "stop",
    )
    assert (meta["response_id"], meta["parent_span_id"]) == (
        "chatcmpl-local-20",
        "0e5c434dfb05f83d",
    )
    assert "ai.prompt.messages" not in meta and "ai.telemetry.metadata.userId" not in meta

    call = got["7f572b901567e6a7"]
    assert call["messages"] == [WEATHER_Q]
    assert call["output"] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_weather_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
        ],
    }
    assert call["params"]["tool_choice"] == {"type": "auto"}
    assert [t["name"] for t in call["params"]["tools"]] == ["get_weather"]
    assert call["metadata"]["finish_reason"] == "tool-calls"
    assert (call["input_tokens"], call["output_tokens"]) == (31, 9)

    answer = got["18ffcc57381b7df4"]
    assert answer["messages"][2] == {
        "role": "tool",
        "content": '{"city":"Paris","celsius":18,"sky":"sunny"}',
        "tool_call_id": "call_weather_1",
        "name": "get_weather",
    }
    assert answer["output"] == {"role": "assistant", "content": "It is 18°C and sunny in Paris."}
    assert answer["metadata"]["parent_span_id"] == call["metadata"]["parent_span_id"]

    stream = got["76f643bd4f14d619"]
    assert stream["output"] == {"role": "assistant", "content": RETURNS_A + " "}
    assert stream["metadata"]["time_to_first_token_ms"] == pytest.approx(95.900502)
    assert stream["metadata"]["operation"] == "ai.streamText.doStream"

    failed = got["b06644bd0eb5d996"]
    assert failed["error"] == NOT_FOUND
    assert (failed["model"], failed["output"], failed["input_tokens"]) == (
        "no-such-model",
        None,
        None,
    )
    assert failed["messages"] == [{"role": "user", "content": "Hello?"}]


def test_older_ai_sdk_attributes_and_console_exporter_shape(engine, tmp_path):
    """AI SDK 3/4 names (promptTokens, args) in a ConsoleSpanExporter object (µs timestamp/duration)."""
    inner = {
        "traceId": "11" * 16,
        "parentId": "22" * 8,
        "name": "ai.generateText.doGenerate",
        "id": "33" * 8,
        "kind": 0,
        "timestamp": 1730000000000000,
        "duration": 850000,
        "attributes": {
            "operation.name": "ai.generateText.doGenerate",
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.id": "claude-3-5-sonnet-20240620",
            "ai.model.provider": "anthropic.messages",
            "ai.prompt.format": "prompt",
            "ai.prompt.messages": json.dumps([{"role": "user", "content": "Weather?"}]),
            "ai.response.text": "Let me check.",
            "ai.response.toolCalls": json.dumps(
                [
                    {
                        "toolCallType": "function",
                        "toolCallId": "c1",
                        "toolName": "w",
                        "args": '{"x":1}',
                    }
                ]
            ),
            "ai.response.finishReason": "tool-calls",
            "ai.usage.promptTokens": 12,
            "ai.usage.completionTokens": 7,
            "ai.settings.maxTokens": 64,
            "ai.telemetry.metadata.userId": "u1",
        },
        "status": {"code": 0},
        "events": [],
    }
    outer = {**inner, "name": "ai.generateText", "id": "22" * 8, "parentId": None}
    outer["attributes"] = {**inner["attributes"], "ai.operationId": "ai.generateText"}
    tool = {**inner, "name": "ai.toolCall", "id": "44" * 8}
    tool["attributes"] = {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "w"}
    path = write_jsonl(tmp_path / "console.jsonl", [inner, tool, outer])
    report = run_import(engine, path)
    (file,) = report.files
    assert (file.format, file.imported, file.skipped, file.rejected) == ("vercel-ai", 3, 0, 0)
    (r,) = records(engine, "kind = 'llm'")
    steps = [
        (x["id"][-16:], x["kind"], x["name"], x["parent_id"])
        for x in records(engine, "kind != 'llm'")
    ]
    assert steps == [
        ("44" * 8, "tool", "w", "11" * 16 + ":" + "22" * 8),
        ("22" * 8, "agent", "ai.generateText", None),
    ]
    assert r["id"] == "11" * 16 + ":" + "33" * 8
    assert (r["provider"], r["model"]) == ("anthropic", "claude-3-5-sonnet-20240620")
    assert (r["input_tokens"], r["output_tokens"]) == (12, 7)
    assert r["output"] == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [{"id": "c1", "name": "w", "arguments": '{"x":1}'}],
    }
    assert r["latency_ms"] == 850.0 and r["timestamp"] == "2024-10-27T03:33:20.000000Z"
    assert r["params"] == {"max_tokens": 64}
    assert (r["user_id"], r["metadata"]["finish_reason"]) == ("u1", "tool-calls")
    assert r["metadata"]["parent_span_id"] == "22" * 8


def test_detection_is_specific():
    oi, va = OpenInferenceSpans(), VercelAISpans()
    vercel_line = orjson.loads((VERCEL / "readable-spans.jsonl").read_bytes().splitlines()[0])
    phoenix_page = orjson.loads((PHOENIX / "phoenix-rest-spans.json").read_bytes())
    assert va.detect(vercel_line) and not va.detect(phoenix_page)
    assert oi.detect(phoenix_page)
    for other in (
        {"name": "x"},
        {"id": "run", "trace_id": "t", "name": "ChatOpenAI", "run_type": "llm", "inputs": {}},
        {"data": [], "next_cursor": None},
        {"traceId": "t", "name": "n"},
        [],
        "text",
    ):
        assert not is_span(other) and not oi.detect(other) and not va.detect(other)
