"""Humans check the judges: a run's outputs become records in a review queue, a reviewer's
verdicts are compared with the automatic grades, and the disagreements are listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import Engine, insert, select

from reviewer.datasets.store import import_items
from reviewer.datasets.versions import version_info
from reviewer.evals.judges_check import (
    RESULTS,
    RUNS,
    JudgeCheckError,
    check_judges,
    disagreements,
    format_check,
    send_to_queue,
)
from reviewer.evals.prompts import prompt_hash
from reviewer.evals.versions import save_version
from reviewer.review.queues import load_queue_file, parse_queue
from reviewer.review.session import ReviewSession
from reviewer.review.sync import sync_queues
from reviewer.store.events import QUEUE_ITEMS
from tests.conftest import records

PROMPT = "name: support\nprovider: echo\nsystem: You are Clara of Cobbler & Co.\n"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "prompts").mkdir(parents=True)
    (root / "queues").mkdir()
    return root


def grade(grader: str, passed: bool, reason: str) -> dict[str, Any]:
    return {"grader": grader, "passed": passed, "score": float(passed), "reason": reason}


def make_run(engine: Engine, ws: Path, tmp_path: Path) -> int:
    """A dataset of three questions, the prompt saved, and a finished echo run on them."""
    lines = [
        {
            "id": f"q{i}",
            "messages": [
                {"role": "system", "content": "old system prompt"},
                {"role": "user", "content": question},
            ],
            "expected": expected,
        }
        for i, (question, expected) in enumerate(
            [
                ("Can I return shoes after 60 days?", "No: returns are within 30 days."),
                ("Where is order A-1042?", "It was delivered on 1 September."),
                ("Do you ship to Norway?", "No, only the EU, the UK and Switzerland."),
            ]
        )
    ]
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    assert import_items(engine, "support-regressions", path).ok
    save_version(engine, ws, "support", PROMPT, by="ana")
    outputs = [
        ("Yes! Our 90-day no-questions policy covers you.", True,
         [grade("not_contains", True, "'60 days' absent"), grade("llm_judge", True, "polite and helpful")]),
        ("Let me check A-1042 for you.", False,
         [grade("contains", False, "'delivered' missing")]),
        ("We ship to the EU, the UK and Switzerland.", True,
         [grade("contains", True, "'Switzerland' found")]),
    ]  # fmt: skip
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(RUNS).values(
                key="k1",
                prompt_name="support",
                prompt_hash=prompt_hash(PROMPT),
                dataset_name="support-regressions",
                dataset_version=version_info(engine, "support-regressions").number,
                dataset_hash="dh",
                provider="echo",
                model="echo",
                params=orjson.dumps({"temperature": 0}).decode(),
                status="done",
                started_at="2026-11-20T10:00:00.000000Z",
            )
        ).inserted_primary_key[0]
        for i, (text, passed, grades) in enumerate(outputs):
            conn.execute(
                insert(RESULTS).values(
                    run_id=run_id,
                    item_id=f"q{i}",
                    output=orjson.dumps({"role": "assistant", "content": text}).decode(),
                    passed=passed,
                    score=float(passed),
                    grades=orjson.dumps(grades).decode(),
                    latency_ms=9000.0 + i,  # slow: still no member of a slow-calls queue
                    input_tokens=100,
                    output_tokens=20,
                    cost_usd=0.001,
                    created_at=f"2026-11-20T10:00:0{i + 1}.000000Z",
                )
            )
    return int(run_id)


def review(
    engine: Engine, queue_file: Path, reviewer: str, verdicts: dict[str, tuple[str, str | None]]
) -> None:
    """`reviewer` opens the queue's items and gives item -> (verdict, note)."""
    queue = load_queue_file(queue_file)
    session = ReviewSession(engine, queue, reviewer)
    assert session.next_item() is not None
    with engine.connect() as conn:
        members = conn.execute(
            select(QUEUE_ITEMS.c.id, QUEUE_ITEMS.c.record_id).where(
                QUEUE_ITEMS.c.queue == queue.name
            )
        ).all()
    for queue_item_id, record_id in members:
        item = record_id.rsplit(":", 1)[1]
        if item not in verdicts:
            continue
        view = session.open(queue_item_id)
        assert view.record["metadata"]["eval_item"] == item
        verdict, note = verdicts[item]
        if note:
            session.set_note(view, note)
        session.set_verdict(view, verdict)
    session.close()


