"""Amazon Bedrock: Converse pairs logged by an application (written with boto3), model invocation
logs (real sample and the body shapes of each model family), bodies kept only in S3, errors."""

from __future__ import annotations

from typing import Any

import orjson

from reviewer.ingest.formats.bedrock import Bedrock
from tests.conftest import REAL_LOGS, records, rejects, run_import

BOTO3 = REAL_LOGS / "boto3-converse" / "converse-tool-use.jsonl"
NOVA = REAL_LOGS / "bedrock-invocation-log" / "converse-stream-nova-lite.json"
SYSTEM = {
    "role": "system",
    "content": "You are the travel assistant of Example Tours. Answer briefly.",
}
QUESTION = {"role": "user", "content": "What's the weather in Berlin right now?"}
CALL = {
    "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
    "name": "get_weather",
    "arguments": '{"city":"Berlin","unit":"celsius"}',
}


def log(**over: Any) -> dict[str, Any]:
    """An invocation log record as Bedrock writes it (account and ARN made up)."""
    base: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2026-11-20T09:14:03Z",
        "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/AppRole/app-7"},
        "region": "eu-central-1",
        "requestId": "req-1",
        "operation": "InvokeModel",
        "modelId": "anthropic.claude-3-5-haiku-20241022-v1:0",
    }
    base.update(over)
    return base


def import_lines(engine, tmp_path, *objs: dict[str, Any]):
    path = tmp_path / "bedrock.jsonl"
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    return run_import(engine, path)


def test_boto3_converse_pairs(engine):
    report = run_import(engine, BOTO3)
    assert [(f.format, f.imported, f.rejected, f.without_content) for f in report.files] == [
        ("bedrock", 2, 0, 0)
    ]
    first, second = records(engine)
    assert first["id"] == "5f0c1a7e-2b7d-4c4e-9a51-3f7e1b2d9c01"
    assert (first["provider"], first["model"]) == (
        "bedrock",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    )
    assert first["messages"] == [SYSTEM, QUESTION]
    assert first["output"] == {
        "role": "assistant",
        "content": "I'll look up the current weather in Berlin.",
        "tool_calls": [CALL],
    }
    assert (first["input_tokens"], first["output_tokens"], first["latency_ms"]) == (412, 61, 1187.0)
    assert first["user_id"] == "u-1042"
    assert first["timestamp"].startswith("2026-12-03T06:45:20.")
    assert first["params"]["inferenceConfig"] == {"maxTokens": 512, "temperature": 0.2}
    assert first["params"]["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert first["metadata"] == {
        "finish_reason": "tool_use",
        "request_id": "5f0c1a7e-2b7d-4c4e-9a51-3f7e1b2d9c01",
        "http_status": 200,
    }
    # the failed tool result is marked; cache reads count in the prompt and are kept apart
    assert second["messages"][2:] == [
        {
            "role": "assistant",
            "content": "I'll look up the current weather in Berlin.",
            "tool_calls": [CALL],
        },
        {
            "role": "tool",
            "content": "weather service timed out after 5 s",
            "tool_call_id": CALL["id"],
            "parts": [{"type": "error", "data": "status: error"}],
        },
    ]
    assert second["output"]["content"].startswith("Sorry, the weather service did not answer")
    assert (second["input_tokens"], second["output_tokens"]) == (503 + 384, 23)
    assert second["metadata"]["cache_read_input_tokens"] == 384


def test_real_invocation_log(engine):
    report = run_import(engine, NOVA)
    assert report.total("imported") == 1 and report.total("rejected") == 0
    (r,) = records(engine)
    assert r["id"] == "ff4b6c63-5561-4431-93b8-06a817275900"
    assert (r["model"], r["timestamp"]) == ("amazon.nova-lite-v1:0", "2025-03-11T00:38:02.000000Z")
    assert r["messages"] == [{"role": "user", "content": "hello how are you"}]
    assert r["output"]["content"].startswith("Hello! I'm doing well, thank you for asking.")
    assert (r["input_tokens"], r["output_tokens"], r["latency_ms"]) == (4, 38, 302.0)
    assert r["params"]["inferenceConfig"]["maxTokens"] == 512
    assert r["metadata"] == {
        "account_id": "XXXXXXXXXXXXX",
        "region": "us-east-1",
        "operation": "ConverseStream",
        "schema_version": "1.0",
        "identity_arn": "arn:aws:iam::XXXXXXXXXXXX:user/dheeraj",
        "finish_reason": "end_turn",
    }


