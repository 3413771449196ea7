"""The assistant on the review screen: the suggestion is shown where the grades go, `y` takes
it whole (one `accept` event pointing at it) and moves on, and a blind item hides it until the
reviewer's own verdict, then tells it."""

from __future__ import annotations

from typing import Any

from reviewer.review.queues import load_queues
from reviewer.tui.screens.review import ReviewScreen
from tests.ui.conftest import SIZE, events, make_app, press, record_notices, screen_text, settle
from tests.ui.test_snapshots import suggested


def assisted(workspace: Any, ws_engine: Any) -> tuple[Any, Any]:
    """The thumbs-down queue with a suggestion on every pending item, and an app on it."""
    from reviewer.review.sync import sync_queues

    queue = next(q for q in load_queues(workspace)[0] if q.name == "thumbs-down")
    sync_queues(ws_engine, [queue])
    suggested(ws_engine, workspace)
    return queue, make_app(ws_engine, workspace, sync_on_start=False)


async def test_y_accepts_the_suggestion_and_a_blind_item_hides_it(workspace, ws_engine):
    queue, app = assisted(workspace, ws_engine)
    said = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.item is not None
        while queue.assist.is_blind(screen.item.queue_item_id):  # to a shown one
            await press(pilot, "right")
        shown = screen.item.queue_item_id
        assert "Promises a price match the shop does not offer." in screen_text(app)
        await press(pilot, "y")
        (event,) = events(ws_engine, queue_item_id=shown)
        assert (event["action"], event["verdict"], event["suggestion"]) == (
            "accept",
            "fail",
            "accepted",
        )
        assert event["suggestion_id"] is not None and event["themes"] == ["invented-policy"]
        assert said[-1] == "accepted the suggestion: fail"
        assert screen.item.queue_item_id != shown  # on to the next, as a verdict does

        from reviewer.evals.assist import pending_items

        pending = [i for i, _ in pending_items(ws_engine, queue, None)]
        blind = next(i for i in pending if queue.assist.is_blind(i))
        app.open_review("thumbs-down", blind)
        await settle(pilot)
        screen = app.screen
        assert screen.item.queue_item_id == blind
        text = screen_text(app)
        assert "hidden: a blind check" in text and "price match" not in text
        await press(pilot, "y")
        assert said[-1] == "a blind check: give your own verdict first"
        assert events(ws_engine, queue_item_id=blind) == []
        await press(pilot, "2", "p")
        assert said[-1] == "saved: pass · the assistant said fail, 0.8"
        assert events(ws_engine, queue_item_id=blind)[-1]["suggestion"] == "blind"


async def test_the_agreement_panel_shows_the_judge_against_the_reviewers(workspace, ws_engine):
    from reviewer.tui.screens.stats import StatsScreen

    queue, app = assisted(workspace, ws_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        while queue.assist.is_blind(app.screen.item.queue_item_id):
            await press(pilot, "right")
        await press(pilot, "y", "a")
        assert isinstance(app.screen, StatsScreen)
        text = screen_text(app)
        assert "judge support-judge on queue thumbs-down: 1 of 1 human reviews" in text
        assert "accept rate (y on a shown suggestion): 100%" in text


async def test_undoing_an_accepted_suggestion_says_so(workspace, ws_engine):
    queue, app = assisted(workspace, ws_engine)
    said = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        while queue.assist.is_blind(app.screen.item.queue_item_id):
            await press(pilot, "right")
        position = app.screen.progress.position
        await press(pilot, "y", "u")
        assert said[-1] == f"undid accepted suggestion (fail) on {position}/30"


async def test_the_prompt_lab_runs_a_judge_against_the_reviewers(workspace, ws_engine, monkeypatch):
    import shutil

    from textual.widgets import TextArea

    from reviewer.evals.versions import record_version
    from reviewer.review.session import ReviewSession
    from reviewer.review.sync import sync_queues
    from reviewer.tui.screens.lab import PromptLabScreen
    from tests.conftest import REPO
    from tests.fake_llm import FakeLLM
    from tests.integration.test_assist import graded_answer

    queue = next(q for q in load_queues(workspace)[0] if q.name == "thumbs-down")
    sync_queues(ws_engine, [queue])
    shutil.copy(REPO / "prompts" / "support-judge.yaml", workspace / "prompts")
    judge_file = workspace / "prompts" / "support-judge.yaml"
    record_version(
        ws_engine, "support-judge", judge_file.read_text(), path="prompts/support-judge.yaml"
    )
    session = ReviewSession(ws_engine, queue, "ana")
    for _ in range(6):  # a reviewer fails everything: the judge agrees only on its fails
        item = session.next_item()
        session.set_score(item, "helpful", 2)
        session.set_verdict(item, "fail")
    with FakeLLM(responder=graded_answer) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        app = make_app(ws_engine, workspace, sync_on_start=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_lab(judge_file)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, PromptLabScreen)
            editor = screen.query_one("#lab-editor", TextArea)
            editor.text = editor.text.replace("passes even when", "passes, even when")
            await settle(pilot)
            await press(pilot, "ctrl+r")
            await settle(pilot)
            comparison = screen.comparison
            assert comparison is not None and len(comparison.cases) == 6
            assert comparison.summary.baseline == "support-judge v1"
            agree = [c.new.passed for c in comparison.cases]
            assert agree.count(True) == comparison.summary.passed
            text = screen_text(app)
            assert "agreement with the reviewers" in text
        assert fake.count == 12  # this text and the previous version, six items each
