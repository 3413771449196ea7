"""`reviewer assist`: a judge pre-grades a queue's pending items through the official SDKs over
real HTTP to the fake server. The request asks for structured output (a JSON schema whose enums
are the rubric's values; a tool for Anthropic), the suggestions are stored apart from reviews, a
rerun calls no model, an answer that does not fit is asked for once more, then kept as an
error."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.review.queues import load_queues
from reviewer.review.sync import sync_queues
from reviewer.store.db import open_engine, sqlite_url
from tests.conftest import REPO, SAMPLE_LOGS, kill_when, run_import
from tests.fake_llm import FakeLLM


def graded_answer(body: dict[str, Any]) -> str:
    """The judge's answer: fail for an answer that invents a policy (price match, gift cards)."""
    texts = [
        c if isinstance(c, str) else "".join(part.get("text", "") for part in c)
        for c in (m["content"] for m in body["messages"])
    ]
    case = next(t for t in reversed(texts) if "Answer to grade:" in t)
    answer = case.split("Answer to grade:", 1)[1]
    bad = "refund the difference" in answer or "as a Cobbler & Co gift card" in answer
    return orjson.dumps(
        {
            "verdict": "fail" if bad else "pass",
            "scores": {"helpful": 1 if bad else 4, "tone": "neutral"},
            "themes": ["invented-policy"] if bad else [],
            "reason": "invents a policy" if bad else "correct",
            "confidence": 0.9,
        }
    ).decode()


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(REPO / "queues", root / "queues")
    (root / "prompts").mkdir()
    shutil.copy(REPO / "prompts" / "support-judge.yaml", root / "prompts")
    engine = open_engine(sqlite_url(root / ".reviewer" / "reviewer.db"))
    run_import(engine, SAMPLE_LOGS)
    sync_queues(engine, load_queues(root)[0])
    engine.dispose()
    monkeypatch.chdir(root)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return root


def suggestions(root: Path) -> list[dict[str, Any]]:
    engine = open_engine(sqlite_url(root / ".reviewer" / "reviewer.db"))
    with engine.connect() as conn:
        rows = [
            dict(r) for r in conn.execute(text("SELECT * FROM suggestions ORDER BY id")).mappings()
        ]
        assert conn.execute(text("SELECT COUNT(*) FROM review_events")).scalar_one() == 0
    engine.dispose()
    return rows


def test_assist_pre_grades_the_queue_and_a_rerun_calls_no_model(ws, monkeypatch):
    with FakeLLM(responder=graded_answer) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = CliRunner().invoke(app, ["assist", "thumbs-down", "--json"])
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)
        assert (report["pending"], report["suggested"], report["errors"]) == (30, 30, 0)
        assert fake.count == 30
        body = fake.log()[0].body
        schema = body["response_format"]["json_schema"]["schema"]
        assert body["response_format"]["type"] == "json_schema"
        assert schema["properties"]["scores"]["properties"]["helpful"]["enum"] == [
            1,
            2,
            3,
            4,
            5,
            None,
        ]
        assert "invented-policy" in schema["properties"]["themes"]["items"]["enum"]
        assert "Reviewing thumbs-down answers" in body["messages"][0]["content"]  # guidelines
        assert [m["role"] for m in body["messages"]] == [
            "system",
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
        ]
        rows = suggestions(ws)
        assert len(rows) == 30 and {r["judge"] for r in rows} == {"support-judge"}
        fails = [r for r in rows if r["verdict"] == "fail"]
        assert fails and all(orjson.loads(r["themes"]) == ["invented-policy"] for r in fails)
        assert all(r["judge_version"] == 1 and r["error"] is None for r in rows)

        again = CliRunner().invoke(app, ["assist", "thumbs-down", "--json"])
        assert again.exit_code == 0
        assert orjson.loads(again.stdout)["cached"] == 30
        assert fake.count == 30  # nothing asked again


def test_an_answer_that_does_not_fit_is_asked_again_then_kept_as_an_error(ws, monkeypatch):
    answers = iter(['{"verdict": "maybe"}', "not json at all"])

    def unusable(body: dict[str, Any]) -> str:
        return next(answers, None) or graded_answer(body)

    with FakeLLM(responder=unusable) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = CliRunner().invoke(
            app, ["assist", "thumbs-down", "--limit", "1", "--concurrency", "1", "--json"]
        )
        assert result.exit_code == 1
        report = orjson.loads(result.stdout)
        assert (report["suggested"], report["errors"], report["requests"]) == (0, 1, 2)
        (row,) = suggestions(ws)
        assert row["verdict"] is None and row["raw"] == "not json at all"
        assert "not JSON" in row["error"]
        retry = fake.log()[1].body["messages"]
        assert retry[-1]["content"].startswith(
            "That answer cannot be used: the answer does not fit"
        )
        fixed = CliRunner().invoke(app, ["assist", "thumbs-down", "--limit", "1", "--json"])
        assert fixed.exit_code == 0 and orjson.loads(fixed.stdout)["suggested"] == 1
        assert len(suggestions(ws)) == 1  # the error replaced, not a second row


