"""At 100x30, the smallest terminal laid out: the keys that matter stay in the footer, the review
header keeps its counts, the Prompt Lab's results keep their "change" column."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from reviewer.tui.screens.lab import PromptLabScreen
from reviewer.tui.screens.review import ReviewScreen, _choices
from tests.conftest import REPO
from tests.ui.conftest import make_app, settle
from tests.ui.test_snapshots import comparison, reviewed

SMALL = (100, 30)


def footer_keys(screen: Screen[object]) -> set[str]:
    """The keys the footer shows in full, within the screen's width (each entry of the footer
    renders as `key description`)."""
    footer = screen.query_one(Footer)
    width = min(footer.region.right, screen.size.width)
    shown = set()
    for entry in footer.query("*"):
        if entry.display and entry.region.width and entry.region.right <= width:
            words = str(entry.render()).split()
            if words:
                shown.add(words[0])
    return shown


async def test_review_footer_and_header_at_100x30(workspace: Path, ws_engine: Engine) -> None:
    reviewed(ws_engine, workspace)  # one item skipped among them
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.open_review("thumbs-down")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        keys = footer_keys(screen)
        for key in ("p", "f", "P", "esc", "?"):
            assert key in keys, (key, keys)
        header = screen.query_one("#review-header", Static)
        shown = str(header.render())
        assert "skipped" in shown and len(shown.rstrip()) <= header.content_region.width


async def test_prompt_lab_change_column_at_100x30(workspace: Path, ws_engine: Engine) -> None:
    reviewed(ws_engine, workspace)
    shutil.copy(REPO / "prompts" / "support-chat.yaml", workspace / "prompts")
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        app.open_lab(workspace / "prompts" / "support-chat.yaml", "support-regressions")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PromptLabScreen)
        run = comparison()  # a run of the text in the editor
        screen.post_message(PromptLabScreen.LastRunRead(run, run.prompt_hash))
        await settle(pilot)
        table = screen.query_one("#lab-results", DataTable)
        assert table.row_count == 4
        left = table.content_region.x
        for column in table.ordered_columns:  # every column, "change" among them, in view
            right = left + column.get_render_width(table)
            assert right <= min(table.content_region.right, SMALL[0]), column.label.plain
            left = right
        assert "change" in [c.label.plain for c in table.ordered_columns]
        assert {"esc", "^r", "^s", "f1"} <= footer_keys(screen)


def test_a_rubric_option_never_breaks_from_its_number() -> None:
    options = ["friendly", "neutral", "curt", "rude"]
    chips = _choices([(f"{n} {o}", o, "") for n, o in enumerate(options, start=1)], "curt")
    assert [line.plain for line in chips.lines(24)] == ["1 friendly  2 neutral", "[3 curt]  4 rude"]
    assert [line.plain for line in chips.lines(80)] == ["1 friendly  2 neutral  [3 curt]  4 rude"]
