"""Records without content (no messages, no output: logged with prompt storage off) are imported,
count in insights, and stay out of review queues unless a queue asks for them; an OpenAI Batch
input file imported alone says why it gave no record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.insights.metrics import insights
from reviewer.review.queues import parse_queue
from reviewer.review.sync import sync_queues
from tests.conftest import FIXTURES, records, run_import
from tests.unit.test_queue_sync import members

SPEND_LOGS = FIXTURES / "litellm_spend_logs" / "spend-logs-prompts-off.jsonl"
NOW = datetime(2024, 6, 20, tzinfo=UTC)
CHAT = {
    "id": "chatcmpl-with-1",
    "object": "chat.completion",
    "created": 1718299200,
    "model": "gpt-4",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2},
}


def test_litellm_spend_log_rows_with_prompts_off(engine):
    report = run_import(engine, SPEND_LOGS)
    assert [
        (f.format, f.lines, f.imported, f.rejected, f.without_content) for f in report.files
    ] == [("litellm", 2, 2, 0, 2)]
    ok, failed = records(engine)
    assert ok["id"] == "chatcmpl-9ZKMURhVYSi9D6r6PJ9vLcayIK0Vm"
    assert (ok["messages"], ok["output"], ok["error"]) == ([], None, None)
    assert (ok["model"], ok["provider"]) == ("gpt-4", "openai")
    assert (ok["input_tokens"], ok["output_tokens"], ok["cost_usd"]) == (21, 7, 0.00123)
    assert (ok["timestamp"], ok["latency_ms"]) == ("2024-06-13T17:19:25.108000Z", 1311.0)
    assert ok["user_id"] == "palantir"
    assert ok["metadata"]["status"] == "success"
    assert ok["metadata"]["spend_logs_metadata"] == {"hello": "world"}
    assert ok["metadata"]["tags"] == ["jobID:214590dsff09fds", "taskName:run_page_classification"]
    assert "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b" not in ok["raw"]
    assert failed["error"] == "litellm.Timeout: APITimeoutError - Request timed out."
    assert (failed["metadata"]["status"], failed["metadata"]["error_class"]) == (
        "failure",
        "Timeout",
    )
    assert (failed["latency_ms"], failed["cost_usd"], failed["input_tokens"]) == (30010.0, 0.0, 0)


def test_queues_leave_them_out_unless_asked(engine, tmp_path):
    run_import(engine, SPEND_LOGS)
    chat = tmp_path / "chat.jsonl"
    chat.write_bytes(orjson.dumps(CHAT) + b"\n")
    run_import(engine, chat)
    queues = [
        parse_queue({"name": "all"}, "queues/all.yaml"),
        parse_queue({"name": "errors", "filter": {"has_error": True}}, "queues/errors.yaml"),
        parse_queue({"name": "bare", "filter": {"content": "without"}}, "queues/bare.yaml"),
        parse_queue({"name": "any", "filter": {"content": "any"}}, "queues/any.yaml"),
    ]
    results = sync_queues(engine, queues, NOW)
    assert {name: r.total for name, r in results.items()} == {
        "all": 1, "errors": 0, "bare": 2, "any": 3
    }  # fmt: skip
    assert members(engine, "all") == ["chatcmpl-with-1"]
    assert set(members(engine, "bare")) == {
        "chatcmpl-9ZKMURhVYSi9D6r6PJ9vLcayIK0Vm",
        "2f1c0e5a-8d3b-4c7e-9f60-1a2b3c4d5e6f",
    }


def test_insights_count_them(engine):
    run_import(engine, SPEND_LOGS)
    result = insights(engine, since="2024-06-13", until="2024-06-13", now=NOW)
    (series,) = result.series
    day = series.totals
    assert (day.records, day.errors, day.input_tokens, day.output_tokens) == (2, 1, 21, 7)
    assert day.cost_usd == 0.00123
    assert (day.latency_p50 is not None, day.error_rate) == (True, 0.5)


def test_the_cli_report_says_they_were_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "queues").mkdir()
    result = CliRunner().invoke(app, ["import", str(SPEND_LOGS)])
    assert result.exit_code == 0, result.output
    assert (
        "2 records without content (no messages, no output): counted in insights, left out of "
        "review queues unless their filter says `content: without` or `content: any`"
    ) in result.stdout.replace("\n", " ")


def batch_input(path: Path, n: int) -> Path:
    lines = [
        {
            "custom_id": f"request-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i in range(1, n + 1)
    ]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def test_batch_input_file_alone_says_why(engine, tmp_path):
    path = batch_input(tmp_path / "input.jsonl", 10)
    report = run_import(engine, path)
    (f,) = report.files
    assert (f.format, f.lines, f.skipped, f.batch_requests, f.imported, f.rejected) == (
        "openai-batch", 10, 10, 10, 0, 0
    )  # fmt: skip
    assert f.reason == (
        "the 10 lines are batch requests, kept to be joined with their results, and no batch "
        "output was imported with them: import it together with the batch's output file: "
        f"reviewer import {path} output.jsonl"
    )
    assert report.to_dict()["files"][0]["reason"] == f.reason


def test_batch_input_with_its_output_needs_no_reason(engine, tmp_path):
    inp = batch_input(tmp_path / "input.jsonl", 1)
    out = tmp_path / "output.jsonl"
    line = {
        "id": "batch_req_1",
        "custom_id": "request-1",
        "response": {"status_code": 200, "request_id": "r1", "body": {**CHAT, "id": "chatcmpl-b1"}},
        "error": None,
    }
    out.write_bytes(orjson.dumps(line) + b"\n")
    report = run_import(engine, inp, out)
    assert [(f.skipped, f.imported, f.reason) for f in report.files] == [(1, 0, None), (0, 1, None)]
    (r,) = records(engine)
    assert r["messages"] == [{"role": "user", "content": "q1"}]


def test_batch_input_alone_in_the_cli_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "queues").mkdir()
    batch_input(tmp_path / "input.jsonl", 10)
    runner = CliRunner()
    text = runner.invoke(app, ["import", "input.jsonl"])
    assert text.exit_code == 0, text.output
    assert (
        "note input.jsonl: the 10 lines are batch requests, kept to be joined with their results, "
        "and no batch output was imported with them: import it together with the batch's output "
        "file: reviewer import input.jsonl output.jsonl"
    ) in text.stdout.replace("\n", " ")
    as_json = orjson.loads(runner.invoke(app, ["import", "input.jsonl", "--json"]).stdout)
    (f,) = as_json["files"]
    assert (f["skipped"], f["imported"], f["batch_requests"]) == (10, 0, 10)
    assert f["reason"].startswith("the 10 lines are batch requests")
