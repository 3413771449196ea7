from __future__ import annotations

import json
from pathlib import Path

import orjson

from reviewer.ingest.formats.otlp import OtlpLogs, OtlpTraces, any_value, hex_id, nano_timestamp
from tests.conftest import FIXTURES, REAL_LOGS, records, rejects, run_import

OTLP_EXAMPLES = REAL_LOGS / "otlp-json-proto-examples"
STYLES = FIXTURES / "otlp_genai_styles.jsonl"


def s(v: str) -> dict:
    return {"stringValue": v}


def i(v: int) -> dict:
    return {"intValue": str(v)}


def attrs(**kw: dict) -> list:
    return [{"key": k.replace("__", "."), "value": v} for k, v in kw.items()]


def pairs(*items: tuple[str, dict]) -> list:
    return [{"key": k, "value": v} for k, v in items]


def export(spans: list, service: str = "svc", scope: str = "test.scope") -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": pairs(("service.name", s(service)))},
                "scopeSpans": [{"scope": {"name": scope}, "spans": spans}],
            }
        ]
    }


def span(
    span_id: str,
    attributes: list,
    *,
    trace: str = "11111111111111111111111111111111",
    start: int = 1767261600000000000,
    end: int = 1767261600500000000,
    **extra: object,
) -> dict:
    return {
        "traceId": trace,
        "spanId": span_id,
        "name": "span",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": attributes,
        **extra,
    }


def write_jsonl(path: Path, objs: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    return path


# -- the real OTLP examples: no GenAI data --------------------------------------------------------


def test_real_otlp_examples_hold_no_genai_call(engine):
    """The server span is a step (a chain) of its trace; the page-view event, in no span, is skipped."""
    report = run_import(engine, OTLP_EXAMPLES / "trace.json", OTLP_EXAMPLES / "events.json")
    assert rejects(engine) == []
    by_name = {Path(f.path).name: f for f in report.files}
    assert set(by_name) == {"trace.json", "events.json"}
    assert by_name["trace.json"].format == "otlp"
    assert by_name["events.json"].format == "otlp-logs"
    assert (by_name["trace.json"].lines, by_name["trace.json"].skipped) == (1, 0)
    assert (by_name["trace.json"].records, by_name["trace.json"].without_content) == (1, 0)
    assert (by_name["events.json"].lines, by_name["events.json"].skipped) == (1, 1)
    assert by_name["events.json"].records == 0
    (step,) = records(engine)
    assert step["id"] == "5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174"
    assert (step["kind"], step["name"]) == ("chain", "I'm a server span")
    assert step["parent_id"] == "5b8efff798038103d269b633813fc60c:eee19b7ec3c1b173"
    assert step["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert (step["timestamp"], step["latency_ms"]) == ("2018-12-13T14:51:00.000000Z", 1000.0)
    assert (step["inputs"], step["outputs"], step["error"], step["model"]) == (None,) * 4
    assert step["messages"] == [] and step["output"] is None
    assert step["metadata"] == {
        "service.name": "my.service",
        "otel.scope.name": "my.library",
        "otel.scope.version": "1.0.0",
        "my.span.attr": "some value",
        "span_id": "eee19b7ec3c1b174",
        "span_name": "I'm a server span",
        "parent_span_id": "eee19b7ec3c1b173",
    }


def test_real_examples_decode():
    doc = json.loads((OTLP_EXAMPLES / "trace.json").read_text())
    (sp,) = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert hex_id(sp["traceId"]) == "5b8efff798038103d269b633813fc60c"
    assert hex_id(sp["spanId"]) == "eee19b7ec3c1b174"
    assert nano_timestamp(sp["startTimeUnixNano"]) == "2018-12-13T14:51:00.000000Z"
    logs = json.loads((OTLP_EXAMPLES / "events.json").read_text())
    (log,) = logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert log["eventName"] == "browser.page_view"
    assert any_value(log["body"]) == {
        "type": 0,
        "url": "https://www.guidgenerator.com/online-guid-generator.aspx",
        "referrer": "https://wwww.google.com",
        "title": "Free Online GUID Generator",
    }


def test_attribute_values_and_ids():
    assert any_value({"intValue": "9007199254740993"}) == 9007199254740993  # exact, no float detour
    assert any_value({"doubleValue": 0.25}) == 0.25
    assert any_value({"boolValue": True}) is True
    assert any_value({"arrayValue": {"values": [s("a"), i(2)]}}) == ["a", 2]
    assert any_value({"kvlistValue": {"values": pairs(("k", s("v")))}}) == {"k": "v"}
    assert any_value({}) is None
    assert (
        hex_id("AAAAAAAAAAAAAAAAAAAAAQ==") == "00000000000000000000000000000001"
    )  # protobuf JSON base64
    assert hex_id("0000000000000000") is None
    assert nano_timestamp("1767261600101234567") == "2026-01-01T10:00:00.101234Z"


# -- one realistic line per attribute style -------------------------------------------------------

SYSTEM = "You are a travel assistant. Use the tools for live data."
U1 = "Hi! I'm planning a trip to Paris next week."
A1 = "Great choice! How can I help with your Paris trip?"
U2 = "What's the weather in Paris today?"
TOOL = '{"temp_c": 14, "conditions": "light rain"}'
OUT = "It's 14°C with light rain in Paris today, so take an umbrella."
CITY_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


def conversation(call_id: str, arguments: str) -> list[dict]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": U1},
        {"role": "assistant", "content": A1},
        {"role": "user", "content": U2},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": call_id, "name": "get_weather", "arguments": arguments}],
        },
        {"role": "tool", "content": TOOL, "tool_call_id": call_id},
    ]


