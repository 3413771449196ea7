"""Home: where am I, what is left. Queues with progress, failure themes, datasets."""

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
from textual.widgets import DataTable, Footer, Label, Static

from reviewer.tui.literal import literal, short
from reviewer.tui.messages import QueuesChanged
from reviewer.tui.widgets.tables import FitTable

if TYPE_CHECKING:
    from reviewer.tui.app import ReviewerApp


def progress_bar(done: int, total: int, width: int = 24) -> Text:
    """A text progress bar with the percentage, for table cells and headers."""
    share = done / total if total else 0.0
    filled = round(share * width)
    return Text.assemble(
        ("━" * filled, "green"), ("─" * (width - filled), "grey37"), (f" {share:4.0%}", "bold")
    )


class HomeScreen(Screen[None]):
    """The first screen: queues (Enter opens one), themes and datasets."""

    BINDINGS = [
        Binding("enter", "open_queue", "open queue", id="home.open"),
        Binding("r", "sync", "sync queues", id="home.sync"),
        Binding("a", "stats", "reviewers & agreement", id="home.stats"),
        Binding("d", "datasets", "datasets", id="home.datasets"),
        Binding("i", "insights", "insights", id="home.insights"),
        Binding("q", "app.quit", "quit", id="home.quit"),
    ]

    app: ReviewerApp

    def __init__(self) -> None:
        super().__init__()
        self._loads = 0

    @dataclass
    class FiguresLoaded(Message):
        """The reload worker read the figures of the queues, themes and datasets."""

        load: int  # which load (only the latest is shown)
        counts: dict[str, dict[str, int]]
        themes: list[tuple[str, int]]
        datasets: list[tuple[str, int]]
        guided: set[str]  # the queues with guidelines (queues/NAME.md)

    def compose(self) -> ComposeResult:
        ctx = self.app.ctx
        yield Static(
            Text.assemble(
                ("reviewer", "bold"),
                "  workspace ",
                (literal(ctx.workspace.name), "bold"),
                "  reviewer ",
                (literal(ctx.reviewer), "bold"),
            ),
            id="home-title",
        )
        ctx = self.app.ctx
        with Vertical(id="home-body"):
            yield Label(
                "Queues  (enter opens one · 📖 the queue has guidelines: g shows them while reviewing)",
                classes="section",
            )
            yield FitTable(flex={"description"}, id="queues", cursor_type="row", zebra_stripes=True)
            yield Static("", id="sync-errors", classes="hidden")
            if ctx.queue_errors:
                yield Static(
                    Text("queue files with errors (fix them, then restart):\n", style="bold red")
                    + Text(literal("\n".join(ctx.queue_errors)), style="red"),
                    id="queue-errors",
                )
            with Horizontal(id="home-lower"):
                with Vertical():
                    yield Label("Failure themes", classes="section")
                    yield DataTable(id="themes", cursor_type="row")
                with Vertical():
                    yield Label("Datasets", classes="section")
                    yield DataTable(id="datasets", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        queues = self.query_one("#queues", DataTable)
        queues.add_columns(
            "queue", "progress", "total", "pending", "done", "skipped", "guide", "description"
        )
        self.query_one("#themes", DataTable).add_columns("theme", "reviews")
        self.query_one("#datasets", DataTable).add_columns("dataset", "items")
        queues.focus()

    def on_screen_resume(self) -> None:
        """Shown (first, or again when the screen above it closes): the figures may have moved."""
        self.reload()

    @on(QueuesChanged)
    def _queues_changed(self) -> None:
        self.reload()

    def _show_sync_errors(self) -> None:
        """The queues whose last sync failed, each with its file and why (the others are
        listed as usual)."""
        errors = self.app.ctx.sync_errors
        box = self.query_one("#sync-errors", Static)
        box.set_class(not errors, "hidden")
        box.update(
            Text("queues whose sync failed (their items may be out of date):\n", style="bold red")
            + Text(literal("\n".join(errors.values())), style="red")
            if errors
            else ""
        )

    def reload(self) -> None:
        """Read the figures off the event loop, then fill the tables."""
        self._loads += 1
        self._load(self._loads)

    @work(thread=True, exclusive=True, group="home", exit_on_error=False)
    def _load(self, load: int) -> None:
        from reviewer.datasets.catalog import dataset_sizes
        from reviewer.review.sync import queue_counts
        from reviewer.review.themes import list_themes

        ctx = self.app.ctx
        counts = queue_counts(ctx.engine, [q.name for q in ctx.queues])
        known = {t.name: t.count for t in list_themes(ctx.engine)}
        for queue in ctx.queues:  # the themes queues offer, even before anyone used them
            for name in queue.themes:
                known.setdefault(name, 0)
        themes = sorted(known.items(), key=lambda kv: (-kv[1], kv[0]))
        datasets = dataset_sizes(ctx.engine)
        guided = {q.name for q in ctx.queues if q.guidelines_path is not None}
        self.post_message(self.FiguresLoaded(load, counts, themes, datasets, guided))

    @on(FiguresLoaded)
    def _fill(self, message: FiguresLoaded) -> None:
        if message.load != self._loads:
            return  # a later load is on its way
        counts, themes, datasets = message.counts, message.themes, message.datasets
        table = self.query_one("#queues", DataTable)
        row = table.cursor_row
        table.clear()
        for queue in self.app.ctx.queues:
            c: dict[str, Any] = counts.get(queue.name, {})
            total, done, skipped = c.get("total", 0), c.get("done", 0), c.get("skipped", 0)
            failed = queue.name in self.app.ctx.sync_errors
            table.add_row(
                Text(literal(queue.name), style="bold"),
                progress_bar(done + skipped, total, width=24 if self.size.width >= 128 else 12),
                str(total), str(c.get("pending", 0)), str(done), str(skipped),
                Text("📖", style="cyan") if queue.name in message.guided else Text("—", style="dim"),
                Text("sync failed: see below", style="bold red") if failed
                else Text(literal(short(queue.description, 70)), style="dim"),
                key=queue.name,
            )  # fmt: skip
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self._show_sync_errors()
        theme_table = self.query_one("#themes", DataTable)
        theme_table.clear()
        for name, n in themes:
            theme_table.add_row(
                Text(literal(name)), Text(str(n) if n else "0", style="" if n else "dim")
            )
        dataset_table = self.query_one("#datasets", DataTable)
        dataset_table.clear()
        for name, n in datasets:
            dataset_table.add_row(Text(literal(name)), str(n))
        if not datasets:
            dataset_table.add_row(Text("none yet: promote a reviewed item with d", style="dim"), "")
        if not self.app.ctx.queues:
            self.notify(
                "No queues yet: add YAML files under queues/ (see the README).", markup=False
            )

    def action_open_queue(self) -> None:
        table = self.query_one("#queues", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key:
            self.app.open_review(str(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "queues" and event.row_key.value:
            self.app.open_review(str(event.row_key.value))

    def action_stats(self) -> None:
        table = self.query_one("#queues", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        queue = self.app.ctx.queue(str(key))
        if queue is not None:
            from reviewer.tui.screens.stats import StatsScreen

            self.app.push_screen(StatsScreen(queue))

    def action_insights(self) -> None:
        self.app.open_insights()

    def action_datasets(self) -> None:
        self.app.open_datasets()

    def action_sync(self) -> None:
        self.notify("syncing queues…", markup=False)
        self.app.sync_queues(announce=True)
