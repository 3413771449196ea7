"""The committed demo corpus in sample_logs/: it imports cleanly, holds what the demo needs,
and is exactly what its generator writes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from tests.conftest import SAMPLE_LOGS, records, rejects, run_import

AGENT_FILE = "support-agent.otlp.jsonl"
FILES = (
    "support-chat.openai.jsonl",
    "support-chat.anthropic.jsonl",
    "extract-order.otlp.jsonl",
    AGENT_FILE,
)
#: Records per source format of the two endpoints' files; lines per file differ only for OTLP
#: (one line holds a batch of 5 spans).
EXPECTED_RECORDS = {"openai-chat": 252, "anthropic": 79, "otlp": 100}
#: the support agent's file: 12 traces (one export request each) of 58 spans, of which the 28
#: chat spans are LLM calls
AGENT_TRACES = 12
AGENT_RECORDS = 28
AGENT_STEPS = 58  # every span is a step: 12 agents, 28 LLM calls, 18 tool calls
EXPECTED_LINES = {FILES[0]: 252, FILES[1]: 79, FILES[2]: 96, AGENT_FILE: AGENT_TRACES}


def _endpoints(rows: list[dict]) -> list[dict]:
    """The records of the two endpoints' files (not the support agent's traces)."""
    return [r for r in rows if Path(r["source_path"]).name != AGENT_FILE]


@pytest.fixture
def imported(engine):
    report = run_import(engine, SAMPLE_LOGS)
    return report, _endpoints(records(engine))


def by_format(rows: list[dict], fmt: str) -> list[dict]:
    return [r for r in rows if r["source_format"] == fmt]


def at_line(rows: list[dict], fmt: str, line: int) -> list[dict]:
    return [r for r in rows if r["source_format"] == fmt and r["source_line"] == line]


def test_whole_folder_imports_without_rejects(engine, imported):
    report, rows = imported
    assert rejects(engine) == []
    assert report.total("rejected") == 0 and report.total("skipped") == 0
    assert Counter(r["source_format"] for r in rows) == EXPECTED_RECORDS
    assert len(rows) >= 300
    lines = {Path(f.path).name: f.lines for f in report.files}
    assert lines == EXPECTED_LINES
    assert report.total("imported") == sum(EXPECTED_RECORDS.values()) + AGENT_STEPS


def test_corpus_shape(imported):
    _report, rows = imported
    # feedback on about a tenth of the calls: 30 thumbs down, 17 thumbs up, only on support-chat
    with_feedback = [r for r in rows if r["feedback_score"] is not None]
    assert 0.08 <= len(with_feedback) / len(rows) <= 0.14
    assert Counter(r["feedback_score"] for r in with_feedback) == {0.0: 30, 1.0: 17}
    assert {r["source_format"] for r in with_feedback} == {"openai-chat", "anthropic"}
    assert all(r["feedback_comment"] for r in with_feedback if r["feedback_score"] == 0.0)
    # tool calls in outputs, tool results in inputs, on both chat providers
    calls = Counter(
        r["source_format"] for r in rows if r["output"] and r["output"].get("tool_calls")
    )
    assert calls == {"openai-chat": 100, "anthropic": 24}
    results = Counter(
        r["source_format"] for r in rows if any(m["role"] == "tool" for m in r["messages"])
    )
    assert results == {"openai-chat": 152, "anthropic": 38}
    # multi-turn conversations: several user turns in one request
    multi = Counter(
        r["source_format"] for r in rows if sum(m["role"] == "user" for m in r["messages"]) >= 2
    )
    assert multi == {"openai-chat": 106, "anthropic": 34}
    assert len({r["session_id"] for r in rows if r["source_format"] != "otlp"}) == 106
    # failed calls: logged errors on the chat endpoint, error-status spans on extract-order
    failed = Counter(r["source_format"] for r in rows if r["error"])
    assert failed == {"openai-chat": 4, "anthropic": 2, "otlp": 4}
    assert all(r["output"] is None for r in rows if r["error"])
    # models
    models = Counter((r["source_format"], r["model"]) for r in rows)
    assert models == {
        ("openai-chat", "gpt-4o-mini"): 227,
        ("openai-chat", "gpt-4o"): 25,
        ("anthropic", "claude-sonnet-4-5"): 50,
        ("anthropic", "claude-haiku-4-5"): 29,
        ("otlp", "gpt-4o-mini"): 100,
    }
    # four weeks up to 2026-11-20, fixed dates
    stamps = sorted(r["timestamp"] for r in rows)
    assert stamps[0] >= "2026-10-24T00:00:00" and stamps[-1] < "2026-11-21T00:00:00"
    assert stamps[0][:10] == "2026-10-24" and stamps[-1][:10] == "2026-11-20"


def test_known_openai_line(imported):
    _report, rows = imported
    (r,) = at_line(rows, "openai-chat", 122)
    assert r["id"] == "chatcmpl-tPuCPXdATKurksiTqrRReEG7VA505"
    assert r["provider"] == "openai" and r["model"] == "gpt-4o-mini"
    assert (r["input_tokens"], r["output_tokens"]) == (1177, 62)
    assert r["timestamp"] == "2026-11-06T15:42:08.340000Z" and r["latency_ms"] == 1323
    assert (r["user_id"], r["session_id"]) == ("u_21572", "sess_a2ae3a81d19f0383")
    assert [m["role"] for m in r["messages"]] == ["system", "user", "assistant", "tool"]
    # rich markup in a user message stays literal text
    assert r["messages"][1]["content"] == (
        'My order confirmation e-mail literally says "[bold red]not markup[/]" where the delivery '
        "date should be. Is order A-10727 ok?"
    )
    assert r["messages"][2]["tool_calls"] == [
        {
            "id": "call_UXYgg5OUzSxD0FebV2YbUG0x",
            "name": "lookup_order",
            "arguments": '{"order_id":"A-10727"}',
        }
    ]
    assert r["messages"][3]["tool_call_id"] == "call_UXYgg5OUzSxD0FebV2YbUG0x"
    assert r["output"]["content"].startswith("Sorry about that odd e-mail, Tom")
    assert r["metadata"]["endpoint"] == "support-chat" and r["metadata"]["finish_reason"] == "stop"
    assert r["params"]["temperature"] == 0.3 and len(r["params"]["tools"]) == 3
    # an ANSI escape sequence in a user message arrives as the escape character itself
    (ansi,) = at_line(rows, "openai-chat", 210)
    assert ansi["messages"][1]["content"] == (
        "I copied this from the tracking page for A-10833: \x1b[31mred\x1b[0m status DELAYED. "
        "What does that mean?"
    )
    assert (ansi["input_tokens"], ansi["output_tokens"]) == (1066, 16)


def test_known_anthropic_line(imported):
    _report, rows = imported
    (r,) = at_line(rows, "anthropic", 25)
    assert r["id"] == "msg_01zv1nIZM2vgDUR5cBNScP8W"
    assert r["provider"] == "anthropic" and r["model"] == "claude-haiku-4-5"
    assert (r["input_tokens"], r["output_tokens"]) == (1584, 72)
    assert r["timestamp"] == "2026-10-31T22:57:23.511000Z" and r["latency_ms"] == 1234
    assert [m["role"] for m in r["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert r["messages"][0]["content"].startswith(
        "You are Clara, the customer-support assistant of Cobbler & Co"
    )
    assert r["messages"][2]["tool_calls"][0]["name"] == "lookup_order"
    assert (
        r["messages"][3]["tool_call_id"]
        == r["messages"][2]["tool_calls"][0]["id"]
        == "toolu_01YnhDGTL7AND8iJ3zZsbEnO"
    )
    assert (
        r["messages"][5]["content"]
        == "Got it. The shoes from order A-11441 don't fit, could I swap them for 42?"
    )
    # text before two parallel tool_use blocks
    assert r["output"]["content"] == "Let me look up that order for you."
    assert [(c["name"], orjson.loads(c["arguments"])) for c in r["output"]["tool_calls"]] == [
        ("lookup_order", {"order_id": "A-11441"}),
        ("check_stock", {"sku": "CB-5101-BEI", "size": 42}),
    ]
    (err,) = at_line(rows, "anthropic", 30)
    assert err["error"].startswith("OverloadedError: Error code: 529") and err["output"] is None


def test_known_otlp_lines(imported):
    _report, rows = imported
    # one exported batch of five spans on one line
    batch = at_line(rows, "otlp", 62)
    assert len(batch) == 5
    r = next(b for b in batch if b["id"] == "1c883655eaf2feb3d95a7afa62da79ba:873d0a0b03c9ad10")
    assert r["provider"] == "openai" and r["model"] == "gpt-4o-mini"
    assert (r["input_tokens"], r["output_tokens"]) == (286, 31)
    assert r["timestamp"] == "2026-11-08T16:45:06.045000Z"
    assert r["trace_id"] == "1c883655eaf2feb3d95a7afa62da79ba"
    assert (r["user_id"], r["session_id"]) == ("u_56284", "mail-258404d079d9")
    assert r["params"] == {"temperature": 0.0, "max_tokens": 120}
    assert [m["role"] for m in r["messages"]] == ["system", "user"]
    assert "Subject: Bestellung A-11312 noch nicht angekommen" in r["messages"][1]["content"]
    assert orjson.loads(r["output"]["content"]) == {
        "order_id": "A-11312",
        "intent": "order_status",
        "items": [{"sku": "CB-3390-GRY", "size": 45, "qty": 1}],
        "language": "de",
    }
    (failed,) = at_line(rows, "otlp", 6)
    assert failed["error"] == "Request timed out." and failed["output"] is None
    # a truncated extraction (finish_reason length) is kept as the model wrote it
    (cut,) = at_line(rows, "otlp", 33)
    assert cut["output_tokens"] == 120 and cut["metadata"]["finish_reason"] == "length"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut["output"]["content"])


def test_second_import_adds_nothing(engine):
    first = run_import(engine, SAMPLE_LOGS)
    second = run_import(engine, SAMPLE_LOGS)
    total = sum(EXPECTED_RECORDS.values()) + AGENT_STEPS
    assert (first.total("imported"), first.total("duplicates")) == (total, 0)
    assert (second.total("imported"), second.total("duplicates")) == (0, total)
    assert len(records(engine)) == total


def test_lines_carry_no_failure_labels():
    """Injected failures are for reviewers to find: the logs hold only what an app would log."""
    chat_keys = {
        "timestamp",
        "latency_ms",
        "user_id",
        "session_id",
        "request",
        "response",
        "error",
        "feedback",
        "metadata",
    }
    for name in FILES[:2]:
        for line in (SAMPLE_LOGS / name).read_bytes().splitlines():
            obj = orjson.loads(line)
            assert set(obj) <= chat_keys
            assert set(obj["metadata"]) == {"endpoint", "app_version", "locale"}
    for name in FILES[2:]:
        for line in (SAMPLE_LOGS / name).read_bytes().splitlines():
            assert set(orjson.loads(line)) == {"resourceSpans"}


def test_generator_reproduces_committed_files(tmp_path):
    assert sorted(p.name for p in SAMPLE_LOGS.iterdir() if p.suffix == ".jsonl") == sorted(FILES)
    subprocess.run(
        [sys.executable, str(SAMPLE_LOGS / "make_sample_logs.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE_LOGS / name).read_bytes(), name


def test_support_agent_traces(engine):
    """The support agent's runs: one trace per export request, its LLM calls sharing the trace
    id; three tool calls time out (error status); one run answers as if the failed refund worked."""
    report = run_import(engine, SAMPLE_LOGS / AGENT_FILE)
    assert (report.total("lines"), report.total("rejected"), report.total("skipped")) == (12, 0, 0)
    calls = records(engine, "kind = 'llm'")
    assert len(calls) == AGENT_RECORDS
    kinds = Counter(r["kind"] for r in records(engine))
    assert kinds == {"llm": AGENT_RECORDS, "agent": AGENT_TRACES, "tool": 18}
    with engine.connect() as conn:
        traces = conn.execute(text("SELECT steps, tool_errors FROM traces ORDER BY key")).all()
    assert len(traces) == AGENT_TRACES and sum(steps for steps, _e in traces) == AGENT_STEPS
    assert sum(errors for _s, errors in traces) == 3  # the three timeouts
    per_trace = Counter(r["trace_id"] for r in calls)
    assert sorted(Counter(per_trace.values()).items()) == [(2, 8), (3, 4)]
    assert {(r["provider"], r["model"]) for r in calls} == {("openai", "gpt-4o-mini")}
    assert all(r["metadata"]["service.name"] == "support-agent" for r in calls)
    assert all([t["name"] for t in r["params"]["tools"]] == [
        "lookup_order", "check_stock", "issue_refund", "create_return"] for r in calls)  # fmt: skip
    # the spans in the file: invoke_agent roots, chat calls, tool executions, 3 of them timed out
    spans = [
        span
        for line in (SAMPLE_LOGS / AGENT_FILE).read_bytes().splitlines()
        for span in orjson.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    ]
    ops = Counter(
        next(a["value"]["stringValue"] for a in s["attributes"] if a["key"] == "gen_ai.operation.name")
        for s in spans
    )  # fmt: skip
    assert ops == {"invoke_agent": 12, "chat": 28, "execute_tool": 18}
    timeouts = [s for s in spans if s["status"].get("code") == 2]
    assert [s["name"] for s in timeouts] == [
        "execute_tool lookup_order",
        "execute_tool issue_refund",
        "execute_tool check_stock",
    ]
    assert {s["status"]["message"].split(" timed out")[1] for s in timeouts} == {" after 10 s"}
    # the run whose refund timed out: the final answer claims the refund was issued
    refund = next(s["traceId"] for s in timeouts if s["name"] == "execute_tool issue_refund")
    last = max((r for r in calls if r["trace_id"] == refund), key=lambda r: r["timestamp"])
    assert last["output"]["content"].startswith("Done! Your refund of 149.00 EUR")
    tool_turn = last["messages"][-1]
    assert tool_turn["role"] == "tool"
    assert tool_turn["content"] == "Error: issue_refund timed out after 10 s"
