"""A table whose flexible columns share the width the others leave: when a later fill makes a
fixed column wider, the flexible ones give it the room, so nothing is cut at the edge."""

from __future__ import annotations

from textual.app import App, ComposeResult

from reviewer.tui.widgets.tables import FitTable
from tests.ui.conftest import settle


class Tables(App[None]):
    def compose(self) -> ComposeResult:
        yield FitTable(flex={"question"})

    def on_mount(self) -> None:
        self.query_one(FitTable).add_columns("question", "change")


def fill(table: FitTable, change: str) -> None:
    table.clear()
    for i in range(3):
        table.add_row(f"question {i} " + "long words " * 20, change)


def fits(table: FitTable) -> bool:
    return table.virtual_size.width <= table.scrollable_content_region.width


async def test_a_wider_fixed_column_takes_room_from_the_flexible_ones() -> None:
    app = Tables()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(FitTable)
        fill(table, "new")
        await settle(pilot)
        assert fits(table)
        fill(table, "✗→✓ fixed")
        await settle(pilot)
        change = table.ordered_columns[1]
        assert change.get_render_width(table) == len("✗→✓ fixed") + 2
        assert fits(table), (table.virtual_size.width, table.scrollable_content_region.width)
        fill(table, "new")  # and narrower again: the flexible column takes the room back
        await settle(pilot)
        assert fits(table)
        assert table.ordered_columns[0].get_render_width(table) > 80 - 16