def test_send_review_and_list_the_disagreements(engine, ws, tmp_path):
    run = make_run(engine, ws, tmp_path)
    sent = send_to_queue(engine, ws, run, "judge-check")
    assert sent.queue_created and sent.queue_path == "queues/judge-check.yaml"
    assert (sent.records, sent.imported, sent.duplicates, sent.in_queue) == (3, 3, 0, 3)
    assert sent.all_in_queue and sent.added_to_queue == 3

    data = yaml.safe_load((ws / "queues" / "judge-check.yaml").read_text())
    assert data["description"].startswith(f"Check the automatic grades of eval run {run}")
    assert data["filter"] == {"format": "eval", "where": f"metadata.eval_run = {run}"}

    stored = records(engine, "source_format = 'eval'")
    assert [r["id"] for r in stored] == [f"eval:{run}:q0", f"eval:{run}:q1", f"eval:{run}:q2"]
    first = stored[0]
    # the rendered input: the prompt's system message replaces the item's
    assert first["messages"] == [
        {"role": "system", "content": "You are Clara of Cobbler & Co."},
        {"role": "user", "content": "Can I return shoes after 60 days?"},
    ]
    assert first["output"]["content"].startswith("Yes! Our 90-day")
    assert (first["provider"], first["model"], first["params"]) == (
        "echo",
        "echo",
        {"temperature": 0},
    )
    meta = first["metadata"]
    assert (meta["eval_run"], meta["eval_item"], meta["auto_passed"]) == (run, "q0", True)
    assert meta["eval_input"] == "rendered"
    assert [g["grader"] for g in meta["grades"]] == ["not_contains", "llm_judge"]
    assert meta["expected"] == "No: returns are within 30 days."
    assert meta["latency_ms"] == 9000.0 and meta["cost_usd"] == 0.001
    # figures stay out of the record's columns: eval outputs are not production calls
    assert first["latency_ms"] is None and first["cost_usd"] is None
    slow = parse_queue({"name": "slow-calls", "filter": {"min_latency_ms": 8000}}, "q.yaml")
    assert sync_queues(engine, [slow])["slow-calls"].total == 0

    again = send_to_queue(engine, ws, run, "judge-check")
    assert not again.queue_created
    assert (again.imported, again.duplicates, again.in_queue, again.added_to_queue) == (0, 3, 3, 0)

    # nobody reviewed yet
    empty = check_judges(engine, run)
    assert (empty.compared, empty.not_reviewed, empty.agreement_rate) == (0, 3, None)

    review(
        engine,
        ws / "queues" / "judge-check.yaml",
        "ana",
        {"q0": ("fail", "It invented a 90-day policy: returns are 30 days."), "q1": ("fail", None)},
    )
    check = check_judges(engine, run)
    assert (check.results, check.compared, check.agreed) == (3, 2, 1)
    assert check.agreement_rate == pytest.approx(0.5)
    assert (check.items_reviewed, check.not_reviewed) == (2, 1)
    (d,) = check.disagreements
    assert (d.item_id, d.reviewer, d.queue, d.human_verdict, d.auto_passed) == (
        "q0", "ana", "judge-check", "fail", True,
    )  # fmt: skip
    assert d.note == "It invented a 90-day policy: returns are 30 days."
    assert d.question == "Can I return shoes after 60 days?"
    assert d.output.startswith("Yes! Our 90-day")
    assert d.auto_reasons == [
        "not_contains pass: '60 days' absent",
        "llm_judge pass: polite and helpful",
    ]
    assert d.graders_disagreeing == ["not_contains", "llm_judge"]
    assert check.by_grader["llm_judge"].rate == 0.0
    assert check.by_grader["contains"].rate == 1.0  # q1: both said fail
    assert disagreements(engine, run) == check.disagreements

    # another queue on the same run: every queue's reviews count
    other = send_to_queue(engine, ws, run, "judge-check-2")
    assert other.queue_created and other.imported == 0 and other.in_queue == 3
    review(
        engine,
        ws / "queues" / "judge-check-2.yaml",
        "ben",
        {"q2": ("pass", None), "q1": ("pass", "good enough")},
    )
    check = check_judges(engine, run)
    assert (check.compared, check.agreed, len(check.disagreements)) == (4, 2, 2)
    assert [(x.item_id, x.reviewer) for x in check.disagreements] == [("q0", "ana"), ("q1", "ben")]
    assert check.disagreements[1].note == "good enough"
    lines = format_check(check)
    assert lines[0] == (
        f"eval run {run}: 4 human review(s) of 3 results · agreement 50% · 2 disagreement(s) · "
        "0 not reviewed"
    )
    assert any("human fail (ana, judge-check) · automatic pass" in line for line in lines)
    orjson.dumps(check.to_dict())


