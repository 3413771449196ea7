"""The Prompt Lab's "suggest a fix" (ctrl+n) against the fake server: the optimizer's proposal
shown as a diff with its rationale, accepted into the editor (the file untouched) or rejected,
a theme picked so only its cases are sent, and a plain notice without a model or failures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from textual.widgets import Label, OptionList, Static, TextArea

from reviewer.tui.screens.lab import PromptLabScreen
from reviewer.tui.screens.proposal import ProposalScreen, ThemePicker
from tests.fake_llm import FIX_SENTENCE, FakeLLM, SentenceWorld, is_proposal_request, proposing
from tests.ui.conftest import SIZE, lab_workspace, make_app, press, record_notices, settle

PROMPT = """\
name: support
provider: openai
model: gpt-4o-mini
optimizer: {model: optimizer-1}
system: You are the support assistant of a shoe shop.
graders:
  - {type: not_contains, value: "90 days"}
"""

#: i1 and i3 invent a policy (theme invented-policy), i2 is rude (theme tone): all fail
THEMES = {1: ["invented-policy"], 2: ["tone"], 3: ["invented-policy"]}


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Engine, FakeLLM]]:
    world = SentenceWorld(wrong={f"Question {i}?" for i in THEMES})
    for var in ("REVIEWER_OPTIMIZER_MODEL", "REVIEWER_OPTIMIZER_PROVIDER"):
        monkeypatch.delenv(var, raising=False)
    with lab_workspace(tmp_path, monkeypatch, PROMPT, 5, proposing(world), THEMES) as made:
        yield made


def plain_text(renderable: object, width: int = 200) -> str:
    """What a renderable shows, as plain text lines."""
    from rich.console import Console

    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def asked(fake: FakeLLM) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in fake.log() if is_proposal_request(r.body)]


async def open_and_run(pilot, app, ws):  # type: ignore[no-untyped-def]
    await settle(pilot)
    app.open_lab(ws / "prompts" / "support.yaml", "returns")
    await settle(pilot)
    await press(pilot, "ctrl+r")
    assert isinstance(app.screen, PromptLabScreen)
    return app.screen


async def test_accept_puts_the_fix_in_the_editor(lab):
    ws, engine, fake = lab
    before = (ws / "prompts" / "support.yaml").read_bytes()
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        lab_screen = await open_and_run(pilot, app, ws)
        assert "pass rate 40%" in str(lab_screen.query_one("#lab-summary", Static).render())
        await press(pilot, "ctrl+n")
        assert isinstance(app.screen, ThemePicker)
        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert shown == ["all failing cases (3)", "invented-policy (2)", "tone (1)"]
        await press(pilot, "enter")  # all
        assert isinstance(app.screen, ProposalScreen)
        why = str(app.screen.query_one("#proposal-why", Static).render())
        assert f"Added: {FIX_SENTENCE}" in why
        diff = plain_text(app.screen.query_one("#proposal-diff-text", Static).content)
        assert "\n-system: You are the support assistant of a shoe shop.\n" in diff
        assert f"\n+system: You are the support assistant of a shoe shop. {FIX_SENTENCE}\n" in diff
        [request] = asked(fake)
        assert all(f"### Case i{i}" in request for i in THEMES)

        await press(pilot, "a")
        assert app.screen is lab_screen
        editor = lab_screen.query_one("#lab-editor", TextArea)
        assert editor.text == PROMPT.replace("shoe shop.", f"shoe shop. {FIX_SENTENCE}")
        assert editor.cursor_location == (4, 0)  # the changed line
        assert "unsaved" in str(lab_screen.query_one("#lab-status", Static).render())
        assert (ws / "prompts" / "support.yaml").read_bytes() == before

        await press(pilot, "ctrl+r")  # the rerun shows what the fix did
        summary = str(lab_screen.query_one("#lab-summary", Static).render())
        assert "pass rate 40% → 100% · 3 fixed · 0 regressed" in summary
    assert (ws / "prompts" / "support.yaml").read_bytes() == before


async def test_reject_leaves_the_editor_and_a_theme_is_targeted(lab):
    ws, engine, fake = lab
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        lab_screen = await open_and_run(pilot, app, ws)
        editor = lab_screen.query_one("#lab-editor", TextArea)
        text = editor.text
        await press(pilot, "ctrl+n", "down", "down", "enter")  # tone
        assert isinstance(app.screen, ProposalScreen)
        head = str(app.screen.query_one(Label).render())
        # optimizer-1 has no price: its cost is unknown, not $0
        assert head.endswith("1 failing case(s) with theme tone · —"), head
        [request] = asked(fake)
        assert "Failing cases with theme tone (1 of 1 shown)" in request
        assert "### Case i2" in request and "### Case i1" not in request
        await press(pilot, "r")
        assert app.screen is lab_screen and editor.text == text
        assert "unsaved" not in str(lab_screen.query_one("#lab-status", Static).render())


async def test_plain_notices(lab):
    ws, engine, fake = lab
    app = make_app(engine, ws, sync_on_start=False)
    said = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(ws / "prompts" / "support.yaml", "returns")
        await settle(pilot)
        await press(pilot, "ctrl+n")  # no run yet
        assert said[-1].startswith("run the eval first (ctrl+r)")
        editor = app.screen.query_one("#lab-editor", TextArea)
        editor.load_text(PROMPT.replace("optimizer: {model: optimizer-1}\n", ""))
        await settle(pilot)
        await press(pilot, "ctrl+r", "ctrl+n")
        assert said[-1].startswith("no optimizer model configured for prompt support")
        assert not isinstance(app.screen, ThemePicker | ProposalScreen)
        editor.load_text(PROMPT.replace("shoe shop.", f"shoe shop. {FIX_SENTENCE}"))
        await settle(pilot)
        await press(pilot, "ctrl+r", "ctrl+n")
        assert said[-1] == "no failing cases in the last run: nothing to fix"
    assert asked(fake) == []


async def test_reopened_the_lab_shows_the_last_run_of_the_text_in_the_editor(lab):
    """A fix accepted and run, then discarded: reopened, the lab shows the run of the file's
    text (and a fix can be asked from its failures), not the discarded draft's."""
    ws, engine, fake = lab
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_and_run(pilot, app, ws)
        await press(pilot, "ctrl+n", "enter", "a", "ctrl+r")
        await settle(pilot)
        await press(pilot, "escape", "d")  # leave, discarding the draft and its run
        assert not isinstance(app.screen, PromptLabScreen)
        app.open_lab(ws / "prompts" / "support.yaml")
        await settle(pilot)
        lab_screen = app.screen
        assert isinstance(lab_screen, PromptLabScreen)
        summary = str(lab_screen.query_one("#lab-summary", Static).render())
        assert summary.startswith("last run 1 on returns v1") and "pass rate 40%" in summary
        await press(pilot, "ctrl+n")
        assert isinstance(app.screen, ThemePicker)  # the file's failures, three of them
        await press(pilot, "escape")

        # only a run of another text: shown, and said to be of another text
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM eval_results WHERE run_id = 1"))
            conn.execute(text("DELETE FROM eval_runs WHERE id = 1"))
        await press(pilot, "escape")
        app.open_lab(ws / "prompts" / "support.yaml")
        await settle(pilot)
        summary = str(app.screen.query_one("#lab-summary", Static).render())
        assert summary.startswith("last run 2 on returns v1 (gpt-4o-mini), of another text")
        # its failures are not the editor text's: no fix is asked from them
        notices = record_notices(app)
        await press(pilot, "ctrl+n")
        assert isinstance(app.screen, PromptLabScreen) and len(asked(fake)) == 1
        assert "the run shown is of another text of this prompt: ctrl+r runs" in notices[-1]
        await press(pilot, "ctrl+r", "ctrl+n")  # run, then the proposal is asked
        assert isinstance(app.screen, ThemePicker)


def test_a_long_diff_line_wraps_under_its_text_with_its_mark():
    from reviewer.tui.screens.proposal import DiffView

    diff = "@@ -1 +1 @@\n-system: short\n+system: " + "word " * 30 + "\n context"
    lines = plain_text(DiffView(diff), width=40).splitlines()
    assert lines[0] == " @@ -1 +1 @@" and lines[1] == "-system: short"
    assert lines[2].startswith("+system: word") and len(lines) > 5
    assert all(line.startswith("+word") for line in lines[3:-1])  # never taken for context
    assert lines[-1] == " context" and max(len(line) for line in lines) <= 40
