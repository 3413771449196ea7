"""A queue's progress per reviewer and agreement per rubric score (as `reviewer queues stats`),
and its assistant's agreement with the reviewers (as `reviewer judges agreement`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from reviewer.review.queues import QueueDef
from reviewer.tui.literal import literal

if TYPE_CHECKING:
    from reviewer.tui.app import ReviewerApp


class StatsScreen(ModalScreen[None]):
    """Who reviewed how much, and how far reviewers agree."""

    BINDINGS = [Binding("escape,q,a", "app.pop_screen", "close", id="stats.close")]

    app: ReviewerApp

    @dataclass
    class Counted(Message):
        """The lines of the statistics, counted off the event loop."""

        lines: list[str]

    def __init__(self, queue: QueueDef) -> None:
        super().__init__()
        self.queue = queue

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Label(
                Text(f"Reviewers and agreement — {literal(self.queue.name)}  (esc closes)"),
                classes="section",
            )
            yield Static("counting…", id="stats-body")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from reviewer.review.stats import queue_stats, stats_lines

        engine = self.app.ctx.engine
        lines = stats_lines(queue_stats(engine, self.queue))
        if self.queue.assist is not None:  # the assistant against the reviewers, too
            from reviewer.evals.judge_agreement import format_agreement, judge_agreement

            lines += ["", *format_agreement(judge_agreement(engine, self.queue))]
        self.post_message(self.Counted(lines))

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        self.query_one("#stats-body", Static).update(Text(literal("\n".join(message.lines))))
