"""The insights screen shows the trace section (figures per trace, tool error rate, where failing
traces went wrong) when the workspace has agent traces, laid out at 160x48 and at 100x30; a
workspace of chat calls alone does not show it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Label

from reviewer.store.db import open_engine, sqlite_url
from reviewer.tui.screens.insights import InsightsScreen
from tests.ui.conftest import SIZE, make_app, settle
from tests.unit.test_trace_insights import fill


def rows(screen: InsightsScreen, ident: str) -> list[list[str]]:
    table = screen.query_one(ident, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


@pytest.mark.parametrize("size", [SIZE, (100, 30)])
async def test_the_trace_section_shows_the_figures_per_trace(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    ws = tmp_path / "ws"
    (ws / "queues").mkdir(parents=True)
    (ws / "queues" / "q.yaml").write_text("name: q\nunit: trace\nreviews_per_item: 2\n")
    (ws / "prompts").mkdir()
    engine = open_engine(sqlite_url(ws / ".reviewer" / "reviewer.db"))
    fill(engine)
    app = make_app(engine, ws)
    try:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            app.open_insights()
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, InsightsScreen)
            section = screen.query_one("#insights-traces")
            assert section.display
            figures = rows(screen, "#insights-trace-figures")
            assert [r[:4] for r in figures] == [
                ["steps", "5.0", "5.9", "max 6"],
                ["tokens", "120", "264", "412"],
                ["cost", "$0.0025", "$0.0029", "$0.0050"],
                ["failed", "", "", "4/5"],  # the queue file names q a trace queue
            ]
            title = screen.query_one("#insights-traces-title", Label).render()
            assert str(title) == "Per trace: 3 agent runs (trend per day)"
            assert rows(screen, "#insights-tools") == [
                ["lookup_order", "3", "1 (33%)"],
                ["refund", "1", "1 (100%)"],
                ["search", "1", "0 (0%)"],
            ]
            assert [r[:2] for r in rows(screen, "#insights-marked")] == [
                ["tool", "2"], ["llm", "1"], ["tool lookup_order", "1"], ["tool refund", "1"],
            ]  # fmt: skip
            # laid out: the section and the periods below it are on the screen, not squeezed out
            width, height = size
            for ident in ("#insights-trace-figures", "#insights-tools", "#insights-marked"):
                region = screen.query_one(ident).region
                assert region.height >= 3 and region.right <= width, (ident, region)
            assert screen.query_one("#insights-periods").region.height >= 3
            assert section.region.bottom < height - 1
    finally:
        engine.dispose()


async def test_chat_calls_alone_show_no_trace_section(tmp_path: Path) -> None:
    """The two chat endpoints' logs alone (their sessions are traces of LLM calls only)."""
    from reviewer.store.db import open_engine, sqlite_url
    from tests.conftest import SAMPLE_LOGS, run_import

    workspace = tmp_path / "chat"
    (workspace / "queues").mkdir(parents=True)
    ws_engine = open_engine(sqlite_url(workspace / ".reviewer" / "reviewer.db"))
    chats = ("support-chat.openai.jsonl", "support-chat.anthropic.jsonl")
    assert run_import(ws_engine, *(SAMPLE_LOGS / name for name in chats)).ok
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_insights()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InsightsScreen)
        assert screen.data is not None and screen.data.traces is None
        assert not screen.query_one("#insights-traces").display
