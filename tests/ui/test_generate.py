"""`G` on the datasets screen and on the review screen: the dialog (how many, kinds, model), the
run with its progress through the OpenAI SDK to the fake server, the notice of what was made and
dropped and what it cost, then the triage queue where `d` keeps and `x` drops each case, `u`
takes them back; with no model configured the dialog says how to configure one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from textual.widgets import Input

from reviewer.datasets.store import dataset_items, import_items
from reviewer.tui.screens.datasets import DatasetsScreen
from reviewer.tui.screens.generate import GenerateDialog
from reviewer.tui.screens.review import ReviewScreen
from tests.fake_llm import FakeLLM, generated_cases
from tests.ui.conftest import SIZE, events, make_app, press, record_notices, screen_text, settle
from tests.unit.test_generate import CASES

QUEUE = "generated-support-regressions"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with FakeLLM(responder=generated_cases) as server:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.delenv("REVIEWER_GENERATE_MODEL", raising=False)
        yield server


def with_dataset(engine, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(c) for c in CASES) + b"\n")
    assert import_items(engine, "support-regressions", path, by="ana").ok


def ids(engine) -> list[str]:
    return [str(i["id"]) for i in dataset_items(engine, "support-regressions")]


async def test_g_on_the_datasets_screen_then_keep_drop_and_undo(
    workspace, ws_engine, tmp_path, fake
):
    with_dataset(ws_engine, tmp_path)
    app = make_app(ws_engine, workspace, sync_on_start=False)
    said = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "d", "enter")  # the datasets screen, the items of the first
        assert isinstance(app.screen, DatasetsScreen)
        await press(pilot, "G")
        dialog = app.screen
        assert isinstance(dialog, GenerateDialog)
        assert "Generate test cases like c1 for support-regressions" in screen_text(app)
        dialog.query_one("#generate-n", Input).value = "4"
        await press(pilot, "enter")
        assert fake.count == 1
        shown = screen_text(app)
        assert "4 asked · 4 new · 0 duplicates dropped · $0.0" in shown
        assert f"enter opens the queue {QUEUE} (d keeps, x drops)" in shown
        assert said[-1].startswith("4 asked · 4 new · 0 duplicates dropped · $0.0")
        assert said[-1].endswith(f"1 request (0 from the cache) · queue {QUEUE}")
        assert ids(ws_engine) == ["c1", "c2", "c3"]  # nothing in the dataset yet

        await press(pilot, "enter")  # opens the triage queue
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.queue.name == QUEUE
        shown = screen_text(app)
        assert "suggested expected answer" in shown and "paraphrase of c1" in shown
        assert "d keep" in shown and "x drop" in shown and "d dataset" not in shown
        first = screen.item.queue_item_id

        await press(pilot, "d")  # keep, then the next case
        assert said[-1] == "kept in support-regressions"
        assert ids(ws_engine)[:3] == ["c1", "c2", "c3"] and len(ids(ws_engine)) == 4
        (kept,) = events(ws_engine, queue_item_id=first)
        assert (kept["action"], kept["verdict"], kept["themes"]) == (
            "keep",
            "pass",
            ["invented-policy"],
        )
        second = screen.item.queue_item_id
        assert second != first
        await press(pilot, "x")  # drop, then the next case
        assert said[-1] == "dropped"
        assert [e["action"] for e in events(ws_engine, queue_item_id=second)] == ["drop"]
        assert len(ids(ws_engine)) == 4

        await press(pilot, "u")
        assert said[-1] == "undid drop on 2/4"
        await press(pilot, "u")
        assert said[-1] == "undid keep in support-regressions on 1/4"
        assert ids(ws_engine) == ["c1", "c2", "c3"]
        await press(pilot, "escape")  # back to the datasets screen, which reads again
        assert isinstance(app.screen, DatasetsScreen)


async def test_g_on_the_review_screen_generates_like_the_item_on_screen(
    workspace, ws_engine, tmp_path, fake
):
    from reviewer.review.queues import load_queues
    from reviewer.review.sync import sync_queues

    with_dataset(ws_engine, tmp_path)
    sync_queues(ws_engine, load_queues(workspace)[0])
    app = make_app(ws_engine, workspace, sync_on_start=False)
    said = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        record_id = app.screen.item.record_id
        question = [m for m in app.screen.item.record["messages"] if m["role"] == "user"][-1][
            "content"
        ]
        await press(pilot, "e")  # the corrected answer becomes the parent's expected answer
        app.screen.query_one("TextArea").load_text("Returns are accepted for 30 days.")
        await press(pilot, "ctrl+s", "G")
        dialog = app.screen
        assert isinstance(dialog, GenerateDialog)
        assert "Generate test cases like item 1 of thumbs-down for support-regressions" in (
            screen_text(app)
        )
        dialog.query_one("#generate-n", Input).value = "2"
        dialog.query_one("#generate-kinds", Input).value = "language"
        await press(pilot, "enter")
        body = str(fake.log()[-1].body)
        assert "Cases to write: language 2 (2 in all)." in body
        assert "Returns are accepted for 30 days." in body
        assert said[-1].startswith("2 asked · 2 new · 0 duplicates dropped")
        await press(pilot, "enter")
        assert isinstance(app.screen, ReviewScreen) and app.screen.queue.name == QUEUE
        assert f"language of record {record_id}" in screen_text(app)
        with ws_engine.connect() as conn:
            (messages,) = conn.execute(
                text("SELECT messages FROM records WHERE id = :i"),
                {"i": app.screen.item.record_id},
            ).one()
        assert orjson.loads(messages)[-1]["content"].startswith(f"language 1: {question}")
        await press(pilot, "escape")
        assert isinstance(app.screen, ReviewScreen) and app.screen.queue.name == "thumbs-down"


async def test_no_model_configured_is_said_in_the_dialog(
    workspace, ws_engine, tmp_path, monkeypatch
):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REVIEWER_GENERATE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    with_dataset(ws_engine, tmp_path)
    app = make_app(ws_engine, workspace, sync_on_start=False)
    said = record_notices(app, titled=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "d", "enter", "G", "enter")
        assert isinstance(app.screen, GenerateDialog)
        shown = screen_text(app)
        assert "no model configured for generating cases: set OPENAI_BASE_URL" in shown
        assert "Traceback" not in shown
        assert said[-1][0] == "cannot generate"
        await press(pilot, "escape")
        assert isinstance(app.screen, DatasetsScreen)
    assert not (workspace / "queues" / f"{QUEUE}.yaml").exists()


async def test_esc_cancels_a_running_generation_and_enter_resumes_it(
    workspace, ws_engine, tmp_path, fake
):
    with_dataset(ws_engine, tmp_path)
    app = make_app(ws_engine, workspace, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "d", "enter", "G")
        dialog = app.screen
        assert isinstance(dialog, GenerateDialog)
        dialog.query_one("#generate-n", Input).value = "12"  # two requests: 10, then 2
        fake.answer_first(1)  # the second one hangs
        await pilot.press("enter")
        for _ in range(1200):  # until the second request is on its way (at most a minute)
            if fake.count >= 2:
                break
            await pilot.pause(0.05)
        assert fake.count == 2 and dialog.state == "running"
        await pilot.press("escape")
        await settle(pilot)
        assert dialog.state == "idle" and app.screen is dialog
        assert "cancelled: the answers so far are cached, a new run resumes" in screen_text(app)
        fake.answer_first(None)
        await press(pilot, "enter")
        assert fake.count == 3  # only the request that was cut off is asked again
        assert "12 asked · 12 new" in screen_text(app)
