"""`/`: full-text search over all records. Enter in the query goes to the list of hits (each
with the queues it is in); Enter on a hit opens it in its queue (or read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static

from reviewer.tui.literal import literal
from reviewer.tui.widgets.conversation import Conversation
from reviewer.tui.widgets.meta import meta_panel
from reviewer.tui.widgets.tables import FitTable

if TYPE_CHECKING:
    from reviewer.search import SearchHit
    from reviewer.tui.app import ReviewerApp


class SearchScreen(Screen[None]):
    """Type words; every record whose messages or output hold them all, newest first."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="search.back"),
        Binding("down", "focus_results", "results", show=False, id="search.results"),
    ]

    app: ReviewerApp

    @dataclass
    class Indexed(Message):
        """The search index caught up with the records imported since it was last used."""

        added: int

    @dataclass
    class Found(Message):
        """The hits of one search."""

        query: str
        hits: list[SearchHit]

    @dataclass
    class Located(Message):
        """Where a hit opens: an item of one of its queues, or none (read it alone)."""

        record_id: str
        queue: str | None
        queue_item_id: int | None

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                "Search all records: every word must appear; scope a word with output: user:"
                " system: assistant: or filter model: · enter or ↓ to the hits · enter opens one",
                id="search-help",
            )
            yield Input(placeholder="search…", id="search-input")
            yield FitTable(
                flex={"queues", "text"}, id="search-results", cursor_type="row", zebra_stripes=True
            )
            yield Static("", id="search-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("time", "model", "queues", "text")
        self.query_one(Input).focus()
        self.prepare_index()

    @work(thread=True, group="search-index", exit_on_error=False)
    def prepare_index(self) -> None:
        from reviewer.search import ensure_search_index

        self.post_message(self.Indexed(ensure_search_index(self.app.ctx.engine)))

    @on(Indexed)
    def _indexed(self, message: Indexed) -> None:
        if message.added:
            self.query_one("#search-status", Static).update(f"indexed {message.added} new records")

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def run_search(self, query: str) -> None:
        from reviewer.search import ensure_search_index, search

        ensure_search_index(self.app.ctx.engine)
        self.post_message(self.Found(query, search(self.app.ctx.engine, query)))

    @on(Found)
    def _show(self, message: Found) -> None:
        query, hits = message.query, message.hits
        if self.query_one(Input).value != query:
            return  # a newer search is on its way
        self.hits = hits
        table = self.query_one(DataTable)
        table.clear()
        for i, hit in enumerate(hits):
            table.add_row(
                Text(literal((hit.timestamp or "")[:16].replace("T", " "))),
                Text(literal(hit.model or "")),
                Text(literal(", ".join(hit.queues)), style="cyan")
                if hit.queues
                else Text("in no queue", style="dim"),
                Text(literal(hit.snippet)),
                key=str(i),
            )
        status = (
            f"{len(hits)} records" + (" (the newest 50)" if len(hits) == 50 else "")
            if query.strip()
            else ""
        )
        self.query_one("#search-status", Static).update(status)

    def action_focus_results(self) -> None:
        self.query_one(DataTable).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter in the query: to the list of hits, where the user picks one."""
        if self.hits:
            table = self.query_one(DataTable)
            table.focus()
            table.move_cursor(row=0)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(int(str(event.row_key.value)))

    def _open(self, index: int) -> None:
        """Open a hit: in the queue below the search when it is in it, else in another of its
        queues, else read only."""
        hit = self.hits[index]
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        current = getattr(below, "queue", None)
        queues = [name for name in hit.queues if self.app.ctx.queue(name) is not None]
        if current is not None and current.name in queues:
            queues.remove(current.name)
            queues.insert(0, current.name)
        self._locate(hit.record_id, queues)

    @work(thread=True, exclusive=True, group="search-open", exit_on_error=False)
    def _locate(self, record_id: str, queues: list[str]) -> None:
        from reviewer.search import find_queue_item

        for name in queues:
            item_id = find_queue_item(self.app.ctx.engine, name, record_id)
            if item_id is not None:
                self.post_message(self.Located(record_id, name, item_id))
                return
        self.post_message(self.Located(record_id, None, None))

    @on(Located)
    def _located(self, message: Located) -> None:
        if message.queue is not None:  # on top of the results: esc comes back to them
            self.app.open_review(message.queue, message.queue_item_id)
        else:
            self.app.push_screen(RecordScreen(message.record_id))


class RecordScreen(Screen[None]):
    """A record that is in no queue: read it (nothing to grade here)."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "back", id="record.back"),
        Binding("o", "fold", "unfold", id="record.fold"),
    ]

    app: ReviewerApp

    @dataclass
    class Loaded(Message):
        """The record, read off the event loop (None: not found)."""

        record: dict[str, Any] | None

    def __init__(self, record_id: str) -> None:
        super().__init__()
        self.record_id = record_id

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("record ", "bold"), literal(self.record_id), ("  (in no queue: read only)", "dim")
            ),
            id="review-header",
        )
        with Horizontal(id="review-body"):
            yield Conversation(id="conversation")
            with Vertical(id="side"):
                yield Static("", id="meta")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Conversation).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from reviewer.store.records import load_record

        self.post_message(self.Loaded(load_record(self.app.ctx.engine, self.record_id)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        record = message.record
        if record is None:
            self.notify("record not found", severity="error", markup=False)
            return
        self.query_one(Conversation).show(
            record["messages"] or [], record["output"], record.get("error")
        )
        self.query_one("#meta", Static).update(meta_panel(record))

    def action_fold(self) -> None:
        self.query_one(Conversation).toggle_fold()
