"""Tables that fit the terminal: a `FitTable`'s flexible columns share the width the others leave,
their cells cut with `…` (or, for a `Tail`, from the left: a sparkline keeps its latest bars)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class Tail:
    """Text on one line that, when it does not fit, keeps its end (the latest bars of a
    sparkline), cut at the start with `…`."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text
        width = options.max_width
        if text.cell_len > width:
            cut = text[len(text) - max(width - 1, 0) :] if width > 1 else Text()
            text = Text("…", style="dim") + cut if width else Text()
        text.no_wrap = True
        text.end = ""
        yield text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(min(1, self.text.cell_len), self.text.cell_len)


class FitTable(DataTable[Any]):
    """A data table whose `flex` columns (named by their label) share the width the other
    columns leave, so the table fits its widget; their text is cut with `…`.

    The other columns keep their natural width; a flexible column never grows past its content
    nor shrinks below `minimum`.
    """

    def __init__(self, *, flex: Collection[str], minimum: int = 6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flex = set(flex)
        self.minimum = minimum

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: Any = None,
    ) -> RowKey:
        columns = self.ordered_columns
        cut = [
            _cut(cell) if i < len(columns) and columns[i].label.plain in self.flex else cell
            for i, cell in enumerate(cells)
        ]
        return super().add_row(*cut, height=height, key=key, label=label)

    def on_idle(self) -> None:
        """After the table measured its cells (on idle, too), give the flexible columns the
        width left."""
        self.fit()

    def fit(self) -> None:
        columns = self.ordered_columns
        flex = [c for c in columns if c.label.plain in self.flex]
        if not flex or not self.size.width:
            return
        pad = 2 * self.cell_padding
        fixed = sum(c.get_render_width(self) for c in columns if c not in flex)
        room = self.scrollable_content_region.width - fixed - pad * len(flex)
        natural = {c.key: max(c.content_width, c.label.cell_len) for c in flex}
        wants: dict[Any, int] = {}
        waiting = sorted(flex, key=lambda c: natural[c.key])
        while waiting:  # the narrowest take what they need, the others share what is left
            share = max(self.minimum, room // len(waiting))
            column = waiting.pop(0)
            wants[column.key] = max(min(natural[column.key], share), 1)
            room -= wants[column.key]
        changed = False
        for column in flex:
            want = wants[column.key]
            if column.auto_width or column.width != want:
                column.auto_width = False
                column.width = want
                changed = True
        if not changed:
            return
        if self.row_count:  # draw again and measure the table again (its scrollable width)
            self.update_cell_at(
                Coordinate(0, 0), self.get_cell_at(Coordinate(0, 0)), update_width=True
            )
        else:
            self.refresh()


def _cut(cell: Any) -> Any:
    """A cell of a flexible column: on one line, cut with `…` when the column is narrower (a
    str as it is: plain text, not markup)."""
    if isinstance(cell, str):
        cell = Text(cell)
    if isinstance(cell, Text):
        cell = cell.copy()
        cell.no_wrap = True
        cell.overflow = "ellipsis"
    return cell