def resource_meta(service: str, scope: str, version: str | None) -> dict:
    meta = {
        "service.name": service,
        "service.version": "2.3.1",
        "deployment.environment": "production",
        "telemetry.sdk.language": "python",
        "otel.scope.name": scope,
    }
    if version:
        meta["otel.scope.version"] = version
    return meta


def test_fixture_all_styles(engine):
    report = run_import(engine, STYLES)
    assert rejects(engine) == []
    (rep,) = report.files
    assert (rep.format, rep.lines, rep.records, rep.imported, rep.skipped) == ("otlp", 4, 7, 7, 0)
    semconv, legacy, openinference, events = records(engine, "kind = 'llm'")
    for r in (semconv, legacy, openinference, events):
        assert r["source_format"] == "otlp"
        assert r["output"] == {"role": "assistant", "content": OUT}
        assert r["error"] is None
        assert r["cost_usd"] is None and r["feedback_score"] is None and r["prompt_name"] is None
        raw = orjson.loads(
            r["raw"]
        )  # a one-span export request: only the GenAI span, with its resource
        (res,) = raw["resourceSpans"]
        ((only,),) = [sc["spans"] for sc in res["scopeSpans"]]
        assert only["spanId"].lower() == r["metadata"]["span_id"]

    # (a) current semantic conventions; uppercase ids in the source
    r = semconv
    assert r["id"] == "4bf92f3577b34da6a3ce929d0e0e4736:b7ad6b7169203331"
    assert r["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert r["timestamp"] == "2026-01-01T10:00:00.101234Z"
    assert r["latency_ms"] == 1742.222222
    assert (r["provider"], r["model"]) == ("openai", "gpt-4o-mini")
    assert (r["input_tokens"], r["output_tokens"]) == (312, 27)
    assert (r["session_id"], r["user_id"]) == ("conv-7f3a9c", "user-1001")
    assert r["messages"] == conversation("call_VSPygqKTWdrhaFErNvMV18Yl", '{"city":"Paris"}')
    assert r["params"] == {
        "temperature": 0.3,
        "max_tokens": 512,
        "top_p": 0.9,
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {**CITY_SCHEMA, "required": ["city"]},
            }
        ],
    }
    assert r["metadata"] == {
        **resource_meta("travel-chat", "opentelemetry.instrumentation.openai_v2", "2.2b0"),
        "response_model": "gpt-4o-mini-2024-07-18",
        "finish_reason": "stop",
        "gen_ai.operation.name": "chat",
        "gen_ai.response.id": "chatcmpl-BqX7d2kZ9yH1mN4pR6sT8uV0",
        "server.address": "api.openai.com",
        "span_id": "b7ad6b7169203331",
        "span_name": "chat gpt-4o-mini",
        "parent_span_id": "00f067aa0ba902b7",
    }

    # (b) legacy gen_ai.prompt.N / gen_ai.completion.N (OpenLLMetry)
    r = legacy
    assert r["id"] == "0af7651916cd43dd8448eb211c80319c:53995c3f42cd8ad8"
    assert r["timestamp"] == "2026-01-01T10:01:40.050000Z"
    assert r["latency_ms"] == 2400.0
    assert (r["provider"], r["model"]) == ("anthropic", "claude-3-5-sonnet-20241022")
    assert (r["input_tokens"], r["output_tokens"]) == (298, 31)
    assert (r["session_id"], r["user_id"]) == ("sess-b42", "user-2002")
    assert r["messages"] == conversation("toolu_01A09q90qw90lq917835lq9", '{"city": "Paris"}')
    assert r["params"] == {
        "max_tokens": 1024,
        "temperature": 0.0,
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {**CITY_SCHEMA, "required": ["city"]},
            }
        ],
    }
    assert r["metadata"] == {
        **resource_meta("travel-agent", "opentelemetry.instrumentation.anthropic", "0.33.9"),
        "finish_reason": "end_turn",
        "llm.request.type": "chat",
        "gen_ai.response.id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "llm.usage.total_tokens": 329,
        "span_id": "53995c3f42cd8ad8",
        "span_name": "anthropic.chat",
        "parent_span_id": "a2fb4a1d1a96d312",
    }

    # (c) OpenInference
    r = openinference
    assert r["id"] == "8f14e45fceea167a5a36dedd4bea2543:c81e728d9d4c2f63"
    assert r["timestamp"] == "2026-01-01T10:03:20.100000Z"
    assert r["latency_ms"] == 1250.0
    assert (r["provider"], r["model"]) == ("openai", "gpt-4o-2024-08-06")
    assert (r["input_tokens"], r["output_tokens"]) == (305, 29)
    assert (r["session_id"], r["user_id"]) == ("sess-c9", "user-3003")
    assert r["messages"] == conversation("call_62136354", '{"city": "Paris"}')
    assert r["params"] == {
        "temperature": 0.2,
        "max_tokens": 256,
        "tool_choice": "auto",
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": CITY_SCHEMA}}
        ],
    }
    assert r["metadata"] == {
        **resource_meta("travel-rag", "openinference.instrumentation.openai", "0.1.30"),
        "llm.token_count.total": 334,
        "experiment": "tools-v2",
        "openinference.span.kind": "LLM",
        "tag.tags": ["travel", "weather"],
        "span_id": "c81e728d9d4c2f63",
        "span_name": "ChatCompletion",
        "parent_span_id": "c4ca4238a0b92382",
    }

    # (d) per-message events on the span (gen_ai.*.message, gen_ai.choice)
    r = events
    assert r["id"] == "eccbc87e4b5ce2fe28308fd9f2a7baf3:a87ff679a2f3e71d"
    assert r["timestamp"] == "2026-01-01T10:05:00.000000Z"
    assert r["latency_ms"] == 1250.0
    assert (r["provider"], r["model"]) == ("azure", "Mistral-large-2407")
    assert (r["input_tokens"], r["output_tokens"]) == (301, 25)
    assert (r["session_id"], r["user_id"]) == (None, None)
    assert r["messages"] == conversation("call_hUv5Rf1wuMy4LFDvaKSTmEA6", '{"city": "Paris"}')
    assert r["params"] == {"top_p": 1.0}
    assert r["metadata"] == {
        **resource_meta("travel-assist", "azure.ai.inference.tracing", None),
        "response_model": "mistral-large-2407",
        "finish_reason": "stop",
        "gen_ai.operation.name": "chat",
        "gen_ai.response.id": "5bdbd5c5e8d44f1c9e2a0a0f2f0b3b1e",
        "server.address": "travel-ai.eastus2.models.ai.azure.com",
        "span_id": "a87ff679a2f3e71d",
        "span_name": "chat Mistral-large-2407",
    }


