"""Span files copied from the projects themselves (Arize-ai/openinference): OpenInference spans
printed by the OpenTelemetry Python console exporter, and Vercel AI SDK 6 spans captured against
the real OpenAI API by the OpenInference maintainers."""

from __future__ import annotations

import orjson
import pytest

from reviewer.ingest.formats.spans import is_span
from tests.conftest import REAL_LOGS, records, rejects, run_import

CONSOLE = REAL_LOGS / "openinference-python-console" / "out-spans.json"
V6 = REAL_LOGS / "openinference-vercel-v6-spans"


def by_span(engine) -> dict[str, dict]:
    return {r["id"].split(":")[1]: r for r in records(engine)}


def test_openinference_console_spans(engine):
    report = run_import(engine, CONSOLE)
    assert rejects(engine) == []
    (file,) = report.files
    assert (file.format, file.lines, file.imported, file.skipped) == ("openinference", 2, 2, 0)
    got = by_span(engine)
    assert set(got) == {"126e46b0568ab38c", "728a10b6c1afa1c2"}

    sync = got["126e46b0568ab38c"]
    assert sync["id"] == "160cb466f2d2afeff4d545250f65282c:126e46b0568ab38c"  # "0x" dropped
    assert sync["trace_id"] == "160cb466f2d2afeff4d545250f65282c"
    assert sync["source_format"] == "openinference"
    assert sync["model"] == "gpt-3.5-turbo-0125"
    assert sync["messages"] == [{"role": "user", "content": "Write a haiku."}]
    assert sync["output"] == {
        "role": "assistant",
        "content": "Blossoms dance in wind\nPetals fall like tears from sky\nNature's gentle grace",
    }
    assert (sync["input_tokens"], sync["output_tokens"]) == (12, 19)
    assert sync["params"] == {"max_tokens": 20}
    assert (sync["user_id"], sync["session_id"]) == ("kiko", "test-session")
    assert sync["timestamp"] == "2024-05-01T18:41:34.721392Z"
    assert sync["latency_ms"] == pytest.approx(988.446)
    assert sync["error"] is None
    meta = sync["metadata"]
    # the JSON-string metadata attribute is opened; tags and the resource are kept
    assert (meta["show"], meta["hour"]) == ("blacklist", "dusk")
    assert meta["tag.tags"] == ["x", "y", "z"]
    assert (meta["span_name"], meta["telemetry.sdk.version"]) == ("ChatCompletion", "1.24.0")
    assert meta["llm.token_count.total"] == 31

    asynchronous = got["728a10b6c1afa1c2"]
    assert asynchronous["output"]["content"].startswith("Sunset on the shore\n")
    assert (asynchronous["input_tokens"], asynchronous["output_tokens"]) == (12, 16)
    assert asynchronous["latency_ms"] == pytest.approx(660.205)


# span id: (file, line, input tokens, output tokens, latency ms)
V6_SPANS = {
    "39d6e9b3ddec9996": ("ai-generateText-doGenerate.json", 1, 14, 20, 1779.415667),
    "6c0201026326855d": ("ai-generateText-doGenerate.json", 2, 50, 9, 3034.285833),
    "bf098ec12458e605": ("ai-generateObject-doGenerate.json", 1, 63, 156, 3519.812667),
    "5a81ef3ffb5d8603": ("ai-streamText-doStream.json", 1, 15, 112, 5386.307375),
}


def test_vercel_ai_v6_spans_with_ids_only_in_span_context(engine):
    report = run_import(engine, V6)
    assert rejects(engine) == []
    got_files = {
        f.path.rsplit("/", 1)[1]: (f.format, f.lines, f.imported, f.skipped) for f in report.files
    }
    assert got_files == {
        "ai-generateObject-doGenerate.json": ("vercel-ai", 1, 1, 0),
        "ai-generateText-doGenerate.json": ("vercel-ai", 2, 2, 0),
        "ai-streamText-doStream.json": ("vercel-ai", 1, 1, 0),
    }
    got = by_span(engine)
    assert set(got) == set(V6_SPANS)
    for span_id, (name, line, tokens_in, tokens_out, latency) in V6_SPANS.items():
        r = got[span_id]
        assert r["source_path"].endswith(name) and r["source_line"] == line
        assert (r["source_format"], r["provider"], r["model"]) == (
            "vercel-ai",
            "openai",
            "gpt-4o-mini",
        )
        assert (r["input_tokens"], r["output_tokens"]) == (tokens_in, tokens_out)
        assert r["latency_ms"] == pytest.approx(latency)
        assert r["metadata"]["response_model"] == "gpt-4o-mini-2024-07-18"
        assert r["metadata"]["ai.model.provider"] == "openai.responses"
        assert r["error"] is None

    haiku = got["39d6e9b3ddec9996"]
    assert haiku["id"] == "b3e700af9eab81e19f72f964d62a35af:39d6e9b3ddec9996"
    assert haiku["trace_id"] == "b3e700af9eab81e19f72f964d62a35af"
    assert haiku["messages"] == [{"role": "user", "content": "Write a haiku about programming."}]
    assert haiku["output"] == {
        "role": "assistant",
        "content": "Lines of code align,  \nLogic dances through the night—  \nDreams in data flow.",
    }
    assert haiku["timestamp"] == "2026-02-03T15:19:52.242000Z"
    meta = haiku["metadata"]
    assert (meta["function_id"], meta["operation"], meta["finish_reason"]) == (
        "test-generate-text",
        "ai.generateText.doGenerate",
        "stop",
    )
    assert meta["response_id"] == "resp_0269f3aed1fd415900698212189ed88190b8bb13919d420b02"
    assert (meta["testCategory"], meta["customField"]) == ("text-generation", "custom-value")
    assert "parent_span_id" not in meta  # the capture had no context manager: no parents

    chat = got["6c0201026326855d"]
    assert chat["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "2 + 2 equals 4."},
        {"role": "user", "content": "And what is 3 + 3?"},
    ]
    assert chat["output"] == {"role": "assistant", "content": "3 + 3 equals 6."}

    recipe = got["bf098ec12458e605"]
    assert recipe["metadata"]["operation"] == "ai.generateObject.doGenerate"
    obj = orjson.loads(recipe["output"]["content"])  # ai.response.object is the output
    assert obj["name"] == "Scrambled Eggs" and len(obj["steps"]) == 8

    stream = got["5a81ef3ffb5d8603"]
    assert stream["output"]["content"].startswith("In code’s embrace, where types align,  \n")
    assert stream["output"]["content"].endswith("bright, safe strings.  ")
    meta = stream["metadata"]
    assert meta["time_to_first_token_ms"] == pytest.approx(426.8535000000011)
    assert (meta["ai.usage.totalTokens"], meta["ai.usage.cachedInputTokens"]) == (127, 0)


def test_span_context_only_detection():
    """A span whose ids sit only in spanContext is a span; a bare spanContext without ids is not."""
    ok = {"name": "x", "attributes": {}, "spanContext": {"traceId": "a" * 32, "spanId": "b" * 16}}
    assert is_span(ok)
    assert not is_span({"name": "x", "attributes": {}, "spanContext": {"traceFlags": 1}})
    assert not is_span({"name": "x", "spanContext": {"spanId": "b" * 16}})  # no attributes
