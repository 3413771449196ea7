"""The Prompt Lab: edit the prompt, run the eval (real SDK over HTTP to the fake server), read
the comparison with the previous run, open a case, save a version, see the history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text
from textual.widgets import DataTable, Static, TextArea

from reviewer.tui.screens.lab import CaseScreen, HistoryScreen, LeaveLab, PromptLabScreen
from tests.fake_llm import FakeLLM, last_user_text
from tests.ui.conftest import SIZE, lab_workspace, make_app, press, screen_text, settle

PROMPT = """\
name: support
provider: openai
model: gpt-4o-mini
params: {temperature: 0.3}
system: You are the support assistant of a shoe shop.
graders:
  - {type: not_contains, value: "90 days"}
"""


def answer(body: dict[str, Any]) -> str:
    """Odd questions get an invented policy, unless the system prompt states the real one."""
    system = " ".join(
        str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "system"
    )
    number = int("".join(ch for ch in last_user_text(body) if ch.isdigit()) or 0)
    if "30 days" in system or number % 2 == 0:
        return "Returns within 30 days."
    return "Returns within 90 days, no questions."


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Engine, FakeLLM]]:
    with lab_workspace(tmp_path, monkeypatch, PROMPT, 4, answer) as made:
        yield made


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_edit_run_compare_save(lab):
    ws, engine, fake = lab
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(ws / "prompts" / "support.yaml", "returns")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PromptLabScreen)
        assert "✓ valid" in str(screen.query_one("#lab-problems", Static).render())

        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert fake.count == 4
        first = rows(screen.query_one("#lab-results", DataTable))
        assert [r[3] for r in first] == ["✓", "✗", "✓", "✗"]  # the odd questions invent a policy
        assert "pass rate 50%" in str(screen.query_one("#lab-summary", Static).render())

        editor = screen.query_one("#lab-editor", TextArea)
        editor.load_text("name: support\nprovider: openai\nmodel: gpt-4o-mini\nsystem: {{ nope }\n")
        await settle(pilot)
        assert "✗" in str(screen.query_one("#lab-problems", Static).render())  # shown in place
        editor.load_text(
            PROMPT.replace("shoe shop.", "shoe shop. Returns are accepted for 30 days, never more.")
        )
        await settle(pilot)
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert fake.count == 8
        second = rows(screen.query_one("#lab-results", DataTable))
        assert [r[4] for r in second] == ["✓ same", "✗→✓ fixed", "✓ same", "✗→✓ fixed"]
        summary = str(screen.query_one("#lab-summary", Static).render())
        assert "pass rate 50% → 100%" in summary and "2 fixed" in summary

        screen.query_one("#lab-results", DataTable).focus()
        await press(pilot, "down", "enter")
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.case.change == "fixed"
        await press(pilot, "escape")

        await press(pilot, "ctrl+s")
        assert "accepted for 30 days, never more" in (ws / "prompts" / "support.yaml").read_text()
        with engine.connect() as conn:
            assert (
                conn.execute(
                    text("SELECT COUNT(*) FROM prompt_versions WHERE name = 'support'")
                ).scalar_one()
                == 2
            )
        await press(pilot, "ctrl+h")
        assert isinstance(app.screen, HistoryScreen)
        await settle(pilot)
        history = str(app.screen.query_one("#history-body", Static).render())
        assert "version 2" in history and "version 1" in history and "pass rate 100%" in history

        await press(pilot, "escape", "ctrl+r")  # nothing changed since: the cache answers
        await settle(pilot)
        assert fake.count == 8


async def test_p_on_a_review_item_opens_its_prompt_on_the_queue_dataset(workspace, ws_engine):
    import shutil

    from tests.conftest import REPO

    shutil.copytree(REPO / "prompts", workspace / "prompts", dirs_exist_ok=True)
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        await press(pilot, "P")
        screen = app.screen
        assert isinstance(screen, PromptLabScreen)
        assert screen.prompt_path.name in ("support-chat.yaml", "extract-order.yaml")
        assert (
            screen.prompt_path.name == "support-chat.yaml"
        )  # thumbs-down holds support-chat calls
        assert screen.dataset == "support-regressions"
        await press(pilot, "escape")
        assert app.screen.__class__.__name__ == "ReviewScreen"


def versions(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT content, created_by FROM prompt_versions WHERE name = 'support' ORDER BY id"
            )
        )
        return [dict(r) for r in rows.mappings()]


def lab_screen(app: Any) -> PromptLabScreen:
    assert isinstance(app.screen, PromptLabScreen)
    return app.screen


def status_of(screen: PromptLabScreen) -> str:
    return str(screen.query_one("#lab-status", Static).render())


async def test_esc_on_unsaved_edits_asks_and_the_draft_is_kept_for_the_session(lab):
    ws, engine, _fake = lab
    path = ws / "prompts" / "support.yaml"
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(path, "returns")
        await settle(pilot)
        screen = lab_screen(app)
        assert "unsaved" not in status_of(screen)
        await press(pilot, "end", *" Returns: 30 days.")  # typed at the end of the system line
        edited = screen.query_one("#lab-editor", TextArea).text
        assert "shoe shop. Returns: 30 days." in edited
        assert "unsaved" in status_of(screen)

        await press(pilot, "escape")  # asks
        assert isinstance(app.screen, LeaveLab)
        await press(pilot, "escape")  # stay
        assert app.screen is screen and screen.query_one("#lab-editor", TextArea).text == edited

        await press(pilot, "escape", "k")  # leave, keep the draft
        assert not isinstance(app.screen, PromptLabScreen | LeaveLab)
        assert path.read_text() == PROMPT and versions(engine) == []
        app.open_lab(path, "returns")  # the same session: the draft comes back, said unsaved
        await settle(pilot)
        screen = lab_screen(app)
        editor = screen.query_one("#lab-editor", TextArea)
        assert editor.text == edited and "unsaved" in status_of(screen)
        assert editor.cursor_location[0] == 4  # at the line last edited

        await press(pilot, "escape", "d")  # discard
        assert not isinstance(app.screen, PromptLabScreen)
        app.open_lab(path, "returns")
        await settle(pilot)
        screen = lab_screen(app)
        assert screen.query_one("#lab-editor", TextArea).text == PROMPT
        assert "unsaved" not in status_of(screen)

        await press(pilot, "end", *" Never 90 days.")
        await press(pilot, "escape", "s")  # save: a version, the file written, then leave
        assert not isinstance(app.screen, PromptLabScreen | LeaveLab)
        assert "shoe shop. Never 90 days." in path.read_text()
        saved = versions(engine)
        assert saved[-1]["content"] == path.read_text() and saved[-1]["created_by"] == "ana"
        app.open_lab(path, "returns")
        await settle(pilot)
        assert "unsaved" not in status_of(lab_screen(app))
        await press(pilot, "escape")  # nothing unsaved: leaves without asking
        assert not isinstance(app.screen, PromptLabScreen | LeaveLab)


LONG = PROMPT.replace(
    "shoe shop.", "shoe shop. " + "Be kind, be brief, and state the policy as written. " * 6
)


async def test_editing_find_go_to_line_logical_lines_focus_help_and_the_last_run(lab):
    ws, engine, fake = lab
    path = ws / "prompts" / "support.yaml"
    path.write_text(LONG)
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(path, "returns")
        await settle(pilot)
        screen = lab_screen(app)
        editor = screen.query_one("#lab-editor", TextArea)
        assert editor.has_focus and editor.cursor_location == (4, len("system: "))

        await press(pilot, "ctrl+f", *"support", "enter")  # from the cursor on: this line
        assert editor.selection == ((4, 20), (4, 27))
        await press(pilot, "enter")  # the next match, from the top again
        assert editor.selection == ((0, 6), (0, 13))
        await press(pilot, "escape")  # closes find, back in the editor; the lab stays
        assert app.screen is screen and editor.has_focus

        await press(pilot, "ctrl+l", "7", "enter")
        assert editor.cursor_location == (6, 0) and editor.has_focus

        # the long system line wraps: ↓ moves within it; with soft wrap off, to the next line
        editor.move_cursor((4, 0))
        await press(pilot, "down")
        assert editor.cursor_location[0] == 4
        await press(pilot, "alt+z")
        assert not editor.soft_wrap and "logical line" in status_of(screen)
        editor.move_cursor((4, 0))
        await press(pilot, "down")
        assert editor.cursor_location == (5, 0)

        editor.focus()
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert fake.count == 4 and editor.has_focus  # the run did not take the focus
        await press(pilot, "enter")  # in the editor, enter is a new line, not a case
        assert app.screen is screen and editor.text.count("\n") == LONG.count("\n") + 1
        await press(pilot, "ctrl+z")
        assert editor.text == LONG and "unsaved" not in status_of(screen)

        await press(pilot, "f1")
        keys = screen_text(app)
        for key in ("ctrl+f", "ctrl+l", "alt+z", "ctrl+o", "ctrl+r", "ctrl+s", "enter"):
            assert key in keys, key
        assert "on a case" in keys
        await press(pilot, "escape")

        await press(pilot, "ctrl+o", "enter")  # enter on a case (the results have the focus)
        assert isinstance(app.screen, CaseScreen)
        await press(pilot, "escape", "escape")  # the case, then the lab (nothing unsaved)
        assert not isinstance(app.screen, PromptLabScreen)

        app.open_lab(path)  # reopened: the last run's results, its dataset, wrap as left
        await settle(pilot)
        screen = lab_screen(app)
        assert len(rows(screen.query_one("#lab-results", DataTable))) == 4
        summary = str(screen.query_one("#lab-summary", Static).render())
        assert "last run" in summary and "pass rate 50%" in summary
        assert not screen.query_one("#lab-editor", TextArea).soft_wrap
        assert fake.count == 4


async def test_only_the_graders_changed_the_baseline_is_regraded_without_a_model_call(lab):
    ws, engine, fake = lab
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(ws / "prompts" / "support.yaml", "returns")
        await settle(pilot)
        screen = lab_screen(app)
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert fake.count == 4

        editor = screen.query_one("#lab-editor", TextArea)
        editor.load_text(
            PROMPT.replace('not_contains, value: "90 days"', "contains, value: Returns")
        )
        await settle(pilot)
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert fake.count == 4  # the same outputs: from the cache, and no call to regrade
        changes = [r[4] for r in rows(screen.query_one("#lab-results", DataTable))]
        assert changes == ["✓ same"] * 4  # byte-identical outputs are not "fixed"
        summary = str(screen.query_one("#lab-summary", Static).render())
        assert "0 fixed" in summary and summary.count("graders changed since the baseline") == 1
        assert screen.comparison.graders_changed
        with engine.connect() as conn:
            graders = conn.execute(text("SELECT graders FROM eval_runs ORDER BY id")).scalars()
            assert len(set(graders)) == 2


JUDGED = PROMPT.replace(
    '  - {type: not_contains, value: "90 days"}\n',
    '  - {type: llm_judge, rubric: "States the 30-day policy.", model: gpt-4o}\n',
)


def garbled_judge(body: dict[str, Any]) -> str:
    """A stand-in server whose judge answers in prose, except for the first question."""
    if body.get("model") == "gpt-4o":
        if "Question 0?" in last_user_text(body):
            return orjson.dumps({"pass": True, "score": 1, "reason": "states it"}).decode()
        return "PASS, looks fine to me"
    return answer(body)


async def test_unreadable_judge_answers_are_counted_once_in_the_summary(lab):
    ws, engine, fake = lab
    (ws / "prompts" / "support.yaml").write_text(JUDGED)
    fake.responder = garbled_judge
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(ws / "prompts" / "support.yaml", "returns")
        await settle(pilot)
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert fake.count == 8  # four answers, four judgements
        summary = str(lab_screen(app).query_one("#lab-summary", Static).render())
        assert summary.count("judge answers unreadable: 3") == 1
        assert summary.count("unreadable") == 1


async def test_the_editor_opens_with_the_system_prompt_on_screen_and_no_bar_before_a_run(lab):
    """A prompt file with a long comment first, in a small terminal: the line the cursor is on
    (the system prompt's text) is scrolled into view; the progress bar shows once a run starts."""
    from textual.widgets import ProgressBar

    ws, engine, fake = lab
    path = ws / "prompts" / "support.yaml"
    header = "".join(f"# a comment line about this prompt, number {i}\n" for i in range(30))
    path.write_text(header + PROMPT.replace("system: You", "system: |\n  You"))
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.open_lab(path, "returns")
        await settle(pilot)
        screen = lab_screen(app)
        editor = screen.query_one("#lab-editor", TextArea)
        assert editor.cursor_location == (35, 2)  # the text under `system: |`
        top = editor.scroll_offset.y
        assert top > 0 and top <= 35 < top + editor.scrollable_content_region.height
        bar = screen.query_one("#lab-progress", ProgressBar)
        assert not bar.display
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert bar.display and bar.percentage == 1
