"""A queue's guidelines (`queues/NAME.md`): `g` shows them over the review screen, and the home
screen says which queues have them."""

from __future__ import annotations

from textual.widgets import DataTable

from reviewer.tui.screens.guidelines import GuidelinesScreen
from reviewer.tui.screens.home import HomeScreen
from tests.ui.conftest import SIZE, events, make_app, press, screen_text, settle
from tests.ui.test_review_keys import open_queue, record_notices


async def test_g_shows_the_queue_guidelines_over_the_review(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot, "thumbs-down")
        item = screen.item.queue_item_id
        await press(pilot, "g")
        assert isinstance(app.screen, GuidelinesScreen)
        shown = screen_text(app)
        assert "Reviewing thumbs-down answers" in shown  # the Markdown heading, rendered
        assert "queues/thumbs-down.md" in shown
        assert "# Reviewing" not in shown
        await press(pilot, "escape", "4")
        assert app.screen is screen
        assert events(ws_engine, queue_item_id=item)[-1]["scores"] == {"helpful": 4}


async def test_a_queue_without_guidelines_says_how_to_add_them(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot, "slow-calls")
        said = record_notices(app)
        await press(pilot, "g")
        assert app.screen is screen
        assert said[-1].startswith("queue slow-calls has no guidelines")
        assert "queues/slow-calls.md" in said[-1]
        # written meanwhile: shown at the next g, markup and escapes in it as text
        (workspace / "queues" / "slow-calls.md").write_text(
            "# Slow calls\n\n[bold]not markup[/bold] \x1b[31mnot red\n"
        )
        await press(pilot, "g")
        assert isinstance(app.screen, GuidelinesScreen)
        shown = screen_text(app)
        assert "[bold]not markup[/bold]" in shown and "\\x1b[31mnot red" in shown
        await press(pilot, "g")  # g closes them too
        assert app.screen is screen


async def test_home_says_which_queues_have_guidelines(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        table = app.screen.query_one("#queues", DataTable)
        guide = {
            name: str(table.get_row(name)[6])
            for name in ("thumbs-down", "slow-calls", "daily-sample")
        }
        assert guide == {"thumbs-down": "📖", "slow-calls": "—", "daily-sample": "—"}