def test_reimport_of_fixture_is_idempotent(engine):
    run_import(engine, STYLES)
    second = run_import(engine, STYLES)
    assert (second.total("imported"), second.total("duplicates")) == (0, 7)


# -- small hand-written spans -------------------------------------------------------------------


def test_failed_span_document_with_other_spans(engine, tmp_path):
    doc = export(
        [
            span(
                "00000000000000aa",
                attrs(http__route=s("/chat")),
                trace="ABCDEF00000000000000000000000001",
            ),
            span(
                "00000000000000BB",
                attrs(
                    gen_ai__operation__name=s("chat"),
                    gen_ai__system=s("gcp.vertex_ai"),
                    gen_ai__request__model=s("gemini-2.5-flash"),
                    gen_ai__usage__input_tokens=i(40),
                    session__id=s("sess-1"),
                    enduser__id=s("alice"),
                    gen_ai__input__messages=s(
                        '[{"role": "user", "parts": [{"type": "text", "content": "Summarise this"}, {"type": "blob", "modality": "image", "mime_type": "image/jpeg", "content": "/9j/4AAQ"}]}]'
                    ),
                ),
                trace="ABCDEF00000000000000000000000001",
                start=1767261600000000000,
                end=1767261630000000000,
                parentSpanId="00000000000000AA",
                status={"code": 2, "message": "429 RESOURCE_EXHAUSTED: quota exceeded"},
            ),
            span(
                "00000000000000cc",
                attrs(gen_ai__operation__name=s("execute_tool"), gen_ai__tool__name=s("search")),
            ),
        ],
        service="summariser",
    )
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc, indent=2))
    report = run_import(engine, path)
    assert rejects(engine) == []
    assert (report.total("lines"), report.total("imported"), report.total("skipped")) == (1, 3, 0)
    (r,) = records(engine, "kind = 'llm'")
    assert r["id"] == "abcdef00000000000000000000000001:00000000000000bb"
    assert r["parent_id"] == "abcdef00000000000000000000000001:00000000000000aa"
    steps = [
        (x["id"], x["kind"], x["name"], x["parent_id"]) for x in records(engine, "kind != 'llm'")
    ]
    assert steps == [
        ("11111111111111111111111111111111:00000000000000cc", "tool", "search", None),
        ("abcdef00000000000000000000000001:00000000000000aa", "chain", "span", None),
    ]
    assert r["error"] == "429 RESOURCE_EXHAUSTED: quota exceeded"
    assert r["output"] is None
    assert r["messages"] == [
        {
            "role": "user",
            "content": "Summarise this",
            "parts": [{"type": "image", "url": "data:image/jpeg"}],
        }
    ]
    assert (r["provider"], r["model"]) == ("google", "gemini-2.5-flash")
    assert (r["input_tokens"], r["output_tokens"]) == (40, None)
    assert r["latency_ms"] == 30000.0
    assert (r["session_id"], r["user_id"]) == ("sess-1", "alice")
    assert r["metadata"] == {
        "service.name": "summariser",
        "otel.scope.name": "test.scope",
        "gen_ai.operation.name": "chat",
        "span_id": "00000000000000bb",
        "span_name": "span",
        "parent_span_id": "00000000000000aa",
    }


