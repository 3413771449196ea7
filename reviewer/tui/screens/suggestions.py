"""Suggested themes: failing reviews with no theme yet, grouped by their notes (TF-IDF and
clustering, no network). Accept one (renamed if you like) to tag its reviews, or discard it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from reviewer.tui.literal import literal

if TYPE_CHECKING:
    from reviewer.tui.app import ReviewerApp


class SuggestionsScreen(ModalScreen[None]):
    """The suggestions: enter accepts, r renames then accepts, x discards, esc closes."""

    BINDINGS = [
        Binding("escape,q", "close", "close", id="suggest.close"),
        Binding("enter", "accept", "accept", id="suggest.accept"),
        Binding("r", "rename", "rename + accept", id="suggest.rename"),
        Binding("x", "discard", "discard", id="suggest.discard"),
    ]

    app: ReviewerApp

    @dataclass
    class Suggested(Message):
        """The suggestions, computed off the event loop."""

        found: list[Any]

    @dataclass
    class Decided(Message):
        """A suggestion was accepted or discarded (error: it could not be)."""

        text: str
        error: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.suggestions: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label(
                "Suggested themes — enter accepts · r renames and accepts · x discards · esc closes",
                classes="section",
            )
            yield DataTable(id="suggestions", cursor_type="row")
            yield Static("", id="suggestion-example")
            yield Input(placeholder="new name, then enter", id="suggestion-name", classes="hidden")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("name", "reviews", "terms")
        self.query_one(DataTable).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from reviewer.insights.suggest import suggest_themes

        self.post_message(self.Suggested(suggest_themes(self.app.ctx.engine)))

    @on(Suggested)
    def _fill(self, message: Suggested) -> None:
        found = message.found
        self.suggestions = found
        table = self.query_one(DataTable)
        table.clear()
        for s in found:
            table.add_row(
                Text(literal(s.name), style="bold"),
                str(s.size),
                Text(literal(", ".join(s.terms[:6])), style="dim"),
                key=s.id,
            )
        if not found:
            self.query_one("#suggestion-example", Static).update(
                Text("no failing review without a theme to group", style="dim")
            )
        self._example()

    def _current(self) -> Any:
        table = self.query_one(DataTable)
        if not self.suggestions or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((s for s in self.suggestions if s.id == key), None)

    @on(DataTable.RowHighlighted)
    def _example(self) -> None:
        s = self._current()
        if s is not None:
            self.query_one("#suggestion-example", Static).update(
                Text("e.g. " + literal(str(s.example)), style="italic")
            )

    def action_accept(self, name: str | None = None) -> None:
        s = self._current()
        if s is None:
            return
        self._decide(s.id, "accept", name)

    def action_rename(self) -> None:
        if self._current() is None:
            return
        box = self.query_one("#suggestion-name", Input)
        box.remove_class("hidden")
        box.value = literal(self._current().name)
        box.focus()

    @on(Input.Submitted, "#suggestion-name")
    def _renamed(self, event: Input.Submitted) -> None:
        event.input.add_class("hidden")
        self.query_one(DataTable).focus()
        if event.value.strip():
            self.action_accept(event.value.strip())

    def action_discard(self) -> None:
        s = self._current()
        if s is not None:
            self._decide(s.id, "discard", None)

    @work(thread=True, exit_on_error=False)
    def _decide(self, suggestion_id: str, what: str, name: str | None) -> None:
        from reviewer.insights.suggest import accept, discard

        ctx = self.app.ctx
        try:
            if what == "accept":
                result = accept(ctx.engine, suggestion_id, name=name, by=ctx.reviewer)
                message = f"theme {result.theme.name}: {result.tagged} reviews tagged"
            else:
                discard(ctx.engine, suggestion_id, by=ctx.reviewer)
                message = "suggestion discarded"
        except ValueError as exc:
            self.post_message(self.Decided(str(exc), error=True))
            return
        self.post_message(self.Decided(message))

    @on(Decided)
    def _decided(self, message: Decided) -> None:
        if message.error:
            self.notify(message.text, severity="error", markup=False)
            return
        self.notify(message.text, markup=False)
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
