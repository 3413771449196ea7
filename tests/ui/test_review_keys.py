"""Every key of the review screen, checked by its effect in the database."""

from __future__ import annotations

from sqlalchemy import text
from textual.command import CommandPalette
from textual.widgets import Input, TextArea

from reviewer.tui.screens.help import HelpScreen
from reviewer.tui.screens.home import HomeScreen
from reviewer.tui.screens.modals import DatasetPicker, TextEditor, ThemePicker
from reviewer.tui.screens.review import ReviewScreen
from reviewer.tui.widgets.conversation import Conversation
from tests.ui.conftest import (
    SIZE,
    events,
    item_status,
    make_app,
    press,
    record_notices,
    screen_text,
    settle,
)


async def open_queue(pilot, name="thumbs-down"):
    await settle(pilot)
    pilot.app.open_review(name)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    assert screen.item is not None
    return screen


async def test_enter_on_home_opens_the_queue(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await press(pilot, "enter")  # the first queue (daily-sample, by file name)
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.queue.name == app.ctx.queues[0].name
        await press(pilot, "q")
        assert isinstance(app.screen, HomeScreen)


async def test_score_then_pass_saves_and_moves_on(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        first = screen.item.queue_item_id
        assert screen.item.position == 1
        await press(pilot, "4", "2", "p")
        (verdict,) = [e for e in events(ws_engine, queue_item_id=first) if e["action"] == "verdict"]
        assert verdict["verdict"] == "pass"
        assert verdict["scores"] == {"helpful": 4, "tone": "neutral"}
        assert verdict["reviewer"] == "ana"
        assert item_status(ws_engine, first) == "done"
        assert screen.item.queue_item_id != first and screen.item.position == 2


async def test_verdict_is_refused_until_required_scores_are_given(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        first = screen.item.queue_item_id
        await press(pilot, "f")
        assert [e for e in events(ws_engine, queue_item_id=first) if e["verdict"]] == []
        assert screen.item.queue_item_id == first
        assert item_status(ws_engine, first) == "pending"
        await press(pilot, "1", "f")
        assert [e["verdict"] for e in events(ws_engine, queue_item_id=first)] == [None, "fail"]


async def test_tab_moves_between_scores_and_digits_outside_the_scale_are_ignored(
    workspace, ws_engine
):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.item.queue_item_id
        await press(pilot, "9")  # helpful is 1..5
        assert events(ws_engine, queue_item_id=item) == []
        await press(pilot, "tab", "4")  # tone: 4 = rude
        assert events(ws_engine, queue_item_id=item)[-1]["scores"] == {"tone": "rude"}
        await press(pilot, "shift+tab", "5")  # back to helpful (focus stays on the last score)
        assert events(ws_engine, queue_item_id=item)[-1]["scores"] == {"tone": "rude", "helpful": 5}


async def test_skip_then_undo(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        first = screen.item.queue_item_id
        await press(pilot, "s")
        assert item_status(ws_engine, first) == "skipped"
        assert screen.item.queue_item_id != first
        await press(pilot, "u")
        assert item_status(ws_engine, first) == "pending"
        assert screen.item.queue_item_id == first  # undo goes back to the item it changed
        actions = [e["action"] for e in events(ws_engine, queue_item_id=first)]
        assert actions == ["skip", "undo"]  # undo is a new event, nothing deleted


async def test_undo_of_a_verdict_reopens_the_item(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        first = screen.item.queue_item_id
        await press(pilot, "3", "p")
        assert item_status(ws_engine, first) == "done"
        await press(pilot, "u")
        assert item_status(ws_engine, first) == "pending"
        assert screen.item.queue_item_id == first
        assert screen.item.review.verdict is None and screen.item.review.scores == {"helpful": 3}


async def test_next_and_previous(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        first = screen.item.queue_item_id
        await press(pilot, "right")
        assert screen.item.position == 2
        await press(pilot, "l")
        assert screen.item.position == 3
        await press(pilot, "left", "h")
        assert screen.item.queue_item_id == first
        assert events(ws_engine) == []  # looking is not reviewing


async def test_theme_picker_filters_toggles_and_creates(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.item.queue_item_id
        await press(pilot, "t")
        assert isinstance(app.screen, ThemePicker)
        for ch in "invent":
            await pilot.press(ch)
        await press(pilot, "space", "enter")
        assert events(ws_engine, queue_item_id=item)[-1]["themes"] == ["invented-policy"]
        await press(pilot, "t")
        for ch in "Tone Deaf":  # no theme matches "tone": space types a dash
            await pilot.press(ch if ch != " " else "space")
        assert app.screen.query_one(Input).value == "Tone-Deaf"
        await press(pilot, "enter")  # enter on "+ create" creates the theme, ticks it, saves
        assert events(ws_engine, queue_item_id=item)[-1]["themes"] == [
            "invented-policy",
            "tone-deaf",
        ]
        with ws_engine.connect() as conn:
            names = {r[0] for r in conn.execute(text("SELECT name FROM themes"))}
        assert {"invented-policy", "tone-deaf"} <= names
        await press(pilot, "t", "escape")  # cancel changes nothing
        assert (
            len([e for e in events(ws_engine, queue_item_id=item) if e["action"] == "themes"]) == 2
        )


async def test_enter_in_the_theme_picker_saves_the_match_typed(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.item.queue_item_id
        await press(pilot, "t")
        for ch in "refus":
            await pilot.press(ch)
        await press(pilot, "enter")  # the highlighted match, no space needed
        assert events(ws_engine, queue_item_id=item)[-1]["themes"] == ["refused-harmless"]
        await press(pilot, "t")
        for ch in "ignored-constraint":  # an exact name
            await pilot.press(ch)
        await press(pilot, "enter")
        assert events(ws_engine, queue_item_id=item)[-1]["themes"] == [
            "refused-harmless",
            "ignored-constraint",
        ]
        await press(pilot, "t")
        for ch in "ramb":
            await pilot.press(ch)
        await press(pilot, "space")  # ticked with space, then another filter
        for _ in "ramb":
            await pilot.press("backspace")
        for ch in "other":
            await pilot.press(ch)
        await press(pilot, "enter")
        assert events(ws_engine, queue_item_id=item)[-1]["themes"] == [
            "refused-harmless",
            "ignored-constraint",
            "rambling",
            "other",
        ]
        await press(pilot, "t")
        for ch in "other":
            await pilot.press(ch)
        await press(pilot, "space", "enter")  # untoggled with space: enter keeps it off
        assert "other" not in events(ws_engine, queue_item_id=item)[-1]["themes"]


async def test_theme_picker_shows_ticks_without_colour(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        await press(pilot, "t")
        for ch in "rambl":
            await pilot.press(ch)
        await press(pilot, "space")
        shown = screen_text(app)
        assert "[x] rambling" in shown
        await press(pilot, "backspace")
        await press(pilot, "backspace", "backspace", "backspace", "backspace")
        shown = screen_text(app)
        assert "[x] rambling" in shown and "[ ] invented-policy" in shown
        assert "▐X▌" not in shown


async def test_corrected_answer_and_note(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.item
        await press(pilot, "e")
        assert isinstance(app.screen, TextEditor)
        area = app.screen.query_one(TextArea)
        assert area.text == (item.record["output"] or {}).get("content", "")
        area.load_text("Returns are accepted within 30 days.")
        await press(pilot, "ctrl+s")
        assert (
            events(ws_engine, queue_item_id=item.queue_item_id)[-1]["corrected"]
            == "Returns are accepted within 30 days."
        )
        await press(pilot, "n")
        for ch in "policy":
            await pilot.press(ch)
        await press(pilot, "ctrl+s")
        last = events(ws_engine, queue_item_id=item.queue_item_id)[-1]
        assert (last["action"], last["note"], last["corrected"]) == (
            "note",
            "policy",
            "Returns are accepted within 30 days.",
        )
        await press(pilot, "e", "escape")  # cancelled: no new event
        assert events(ws_engine, queue_item_id=item.queue_item_id)[-1]["action"] == "note"


async def test_corrected_answer_editor_shows_the_conversation_and_selects_all(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.item
        await press(pilot, "e")
        editor = app.screen
        assert isinstance(editor, TextEditor)
        beside = editor.query_one(Conversation)  # the conversation, in the editor's own layer
        assert beside.region.width > 30 and beside.region.height > 10
        assert not beside.region.overlaps(editor.query_one(TextArea).region)
        question = next(m for m in item.record["messages"] if m["role"] == "user")["content"]
        assert " ".join(question.split()[:3]) in screen_text(app)
        assert "select all" in screen_text(app)  # in the editor's footer
        await press(pilot, "ctrl+a")
        await press(pilot, *"30 days")  # typed over the whole selection
        assert editor.query_one(TextArea).text == "30 days"
        await press(pilot, "ctrl+s")
        last = events(ws_engine, queue_item_id=item.queue_item_id)[-1]
        assert (last["action"], last["corrected"]) == ("correct", "30 days")


async def test_escape_on_changed_text_asks_before_dropping_it(workspace, ws_engine):
    from reviewer.tui.screens.modals import KeepOrDrop

    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.item.queue_item_id
        await press(pilot, "e", "end", "!")
        await press(pilot, "escape")
        assert isinstance(app.screen, KeepOrDrop)
        await press(pilot, "escape")  # keep editing: the text is still there
        assert isinstance(app.screen, TextEditor)
        assert app.screen.query_one(TextArea).text.endswith("!")
        await press(pilot, "escape", "d")  # discard
        assert app.screen is screen
        assert events(ws_engine, queue_item_id=item) == []
        await press(pilot, "n", *"made up", "escape", "s")  # save from the question
        assert app.screen is screen
        last = events(ws_engine, queue_item_id=item)[-1]
        assert (last["action"], last["note"]) == ("note", "made up")
        await press(pilot, "n", "escape")  # unchanged: esc closes at once
        assert app.screen is screen
        await press(pilot, "4")  # and the keys reach the review again
        assert events(ws_engine, queue_item_id=item)[-1]["scores"] == {"helpful": 4}


async def test_promote_to_the_queue_dataset_and_to_another(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        item = screen.item.queue_item_id
        await press(pilot, "2", "f", "u")  # a review to promote, then back to it
        assert screen.item.queue_item_id == item
        await press(pilot, "d", "d")  # twice: still one dataset item
        await press(pilot, "D")
        assert isinstance(app.screen, DatasetPicker)
        app.screen.query_one(Input).value = ""
        for ch in "golden":
            await pilot.press(ch)
        await press(pilot, "enter")
        with ws_engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT d.name, i.record_id FROM dataset_items i JOIN datasets d ON d.id = i.dataset_id WHERE i.removed = :f ORDER BY d.name"
                ),
                {"f": False},
            ).all()
        assert [r[0] for r in rows] == ["golden", "support-regressions"]
        assert {r[1] for r in rows} == {screen.item.record_id}


def dataset_cases(engine):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT d.name, i.record_id FROM dataset_items i JOIN datasets d"
                " ON d.id = i.dataset_id WHERE i.removed = :f ORDER BY d.name"
            ),
            {"f": False},
        ).all()


async def test_promotion_and_undo_say_what_they_did(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        said = record_notices(app)
        item = screen.item.queue_item_id
        total = screen.progress.total
        await press(pilot, "d")  # nothing reviewed yet: refused, with the core's reason
        assert said[-1].startswith("nothing to promote yet:")
        assert dataset_cases(ws_engine) == []
        assert "— (d adds it)" in screen_text(app)
        await press(pilot, "2", "f", "u")
        assert said[-1] == f"undid verdict fail on 1/{total}"
        assert screen.item.queue_item_id == item
        await press(pilot, "u")
        assert said[-1] == f"undid helpful 2 on 1/{total}"
        await press(pilot, "2", "f", "u", "d")
        assert said[-1] == "promoted to support-regressions"
        assert "in support-regressions" in screen_text(app)  # the status says which dataset
        await press(pilot, "d")
        assert said[-1] == "already in support-regressions"
        assert [r[0] for r in dataset_cases(ws_engine)] == ["support-regressions"]
        await press(pilot, "right", "left")  # read again with the item
        assert screen.item.queue_item_id == item and screen.datasets == ["support-regressions"]
        assert "in support-regressions" in screen_text(app)
        await press(pilot, "u")  # the second d: the case stays, put there by the first
        assert said[-1] == f"undid promotion (still in support-regressions) on 1/{total}"
        assert [r[0] for r in dataset_cases(ws_engine)] == ["support-regressions"]
        await press(pilot, "u")  # the first d
        assert said[-1] == f"undid promotion to support-regressions on 1/{total}"
        assert dataset_cases(ws_engine) == []
        assert screen.datasets == []


async def test_search_opens_the_item_in_its_queue(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        target = screen.item
        words = " ".join((target.record["output"] or {}).get("content", "").split()[:4]) or "sorry"
        await press(pilot, "slash")
        for ch in words:
            await pilot.press(ch if ch != " " else "space")
        await settle(pilot)
        hits = app.screen.hits
        assert target.record_id in [h.record_id for h in hits]
        index = [h.record_id for h in hits].index(target.record_id)
        app.screen._open(index)
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.item.record_id == target.record_id


async def test_help_palette_and_fold(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)
        assert "review.pass" in shown and "review.promote" in shown
        # d keeps (and x drops) only in a triage queue of generated cases
        assert "review.keep" not in shown and "review.drop" not in shown
        await press(pilot, "escape")
        assert app.screen is screen
        await press(pilot, "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await press(pilot, "escape")
        conversation = screen.query_one(Conversation)
        assert conversation.unfolded is False
        await press(pilot, "o")
        assert conversation.unfolded is True


async def test_reopening_resumes_at_the_first_unfinished_item(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await press(pilot, "4", "p", "3", "p")
        third = screen.item.queue_item_id
        assert screen.item.position == 3
    again = make_app(ws_engine, workspace)
    async with again.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        assert screen.item.queue_item_id == third


async def test_agreement_panel_from_home_and_review(workspace, ws_engine):
    from textual.widgets import Static

    from reviewer.tui.screens.stats import StatsScreen

    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_queue(pilot)
        await press(pilot, "4", "p")
        await press(pilot, "a")
        assert isinstance(app.screen, StatsScreen)
        body = str(app.screen.query_one("#stats-body", Static).render())
        assert "thumbs-down: 30 items, 1 done, 0 skipped, 29 pending" in body
        assert "ana" in body
        await press(pilot, "escape", "q")
        assert isinstance(app.screen, HomeScreen)
        await press(pilot, "a")
        assert isinstance(app.screen, StatsScreen)
        assert screen is not app.screen