def test_spans_that_are_not_model_calls_are_steps(engine, tmp_path):
    lines = [
        export(
            [
                span(
                    "0000000000000001",
                    attrs(
                        gen_ai__operation__name=s("invoke_agent"),
                        gen_ai__request__model=s("gpt-4o"),
                    ),
                )
            ]
        ),
        export(
            [
                span(
                    "0000000000000002",
                    attrs(
                        gen_ai__operation__name=s("embeddings"),
                        gen_ai__request__model=s("text-embedding-3-small"),
                    ),
                )
            ]
        ),
        export(
            [
                span(
                    "0000000000000003",
                    attrs(openinference__span__kind=s("TOOL"), llm__model_name=s("gpt-4o")),
                )
            ]
        ),
        export([span("0000000000000004", attrs(traceloop__span__kind=s("workflow")))]),
        export([]),
    ]
    report = run_import(engine, write_jsonl(tmp_path / "spans.jsonl", lines))
    assert rejects(engine) == []
    assert (report.total("lines"), report.total("imported"), report.total("skipped")) == (5, 4, 1)
    assert report.total("without_content") == 0
    got = [(r["id"][-1], r["kind"], r["name"], r["model"]) for r in records(engine)]
    assert got == [
        ("1", "agent", "span", None),  # an agent's model is its calls' (kept in metadata)
        ("2", "embedding", "span", "text-embedding-3-small"),
        ("3", "tool", "span", None),
        ("4", "chain", "span", None),
    ]
    agent = records(engine)[0]
    assert agent["metadata"]["gen_ai.request.model"] == "gpt-4o"


