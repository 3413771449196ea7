"""The insights screen: series with sparklines, periods, themes, coverage; a theme or a period
opens a queue of exactly its records; suggested themes can be accepted."""

from __future__ import annotations

from textual.widgets import DataTable

from reviewer.insights.metrics import record_ids_for
from reviewer.review.queues import load_queues
from reviewer.tui.screens.insights import InsightsScreen, spark
from reviewer.tui.screens.review import ReviewScreen
from reviewer.tui.screens.suggestions import SuggestionsScreen
from tests.ui.conftest import SIZE, make_app, press, settle


def test_sparkline_scales_and_leaves_gaps():
    assert spark([0.0, 0.5, 1.0, None], low=0, high=1) == "▁▅█ "
    assert spark([None, None]) == "  "


async def review_with_themes(pilot):
    app = pilot.app
    await settle(pilot)
    app.open_review("thumbs-down")
    await settle(pilot)
    for word in ("invent", "wrong"):
        await press(pilot, "2", "t")
        for ch in word:
            await pilot.press(ch)
        await press(pilot, "space", "enter", "n")
        for ch in "made up policy":
            await pilot.press(ch if ch != " " else "space")
        await press(pilot, "ctrl+s", "f")
    await press(pilot, "escape")


async def test_series_periods_themes_and_a_theme_queue(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await review_with_themes(pilot)
        await press(pilot, "i")
        screen = app.screen
        assert isinstance(screen, InsightsScreen)
        await settle(pilot)
        series = screen.query_one("#insights-series", DataTable)
        assert series.row_count == 1 and str(series.get_row_at(0)[0]) == "all"
        assert str(series.get_row_at(0)[1]) == "459"  # 431 endpoint calls, 28 agent calls
        periods = screen.query_one("#insights-periods", DataTable)
        assert periods.row_count == len(screen.data.buckets) >= 20  # every day of the four weeks
        themes = screen.query_one("#insights-themes", DataTable)
        assert {str(themes.get_row_at(i)[0]) for i in range(themes.row_count)} >= {
            "invented-policy",
            "wrong-language",
        }

        await press(pilot, "s")  # split by model
        await settle(pilot)
        assert series.row_count == 4
        await press(pilot, "b")  # by week
        await settle(pilot)
        assert screen.bucket == "week" and len(screen.data.buckets) in (4, 5)

        themes.focus()
        keys = [
            str(themes.coordinate_to_cell_key((i, 0)).row_key.value)
            for i in range(themes.row_count)
        ]
        themes.move_cursor(row=keys.index("invented-policy"))
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        queue = app.screen.queue
        assert queue.name == "theme-invented-policy"
        wanted = record_ids_for(ws_engine, theme="invented-policy")
        assert len(wanted) == 1 and app.screen.item.record_id == wanted[0]
        assert "theme-invented-policy" in {q.name for q in load_queues(workspace)[0]}


async def test_suggested_themes_panel(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i")
        await settle(pilot)
        await press(pilot, "g")
        await settle(pilot)
        assert isinstance(app.screen, SuggestionsScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, InsightsScreen)
