"""Pinned pictures of home, review, the Prompt Lab and insights, at 100x30 (the smallest
terminal laid out) and at 160x48, and of the trace screen at 160x48 (regenerate with
--snapshot-update, then look at them)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.widgets import DataTable, ProgressBar, TextArea

from reviewer.datasets.promote import promote
from reviewer.evals.compare import Baseline, Case, Comparison, Side, Summary
from reviewer.review.queues import load_queues
from reviewer.review.session import ReviewSession
from reviewer.review.sync import sync_queues
from reviewer.tui.screens.lab import PromptLabScreen
from reviewer.tui.widgets.conversation import Conversation
from tests.conftest import REPO
from tests.ui.conftest import make_app, settle, until

SIZES = [pytest.param((100, 30), id="100x30"), pytest.param((160, 48), id="160x48")]

#: three thumbs-down items reviewed (the first two promoted) and one skipped, so themes,
#: datasets, coverage and the review header have something to show
REVIEWS = [
    (2, "fail", ["invented-policy"], True),
    (1, "fail", ["refused-harmless"], True),
    (4, "pass", [], False),
]


def reviewed(engine: Engine, workspace: Path) -> None:
    queues, _errors = load_queues(workspace)
    sync_queues(engine, queues)
    queue = next(q for q in queues if q.name == "thumbs-down")
    session = ReviewSession(engine, queue, "ana")
    for helpful, verdict, themes, promoted in REVIEWS:
        item = session.next_item()
        assert item is not None
        session.set_score(item, "helpful", helpful)
        if themes:
            session.set_themes(item, themes)
        session.set_verdict(item, verdict)
        if promoted:
            promote(engine, item.queue_item_id, "ana", "support-regressions")
    skipped = session.next_item()  # and one skipped, for the review header
    assert skipped is not None
    session.skip(skipped)
    session.close()


def suggested(engine: Engine, workspace: Path) -> None:
    """The assistant's suggestions for every pending thumbs-down item, made as `reviewer
    assist` would (so opening the queue asks no model)."""
    from reviewer.evals.assist import find_judge, judge_hash, pending_items
    from reviewer.store.events import write_transaction
    from reviewer.store.suggestions import save_suggestion

    shutil.copy(REPO / "prompts" / "support-judge.yaml", workspace / "prompts")
    queue = next(q for q in load_queues(workspace)[0] if q.name == "thumbs-down")
    judge = find_judge(workspace, "support-judge")
    digest = judge_hash(judge, queue, queue.guidelines())
    with write_transaction(engine) as conn:
        for item_id, record_id in pending_items(engine, queue, None):
            save_suggestion(conn, {
                "queue_item_id": item_id, "queue": queue.name, "record_id": record_id,
                "judge": judge.name, "judge_hash": digest, "judge_version": 1,
                "provider": judge.provider, "model": judge.model, "verdict": "fail",
                "scores": {"helpful": 2, "tone": "curt"}, "themes": ["invented-policy"],
                "reason": "Promises a price match the shop does not offer.", "confidence": 0.8,
                "created_at": "2026-11-20T10:00:00Z",
            })  # fmt: skip


def side(passed: bool, latency_ms: float, cost: float) -> Side:
    return Side(output={"role": "assistant", "content": "…"}, passed=passed,
                latency_ms=latency_ms, cost_usd=cost)  # fmt: skip


def comparison() -> Comparison:
    """A run of the prompt compared with the one before (made up: no model is called)."""
    changes = [
        ("support-regressions/1", "quick question: what's the best way to waterproof leather boots?", True, True, "same-pass"),
        ("support-regressions/2", "Kann ich mit PayPal bezahlen?", False, True, "fixed"),
        ("support-regressions/3", "Can I return sandals I wore once at home after 45 days?", True, False, "regressed"),
        ("support-regressions/4", "where is my order A-10423", False, False, "same-fail"),
    ]  # fmt: skip
    cases = [
        Case(item_id, question, side(before, 900, 0.0004), side(after, 1250 + 100 * i, 0.0005), change)
        for i, (item_id, question, before, after, change) in enumerate(changes)
    ]  # fmt: skip
    summary = Summary(run_id=2, baseline="run 1", cases=4, passed=2, graded=4, pass_rate=0.5,
                      baseline_passed=2, baseline_graded=4, baseline_pass_rate=0.5, fixed=1,
                      regressed=1, same_pass=1, same_fail=1, cost_usd=0.002, p50_ms=1300,
                      p95_ms=1500)  # fmt: skip
    return Comparison(run_id=2, prompt_name="support-chat", dataset="support-regressions",
                      dataset_version=2, provider="openai", model="gpt-4o-mini",
                      baseline=Baseline(kind="run", label="run 1", run_id=1), cases=cases,
                      summary=summary)  # fmt: skip


def tables(app: Any) -> list[DataTable]:
    return list(app.screen.query(DataTable))


@pytest.mark.parametrize("size", SIZES)
def test_home_screen(snap_compare: Any, workspace: Path, ws_engine: Engine, size: Any) -> None:
    reviewed(ws_engine, workspace)
    app = make_app(ws_engine, workspace)

    async def ready(pilot: Any) -> None:
        await settle(pilot)
        # the tables size their columns on an idle refresh after their rows arrive; then repaint
        await until(pilot, lambda: not any(t._require_update_dimensions for t in tables(app)))
        for table in tables(app):
            table.refresh()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_review_screen(snap_compare: Any, workspace: Path, ws_engine: Engine, size: Any) -> None:
    reviewed(ws_engine, workspace)
    suggested(ws_engine, workspace)
    app = make_app(ws_engine, workspace)

    async def ready(pilot: Any) -> None:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        # the conversation opens at the last user turn once its text is laid out
        await until(pilot, lambda: app.screen.query_one(Conversation).scroll_y > 0)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_prompt_lab(snap_compare: Any, workspace: Path, ws_engine: Engine, size: Any) -> None:
    reviewed(ws_engine, workspace)
    shutil.copy(REPO / "prompts" / "support-chat.yaml", workspace / "prompts")
    app = make_app(ws_engine, workspace)

    async def ready(pilot: Any) -> None:
        await settle(pilot)
        app.open_lab(workspace / "prompts" / "support-chat.yaml", "support-regressions")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PromptLabScreen)
        # the same picture every time: no blinking cursor, no moving bar (as after a run)
        screen.query_one("#lab-editor", TextArea).cursor_blink = False
        bar = screen.query_one("#lab-progress", ProgressBar)
        bar.display = True
        bar.update(total=4, progress=4)
        run = comparison()  # a run of the text in the editor
        screen.post_message(PromptLabScreen.LastRunRead(run, run.prompt_hash))
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_insights_screen(snap_compare: Any, workspace: Path, ws_engine: Engine, size: Any) -> None:
    reviewed(ws_engine, workspace)
    app = make_app(ws_engine, workspace)

    async def ready(pilot: Any) -> None:
        await settle(pilot)
        app.open_insights()
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_trace_screen(snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `unit: trace` queue at 160x48: the tree with the failing tool call selected and marked
    as where it went wrong, its content beside it, the review on the right."""
    from tests.ui.test_trace_screen import HOSTILE, trace_workspace
    from tests.unit.test_traces import AGENT

    monkeypatch.setattr("reviewer.tui.screens.trace.CONTENT_DELAY", 0)
    ws, engine = trace_workspace(tmp_path, [*AGENT, *HOSTILE])
    app = make_app(engine, ws)

    async def ready(pilot: Any) -> None:
        await settle(pilot)
        app.open_review("agent-runs")
        await settle(pilot)
        for key in ("E", "m"):
            await pilot.press(key)
            await settle(pilot)
        app.clear_notifications()  # the same picture however long the keys took
        await settle(pilot)

    try:
        assert snap_compare(app, terminal_size=(160, 48), run_before=ready)
    finally:
        engine.dispose()
