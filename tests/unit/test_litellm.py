from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from tests.conftest import REAL_LOGS, records, rejects, run_import

PAYLOAD = REAL_LOGS / "litellm-standard-logging-payload" / "standard_logging_payload.json"


def write_jsonl(path: Path, objs: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objs))
    return path


def real() -> dict:
    return json.loads(PAYLOAD.read_text())


def test_real_standard_logging_payload(engine):
    report = run_import(engine, PAYLOAD)
    assert report.total("rejected") == 0 and rejects(engine) == []
    assert (report.total("lines"), report.total("records")) == (1, 1)
    (r,) = records(engine)
    assert r["id"] == "chatcmpl-2299b6a2-82a3-465a-b47c-04e685a2227f"
    assert r["source_format"] == "litellm"
    assert (r["provider"], r["model"]) == ("openai", "gpt-4o")
    assert r["messages"] == [{"role": "user", "content": "Hello, world!"}]
    assert r["output"] == {"role": "assistant", "content": "hi"}
    assert (r["input_tokens"], r["output_tokens"]) == (10, 20)
    assert r["cost_usd"] == pytest.approx(0.000225)
    # startTime/endTime are text here: "2025-01-24 09:20:46.847371" .. "2025-01-24 09:20:46.851954"
    assert r["timestamp"] == "2025-01-24T09:20:46.847371Z"
    assert r["latency_ms"] == pytest.approx(4.583)
    assert r["trace_id"] is None and r["user_id"] is None  # null trace_id, empty end_user
    assert not r["params"]  # model_parameters is {}
    md = r["metadata"]
    assert md["call_type"] == "acompletion" and md["stream"] is True and md["status"] == "success"
    assert md["finish_reason"] == "stop"
    assert (
        "tags" not in md and "user_api_key_hash" not in md
    )  # empty and null bookkeeping is left out
    assert r["error"] is None


def test_float_timestamps_tags_user_and_params(engine, tmp_path):
    payload = real()
    payload.update(
        id="chatcmpl-float-1", trace_id="trace-abc", startTime=1737710446.5, endTime=1737710448.25, completionStartTime=1737710446.9,
        end_user="customer-9", request_tags=["beta", "checkout"], model_parameters={"temperature": 0.7, "max_tokens": 300},
    )  # fmt: skip
    payload["metadata"]["user_api_key_alias"] = "checkout-service"
    payload["metadata"]["requester_metadata"] = {"session_id": "sess-4"}
    report = run_import(engine, write_jsonl(tmp_path / "payloads.jsonl", [payload]))
    assert report.total("rejected") == 0
    (r,) = records(engine)
    assert r["id"] == "chatcmpl-float-1" and r["trace_id"] == "trace-abc"
    assert r["timestamp"] == "2025-01-24T09:20:46.500000Z"
    assert r["latency_ms"] == 1750.0
    assert r["metadata"]["time_to_first_token_ms"] == pytest.approx(400.0, abs=0.01)
    assert (r["user_id"], r["session_id"]) == ("customer-9", "sess-4")
    assert r["params"] == {"temperature": 0.7, "max_tokens": 300}
    assert r["metadata"]["tags"] == ["beta", "checkout"]
    assert r["metadata"]["user_api_key_alias"] == "checkout-service"


def test_failure_payload_records_the_error(engine, tmp_path):
    payload = real()
    payload.update(
        id="fail-1", status="failure", response=None, response_cost=0.0, prompt_tokens=0, completion_tokens=0,
        startTime=1737710446.0, endTime=1737710476.0,
        error_str="litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for gpt-4o",
        error_information={"error_code": "429", "error_class": "RateLimitError", "llm_provider": "openai",
                           "traceback": "Traceback (most recent call last): ...", "error_message": "Rate limit reached for gpt-4o"},
    )  # fmt: skip
    report = run_import(engine, write_jsonl(tmp_path / "failures.jsonl", [payload]))
    assert report.total("rejected") == 0 and report.total("records") == 1
    (r,) = records(engine)
    assert (
        r["error"]
        == "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for gpt-4o"
    )
    assert r["output"] is None
    assert r["messages"] == [{"role": "user", "content": "Hello, world!"}]
    assert r["metadata"]["error_code"] == "429" and r["metadata"]["error_class"] == "RateLimitError"
    assert r["metadata"]["status"] == "failure"
    assert r["latency_ms"] == 30000.0


def test_failure_without_error_str_uses_error_information(engine, tmp_path):
    payload = real()
    payload.update(id="fail-2", status="failure", response={}, error_str=None)
    payload["error_information"]["error_message"] = "Connection reset by peer"
    run_import(engine, write_jsonl(tmp_path / "failures.jsonl", [payload]))
    (r,) = records(engine)
    assert r["error"] == "Connection reset by peer" and r["output"] is None


def test_payload_without_content_is_kept_for_its_model_tokens_and_times(engine, tmp_path):
    payload = real()
    payload.update(id="empty-1", messages=[], response=None)
    report = run_import(engine, write_jsonl(tmp_path / "empty.jsonl", [payload]))
    assert (report.total("imported"), report.total("without_content")) == (1, 1)
    (r,) = records(engine)
    assert (r["messages"], r["output"], r["model"]) == ([], None, payload["model"])


def test_payload_with_nothing_at_all_is_rejected_with_a_reason(engine, tmp_path):
    payload = {"call_type": "acompletion", "startTime": None, "spend": None, "messages": []}
    report = run_import(engine, write_jsonl(tmp_path / "empty.jsonl", [payload]))
    assert report.total("rejected") == 1
    (rej,) = rejects(engine)
    assert rej["format"] == "litellm" and "neither messages nor a response" in rej["reason"]