def test_invocation_log_bodies_of_each_model_family(engine, tmp_path):
    anthropic = log(
        requestId="anthropic-1",
        input={
            "inputContentType": "application/json",
            "inputBodyJson": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 300,
                "system": "Be brief.",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            },
            "inputTokenCount": 12,
            "cacheReadInputTokenCount": 100,
        },
        output={
            "outputContentType": "application/json",
            "outputBodyJson": {
                "id": "msg_bdrk_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-5-haiku-20241022",
                "content": [{"type": "text", "text": "Hello!"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 12, "output_tokens": 3},
            },
            "outputTokenCount": 3,
        },
        requestMetadata={"team": "support"},
    )
    llama = log(
        requestId="llama-1",
        modelId="meta.llama3-70b-instruct-v1:0",
        input={
            "inputBodyJson": {"prompt": "<|begin_of_text|>Capital of Sudan?", "max_gen_len": 2048},
            "inputTokenCount": 15,
        },
        output={
            "outputBodyJson": {
                "generation": "Khartoum.",
                "prompt_token_count": 15,
                "generation_token_count": 12,
                "stop_reason": "stop",
            },
            "outputTokenCount": 12,
        },
    )
    titan = log(
        requestId="titan-1",
        modelId="amazon.titan-text-express-v1",
        operation="InvokeModelWithResponseStream",
        input={"inputBodyJson": {"inputText": "User: Hello\n\nBot:"}, "inputTokenCount": 7},
        output={
            "outputBodyJson": [
                {
                    "outputText": " Hello! How can I assist you today?",
                    "index": 0,
                    "completionReason": "FINISH",
                    "amazon-bedrock-invocationMetrics": {
                        "inputTokenCount": 7,
                        "outputTokenCount": 11,
                        "invocationLatency": 864,
                        "firstByteLatency": 210,
                    },
                }
            ],
            "outputTokenCount": 11,
        },
    )
    report = import_lines(engine, tmp_path, anthropic, llama, titan)
    assert (report.total("imported"), report.total("rejected")) == (3, 0)
    a, la, ti = records(engine)
    assert a["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert a["output"] == {"role": "assistant", "content": "Hello!"}
    assert a["model"] == "anthropic.claude-3-5-haiku-20241022-v1:0"
    assert (a["input_tokens"], a["output_tokens"]) == (112, 3)
    assert a["params"] == {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300}
    md = a["metadata"]
    assert (md["team"], md["account_id"], md["cache_read_input_tokens"]) == (
        "support",
        "123456789012",
        100,
    )
    assert md["identity_arn"] == "arn:aws:sts::123456789012:assumed-role/AppRole/app-7"
    assert md["response_model"] == "claude-3-5-haiku-20241022"
    assert la["messages"] == [{"role": "user", "content": "<|begin_of_text|>Capital of Sudan?"}]
    assert la["output"] == {"role": "assistant", "content": "Khartoum."}
    assert (la["input_tokens"], la["output_tokens"], la["params"]) == (
        15,
        12,
        {"max_gen_len": 2048},
    )
    assert ti["output"] == {"role": "assistant", "content": " Hello! How can I assist you today?"}
    assert (ti["input_tokens"], ti["output_tokens"], ti["latency_ms"]) == (7, 11, 864.0)
    assert ti["metadata"]["time_to_first_token_ms"] == 210.0
    assert ti["metadata"]["finish_reason"] == "FINISH"


def test_body_kept_only_in_s3_imports_without_content(engine, tmp_path):
    s3 = log(
        requestId="s3-1",
        input={
            "inputContentType": "application/json",
            "inputBodyS3Path": "s3://logs/AWSLogs/123456789012/BedrockModelInvocationLogs/in.json.gz",
            "inputTokenCount": 90000,
        },
        output={
            "outputContentType": "application/json",
            "outputBodyS3Path": "s3://logs/AWSLogs/123456789012/BedrockModelInvocationLogs/out.json.gz",
            "outputTokenCount": 2000,
        },
    )
    report = import_lines(engine, tmp_path, s3)
    assert (report.total("imported"), report.total("without_content")) == (1, 1)
    (r,) = records(engine)
    assert (r["messages"], r["output"], r["input_tokens"], r["output_tokens"]) == (
        [],
        None,
        90000,
        2000,
    )
    assert r["metadata"]["input_body_s3_path"].endswith("/in.json.gz")
    assert r["metadata"]["output_body_s3_path"].endswith("/out.json.gz")


def test_failed_invocation_keeps_its_error(engine, tmp_path):
    failed = log(
        requestId="err-1",
        errorCode="ThrottlingException",
        input={"inputBodyJson": {"inputText": "hello"}, "inputTokenCount": 1},
    )
    import_lines(engine, tmp_path, failed)
    (r,) = records(engine)
    assert (r["error"], r["output"]) == ("ThrottlingException", None)
    assert r["messages"] == [{"role": "user", "content": "hello"}]


def test_detection_and_odd_shapes():
    fmt = Bedrock()
    assert fmt.detect(log())
    assert fmt.detect(
        {"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "x"}
    )
    assert fmt.detect(
        {"request": {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}}
    )
    assert not fmt.detect({"request": {"model": "gpt-4o", "messages": []}, "response": {}})
    assert not fmt.detect({"output": {"message": "x"}, "stopReason": "y"})


def test_hostile_bodies_do_not_crash(engine, tmp_path):
    odd = [
        log(requestId="odd-1", input="not an object", output=["chunk", 3, None]),
        log(requestId="odd-2", input={"inputBodyJson": "{not json"}, output={"outputBodyJson": 7}),
        log(requestId="odd-3", modelId=None, timestamp=None),
    ]
    report = import_lines(engine, tmp_path, *odd)
    assert (report.total("imported"), report.total("rejected")) == (2, 1)
    assert [r["id"] for r in records(engine)] == ["odd-1", "odd-2"]
    assert rejects(engine)[0]["format"] == "bedrock"
