from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from tests.conftest import REAL_LOGS, records, rejects, run_import

TRACES = REAL_LOGS / "langfuse-trace-download"


def write_jsonl(path: Path, objs: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    return path


def by_id(engine) -> dict[str, dict]:
    return {r["id"]: r for r in records(engine)}


# file, generations, one generation's id, model, provider, (input tokens, output tokens),
# its first input message (role, text), its output text, its output tool call names; the
# records are the trace's root step, the generations and the other observations (steps)
REAL = [
    (
        "pydantic-ai-2025-06-06.trace.json", 1, "5cb389a3bdd21a6e", "gpt-4o", "openai", (31, 96),
        ("system", "You are a helpful assistant that answers questions clearly and concisely."),
        "Langfuse is a tool designed for observability and monitoring of applications that utilize large language models (LLMs).",
        [],
    ),
    (
        "pydantic-ai-with-gemini-2025-12-24.trace.json", 1, "8ffb64580a84a3f0", "gemini-2.5-flash", "google", (40, 159),
        ("user", "what is 1+1?\nOutput format:\n```json\n{\n    \"answer\": your answer,\n    \"rationale\": \"explanation for answer\"\n}\n```"),
        "{\"answer\": \"2\", \"rationale\": \"The operation 1+1 is a basic arithmetic addition. Adding the integer 1 to itself results in the integer 2.\"}",
        [],
    ),
    (
        "openai-agents-2025-09-30.trace.json", 2, "90d94774e8e3724d", "gpt-4.1-2025-04-14", "openai", (85, 29),
        ("system", "You are a helpful agent."),
        "The weather in Tokyo is currently sunny. If you need more details like temperature or forecast for the upcoming days, just let me know!",
        [],
    ),
    (
        "vercel-aisdk-2025-11-17.trace.json", 2, "91a17a2274bfd23f", "gpt-5", "openai", (62, 85),
        ("user", "What is the weather like today in San Francisco?"),
        "",
        ["getWeather"],
    ),
    (
        "langgraph-python-2025-08-22.trace.json", 2, "5ba09605e0929d78", "gpt-4o-2024-08-06", "openai", (108, 51),
        ("user", "Be helpful!"),
        "The search for \"example\" primarily leads to the website [example.com](https://example.com), which is often used as a placeholder",
        [],
    ),
    (
        "claude-agent-2025-12-22.trace.json", 4, "e9aac170e5d48125", "claude-sonnet-4-5-20250929", "anthropic", (19, 29),
        ("user", "What's the weather like in Berlin and New York?"),
        "I'll check the weather in both Berlin and New York for you.",
        [],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "count", "gen_id", "model", "provider", "tokens", "first", "text", "calls"),
    REAL,
    ids=[r[0] for r in REAL],
)
def test_real_trace_downloads(
    engine, name, count, gen_id, model, provider, tokens, first, text, calls
):
    report = run_import(engine, TRACES / name)
    assert report.total("rejected") == 0 and rejects(engine) == []
    data = json.loads((TRACES / name).read_text())
    steps = len(data["observations"]) + 1  # the trace itself is the root step
    assert (report.total("lines"), report.total("records"), report.total("skipped")) == (
        1,
        steps,
        0,
    )
    generations = [o for o in data["observations"] if o["type"] == "GENERATION"]
    assert len(generations) == count
    rows = by_id(engine)
    llm = sorted(i for i, r in rows.items() if r["kind"] == "llm")
    assert llm == sorted(o["id"] for o in generations)
    assert report.total("without_content") == 0  # steps carry inputs and outputs instead
    r = rows[gen_id]
    assert r["source_format"] == "langfuse"
    assert r["model"] == model and r["provider"] == provider
    assert (r["input_tokens"], r["output_tokens"]) == tokens
    assert (r["messages"][0]["role"], r["messages"][0]["content"]) == first
    assert r["output"]["role"] == "assistant"
    assert r["output"]["content"].startswith(text) and (text or r["output"]["content"] == "")
    assert [c["name"] for c in r["output"].get("tool_calls", [])] == calls
    assert r["trace_id"] == data["trace"]["id"]
    obs = next(o for o in generations if o["id"] == gen_id)
    assert orjson.loads(r["raw"]) == obs  # the observation it came from, input and output included


def test_pydantic_ai_trace_fields_cost_and_corrections(engine):
    run_import(engine, TRACES / "pydantic-ai-2025-06-06.trace.json")
    (r,) = records(engine, "kind = 'llm'")
    assert r["timestamp"] == "2025-06-06T14:40:28.562000Z"
    assert r["latency_ms"] == 4794.0
    assert r["cost_usd"] == pytest.approx(0.0010375)
    assert (r["user_id"], r["session_id"]) == ("user_123", "session_abc")
    assert [m["role"] for m in r["messages"]] == ["system", "user"]
    assert r["messages"][1]["content"] == "What is Langfuse?"
    md = r["metadata"]
    assert md["tags"] == ["dev", "pydantic-ai"]
    assert (
        md["email"] == "user@langfuse.com"
    )  # the trace's own metadata, decoded from its JSON string
    assert md["trace_name"] == "pydantic-ai-qa-trace" and md["observation_name"] == "chat gpt-4o"
    assert md["version"] == "1.0.0"
    assert md["attributes"]["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert "events" not in md["attributes"]  # a copy of the messages: the raw JSON keeps it
    assert md["corrections"][0]["dataType"] == "CORRECTION"
    assert md["corrections"][0]["longStringValue"].startswith("Langfuse is a tool designed")
    assert r["feedback_score"] is None


def test_openai_agents_responses_items_and_params(engine):
    run_import(engine, TRACES / "openai-agents-2025-09-30.trace.json")
    r = by_id(engine)["90d94774e8e3724d"]
    assert [m["role"] for m in r["messages"]] == ["system", "user", "assistant", "tool"]
    assert r["messages"][2]["tool_calls"] == [
        {
            "id": "call_Kud0j0DxWSmLzv9W5m6qVqXn",
            "name": "get_weather",
            "arguments": '{"city":"Tokyo"}',
        }
    ]
    assert r["messages"][3] == {
        "role": "tool",
        "content": "The weather in Tokyo is sunny.",
        "tool_call_id": "call_Kud0j0DxWSmLzv9W5m6qVqXn",
    }
    assert r["params"]["temperature"] == 1 and r["params"]["parallel_tool_calls"] is True
    assert "id" not in r["params"] and "instructions" not in r["params"]
    assert r["latency_ms"] == 1150.0 and r["cost_usd"] == pytest.approx(0.000402)
    first = by_id(engine)["98870087af69bf06"]
    assert first["output"]["tool_calls"] == [
        {
            "id": "call_Kud0j0DxWSmLzv9W5m6qVqXn",
            "name": "get_weather",
            "arguments": '{"city":"Tokyo"}',
        }
    ]
    assert [s["name"] for s in r["metadata"]["scores"]] == ["toxicity", "hallucination"]
    assert r["metadata"]["scores"][0]["value"] == 0.8


def test_langgraph_tool_definitions_become_params(engine):
    run_import(engine, TRACES / "langgraph-python-2025-08-22.trace.json")
    first = by_id(engine)["4f6535aaebcda355"]
    assert [m["role"] for m in first["messages"]] == [
        "user",
        "user",
    ]  # the tool definition is not a message
    assert first["params"]["temperature"] == 0
    assert first["params"]["tools"][0]["function"]["name"] == "Web-Search"
    # LangChain's additional_kwargs.tool_calls
    assert first["output"]["tool_calls"] == [
        {
            "id": "call_1oGK863sxQHlPreFhDdEs3yl",
            "name": "Web-Search",
            "arguments": '{"query":"example"}',
        }
    ]
    second = by_id(engine)["5ba09605e0929d78"]
    assert (
        second["messages"][3]["role"] == "tool"
        and second["messages"][3]["tool_call_id"] == "call_1oGK863sxQHlPreFhDdEs3yl"
    )
    assert second["metadata"]["thread_id"] == "demo-thread-1"
    assert second["metadata"]["tags"] == ["seq:step:1", "demo", "langfuse", "langgraph"]


def test_vercel_prompt_wrapper_tool_calls_and_finish_reason(engine):
    run_import(engine, TRACES / "vercel-aisdk-2025-11-17.trace.json")
    rows = by_id(engine)
    outer = rows["1dc6768109615657"]  # input {"prompt": "..."}
    assert outer["messages"] == [
        {"role": "user", "content": "What is the weather like today in San Francisco?"}
    ]
    assert outer["output"]["tool_calls"] == [
        {
            "id": "call_DgKARp7a7IhJPDczfifMp6Ra",
            "name": "getWeather",
            "arguments": '{"location":"San Francisco"}',
        }
    ]
    assert (outer["input_tokens"], outer["output_tokens"]) == (14, 43)
    inner = rows["91a17a2274bfd23f"]
    assert inner["metadata"]["finish_reason"] == "tool-calls"
    assert inner["params"]["toolChoice"] == {"type": "auto"}
    assert inner["params"]["tools"][0]["name"] == "getWeather"
    assert (
        "system" not in inner["params"]
    )  # "openai.responses" is the provider, not a system prompt


def test_claude_agent_malformed_inputs_are_kept_as_logged(engine):
    report = run_import(engine, TRACES / "claude-agent-2025-12-22.trace.json")
    assert report.total("rejected") == 0
    r = by_id(engine)["2cc13e77781787fd"]
    assert r["messages"] == [{"role": "user", "content": "role"}]
    assert r["metadata"]["malformed_input"] is True
    assert r["output"]["tool_calls"][0]["arguments"] == '{"city":"Berlin"}'
    assert "malformed_input" not in by_id(engine)["e9aac170e5d48125"]["metadata"]


def test_python_repr_trace_fields_user_feedback_and_error(engine, tmp_path):
    data = json.loads((TRACES / "pydantic-ai-2025-06-06.trace.json").read_text())
    trace = data["trace"]
    trace.update(
        tags="['dev', 'pydantic-ai']", userId="user_123", sessionId="None", bookmarked="False", public="True",
        metadata="{'email': 'user@langfuse.com', 'plan': None}", release="None",
    )  # fmt: skip
    gen = data["observations"][0]
    trace["scores"] = [
        {
            "name": "user-feedback",
            "value": 0,
            "dataType": "BOOLEAN",
            "source": "API",
            "comment": "too vague",
            "observationId": None,
        },
        {
            "name": "thumbs",
            "value": 1,
            "dataType": "BOOLEAN",
            "source": "API",
            "observationId": "another-observation",
        },
    ]
    gen["level"], gen["statusMessage"] = "ERROR", "upstream timeout"
    path = tmp_path / "repr.trace.json"
    path.write_text(json.dumps(data))
    report = run_import(engine, path)
    assert report.total("rejected") == 0 and report.total("records") == 4  # root, 2 spans, 1 call
    (r,) = records(engine, "kind = 'llm'")
    assert r["metadata"]["tags"] == ["dev", "pydantic-ai"]
    assert r["user_id"] == "user_123" and r["session_id"] is None
    assert r["metadata"]["email"] == "user@langfuse.com" and "release" not in r["metadata"]
    assert r["feedback_score"] == 0.0 and r["feedback_comment"] == "too vague"
    assert [s["name"] for s in r["metadata"]["scores"]] == [
        "user-feedback"
    ]  # the other score is another observation's
    assert r["error"] == "upstream timeout"


def test_trace_without_generation_keeps_its_steps(engine, tmp_path):
    data = json.loads((TRACES / "claude-agent-2025-12-22.trace.json").read_text())
    data["observations"] = [o for o in data["observations"] if o["type"] != "GENERATION"]
    path = tmp_path / "tools-only.trace.json"
    path.write_text(json.dumps(data))
    report = run_import(engine, path)
    assert (
        report.total("lines"),
        report.total("skipped"),
        report.total("records"),
        report.total("rejected"),
    ) == (1, 0, 4, 0)  # the trace, its conversation span and two tool calls
    assert sorted(r["kind"] for r in records(engine)) == ["agent", "chain", "tool", "tool"]


def test_reimport_is_idempotent(engine):
    first = run_import(engine, TRACES / "langgraph-python-2025-08-22.trace.json")
    second = run_import(engine, TRACES / "langgraph-python-2025-08-22.trace.json")
    assert (first.total("imported"), second.total("imported"), second.total("duplicates")) == (
        10,
        0,
        10,
    )


OBS_GENERATION = {
    "id": "obs-gen-1",
    "traceId": "trace-9",
    "type": "GENERATION",
    "name": "OpenAI-generation",
    "startTime": "2025-03-01T12:00:00.000Z",
    "endTime": "2025-03-01T12:00:02.500Z",
    "model": "gpt-4o-mini",
    "modelParameters": {"temperature": 0.3, "max_tokens": 256},
    "input": {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ]
    },
    "output": {"role": "assistant", "content": "Paris."},
    "usage": {"input": 21, "output": 3, "total": 24, "unit": "TOKENS"},
    "calculatedTotalCost": 0.0000123,
    "level": "DEFAULT",
    "promptName": "capital-qa",
    "promptVersion": 3,
    "metadata": {"feature": "geo"},
}
OBS_SPAN = {
    "id": "obs-span-1",
    "traceId": "trace-9",
    "type": "SPAN",
    "name": "retrieval",
    "startTime": "2025-03-01T11:59:59.000Z",
    "input": {"q": "x"},
}


def test_observation_rows_one_per_line(engine, tmp_path):
    report = run_import(
        engine, write_jsonl(tmp_path / "observations.jsonl", [OBS_GENERATION, OBS_SPAN])
    )
    assert (report.total("records"), report.total("skipped"), report.total("rejected")) == (2, 0, 0)
    (r,) = records(engine, "kind = 'llm'")
    assert r["parent_id"] == "langfuse-trace:trace-9"  # the trace's root, not in this file
    assert r["id"] == "obs-gen-1" and r["source_format"] == "langfuse-observation"
    assert r["trace_id"] == "trace-9" and r["provider"] == "openai" and r["model"] == "gpt-4o-mini"
    assert r["params"] == {"temperature": 0.3, "max_tokens": 256}
    assert r["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert r["output"] == {"role": "assistant", "content": "Paris."}
    assert (r["input_tokens"], r["output_tokens"]) == (21, 3)
    assert r["latency_ms"] == 2500.0  # no latency field: endTime - startTime
    assert r["cost_usd"] == pytest.approx(0.0000123)
    assert (r["prompt_name"], r["prompt_version"]) == ("capital-qa", "3")
    assert r["metadata"]["feature"] == "geo"
    assert orjson.loads(r["raw"]) == OBS_GENERATION


def test_observation_api_page(engine, tmp_path):
    page = {
        "data": [
            OBS_SPAN,
            {
                **OBS_GENERATION,
                "id": "obs-gen-2",
                "input": '"Capital of Peru?"',
                "output": '"Lima."',
            },
        ],
        "meta": {"page": 1, "limit": 50, "totalItems": 2, "totalPages": 1},
    }
    path = tmp_path / "page.json"
    path.write_bytes(orjson.dumps(page))
    report = run_import(engine, path)
    assert report.total("records") == 2 and report.total("rejected") == 0
    (r,) = records(engine, "kind = 'llm'")
    assert r["id"] == "obs-gen-2"
    assert r["messages"] == [
        {"role": "user", "content": "Capital of Peru?"}
    ]  # a JSON string literal, decoded
    assert r["output"]["content"] == "Lima."
