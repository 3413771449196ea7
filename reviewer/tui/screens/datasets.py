"""Datasets: the datasets, their items (edit the expected answer and assertions, remove,
restore, switch the split), coverage per failure theme, and export with progress."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from reviewer.messages import last_user_text
from reviewer.tui.literal import literal, short
from reviewer.tui.widgets.tables import FitTable, Tail

if TYPE_CHECKING:
    from reviewer.tui.app import ReviewerApp


class DatasetsScreen(Screen[None]):
    """Every dataset; Enter shows its items; edit them in place; each change is a new version."""

    BINDINGS = [
        Binding("escape,q", "back", "home", id="datasets.back"),
        Binding("enter", "open", "items", id="datasets.open", show=False),
        Binding("e", "edit_expected", "expected", id="datasets.expected"),
        Binding("a", "edit_assertions", "assertions", id="datasets.assertions"),
        Binding("x", "toggle_removed", "remove/restore", id="datasets.remove"),
        Binding("s", "toggle_split", "train/test", id="datasets.split"),
        Binding("E", "export", "export", id="datasets.export"),
        Binding(
            "G",
            "generate",
            "generate",
            tooltip="generate test cases like the selected item (a triage queue receives them)",
            id="datasets.generate",
        ),
        Binding("tab", "switch", "datasets/items", show=False, id="datasets.switch"),
    ]

    app: ReviewerApp

    @dataclass
    class Loaded(Message):
        """The datasets, the coverage and the items of the current dataset, read off the loop."""

        load: int  # which load (only the latest is shown)
        current: str | None
        datasets: list[Any]
        coverage: list[tuple[str, int]]
        items: list[dict[str, Any]]

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self._loads = 0
        self.items: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._resumed = False  # the first resume is the screen's opening (on_mount reads)

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                "Datasets — enter shows the items · each change makes a new version", style="bold"
            ),
            id="review-header",
        )
        with Horizontal(id="datasets-body"):
            with Vertical(id="datasets-left"):
                yield Label("Datasets", classes="section")
                yield FitTable(flex={"dataset", "hash"}, id="dataset-list", cursor_type="row")
                yield Label("Coverage: items per failure theme", classes="section")
                yield DataTable(id="coverage", cursor_type="row")
            with Vertical(id="datasets-right"):
                yield Label("Items", classes="section", id="items-title")
                yield FitTable(
                    flex={"id", "themes", "expected"},
                    id="items",
                    cursor_type="row",
                    zebra_stripes=True,
                )
                yield Static("", id="item-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#dataset-list", DataTable).add_columns(
            "dataset", "items", "version", "hash"
        )
        self.query_one("#coverage", DataTable).add_columns("theme", "items")
        self.query_one("#items", DataTable).add_columns(
            "id", "split", "themes", "expected", "checks"
        )
        self.query_one("#dataset-list", DataTable).focus()
        self.reload()

    # -- loading ----------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the datasets again (and the items of the current one), off the event loop."""
        self._loads += 1
        self._load(self._loads, self.current, [t for q in self.app.ctx.queues for t in q.themes])

    @work(thread=True, exclusive=True, group="datasets", exit_on_error=False)
    def _load(self, load: int, current: str | None, queue_themes: list[str]) -> None:
        from reviewer.datasets.store import dataset_items, list_datasets, theme_coverage

        engine = self.app.ctx.engine
        datasets = list_datasets(engine)
        if current is None and datasets:
            current = datasets[0].name
        coverage = theme_coverage(engine, current, queue_themes)
        items = dataset_items(engine, current, include_removed=True) if current else []
        self.post_message(self.Loaded(load, current, datasets, coverage, items))

    @on(Loaded)
    def _fill(self, message: Loaded) -> None:
        if message.load != self._loads:
            return  # a later load is on its way
        datasets, coverage, items = message.datasets, message.coverage, message.items
        self.current = message.current
        table = self.query_one("#dataset-list", DataTable)
        table.clear()
        for d in datasets:
            table.add_row(
                Text(literal(d.name), style="bold"), str(d.items),
                f"v{d.latest_version}" if d.latest_version else "—", (d.latest_hash or "")[:10], key=d.name,
            )  # fmt: skip
        if not datasets:
            table.add_row(
                Text("no dataset yet: promote a reviewed item with d", style="dim"), "", "", ""
            )
        elif self.current is not None:
            names = [d.name for d in datasets]
            if self.current in names:
                table.move_cursor(row=names.index(self.current))
        cov = self.query_one("#coverage", DataTable)
        cov.clear()
        for theme, n in coverage:
            cov.add_row(
                Text(literal(theme)), Text(str(n)) if n else Text("0 · no cases", style="bold red")
            )
        self.items = items
        tbl = self.query_one("#items", DataTable)
        row = tbl.cursor_row
        tbl.clear()
        for item in items:
            style = "dim strike" if item.get("removed") else ""
            tbl.add_row(
                Tail(Text(literal(str(item["id"])), style=style)),
                Text(literal(item.get("split")), style=style),
                Text(
                    literal(", ".join(item.get("themes") or [])),
                    style=style or "yellow",
                ),
                Text(
                    literal(short(item.get("expected"), 60)) if item.get("expected") else "—",
                    style=style or ("" if item.get("expected") else "dim"),
                ),
                Text(str(len(item.get("assertions") or [])), style=style),
                key=str(item["row_id"]),
            )
        if tbl.row_count:
            tbl.move_cursor(row=min(row, tbl.row_count - 1))
        title = f"Items of {self.current}" if self.current else "Items"
        removed = sum(1 for i in items if i.get("removed"))
        self.query_one("#items-title", Label).update(
            Text(literal(f"{title}  ({len(items) - removed} items, {removed} removed)"))
        )
        self._show_detail()

    def _selected_item(self) -> dict[str, Any] | None:
        table = self.query_one("#items", DataTable)
        if not self.items or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((i for i in self.items if str(i["row_id"]) == key), None)

    def _show_detail(self) -> None:
        item = self._selected_item()
        detail = self.query_one("#item-detail", Static)
        if item is None:
            detail.update("")
            return
        question = last_user_text(item.get("messages") or [])
        lines = Text()
        lines.append("input    ", style="bold")
        lines.append(literal(short(question, 300)) + "\n")
        lines.append("expected ", style="bold")
        lines.append(
            literal(short(item.get("expected"), 300)) if item.get("expected") else "—",
            style="" if item.get("expected") else "dim",
        )
        lines.append("\nchecks   ", style="bold")
        checks = (
            "; ".join(f"{a.get('type')}: {a.get('value')}" for a in item.get("assertions") or [])
            or "—"
        )
        lines.append(literal(short(checks, 300)))
        source = item.get("source") or {}
        generated = source.get("generated") if isinstance(source, dict) else None
        if generated:
            lines.append(
                literal(
                    f"\ngenerated {generated.get('kind')} of {generated.get('parent')}, "
                    f"by {generated.get('model')}"
                ),
                style="magenta",
            )
        if source:
            lines.append(
                f"\nsource   record {literal(str(source.get('record_id')))}, review {source.get('review_id')}",
                style="dim",
            )
        detail.update(lines)

    @on(DataTable.RowHighlighted, "#items")
    def _item_moved(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected, "#dataset-list")
    def _dataset_chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.current = str(event.row_key.value)
            self.reload()
            self.query_one("#items", DataTable).focus()

    def action_open(self) -> None:
        table = self.query_one("#dataset-list", DataTable)
        if table.has_focus and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.current = str(key)
                self.reload()
                self.query_one("#items", DataTable).focus()

    def on_screen_resume(self) -> None:
        """Back from a screen above (a triage queue where cases were kept, say): read again."""
        if self._resumed:
            self.reload()
        self._resumed = True

    def action_switch(self) -> None:
        items = self.query_one("#items", DataTable)
        (self.query_one("#dataset-list", DataTable) if items.has_focus else items).focus()

    def action_back(self) -> None:
        self.app.pop_screen()  # home reloads its figures when it shows again

    # -- changes (each one a new version, committed before it is shown) -----------------------------

    def _change(self, call: Any, announce: str) -> None:
        self.run_worker(self._run(call, announce), group="dataset-change", exit_on_error=False)

    async def _run(self, call: Any, announce: str) -> None:
        from reviewer.datasets.items import DatasetError

        async with self._lock:
            try:
                await asyncio.to_thread(call)
            except (DatasetError, ValueError) as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
        self.notify(announce, timeout=2, markup=False)
        self.reload()

    def _need_item(self) -> dict[str, Any] | None:
        item = self._selected_item()
        if item is None:
            self.notify(
                "choose a dataset (enter) and an item first", severity="warning", markup=False
            )
        return item

    def action_edit_expected(self) -> None:
        item = self._need_item()
        if item is None:
            return
        from reviewer.datasets.store import update_item
        from reviewer.tui.screens.modals import TextEditor

        engine, who, row = self.app.ctx.engine, self.app.ctx.reviewer, item["row_id"]

        def saved(text: str | None) -> None:
            if text is not None:
                value = text if text.strip() else None
                self._change(
                    lambda: update_item(engine, row, expected=value, by=who),
                    "expected answer saved: new version",
                )

        self.app.push_screen(
            TextEditor(
                "expected answer (empty for none)",
                item.get("expected") or "",
                what="expected answer",
            ),
            saved,
        )

    def action_edit_assertions(self) -> None:
        item = self._need_item()
        if item is None:
            return
        from reviewer.datasets.store import update_item
        from reviewer.tui.screens.modals import TextEditor

        engine, who, row = self.app.ctx.engine, self.app.ctx.reviewer, item["row_id"]
        current = (
            yaml.safe_dump(item.get("assertions") or [], allow_unicode=True, sort_keys=False)
            if item.get("assertions")
            else ""
        )
        hint = "# one check a line, e.g.\n# - {type: contains, value: 30 days}\n# - {type: not_contains, value: gift card}\n# - {type: regex, value: '^A-\\d+'}\n# - {type: json_schema, value: {type: object, required: [order_id]}}\n"

        def saved(text: str | None) -> None:
            if text is None:
                return
            try:
                parsed = yaml.safe_load(text) or []
            except yaml.YAMLError as exc:
                self.notify(f"not valid YAML: {exc}", severity="error", markup=False)
                return
            if not isinstance(parsed, list):
                self.notify(
                    "assertions are a list: - {type: contains, value: ...}",
                    severity="error",
                    markup=False,
                )
                return
            self._change(
                lambda: update_item(engine, row, assertions=parsed, by=who),
                f"{len(parsed)} checks saved: new version",
            )

        self.app.push_screen(
            TextEditor("assertions, YAML", hint + current, language="yaml", what="assertions"),
            saved,
        )

    def action_toggle_removed(self) -> None:
        item = self._need_item()
        if item is None:
            return
        from reviewer.datasets.store import remove_item, restore_item

        engine, who, row = self.app.ctx.engine, self.app.ctx.reviewer, item["row_id"]
        if item.get("removed"):
            self._change(lambda: restore_item(engine, row, who), "item restored: new version")
        else:
            self._change(
                lambda: remove_item(engine, row, who),
                "item removed (x again restores it): new version",
            )

    def action_toggle_split(self) -> None:
        item = self._need_item()
        if item is None:
            return
        from reviewer.datasets.store import update_item

        engine, who, row = self.app.ctx.engine, self.app.ctx.reviewer, item["row_id"]
        split = "train" if item.get("split") == "test" else "test"
        self._change(lambda: update_item(engine, row, split=split, by=who), f"split: {split}")

    def action_generate(self) -> None:
        """`G`: generate test cases like the selected item; enter on the result opens the
        triage queue."""
        item = self._need_item()
        if item is None or self.current is None:
            return
        if item.get("removed"):
            self.notify(
                "this item is removed from the dataset: x restores it first",
                severity="warning",
                markup=False,
            )
            return
        from reviewer.evals.generate import parents_from_item
        from reviewer.tui.screens.generate import GenerateDialog

        dataset, row = self.current, str(item["row_id"])

        def opened(queue: str | None) -> None:
            if queue:
                self.app.open_review(queue)

        self.app.push_screen(
            GenerateDialog(
                dataset, str(item["id"]), lambda engine: parents_from_item(engine, dataset, row)
            ),
            opened,
        )

    def action_export(self) -> None:
        if not self.current:
            self.notify("no dataset to export", severity="warning", markup=False)
            return
        self.app.push_screen(ExportDialog(self.current))


