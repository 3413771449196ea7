"""Gemini: the `gemini` format (google-genai / Vertex request+response pairs, responses alone,
batch output) and Gemini content inside Langfuse, LangSmith, OTLP and LiteLLM records."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from reviewer.messages import to_messages
from tests.conftest import REAL_LOGS, records, rejects, run_import

VERTEX_BATCH = REAL_LOGS / "vertex-batch-prediction-output" / "predictions.jsonl"
SDK_LOG = REAL_LOGS / "google-genai-sdk-offline" / "generate_content.jsonl"
TRACES = REAL_LOGS / "langfuse-trace-download"
PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAAAAAQAAQ0KLbQAAAAASUVORK5CYII="
)
ADK_SYSTEM = 'Always greet using the say_hello tool.\n\nYou are an agent. Your internal name is "hello_agent".'


def write_jsonl(path: Path, objs: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    return path


def by_id(engine) -> dict[str, dict]:
    return {r["id"]: r for r in records(engine)}


# -- real files ----------------------------------------------------------------------------------


def test_real_vertex_batch_prediction_output(engine):
    report = run_import(engine, VERTEX_BATCH)
    assert (report.total("records"), report.total("skipped"), report.total("rejected")) == (2, 0, 0)
    assert report.files[0].format == "gemini"
    first, second = records(engine)
    assert first["id"] == "S8vNaIvKHdvshMIP_aOtuAg" and second["id"] == "S8vNaOneHISShMIP28nA8QQ"
    assert (first["provider"], first["model"]) == ("google", "gemini-2.5-flash-lite")
    assert first["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello world!"},
    ]
    assert first["output"] == {"role": "assistant", "content": "Hello there! It's nice to meet you"}
    assert first["params"] == {"max_output_tokens": 10}
    assert (first["input_tokens"], first["output_tokens"]) == (9, 10)
    assert first["timestamp"] == "2025-09-19T21:29:47.352000Z"  # processed_time, not createTime
    assert first["error"] is None and first["latency_ms"] is None
    md = first["metadata"]
    assert md["finish_reason"] == "MAX_TOKENS"
    assert md["avg_logprobs"] == pytest.approx(-0.48079710006713866)
    assert md["usage_details"]["totalTokenCount"] == 19
    assert md["usage_details"]["trafficType"] == "ON_DEMAND"
    assert second["messages"][0] == {"role": "system", "content": "You are an unhelpful assistant."}
    assert second["output"]["content"] == "I am unable to assist with this request."
    assert (second["input_tokens"], second["output_tokens"]) == (9, 9)
    assert second["metadata"]["finish_reason"] == "STOP"
    again = run_import(engine, VERTEX_BATCH)
    assert again.total("duplicates") == 2 and again.total("imported") == 0


def test_real_google_genai_sdk_log(engine):
    report = run_import(engine, SDK_LOG)
    assert (report.total("records"), report.total("rejected")) == (3, 0)
    first, second, failed = records(engine)

    # call 1: system instruction, text + image, answered by a thought and a function call
    assert first["id"] == "kX3saPq7CLeOz7IPn4ukmQo" and first["source_format"] == "gemini"
    assert (first["provider"], first["model"]) == ("google", "gemini-2.5-flash")
    assert first["messages"] == [
        {"role": "system", "content": "You are a concise weather assistant."},
        {
            "role": "user",
            "content": "What's the weather in Paris? Here is a photo of my window.",
            "parts": [{"type": "image", "url": "data:image/png"}],
        },
    ]
    assert PNG_BASE64 not in json.dumps(first["messages"])  # the bytes stay in the raw line only
    assert PNG_BASE64 in first["raw"]
    assert first["output"] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": None, "name": "get_weather", "arguments": '{"city":"Paris","unit":"celsius"}'}
        ],
        "parts": [
            {
                "type": "thinking",
                "text": "The user wants the weather in Paris; I should call get_weather.",
            }
        ],
    }
    assert first["params"]["temperature"] == 0.2 and first["params"]["max_output_tokens"] == 512
    assert first["params"]["thinking_config"] == {"include_thoughts": True, "thinking_budget": 256}
    assert first["params"]["tools"][0]["function_declarations"][0]["name"] == "get_weather"
    assert "system_instruction" not in first["params"]
    assert (first["input_tokens"], first["output_tokens"]) == (118, 21)
    assert first["metadata"]["usage_details"]["thoughts_token_count"] == 37
    assert first["metadata"]["finish_reason"] == "STOP"
    assert [r["category"] for r in first["metadata"]["safety_ratings"]] == [
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
    ]
    assert first["latency_ms"] == 121.5 and first["timestamp"] == "2026-12-03T06:50:21.000000Z"

    # call 2: the function response is a tool message; the answer is text
    assert second["id"] == "mX3saNHuGZ6Oz7IP0ra0sQk"
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
    assert second["messages"][2]["tool_calls"][0]["name"] == "get_weather"
    assert second["messages"][3] == {
        "role": "tool",
        "content": '{"temperature":18,"sky":"cloudy"}',
        "name": "get_weather",
    }
    assert second["output"] == {
        "role": "assistant",
        "content": "It is 18 °C and cloudy in Paris right now.",
    }
    assert (second["input_tokens"], second["output_tokens"]) == (171, 14)
    assert second["metadata"]["usage_details"]["cached_content_token_count"] == 96

    # call 3: the API error is the record's error
    assert failed["error"] == "400: Request contains an invalid argument."
    assert failed["messages"] == [{"role": "user", "content": "Say hi"}]
    assert failed["output"] is None and failed["params"] == {"temperature": 7.0}
    assert failed["id"].startswith("h-")  # no response id: a content hash


def test_langfuse_google_adk_generations(engine):
    report = run_import(engine, TRACES / "google-adk-2025-08-28.trace.json")
    assert (report.total("records"), report.total("rejected")) == (6, 0)  # 2 calls, 4 steps
    got = by_id(engine)
    call = got["f6e4c65297e40c96"]  # the model asks for the tool
    assert (call["provider"], call["model"]) == ("google", "gemini-2.0-flash")
    assert call["messages"] == [
        {"role": "system", "content": ADK_SYSTEM},
        {"role": "user", "content": "hi"},
    ]
    assert call["output"] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": None, "name": "say_hello", "arguments": "{}"}],
    }
    assert (call["input_tokens"], call["output_tokens"]) == (28, 3)
    assert call["cost_usd"] == pytest.approx(0.000004)
    assert call["metadata"]["finish_reason"] == "STOP"
    answer = got["bded677884f031ce"]  # the model answers with the tool's result in its input
    assert answer["messages"] == [
        {"role": "system", "content": ADK_SYSTEM},
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": None, "name": "say_hello", "arguments": "{}"}],
        },
        {"role": "tool", "content": '{"greeting":"Hello Langfuse 👋"}', "name": "say_hello"},
    ]
    assert answer["output"] == {"role": "assistant", "content": "Hello Langfuse 👋!\n"}
    assert (answer["input_tokens"], answer["output_tokens"]) == (39, 6)
    assert answer["latency_ms"] == 924.0
    assert answer["params"]["tools"] == [{"function_declarations": [{"name": "say_hello"}]}]
    assert "config" not in answer["params"]
    assert (answer["user_id"], answer["session_id"]) == ("demo-user", "demo-session")


def test_langfuse_llamaindex_args_are_the_question(engine):
    report = run_import(engine, TRACES / "llamaindex-2025-06-05.trace.json")
    # the trace, a span and the call
    assert (report.total("records"), report.total("rejected")) == (3, 0)
    (r,) = records(engine, "kind = 'llm'")
    assert r["id"] == "7ca8b22f6628d0c7"
    assert r["messages"] == [{"role": "user", "content": "What is Langfuse?"}]
    assert r["output"]["content"].startswith("Langfuse is a tool designed to help developers")
    assert (r["provider"], r["model"]) == ("openai", "gpt-4o")
    assert (r["input_tokens"], r["output_tokens"]) == (13, 81)


# -- the gemini format on other shapes -----------------------------------------------------------

RESPONSE = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "Bonjour"}]},
            "finishReason": "STOP",
        },
        {"content": {"role": "model", "parts": [{"text": "Salut"}]}, "finishReason": "STOP"},
    ],
    "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "thoughtsTokenCount": 5},
    "modelVersion": "gemini-2.0-flash-001",
    "responseId": "resp-1",
}


def test_response_alone_and_other_candidates(engine, tmp_path):
    report = run_import(engine, write_jsonl(tmp_path / "r.jsonl", [RESPONSE]))
    assert (report.total("records"), report.files[0].format) == (1, "gemini")
    (r,) = records(engine)
    assert (r["id"], r["model"], r["provider"]) == ("resp-1", "gemini-2.0-flash-001", "google")
    assert r["messages"] == [] and r["output"] == {"role": "assistant", "content": "Bonjour"}
    assert r["metadata"]["other_candidates"] == [{"role": "assistant", "content": "Salut"}]
    assert r["metadata"]["usage_details"] == {"thoughtsTokenCount": 5}
    assert (r["input_tokens"], r["output_tokens"]) == (4, 2)


def test_batch_lines_failed_input_only_instance_and_key(engine, tmp_path):
    request = {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "labels": {"custom_id": "req-7"},
    }
    path = write_jsonl(
        tmp_path / "batch.jsonl",
        [
            {  # a failed Vertex line: the status says why, there is no response
                "status": "Bad Request: 400 The input token count exceeds the maximum",
                "processed_time": "2025-01-02T03:04:05.000+00:00",
                "request": request,
            },
            {"request": request},  # an input line: skipped, the output repeats it
            {"instance": request, "prediction": RESPONSE},
            {"key": "row-9", "response": {**RESPONSE, "responseId": "resp-2"}},
        ],
    )
    report = run_import(engine, path)
    assert (report.total("records"), report.total("skipped"), report.total("rejected")) == (3, 1, 0)
    failed, instance, keyed = records(engine)
    assert failed["error"] == "Bad Request: 400 The input token count exceeds the maximum"
    assert failed["timestamp"] == "2025-01-02T03:04:05.000000Z"
    assert failed["messages"] == [{"role": "user", "content": "Hi"}] and failed["output"] is None
    assert failed["metadata"]["custom_id"] == "req-7" and not failed["params"]
    assert instance["id"] == "resp-1" and instance["output"]["content"] == "Bonjour"
    assert keyed["id"] == "resp-2" and keyed["metadata"]["batch_key"] == "row-9"


def test_blocked_prompt_is_an_error_and_camel_case_parts(engine, tmp_path):
    line = {
        "request": {
            "model": "publishers/google/models/gemini-1.5-pro",
            "systemInstruction": {"parts": [{"text": "Be nice."}]},
            "generationConfig": {"temperature": 0.1},
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Describe"},
                        {"fileData": {"fileUri": "gs://b/cat.mp4", "mimeType": "video/mp4"}},
                        {"inlineData": {"data": "QUJD", "mimeType": "application/pdf"}},
                    ],
                },
                {
                    "role": "model",
                    "parts": [{"functionCall": {"id": "c1", "name": "look", "args": {"q": 1}}}],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"id": "c1", "name": "look", "response": {"ok": 1}}}
                    ],
                },
            ],
        },
        "response": {
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
            "modelVersion": "gemini-1.5-pro-002",
        },
        "latency_ms": 80,
    }
    run_import(engine, write_jsonl(tmp_path / "b.jsonl", [line]))
    (r,) = records(engine)
    assert r["error"] == "prompt blocked: SAFETY"
    assert r["model"] == "gemini-1.5-pro"
    assert r["metadata"]["request_model"] == "publishers/google/models/gemini-1.5-pro"
    assert r["metadata"]["response_model"] == "gemini-1.5-pro-002"
    assert r["params"] == {"temperature": 0.1}
    assert r["messages"] == [
        {"role": "system", "content": "Be nice."},
        {
            "role": "user",
            "content": "Describe",
            "parts": [
                {"type": "video", "url": "gs://b/cat.mp4"},
                {"type": "file", "url": "data:application/pdf"},
            ],
        },
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "name": "look", "arguments": '{"q":1}'}],
        },
        {"role": "tool", "content": '{"ok":1}', "tool_call_id": "c1", "name": "look"},
    ]
    assert (r["input_tokens"], r["output_tokens"], r["latency_ms"]) == (12, None, 80.0)


def test_hostile_shapes_do_not_crash(engine, tmp_path):
    lines = [
        {
            "candidates": [{"content": "oops", "finishReason": 3}],
            "usageMetadata": "x",
            "responseId": 5,
        },
        {"request": {"contents": [None, 5, ["nested"], {"parts": [7, None]}]}, "error": "boom"},
        {
            "request": {"contents": {"parts": "not a list"}},
            "response": {"candidates": [{"content": {"parts": [{"functionCall": "x"}]}}]},
        },
        {"request": {"contents": "hi", "model": 5, "config": [1]}, "status": ""},
    ]
    report = run_import(engine, write_jsonl(tmp_path / "h.jsonl", lines))
    totals = ("lines", "records", "skipped", "rejected")
    assert tuple(report.total(t) for t in totals) == (4, 2, 1, 1)  # the last: a request, no answer
    (bad,) = rejects(engine)
    assert bad["line"] == 1 and "no messages" in bad["reason"]  # nothing usable in that response
    stored = records(engine)
    assert stored[0]["error"] == "boom"
    assert stored[0]["messages"] == [
        {"role": "user", "content": "5"},
        {"role": "user", "content": "nested"},
        {"role": "user", "content": "7"},
    ]


def test_parts_in_both_spellings():
    snake = {
        "role": "model",
        "parts": [
            {"text": "plan", "thought": True},
            {"executable_code": {"language": "PYTHON", "code": "print(1)"}},
            {"code_execution_result": {"outcome": "OUTCOME_OK", "output": "1\n"}},
            {"text": "done"},
        ],
    }
    assert to_messages(snake) == [
        {
            "role": "assistant",
            "content": "done",
            "parts": [
                {"type": "thinking", "text": "plan"},
                {"type": "executable_code", "data": "print(1)"},
                {"type": "code_execution_result", "data": "1\n"},
            ],
        }
    ]
    camel = {"role": "user", "parts": [{"inlineData": {"mimeType": "audio/wav", "data": "AAAA"}}]}
    assert to_messages(camel) == [
        {"role": "user", "content": "", "parts": [{"type": "audio", "url": "data:audio/wav"}]}
    ]


# -- Gemini content inside other formats ---------------------------------------------------------


def _observation(obs_id: str, input_value, output_value) -> dict:
    return {
        "id": obs_id,
        "traceId": "t1",
        "type": "GENERATION",
        "startTime": "2025-08-28T07:32:31.222Z",
        "endTime": "2025-08-28T07:32:32.146Z",
        "model": "gemini-2.0-flash",
        "input": json.dumps(input_value),
        "output": json.dumps(output_value),
    }


def test_langfuse_adk_output_as_content_text(engine, tmp_path):
    """Some ADK versions log the output as the Content itself: {"parts": [...], "role": "model"}."""
    obs = [
        _observation(
            "o1",
            {
                "contents": [{"parts": [{"text": "hi"}], "role": "user"}],
                "config": {"system_instruction": "Greet."},
            },
            {
                "parts": [
                    {"function_call": {"args": {"n": 1}, "name": "say_hello", "id": "adk-1"}}
                ],
                "role": "model",
            },
        ),
        _observation(
            "o2",
            {"args": ["What is Langfuse?"], "kwargs": {"temperature": 0}},
            {"parts": [{"text": "A tool."}], "role": "model"},
        ),
    ]
    run_import(engine, write_jsonl(tmp_path / "obs.jsonl", obs))
    got = by_id(engine)
    assert got["o1"]["messages"] == [
        {"role": "system", "content": "Greet."},
        {"role": "user", "content": "hi"},
    ]
    assert got["o1"]["output"] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "adk-1", "name": "say_hello", "arguments": '{"n":1}'}],
    }
    assert got["o2"]["messages"] == [{"role": "user", "content": "What is Langfuse?"}]
    assert got["o2"]["params"] == {"temperature": 0}
    assert got["o2"]["output"] == {"role": "assistant", "content": "A tool."}


def test_langsmith_run_with_gemini_inputs_and_outputs(engine, tmp_path):
    run = {
        "id": "run-1",
        "run_type": "llm",
        "trace_id": "tr-1",
        "start_time": "2025-05-01T10:00:00Z",
        "end_time": "2025-05-01T10:00:01.5Z",
        "inputs": {
            "model": "gemini-2.5-flash",
            "contents": [{"role": "user", "parts": [{"text": "2+2?"}]}],
            "config": {"system_instruction": {"parts": [{"text": "Math only."}]}, "temperature": 0},
        },
        "outputs": {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "4"}]}, "finish_reason": "STOP"}
            ],
            "usage_metadata": {"prompt_token_count": 7, "candidates_token_count": 1},
        },
        "extra": {"metadata": {"ls_provider": "google_genai", "ls_model_name": "gemini-2.5-flash"}},
    }
    run_import(engine, write_jsonl(tmp_path / "ls.jsonl", [run]))
    (r,) = records(engine)
    assert r["source_format"] == "langsmith"
    assert r["messages"] == [
        {"role": "system", "content": "Math only."},
        {"role": "user", "content": "2+2?"},
    ]
    assert r["output"] == {"role": "assistant", "content": "4"}
    assert r["params"] == {"temperature": 0}
    assert (r["provider"], r["input_tokens"], r["output_tokens"]) == ("google", 7, 1)
    assert r["latency_ms"] == 1500.0


def _span(attributes: list) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [
                    {
                        "scope": {"name": "gcp.vertex.agent"},
                        "spans": [
                            {
                                "traceId": "0af7651916cd43dd8448eb211c80319c",
                                "spanId": "b7ad6b7169203331",
                                "name": "call_llm",
                                "startTimeUnixNano": "1756366351222000000",
                                "endTimeUnixNano": "1756366352146000000",
                                "attributes": attributes,
                            }
                        ],
                    }
                ],
            }
        ]
    }


def test_otlp_adk_span_and_gemini_output_messages(engine, tmp_path):
    def sv(v: str) -> dict:
        return {"stringValue": v}

    adk = _span(
        [
            {"key": "gen_ai.system", "value": sv("gcp.vertex.agent")},
            {"key": "gen_ai.request.model", "value": sv("gemini-2.0-flash")},
            {
                "key": "gcp.vertex.agent.llm_request",
                "value": sv(
                    json.dumps(
                        {
                            "model": "gemini-2.0-flash",
                            "config": {"system_instruction": "Be brief."},
                            "contents": [{"parts": [{"text": "hi"}], "role": "user"}],
                        }
                    )
                ),
            },
            {
                "key": "gcp.vertex.agent.llm_response",
                "value": sv(
                    json.dumps(
                        {
                            "content": {
                                "parts": [{"function_call": {"args": {}, "name": "say_hello"}}],
                                "role": "model",
                            },
                            "finish_reason": "STOP",
                        }
                    )
                ),
            },
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "28"}},
        ]
    )
    parts = _span(
        [
            {"key": "gen_ai.provider.name", "value": sv("gcp.gemini")},
            {"key": "gen_ai.request.model", "value": sv("gemini-2.5-flash")},
            {
                "key": "gen_ai.input.messages",
                "value": sv(json.dumps([{"role": "user", "parts": [{"text": "weather?"}]}])),
            },
            {
                "key": "gen_ai.output.messages",
                "value": sv(
                    json.dumps(
                        [
                            {
                                "role": "model",
                                "parts": [
                                    {"functionCall": {"name": "weather", "args": {"c": "Oslo"}}}
                                ],
                            }
                        ]
                    )
                ),
            },
        ]
    )
    parts["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "c7ad6b7169203331"
    run_import(engine, write_jsonl(tmp_path / "spans.jsonl", [adk, parts]))
    first, second = records(engine)
    assert first["provider"] == "google" and first["model"] == "gemini-2.0-flash"
    assert first["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert first["output"]["tool_calls"] == [{"id": None, "name": "say_hello", "arguments": "{}"}]
    assert first["input_tokens"] == 28
    assert second["messages"] == [{"role": "user", "content": "weather?"}]
    assert second["output"]["tool_calls"] == [
        {"id": None, "name": "weather", "arguments": '{"c":"Oslo"}'}
    ]


def test_litellm_payload_with_gemini_response(engine, tmp_path):
    payload = {
        "id": "ll-1",
        "call_type": "pass_through_endpoint",
        "startTime": 1737710446.847371,
        "endTime": 1737710447.847371,
        "model": "gemini-2.0-flash",
        "custom_llm_provider": "vertex_ai",
        "messages": {
            "contents": [{"role": "user", "parts": [{"text": "Ping"}]}],
            "systemInstruction": {"parts": [{"text": "Reply pong."}]},
        },
        "response": {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "pong"}]}, "finishReason": "STOP"}
            ],
            "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 1},
        },
        "response_cost": 0.0001,
    }
    report = run_import(engine, write_jsonl(tmp_path / "ll.jsonl", [payload]))
    assert (report.total("records"), report.total("rejected")) == (1, 0) and rejects(engine) == []
    (r,) = records(engine)
    assert r["source_format"] == "litellm" and r["provider"] == "google"
    assert r["messages"] == [
        {"role": "system", "content": "Reply pong."},
        {"role": "user", "content": "Ping"},
    ]
    assert r["output"] == {"role": "assistant", "content": "pong"}
    assert (r["input_tokens"], r["output_tokens"]) == (6, 1)