def test_content_events_pydantic_events_and_vercel_spans(engine, tmp_path):
    older = span(
        "0000000000000011",
        attrs(
            gen_ai__system=s("openai"),
            gen_ai__request__model=s("gpt-3.5-turbo"),
            gen_ai__usage__prompt_tokens=i(9),
            gen_ai__usage__completion_tokens=i(3),
        ),
        events=[
            {
                "name": "gen_ai.content.prompt",
                "attributes": attrs(gen_ai__prompt=s('[{"role": "user", "content": "Say hi"}]')),
            },
            {
                "name": "gen_ai.content.completion",
                "attributes": attrs(
                    gen_ai__completion=s('[{"role": "assistant", "content": "Hi!"}]')
                ),
            },
        ],
    )
    pydantic_ai = span(
        "0000000000000012",
        attrs(
            gen_ai__operation__name=s("chat"),
            gen_ai__system=s("anthropic"),
            gen_ai__request__model=s("claude-3-5-haiku-latest"),
            events=s(
                json.dumps(
                    [
                        {
                            "event.name": "gen_ai.system.message",
                            "content": "Be terse.",
                            "role": "system",
                        },
                        {"event.name": "gen_ai.user.message", "content": "2+2?", "role": "user"},
                        {
                            "event.name": "gen_ai.choice",
                            "index": 0,
                            "message": {"role": "assistant", "content": "4"},
                        },
                    ]
                )
            ),
        ),
    )
    vercel = span(
        "0000000000000013",
        attrs(
            **{"operation__name": s("ai.generateText.doGenerate")},
            gen_ai__system=s("openai.chat"),
            gen_ai__request__model=s("gpt-4.1-mini"),
            gen_ai__usage__input_tokens=i(50),
            gen_ai__usage__output_tokens=i(12),
            ai__prompt__messages=s(
                '[{"role": "system", "content": "Help."}, {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}]'
            ),
            ai__response__text=s(""),
            ai__response__toolCalls=s(
                '[{"toolCallType": "function", "toolCallId": "call_9", "toolName": "weather", "args": "{\\"city\\":\\"Oslo\\"}"}]'
            ),
        ),
    )
    report = run_import(
        engine,
        write_jsonl(
            tmp_path / "spans.jsonl", [export([older]), export([pydantic_ai]), export([vercel])]
        ),
    )
    assert rejects(engine) == [] and report.total("imported") == 3
    r1, r2, r3 = records(engine)
    assert r1["messages"] == [{"role": "user", "content": "Say hi"}]
    assert r1["output"] == {"role": "assistant", "content": "Hi!"}
    assert (r1["model"], r1["input_tokens"], r1["output_tokens"]) == ("gpt-3.5-turbo", 9, 3)
    assert r2["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "2+2?"},
    ]
    assert r2["output"] == {"role": "assistant", "content": "4"}
    assert r2["provider"] == "anthropic"
    assert "events" not in r2["metadata"]
    assert r3["messages"] == [
        {"role": "system", "content": "Help."},
        {"role": "user", "content": "Weather in Oslo?"},
    ]
    assert r3["output"] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "call_9", "name": "weather", "arguments": '{"city":"Oslo"}'}],
    }
    assert (r3["provider"], r3["model"], r3["input_tokens"], r3["output_tokens"]) == (
        "openai",
        "gpt-4.1-mini",
        50,
        12,
    )
    assert r3["metadata"]["operation"] == "ai.generateText.doGenerate"


# -- OTLP logs ----------------------------------------------------------------------------------


