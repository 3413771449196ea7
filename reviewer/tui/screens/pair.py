"""Review of a pairwise queue (`unit: pair`): one case's input on top, two answers side by side.

The answers are labelled only "left" and "right": which run gave which is in the `pairs` table,
never on screen (no run id, model, prompt name or record id, the facts panel included). The keys
give the review's verdict: left better, right better, tie, both bad; each is committed at once
and the next pair comes, like pass and fail on the review screen, whose other keys (note, skip,
undo, themes, moving, guidelines) work here too. Everything from the log goes through the same
safe rendering as the conversation pane.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from reviewer.tui.literal import plain
from reviewer.tui.screens.review import ReviewScreen, _choices
from reviewer.tui.widgets.conversation import render_input, render_message

if TYPE_CHECKING:
    from reviewer.review.session import ItemView
    from reviewer.tui.app import ReviewerApp

#: the choices as the side panel shows them: (label, verdict, style)
CHOICES = [
    ("[ left better", "left", "bold black on green"),
    ("] right better", "right", "bold black on green"),
    ("= tie", "tie", "bold black on yellow"),
    ("b both bad", "both-bad", "bold white on red"),
]
MARKS = ("» ", " «")
SAID = {"left": "left better", "right": "right better", "tie": "tie", "both-bad": "both bad"}
#: the review screen's actions that make no sense on a pair (or could tell which run is which)
OFF = {
    "accept", "correct", "promote", "promote_other", "keep", "drop", "generate", "prompt_lab",
    "stats",  # the win rate so far would tell which side an answer came from
    "fold",  # the answers are shown whole
}  # fmt: skip


def answer(side: str, message: Any) -> Group:
    """One answer under its side's rule, rendered as the conversation pane renders an output."""
    body: Any
    if isinstance(message, dict):
        body = render_message(message, unfolded=True, is_output=True)
    else:
        body = Text("(no answer)", style="dim")
    return Group(Rule(Text(side, style="bold"), style="dim"), body)


class PairScreen(ReviewScreen):
    """One pairwise queue, pair after pair."""

    BINDINGS = [
        Binding("left_square_bracket", "verdict('left')", "left better", id="pair.left"),
        Binding("right_square_bracket", "verdict('right')", "right better", id="pair.right"),
        Binding("equals_sign", "verdict('tie')", "tie", id="pair.tie"),
        Binding("b", "verdict('both-bad')", "both bad", id="pair.both_bad"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pass and fail are not a pair's verdicts; nor do its items go to a dataset."""
        if action == "verdict":
            return bool(parameters) and parameters[0] in self.queue.verdicts
        if action in OFF:
            return False
        return super().check_action(action, parameters)

    def compose(self) -> ComposeResult:
        yield Static("", id="review-header")
        with Horizontal(id="review-body"):
            with Vertical(id="pair-main"):
                with VerticalScroll(id="pair-input"):
                    yield Static("", id="pair-input-text")
                with Horizontal(id="pair-answers"):
                    with VerticalScroll(id="pair-left"):
                        yield Static("", id="pair-left-text")
                    with VerticalScroll(id="pair-right"):
                        yield Static("", id="pair-right-text")
            with Vertical(id="side"):
                yield Static("", id="rubric")
                yield Static("", id="meta")
        yield Footer()

    def _reading(self) -> Widget:
        return self.query_one("#pair-input", VerticalScroll)

    def _show_nothing(self) -> None:
        for part in ("input", "left", "right"):
            self.query_one(f"#pair-{part}-text", Static).update("")
        self.query_one("#meta", Static).update("")

    def _show_record(self, item: ItemView, *, changed: bool) -> None:
        if not changed:
            return
        record = item.record
        outputs = record.get("outputs") or {}
        messages = record.get("messages") or []
        self.query_one("#pair-input-text", Static).update(
            Group(
                Rule(Text("case", style="bold"), style="dim"), render_input(messages, unfolded=True)
            )
            if messages
            else Text("(no input)", style="dim")
        )
        for side in ("left", "right"):
            self.query_one(f"#pair-{side}-text", Static).update(answer(side, outputs.get(side)))
            self.query_one(f"#pair-{side}", VerticalScroll).scroll_home(animate=False)
        self.query_one("#pair-input", VerticalScroll).scroll_home(animate=False)
        self.query_one("#meta", Static).update(
            Group(
                Text("─" * 30, style="dim"),
                Text("two answers to the same case,", style="dim"),
                Text("in a random order: which is better?", style="dim"),
            )
        )

    def _rubric_panel(self) -> Table:
        assert self.item is not None
        review = self.item.review
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=10, style="bold", no_wrap=True)
        grid.add_column()
        # the keys are brackets themselves: the choice is marked otherwise
        grid.add_row("choice", _choices(CHOICES[:2], review.verdict, marks=MARKS))
        grid.add_row("", _choices(CHOICES[2:], review.verdict, marks=MARKS))
        self._scores_themes_note(grid)
        self._status_row(grid, f"done · {SAID.get(review.verdict or '', review.verdict)}")
        if self.item.held_by:
            grid.add_row("held by", plain(", ".join(self.item.held_by), style="dim"))
        for other in self.others:
            grid.add_row(
                plain(other.reviewer, style="dim"),
                plain(SAID.get(other.verdict or "", other.verdict or "—"), style="dim"),
            )
        self._failure_row(grid)
        return grid


def pairwise_from_lab(screen: Screen[Any], comparison: Any) -> None:
    """The Prompt Lab's key: the pairwise queue of the run on screen (A) against its baseline
    run (B), written off the event loop; the queue is then one of the app's."""
    baseline = getattr(comparison, "baseline", None)
    if baseline is None or baseline.kind != "run" or baseline.run_id is None:
        screen.notify(
            "no run compared with an earlier run on screen: ctrl+r runs the eval first",
            severity="warning",
            markup=False,
        )
        return
    app: ReviewerApp = screen.app  # type: ignore[assignment]
    screen.run_worker(
        partial(_write_pairwise, app, comparison.run_id, baseline.run_id, comparison.prompt_name),
        thread=True,
        group="pairwise",
        exit_on_error=False,
    )


def _write_pairwise(app: ReviewerApp, run_a: int, run_b: int, prompt: str) -> None:
    from reviewer.evals.pairwise import PairwiseError, make_pairwise_queue, pairwise_queue_name
    from reviewer.review.queues import QueueFileError, load_queue_file

    ctx = app.ctx
    name = pairwise_queue_name(prompt, run_a, run_b)
    try:
        result = make_pairwise_queue(ctx.engine, ctx.workspace, run_a, run_b, name)
        queue = load_queue_file(ctx.workspace / result.queue_path)
    except (PairwiseError, QueueFileError) as exc:
        app.call_from_thread(app.notify, str(exc), severity="error", markup=False)
        return

    def done() -> None:
        ctx.queues = [q for q in ctx.queues if q.name != queue.name] + [queue]
        app.notify(
            f"queue {queue.name}: {result.pairs} pairs of run {run_a} (A) and its baseline run"
            f" {run_b} (B), {result.new_pairs} new ({result.queue_path}); the reviewers see"
            " only left and right",
            timeout=8,
            markup=False,
        )
        app.queues_changed()

    app.call_from_thread(done)
