"""promptfoo results written by the real CLI (0.119.14) offline: passes, a failed assertion and
API errors, as `-o results.json` and `-o results.jsonl`."""

from __future__ import annotations

import pytest

from tests.conftest import REAL_LOGS, records, rejects, run_import

FOLDER = REAL_LOGS / "promptfoo-cli-offline"
PROMPT = "You are a concise assistant. Answer: "
NOT_FOUND = (
    "API error: 404 Not Found\n"
    '{"error":{"message":"The model `no-such-model` does not exist",'
    '"type":"invalid_request_error","code":"model_not_found"}}'
)


def by_call(engine) -> dict[tuple[str, str], dict]:
    """Records keyed by (test description, provider label)."""
    return {(r["metadata"]["test"], r["metadata"]["provider_label"]): r for r in records(engine)}


@pytest.mark.parametrize("name", ["results.json", "results.jsonl"])
def test_real_promptfoo_cli_results(engine, name):
    report = run_import(engine, FOLDER / name)
    assert rejects(engine) == []
    (file,) = report.files
    lines = 1 if name == "results.json" else 6
    assert (file.format, file.lines, file.imported, file.skipped) == (
        "promptfoo-results",
        lines,
        6,
        0,
    )
    got = by_call(engine)
    assert len(got) == 6

    france = got[("capital of France", "local-gpt")]
    assert france["messages"] == [
        {"role": "user", "content": PROMPT + "What is the capital of France?"}
    ]
    assert france["output"] == {"role": "assistant", "content": "The capital of France is Paris."}
    assert (france["provider"], france["model"]) == ("openai", "gpt-4o-mini")
    assert (france["input_tokens"], france["output_tokens"]) == (22, 6)
    assert france["cost_usd"] == pytest.approx(6.9e-06)
    assert france["latency_ms"] == 175.0
    assert france["error"] is None
    meta = france["metadata"]
    assert (meta["success"], meta["score"], meta["testIdx"], meta["promptIdx"]) == (True, 1, 0, 0)
    assert meta["vars"] == {"question": "What is the capital of France?"}
    assert meta["assertions"] == [
        {"type": "contains", "value": "Paris"},
        {"type": "icontains", "value": "capital"},
    ]
    assert meta["grading"]["reason"] == "All assertions passed"

    refund = got[("refund window (expects 30 days, fails)", "local-gpt")]
    assert refund["output"]["content"] == "Refunds are issued within 14 days."
    assert refund["error"] == 'Expected output to contain "30 days"'
    assert (refund["metadata"]["success"], refund["metadata"]["failureReason"]) == (False, 1)
    assert (refund["input_tokens"], refund["output_tokens"]) == (21, 6)
    assert refund["cost_usd"] == pytest.approx(6.75e-06)

    broken = got[("capital of Japan", "broken")]
    assert broken["error"] == NOT_FOUND
    assert (broken["model"], broken["output"]) == ("no-such-model", None)
    assert broken["latency_ms"] == 353.0
    assert broken["metadata"]["failureReason"] == 2
    errors = [r for r in got.values() if r["model"] == "no-such-model"]
    assert len(errors) == 3 and all(r["error"] == NOT_FOUND for r in errors)

    if name == "results.json":  # rows carry promptfoo's ids and the eval's timestamp
        assert france["id"] == "df494340-68a0-44ee-9e83-9f2569c072f7"
        assert france["timestamp"] == "2026-12-03T07:35:00.547000Z"
        assert meta["eval_id"] == "eval-Dku-2026-12-03T07:35:00"
    else:  # JSONL rows have neither: content-hash ids, no time
        assert france["id"].startswith("h-")
        assert france["timestamp"] is None