def test_inference_operation_details_log_events(engine, tmp_path):
    details = {
        "timeUnixNano": "1767261605000000000",
        "observedTimeUnixNano": "1767261605000100000",
        "eventName": "gen_ai.client.inference.operation.details",
        "traceId": "0123456789ABCDEF0123456789ABCDEF",
        "spanId": "0123456789ABCDEF",
        "attributes": attrs(
            gen_ai__operation__name=s("chat"),
            gen_ai__provider__name=s("openai"),
            gen_ai__request__model=s("gpt-5-mini"),
            gen_ai__request__temperature={"doubleValue": 1.0},
            gen_ai__response__model=s("gpt-5-mini-2025-08-07"),
            gen_ai__usage__input_tokens=i(21),
            gen_ai__usage__output_tokens=i(6),
            gen_ai__conversation__id=s("c-1"),
            gen_ai__system_instructions=s('[{"type": "text", "content": "Reply in French."}]'),
            gen_ai__input__messages=s(
                '[{"role": "user", "parts": [{"type": "text", "content": "Good morning"}]}]'
            ),
            gen_ai__output__messages=s(
                '[{"role": "assistant", "parts": [{"type": "reasoning", "content": "Translate."}, {"type": "text", "content": "Bonjour"}], "finish_reason": "stop"}]'
            ),
        ),
    }
    other = {
        "timeUnixNano": "1767261605000000000",
        "eventName": "gen_ai.user.message",
        "body": {"kvlistValue": {"values": pairs(("content", s("Good morning")))}},
    }
    doc = {
        "resourceLogs": [
            {
                "resource": {"attributes": pairs(("service.name", s("translator")))},
                "scopeLogs": [
                    {
                        "scope": {"name": "openai.instrumentation", "version": "2.1"},
                        "logRecords": [other, details],
                    }
                ],
            }
        ]
    }
    only_other = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [other]}]}]}
    report = run_import(engine, write_jsonl(tmp_path / "logs.jsonl", [doc, only_other]))
    assert rejects(engine) == []
    assert (report.total("lines"), report.total("imported"), report.total("skipped")) == (2, 1, 1)
    assert [f.format for f in report.files] == ["otlp-logs"]
    (r,) = records(engine)
    assert r["source_format"] == "otlp-logs"
    assert r["id"] == "0123456789abcdef0123456789abcdef:0123456789abcdef"
    assert r["trace_id"] == "0123456789abcdef0123456789abcdef"
    assert r["timestamp"] == "2026-01-01T10:00:05.000000Z"
    assert r["latency_ms"] is None
    assert (r["provider"], r["model"]) == ("openai", "gpt-5-mini")
    assert (r["input_tokens"], r["output_tokens"]) == (21, 6)
    assert r["session_id"] == "c-1"
    assert r["params"] == {"temperature": 1.0}
    assert r["messages"] == [
        {"role": "system", "content": "Reply in French."},
        {"role": "user", "content": "Good morning"},
    ]
    assert r["output"] == {
        "role": "assistant",
        "content": "Bonjour",
        "parts": [{"type": "thinking", "text": "Translate."}],
    }
    assert r["metadata"] == {
        "service.name": "translator",
        "otel.scope.name": "openai.instrumentation",
        "otel.scope.version": "2.1",
        "response_model": "gpt-5-mini-2025-08-07",
        "finish_reason": "stop",
        "gen_ai.operation.name": "chat",
        "span_id": "0123456789abcdef",
    }
    raw = orjson.loads(r["raw"])
    assert raw["resourceLogs"][0]["scopeLogs"][0]["logRecords"] == [details]


def test_detect_is_specific():
    traces, logs = OtlpTraces(), OtlpLogs()
    assert traces.detect({"resourceSpans": []}) and not logs.detect({"resourceSpans": []})
    assert logs.detect({"resourceLogs": []}) and not traces.detect({"resourceLogs": []})
    for obj in ({"resourceMetrics": []}, {"spans": []}, {"type": "message"}, [], "x"):
        assert not traces.detect(obj) and not logs.detect(obj)


def test_span_without_captured_content_is_kept_without_content(engine, tmp_path):
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "chat gpt-4o-mini",
        "startTimeUnixNano": "1763640000000000000",
        "endTimeUnixNano": "1763640001500000000",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "120"}},
        ],
    }
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "x"}, "spans": [span]}],
            }
        ]
    }
    path = tmp_path / "spans.jsonl"
    path.write_bytes(orjson.dumps(doc) + b"\n")
    report = run_import(engine, path)
    assert (report.total("imported"), report.total("rejected")) == (1, 0)
    assert report.total("without_content") == 1
    (r,) = records(engine)
    assert (r["messages"], r["output"], r["model"]) == ([], None, "gpt-4o-mini")
    assert (r["input_tokens"], r["latency_ms"]) == (120, 1500.0)