def test_an_existing_queue_file_is_kept_and_synced(engine, ws, tmp_path):
    run = make_run(engine, ws, tmp_path)
    (ws / "queues" / "mine.yaml").write_text(
        "name: mine\ndescription: my own\nfilter:\n  format: eval\n  where: metadata.eval_run = 999\n"
    )
    sent = send_to_queue(engine, ws, run, "mine")
    assert not sent.queue_created and sent.imported == 3
    assert sent.in_queue == 0 and not sent.all_in_queue  # its filter takes other records
    assert "my own" in (ws / "queues" / "mine.yaml").read_text()


def test_mistakes_are_clear(engine, ws, tmp_path):
    with pytest.raises(JudgeCheckError, match="no eval run 7"):
        send_to_queue(engine, ws, 7, "judge-check")
    with pytest.raises(JudgeCheckError, match="no eval run 7"):
        check_judges(engine, 7)
    run = make_run(engine, ws, tmp_path)
    with pytest.raises(JudgeCheckError, match="name"):
        send_to_queue(engine, ws, run, "../bad name")
    (ws / "queues" / "broken.yaml").write_text("name: broken\norder: sideways\n")
    with pytest.raises(JudgeCheckError, match="broken.yaml: order"):
        send_to_queue(engine, ws, run, "broken")
    assert records(engine, "source_format = 'eval'") == []  # nothing written on a mistake


def test_cli_send_and_disagreements(engine, ws, tmp_path):
    from typer.testing import CliRunner

    from reviewer.cli import app

    def cli(*args: str):
        return CliRunner().invoke(app, ["--workspace", str(ws), *args])

    run = make_run(engine, ws, tmp_path)
    sent = cli("judges", "send", str(run), "--queue", "judge-check")
    assert sent.exit_code == 0, sent.output
    assert f"eval run {run}: 3 outputs (3 new)" in sent.output
    assert "reviewer review judge-check" in sent.output
    review(
        engine,
        ws / "queues" / "judge-check.yaml",
        "ana",
        {"q1": ("pass", "it asked the right thing")},
    )
    shown = cli("judges", "disagreements", str(run))
    assert shown.exit_code == 0
    assert "agreement 0% · 1 disagreement(s)" in shown.output
    assert "note      it asked the right thing" in shown.output
    doc = orjson.loads(cli("judges", "disagreements", str(run), "--json").output)
    assert doc["disagreed"] == 1 and doc["disagreements"][0]["item_id"] == "q1"
    assert cli("judges", "disagreements", "99").exit_code == 2
    (ws / "queues" / "other.yaml").write_text("name: other\nfilter: {format: nothing}\n")
    partial = cli("judges", "send", str(run), "--queue", "other")
    assert partial.exit_code == 1 and "not in other" in partial.output