class ExportDialog(ModalScreen[None]):
    """Pick a format and a path; the export runs in the background with a progress bar."""

    BINDINGS = [Binding("escape", "close", "close", id="export.close")]

    app: ReviewerApp

    @dataclass
    class Progressed(Message):
        """How far the export is (total: how many items it writes, once known)."""

        done: int
        total: int | None = None

    @dataclass
    class Finished(Message):
        """The export ended: what it wrote, or why it failed."""

        text: str
        failed: bool = False

    def __init__(self, dataset: str) -> None:
        super().__init__()
        self.dataset = dataset

    def compose(self) -> ComposeResult:
        from reviewer.datasets.exporters import FORMATS

        with Vertical(classes="dialog"):
            yield Label(
                Text(
                    f"Export {literal(self.dataset)} — pick a format (enter), then the path (enter)"
                )
            )
            yield OptionList(*(Option(f, id=f) for f in FORMATS), id="export-formats")
            yield Input(placeholder="path", id="export-path")
            yield ProgressBar(id="export-progress", show_eta=False)
            yield Static("", id="export-status")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.query_one(OptionList).highlighted = 0
        self._suggest("jsonl")

    def _suggest(self, fmt: str) -> None:
        from reviewer.datasets.export import default_path

        path = default_path(self.app.ctx.workspace, self.dataset, fmt)
        try:
            shown = str(path.relative_to(self.app.ctx.workspace))
        except ValueError:
            shown = str(path)
        self.query_one(Input).value = literal(shown)

    @on(OptionList.OptionHighlighted)
    def _format_moved(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._suggest(event.option.id)

    @on(OptionList.OptionSelected)
    def _format_chosen(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _go(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        fmt = options.get_option_at_index(options.highlighted or 0).id or "jsonl"
        path = event.value.strip()
        if not path:
            return
        target = self.app.ctx.workspace / path if not path.startswith("/") else path
        self.run_export(fmt, str(target))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_export(self, fmt: str, target: str) -> None:
        from reviewer.datasets.export import export_dataset
        from reviewer.datasets.versions import version_info

        engine = self.app.ctx.engine

        def progress(done: int) -> None:
            self.post_message(self.Progressed(done))

        try:
            total = version_info(engine, self.dataset).item_count
            self.post_message(self.Progressed(0, total))
            info, report = export_dataset(
                engine,
                self.dataset,
                fmt,
                target,
                progress=progress,
            )
        except Exception as exc:  # shown in the dialog; the app goes on
            self.post_message(self.Finished(f"{exc.__class__.__name__}: {exc}", failed=True))
            return
        self.post_message(self.Finished(f"version {info.number}: {report.summary()} to {target}"))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        bar = self.query_one(ProgressBar)
        if message.total is not None:
            bar.update(total=message.total, progress=message.done)
        else:
            bar.update(progress=message.done)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.query_one("#export-status", Static).update(
            Text(literal(message.text), style="red" if message.failed else "green")
        )

    def action_close(self) -> None:
        self.dismiss(None)
