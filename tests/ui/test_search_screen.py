"""The search screen: Enter in the query goes to the list of hits (it does not open one), each
hit says which queues hold it, Enter on a hit opens it, and a word of every system prompt is
told apart by scoping it to a field."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from reviewer.tui.screens.review import ReviewScreen
from reviewer.tui.screens.search import SearchScreen
from tests.ui.conftest import SIZE, make_app, press, settle


async def type_query(pilot, text_: str) -> None:
    query = pilot.app.screen.query_one(Input)
    query.value = ""
    await settle(pilot)
    for ch in text_:
        await pilot.press({" ": "space", ":": "colon", '"': "quotation_mark"}.get(ch, ch))
    await settle(pilot)


async def test_enter_shows_the_hits_and_enter_on_a_hit_opens_it(workspace, ws_engine):
    app = make_app(ws_engine, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        await type_query(pilot, "gift")
        everywhere = len(screen.hits)  # every system prompt says "gift cards"
        await type_query(pilot, "output:gift")
        scoped = [h.record_id for h in screen.hits]
        assert 0 < len(scoped) < everywhere
        await press(pilot, "enter")
        assert app.screen is screen  # nothing opened: the hits, to choose from
        table = screen.query_one(DataTable)
        assert table.has_focus and table.cursor_row == 0
        in_queue = next(i for i, h in enumerate(screen.hits) if h.queues)
        shown = [str(cell) for cell in table.get_row_at(in_queue)]
        assert shown[2] == ", ".join(screen.hits[in_queue].queues)
        alone = [i for i, h in enumerate(screen.hits) if not h.queues]
        if alone:
            assert str(table.get_row_at(alone[0])[2]) == "in no queue"
        for _ in range(in_queue):
            await press(pilot, "down")
        await press(pilot, "enter")
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.item is not None
        assert app.screen.item.record_id == screen.hits[in_queue].record_id
        assert app.screen.queue.name in screen.hits[in_queue].queues
        await press(pilot, "escape")
        assert app.screen is screen  # esc comes back to the hits
