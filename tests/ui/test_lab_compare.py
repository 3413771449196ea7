"""The Prompt Lab compares models × strategies (ctrl+t): it asks for the models and the
strategies (the prompt file's by default), runs them through the real SDK to the fake server,
shows one table with the Pareto front marked; esc cancels; a sampled run's summary names its
flaky cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from textual.widgets import DataTable, Input, Static

from reviewer.evals.choice import choice_table, entries_of
from reviewer.tui.screens.lab import CompareSetup, PromptLabScreen
from tests.fake_llm import FakeLLM, Varying, last_user_text
from tests.ui.conftest import SIZE, lab_workspace, make_app, press, screen_text, settle

PROMPT = """\
name: support
provider: openai
model: gpt-4o-mini
samples: 3
system: You are the support assistant of a shoe shop.
graders:
  - {type: not_contains, value: "90 days"}
"""


def answer(body: dict[str, Any], i: int) -> str:
    """gpt-4o is always right; gpt-4o-mini gets question 1 right two times out of three."""
    n = int("".join(ch for ch in last_user_text(body) if ch.isdigit()) or 0)
    if body["model"] == "gpt-4o-mini" and n == 1 and i % 3 == 2:
        return "Returns within 90 days."
    return "Returns within 30 days."


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Engine, FakeLLM]]:
    with lab_workspace(tmp_path, monkeypatch, PROMPT, 2, Varying(answer)) as made:
        yield made


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_compare_models_and_strategies(lab) -> None:
    ws, engine, fake = lab
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(ws / "prompts" / "support.yaml", "returns")
        await settle(pilot)
        lab_screen = app.screen
        assert isinstance(lab_screen, PromptLabScreen)

        await press(pilot, "ctrl+r")  # a sampled run: the summary names its flaky case
        summary = str(lab_screen.query_one("#lab-summary", Static).render())
        assert "pass@1 83% · pass@3 100% · pass^3 50% · 1 flaky" in summary
        assert "flaky: i1 2/3" in summary
        results = rows(lab_screen.query_one("#lab-results", DataTable))
        assert [r[3] for r in results] == ["✓ 3/3", "✓ 2/3"]

        await press(pilot, "ctrl+t")
        setup = app.screen
        assert isinstance(setup, CompareSetup)
        models = setup.query_one("#compare-models", Input)
        strategies = setup.query_one("#compare-strategies", Input)
        assert (models.value, strategies.value) == ("gpt-4o-mini", "single samples=3")
        strategies.value = "single best-of=1"
        strategies.focus()
        await press(pilot, "enter")  # a bad strategy: said in the dialog, which stays
        assert app.screen is setup
        assert "best-of=N with N from 2 to 20" in str(
            setup.query_one("#compare-problem", Static).render()
        )
        models.value = "gpt-4o-mini, gpt-4o"
        strategies.value = "single samples=3"
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is lab_screen
        table = lab_screen.query_one("#lab-choice", DataTable)
        assert table.display and not lab_screen.query_one("#lab-results", DataTable).display
        shown = rows(table)
        # gpt-4o-mini's single answers are its first samples' from the cache; which of three
        # identical requests in flight was the first sample, and so got the 90-days answer or
        # not, is the order they reached the server in: either figure is right
        assert shown[0][:2] == ["gpt-4o-mini", "single"] and shown[0][2] in ("100%", "50%")
        assert [(r[0], r[1], r[2]) for r in shown[1:]] == [
            ("gpt-4o", "single", "100%"),
            ("gpt-4o-mini", "samples=3", "83% (pass@1)"),
            ("gpt-4o", "samples=3", "100% (pass@1)"),
        ]
        # the marks are the Pareto front of the recorded runs (latencies vary from run to run)
        front = choice_table(entries_of(engine, lab_screen.run_ids))
        assert [r[7] for r in shown] == ["★" if r.pareto else "" for r in front]
        if shown[0][2] == "100%":  # gpt-4o-mini single, the cheapest, at the best pass rate
            assert front[0].pareto  # (at 50% its samples run may beat it on pass and latency)
        summary = str(lab_screen.query_one("#lab-summary", Static).render())
        assert "4 runs · ★" in summary and "Wilson" in summary
        assert "flaky: gpt-4o-mini · samples=3: i1 2/3" in summary
        assert "Compare" not in screen_text(app)
        # gpt-4o-mini's samples came from the cache: only gpt-4o was asked (2 cases × 3)
        assert fake.count == 6 + 6
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM eval_runs")).scalar() == 4


async def test_esc_cancels_a_comparison(lab) -> None:
    ws, engine, fake = lab
    fake.answer_first(1)  # then every request hangs
    app = make_app(engine, ws, sync_on_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lab(ws / "prompts" / "support.yaml", "returns")
        await settle(pilot)
        lab_screen = app.screen
        await press(pilot, "ctrl+t")
        app.screen.query_one("#compare-models", Input).value = "gpt-4o"
        await pilot.press("enter")
        while fake.count < 2:
            await pilot.pause(0.02)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is lab_screen
        summary = str(lab_screen.query_one("#lab-summary", Static).render())
        assert "cancelled: the results so far are kept" in summary
        with engine.connect() as conn:
            statuses = conn.execute(text("SELECT status FROM eval_runs")).scalars().all()
        assert statuses and set(statuses) == {"cancelled"}