def test_anthropic_judges_answer_through_a_tool(ws, monkeypatch):
    judge = ws / "prompts" / "support-judge.yaml"
    judge.write_text(
        judge.read_text()
        .replace("provider: openai", "provider: anthropic")
        .replace("model: gpt-4o-mini", "model: claude-3-5-haiku-latest")
    )

    def tool_answer(body: dict[str, Any]) -> dict[str, Any]:
        return {"content": "", "tool_calls": [{"name": "review", "arguments": graded_answer(body)}]}

    with FakeLLM(responder=tool_answer) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_url)
        result = CliRunner().invoke(app, ["assist", "thumbs-down", "--limit", "3", "--json"])
        assert result.exit_code == 0, result.output
        body = fake.log()[0].body
        assert body["tool_choice"] == {"type": "tool", "name": "review"}
        assert body["tools"][0]["input_schema"]["properties"]["verdict"]["enum"] == ["pass", "fail"]
        assert len(suggestions(ws)) == 3


def test_no_model_configured_says_how(ws, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = CliRunner().invoke(app, ["assist", "thumbs-down"])
    assert result.exit_code == 2
    assert "OPENAI_API_KEY is not set" in result.stderr
    assert suggestions(ws) == []


def test_an_eval_grader_names_the_judge_file_and_the_summary_its_agreement(ws, monkeypatch):
    from reviewer.datasets.store import import_items
    from reviewer.review.session import ReviewSession
    from reviewer.store.suggestions import latest_suggestion

    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    queue = next(q for q in load_queues(ws)[0] if q.name == "thumbs-down")
    with FakeLLM(responder=graded_answer) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        assert CliRunner().invoke(app, ["assist", "thumbs-down", "--limit", "4"]).exit_code == 0
        session = ReviewSession(engine, queue, "ana")
        for _ in range(4):  # the reviewer agrees with every suggestion
            item = session.next_item()
            with engine.connect() as conn:
                found = latest_suggestion(conn, item.queue_item_id, "support-judge")
            session.accept_suggestion(item, found.id)
        path = ws / "cases.jsonl"
        path.write_bytes(
            b'{"id": "c1", "messages": [{"role": "user", "content": "Do you price match?"}]}\n'
        )
        assert import_items(engine, "cases", path, by="ana").ok
        (ws / "prompts" / "support.yaml").write_text(
            "name: support\nprovider: openai\nmodel: gpt-4o-mini\nsystem: You help.\n"
            "graders:\n  - {type: llm_judge, judge: support-judge}\n"
        )
        fake.responder = lambda body: (
            '{"pass": true, "score": 0.9, "reason": "fine"}'
            if "strict, fair evaluator" in str(body["messages"][0]["content"])
            else "We do not price match."
        )
        result = CliRunner().invoke(app, ["eval", "support", "--dataset", "cases"])
        assert result.exit_code == 0, result.output
        assert "judge support-judge v1: kappa undefined on 4 human labels" in result.stdout
        judged = [
            r.body
            for r in fake.log()
            if "strict, fair evaluator" in str(r.body["messages"][0]["content"])
        ]
        assert judged and "Cobbler & Co" in judged[-1]["messages"][1]["content"]  # the instructions
    engine.dispose()


def test_a_killed_assist_run_started_again_asks_only_what_is_missing(ws, monkeypatch):
    with FakeLLM(responder=graded_answer) as fake:
        fake.answer_first(5)  # five answers, then the server hangs: the run is killed there
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        args = [
            "--workspace", str(ws), "assist", "thumbs-down", "--limit", "12", "--concurrency", "2",
        ]  # fmt: skip
        # each suggestion is committed as it arrives
        kill_when(args, lambda: len(suggestions(ws)) >= 5)
        first = {r["queue_item_id"] for r in suggestions(ws)}
        assert len(first) == 5
        fake.reset()
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        result = CliRunner().invoke(app, ["assist", "thumbs-down", "--limit", "12", "--json"])
        assert result.exit_code == 0, result.output
        report = orjson.loads(result.stdout)
        assert (report["cached"], report["suggested"]) == (5, 7)
        assert fake.count <= 7  # only what was missing (same conversations come from the cache)
        assert len(suggestions(ws)) == 12 and first <= {r["queue_item_id"] for r in suggestions(ws)}
