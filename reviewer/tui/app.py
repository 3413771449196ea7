"""The reviewer app: Home, Review, Search and Help screens over the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from reviewer.review.queues import QueueDef, load_queues
from reviewer.tui.commands import ReviewerCommands
from reviewer.tui.literal import literal
from reviewer.tui.messages import QueuesChanged, QueuesSynced

if TYPE_CHECKING:
    from reviewer.tui.screens.lab import LabSession


@dataclass
class AppContext:
    """What every screen needs: the database, the workspace, who is reviewing."""

    engine: Engine
    workspace: Path
    reviewer: str
    queues: list[QueueDef]
    queue_errors: list[str]
    sync_errors: dict[str, str] = field(default_factory=dict)  # queue name -> why its sync failed
    lab: dict[str, LabSession] = field(default_factory=dict)  # prompt file -> unsaved state
    assist_off: str | None = None  # why the assistant cannot run (said once a session)

    def queue(self, name: str) -> QueueDef | None:
        return next((q for q in self.queues if q.name == name), None)


class ReviewerApp(App[None]):
    """Review logged LLM calls from the keyboard."""

    TITLE = "reviewer"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    #: every screen has the class of its width (app.tcss lays out -narrow for 100x30)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (128, "-medium"), (150, "-wide")]
    COMMANDS = App.COMMANDS | {ReviewerCommands}
    BINDINGS = [
        Binding("question_mark,f1", "help", "keys", id="app.help"),
        Binding("slash", "search", "search", id="app.search"),
        Binding("ctrl+q", "quit", "quit", id="app.quit", show=False, priority=True),
    ]

    def __init__(
        self,
        engine: Engine,
        workspace: Path,
        reviewer: str,
        *,
        open_queue: str | None = None,
        keymap: dict[str, str] | None = None,
        sync_on_start: bool = True,
    ) -> None:
        super().__init__()
        queues, errors = load_queues(workspace)
        self.ctx = AppContext(engine, workspace, reviewer, queues, errors)
        self.open_queue = open_queue
        self.sync_on_start = sync_on_start
        self.keymap_config = keymap or {}

    def get_system_commands(self, screen: Any) -> Any:
        """Textual's own commands, less its colour "Theme" (failure themes are what a theme
        means here)."""
        for command in super().get_system_commands(screen):
            if not command.title.lower().startswith("theme"):
                yield command

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (they carry exception texts, names, values from the log) is
        shown literally: no markup, no control characters."""
        super().notify(
            literal(message), title=literal(title), severity=severity, timeout=timeout, markup=False
        )

    def on_mount(self) -> None:
        if self.keymap_config:
            self.set_keymap(self.keymap_config)
            unknown = sorted(set(self.keymap_config) - known_binding_ids())
            if unknown:
                self.notify(
                    f"unknown binding id{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
                    " (ignored; ? lists every key with its id)",
                    title="keymap in .reviewer/config.yaml",
                    severity="error",
                    timeout=15,
                )
        from reviewer.tui.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        if self.ctx.queue_errors:
            self.notify(
                "\n".join(self.ctx.queue_errors),
                title="queue files with errors",
                severity="error",
                timeout=15,
                markup=False,
            )
        if self.open_queue:  # straight to the queue; the sync runs beside it
            name, self.open_queue = self.open_queue, None
            self.open_review(name)
        if self.sync_on_start:
            self.sync_queues()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def sync_queues(self, announce: bool = False) -> None:
        """Materialize queue membership (new records join), off the event loop; the screens
        hear of it by a message. With announce, say when it is done."""
        from reviewer.review.sync import sync_queues

        results = sync_queues(self.ctx.engine, self.ctx.queues)
        self.post_message(QueuesSynced(results, announce=announce))

    @on(QueuesSynced)
    def _queues_synced(self, message: QueuesSynced) -> None:
        results = message.results
        self.ctx.sync_errors = {name: r.error for name, r in results.items() if r.error}
        if message.announce:
            added = sum(r.added for r in results.values())
            self.notify(f"queues synced: {added} new item{'s' if added != 1 else ''}", markup=False)
        if self.ctx.sync_errors:
            self.notify(
                "\n".join(self.ctx.sync_errors.values()),
                title="queues whose sync failed",
                severity="error",
                timeout=15,
                markup=False,
            )
        self.queues_changed()

    def queues_changed(self) -> None:
        """Tell every screen that the queues may have changed, so each looks again."""
        for screen in self.screen_stack:
            screen.post_message(QueuesChanged(dict(self.ctx.sync_errors)))

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        """One place where a worker that failed is shown to the reviewer (the app goes on)."""
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        error = worker.error
        self.notify(
            f"{error.__class__.__name__}: {error}",
            title=f"{worker.name or 'task'} failed",
            severity="error",
            timeout=10,
            markup=False,
        )
        if worker.group == "sync":  # part of the queues may have been synced: look again
            self.queues_changed()

    def open_review(self, queue_name: str, queue_item_id: int | None = None) -> None:
        queue = self.ctx.queue(queue_name)
        if queue is None:
            self.notify(f"no queue named {queue_name!r}", severity="error", markup=False)
            return
        from reviewer.tui.screens.pair import PairScreen
        from reviewer.tui.screens.review import ReviewScreen
        from reviewer.tui.screens.trace import TraceScreen

        screen = {"trace": TraceScreen, "pair": PairScreen}.get(queue.unit, ReviewScreen)
        self.push_screen(screen(queue, queue_item_id=queue_item_id))

    def open_datasets(self) -> None:
        from reviewer.tui.screens.datasets import DatasetsScreen

        self.push_screen(DatasetsScreen())

    def open_insights(self) -> None:
        from reviewer.tui.screens.insights import InsightsScreen

        self.push_screen(InsightsScreen())

    def open_lab(self, path: Path, dataset: str | None = None) -> None:
        from reviewer.tui.screens.lab import PromptLabScreen

        self.push_screen(PromptLabScreen(path, dataset))

    def action_help(self) -> None:
        from reviewer.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_search(self) -> None:
        from reviewer.tui.screens.search import SearchScreen

        if not isinstance(self.screen, SearchScreen):
            self.push_screen(SearchScreen())


def known_binding_ids() -> set[str]:
    """The id of every binding of the app, its screens and widgets: what a keymap may name."""
    import importlib
    import pkgutil

    from textual.dom import DOMNode

    import reviewer.tui.screens
    import reviewer.tui.widgets

    for package in (reviewer.tui.screens, reviewer.tui.widgets):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    ids: set[str] = set()
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("reviewer.tui"):
            for binding in cls.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids
