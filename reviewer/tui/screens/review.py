"""Review: reading on the left, deciding on the right, keys at the bottom.

Every action goes to the core (`ReviewSession`) on a worker thread, one at a time in the order
the keys were pressed; the screen shows an action as done only once the core has committed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from reviewer.review.queues import QueueDef, RubricScore
from reviewer.tui.literal import literal, plain, short
from reviewer.tui.screens.home import progress_bar
from reviewer.tui.widgets.conversation import Conversation
from reviewer.tui.widgets.meta import meta_panel

if TYPE_CHECKING:
    from reviewer.datasets.promote import PromotingSession as ReviewSession
    from reviewer.review.session import ItemView
    from reviewer.tui.app import ReviewerApp


def _choices(options: list[tuple[str, Any, str]], chosen: Any, sep: str = "  ") -> Text:
    """Options on one line, the chosen one in brackets and highlighted (readable without
    colour); an option never breaks across lines."""
    text = Text()
    for i, (label, value, style) in enumerate(options):
        if i:
            text.append(sep)
        shown = label.replace(" ", "\u00a0")
        if value == chosen:
            text.append(f"[{shown}]", style=style)
        else:
            text.append(f" {shown} " if sep == " " else shown)
    return text


def _digit_bindings() -> list[Binding]:
    return [
        Binding(str(d), f"score({d})", f"score {d}", show=False, id=f"review.score_{d}")
        for d in range(0, 10)
    ]


class ReviewScreen(Screen[None]):
    """One queue, item after item."""

    BINDINGS = [
        Binding("p", "verdict('pass')", "pass", id="review.pass"),
        Binding("f", "verdict('fail')", "fail", id="review.fail"),
        Binding("t", "themes", "theme", id="review.themes"),
        Binding("e", "correct", "correct", id="review.correct"),
        Binding("n", "note", "note", id="review.note"),
        Binding("d", "promote", "dataset", id="review.promote"),
        Binding("D", "promote_other", "other dataset", show=False, id="review.promote_other"),
        Binding("s", "skip", "skip", id="review.skip"),
        Binding("u", "undo", "undo", id="review.undo"),
        Binding("right,l", "next_item", "next", id="review.next"),
        Binding("left,h", "previous_item", "previous", id="review.previous"),
        Binding(
            "tab", "focus_score(1)", "next score", show=False, id="review.next_score", priority=True
        ),
        Binding(
            "shift+tab",
            "focus_score(-1)",
            "previous score",
            show=False,
            id="review.previous_score",
            priority=True,
        ),
        Binding("o", "fold", "unfold", show=False, id="review.fold"),
        Binding("a", "stats", "agreement", show=False, id="review.stats"),
        Binding("P", "prompt_lab", "prompt lab", id="review.lab"),
        Binding(
            "enter",
            "edit_score",
            "write the focused text score",
            show=False,
            id="review.text_score",
        ),
        Binding("escape,q", "back", "home", id="review.back"),
        *_digit_bindings(),
    ]

    app: ReviewerApp

    def __init__(self, queue: QueueDef, queue_item_id: int | None = None) -> None:
        super().__init__()
        self.queue = queue
        self.start_item = queue_item_id
        self.session: ReviewSession | None = None
        self.item: ItemView | None = None
        self.score_focus = 0
        self.others: list[Any] = []  # other reviewers' reviews, once this one gave theirs
        self._lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield Static("", id="review-header")
        with Horizontal(id="review-body"):
            yield Conversation(id="conversation")
            with Vertical(id="side"):
                yield Static("", id="rubric")
                yield Static("", id="meta")
        yield Footer()

    def on_mount(self) -> None:
        from reviewer.datasets.promote import PromotingSession

        ctx = self.app.ctx
        self.session = PromotingSession(ctx.engine, self.queue, ctx.reviewer)
        self.query_one(Conversation).focus()
        start = self.start_item
        if start is not None:
            self._act(lambda s: s.open(start), announce=None, keep=True)
        else:
            self._act(lambda s: s.next_item(), announce=None)

    def queue_synced(self) -> None:
        """New members may have joined the queue: an empty screen looks again."""
        if self.item is None and self.session is not None:
            self._act(lambda s: s.next_item(), announce=None)

    # -- running core calls in order, off the event loop ---------------------------------------

    def _act(
        self,
        call: Callable[[ReviewSession], Any],
        *,
        announce: str | None,
        keep: bool = False,
        nothing: str = "no further item that way",
    ) -> None:
        """Run `call` on the session in order with other actions; show the item it returns.

        When it returns None: with keep, the current item stays (the end of the queue was
        reached by navigation); without, the queue is finished and the screen says so.
        """
        self.run_worker(
            self._run(call, announce, keep, nothing), group="review", exit_on_error=False
        )

    async def _run(
        self, call: Callable[[ReviewSession], Any], announce: str | None, keep: bool, nothing: str
    ) -> None:
        from reviewer.store.events import ReviewError

        async with self._lock:
            session = self.session
            assert session is not None
            try:
                result = await asyncio.to_thread(call, session)
            except ReviewError as exc:  # a refused action (a required score missing...): say why
                self.notify(str(exc), severity="warning", markup=False)
                if self.item is None:  # nothing to show: say why there, too
                    self.query_one("#rubric", Static).update(
                        Text(literal(str(exc)), style="bold yellow")
                    )
                return
            if result is not None:
                if self.item is None or result.queue_item_id != self.item.queue_item_id:
                    self.score_focus = 0
                self.item = result
                if self.queue.reviews_per_item > 1:
                    self.others = await asyncio.to_thread(session.other_reviews, result)
            elif keep:
                announce = nothing
            else:
                self.item = None
            progress = await asyncio.to_thread(session.progress)
        self._show_item(progress)
        if announce:
            self.notify(announce, timeout=1.5, markup=False)

    # -- rendering -------------------------------------------------------------------------------

    def _show_item(self, progress: Any) -> None:
        header = self.query_one("#review-header", Static)
        done = progress.done + progress.skipped
        pos = (
            f"{progress.position} / {progress.total}"
            if self.item is not None
            else f"– / {progress.total}"
        )
        header.update(
            Text.assemble(
                (literal(self.queue.name), "bold"),
                "  ·  ",
                (pos, "bold"),
                "   ",
                progress_bar(done, progress.total, width=40),
                "   ",
                (
                    f"{progress.pending} pending · {progress.done} done · {progress.skipped} skipped",
                    "dim",
                ),
            )  # fmt: skip
        )
        conversation = self.query_one(Conversation)
        if self.item is None:
            conversation.show([], None)
            self.query_one("#rubric", Static).update(
                Text(
                    "Nothing left to review in this queue.\n\nPress u to undo, ← to go back, or q for home.",
                    style="bold",
                )
            )
            self.query_one("#meta", Static).update("")
            return
        record = self.item.record
        conversation.show(record.get("messages") or [], record.get("output"), record.get("error"))
        self.query_one("#rubric", Static).update(self._rubric_panel())
        self.query_one("#meta", Static).update(meta_panel(record))

    def _rubric_panel(self) -> Table:
        assert self.item is not None
        review = self.item.review
        grid = Table.grid(padding=(0, 1))
        width = min(16, max([len(sc.name) + 1 for sc in self.queue.rubric] + [10]))
        grid.add_column(width=width, style="bold", no_wrap=True)
        grid.add_column()
        verdict = review.verdict
        grid.add_row(
            "verdict",
            _choices(
                [
                    ("✓ pass", "pass", "bold black on green"),
                    ("✗ fail", "fail", "bold white on red"),
                ],
                verdict,
            ),
        )
        for i, score in enumerate(self.queue.rubric):
            marker = "▸" if i == self.score_focus else " "
            grid.add_row(
                Text(
                    f"{marker}{literal(score.name)}",
                    style="bold" if i == self.score_focus else "",
                    overflow="ellipsis",
                ),
                self._score_cell(score, review.scores.get(score.name)),
            )
        themes = ", ".join(review.themes) if review.themes else "—"
        grid.add_row("themes", plain(themes, style="yellow" if review.themes else "dim"))
        grid.add_row(
            "note",
            plain(f'"{review.note}"' if review.note else "—", style="" if review.note else "dim"),
        )
        corrected = review.corrected
        grid.add_row(
            "corrected",
            plain("✎ " + short(corrected, 80), style="cyan")
            if corrected
            else Text("—", style="dim"),
        )
        if review.skipped:
            status = "skipped by you"
        elif review.complete:
            status = f"done · {verdict}"
        else:
            status = (
                self.item.status
                if self.item.status != "skipped"
                else "pending (skipped by another reviewer)"
            )
        grid.add_row("status", Text(status, style="green" if review.complete else "dim"))
        if self.item.held_by:
            grid.add_row("held by", plain(", ".join(self.item.held_by), style="dim"))
        for other in self.others:
            scores = " ".join(f"{k}={v}" for k, v in other.scores.items())
            grid.add_row(
                plain(other.reviewer, style="dim"),
                plain(f"{other.verdict or '—'} {scores}", style="dim"),
            )
        return grid

    def _score_cell(self, score: RubricScore, value: Any) -> Text:
        if score.type == "scale":
            text = _choices(
                [(str(n), n, "bold reverse") for n in range(score.min, score.max + 1)],
                value,
                sep=" ",
            )
            if value is not None and score.labels.get(value):
                text.append(f"  {literal(score.labels[value])}", style="dim")
        elif score.type == "category":
            text = _choices(
                [
                    (f"{n} {literal(o)}", o, "bold reverse")
                    for n, o in enumerate(score.options, start=1)
                ],
                value,
            )
        elif score.type == "pass_fail":
            text = _choices(
                [
                    ("1 pass", "pass", "bold black on green"),
                    ("2 fail", "fail", "bold white on red"),
                ],
                value,
            )
        else:
            return plain(
                short(str(value), 80) if value else "— (enter writes it)",
                style="" if value else "dim",
            )
        if score.required and value is None:
            text.append("  required", style="red dim")
        return text

    # -- actions -----------------------------------------------------------------------------------

    def _need_item(self) -> bool:
        if self.item is None:
            self.notify("no item on screen", severity="warning", markup=False)
            return False
        return True

    def action_verdict(self, verdict: str) -> None:
        if self._need_item():
            item_id = self.item.queue_item_id  # type: ignore[union-attr]
            self._act(
                lambda s: (s.set_verdict(item_id, verdict), s.next_item())[1],
                announce=f"saved: {verdict}",
            )

    def action_score(self, digit: int) -> None:
        if not self._need_item() or not self.queue.rubric:
            return
        score = self.queue.rubric[self.score_focus]
        value = score.digit_value(digit)
        if value is None:
            self.notify(f"{digit} is not a value of {score.name}", severity="warning", markup=False)
            return
        item_id = self.item.queue_item_id  # type: ignore[union-attr]
        if self.score_focus < len(self.queue.rubric) - 1:
            self.score_focus += 1
        if self.item.review.scores.get(score.name) == value:  # type: ignore[union-attr]
            self.query_one("#rubric", Static).update(
                self._rubric_panel()
            )  # already so: just move on
            return
        self._act(lambda s: s.set_score(item_id, score.name, value), announce=None, keep=True)

    def action_focus_score(self, step: int) -> None:
        if self.queue.rubric:
            self.score_focus = (self.score_focus + step) % len(self.queue.rubric)
            if self.item is not None:
                self.query_one("#rubric", Static).update(self._rubric_panel())

    def action_skip(self) -> None:
        if self._need_item():
            item_id = self.item.queue_item_id  # type: ignore[union-attr]
            self._act(lambda s: (s.skip(item_id), s.next_item())[1], announce="skipped")

    def action_undo(self) -> None:
        self._act(lambda s: s.undo(), announce="undone", keep=True, nothing="nothing to undo")

    def action_next_item(self) -> None:
        self._act(lambda s: s.next(), announce=None, keep=True)

    def action_previous_item(self) -> None:
        self._act(lambda s: s.previous(), announce=None, keep=True)

    def action_edit_score(self) -> None:
        """Enter on a free-text rubric score: write it in the editor."""
        if not self._need_item() or not self.queue.rubric:
            return
        score = self.queue.rubric[self.score_focus]
        if score.type != "text":
            return
        from reviewer.tui.screens.modals import TextEditor

        item_id = self.item.queue_item_id  # type: ignore[union-attr]
        current = self.item.review.scores.get(score.name) or ""  # type: ignore[union-attr]

        def saved(text: str | None) -> None:
            if text is not None:
                self._act(
                    lambda s: s.set_score(item_id, score.name, text.strip() or None),
                    announce=f"{score.name} saved",
                    keep=True,
                )

        self.app.push_screen(
            TextEditor(f"{score.name} (ctrl+s saves, esc cancels)", str(current)), saved
        )

    def action_prompt_lab(self) -> None:
        """The Prompt Lab for this record's prompt, on the queue's dataset."""
        from reviewer.evals.routing import prompt_for_record
        from reviewer.tui.screens.lab import PromptLabScreen

        record = self.item.record if self.item is not None else {}
        path = prompt_for_record(self.app.ctx.workspace, record)
        if path is None:
            self.notify(
                "no prompt file for this record: add prompts/NAME.yaml (see the README)",
                severity="warning",
                markup=False,
            )
            return
        self.app.push_screen(PromptLabScreen(path, self.queue.dataset))

    def action_stats(self) -> None:
        from reviewer.tui.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen(self.queue))

    def action_fold(self) -> None:
        self.query_one(Conversation).toggle_fold()

    def action_back(self) -> None:
        self.app.pop_screen()
        self.app.refresh_home()

    def on_unmount(self) -> None:
        """Leaving the queue (home, or quitting) gives back an item only looked at."""
        if self.session is not None:
            self.session.close()

    def action_themes(self) -> None:
        if not self._need_item():
            return
        from reviewer.review.themes import list_themes
        from reviewer.tui.screens.modals import ThemePicker

        item_id = self.item.queue_item_id  # type: ignore[union-attr]
        current = list(self.item.review.themes)  # type: ignore[union-attr]
        offered = list(
            dict.fromkeys([*self.queue.themes, *(t.name for t in list_themes(self.app.ctx.engine))])
        )

        def chosen(names: list[str] | None) -> None:
            if names is not None:
                self._act(
                    lambda s: s.set_themes(item_id, names), announce="themes saved", keep=True
                )

        self.app.push_screen(ThemePicker(offered, current), chosen)

    def action_note(self) -> None:
        if not self._need_item():
            return
        from reviewer.tui.screens.modals import TextEditor

        item = self.item
        assert item is not None
        item_id = item.queue_item_id

        def saved(text: str | None) -> None:
            if text is not None:
                self._act(lambda s: s.set_note(item_id, text), announce="note saved", keep=True)

        editor = TextEditor(
            "note (ctrl+s saves, esc cancels)", item.review.note or "", language=None
        )
        self.app.push_screen(editor, saved)

    def action_correct(self) -> None:
        if not self._need_item():
            return
        from reviewer.tui.screens.modals import TextEditor

        item = self.item
        assert item is not None
        start = item.review.corrected or ((item.record.get("output") or {}).get("content") or "")

        def saved(text: str | None) -> None:
            if text is not None:
                self._act(
                    lambda s: s.set_correction(item.queue_item_id, text),
                    announce="corrected answer saved",
                    keep=True,
                )

        self.app.push_screen(
            TextEditor("corrected answer (ctrl+s saves, esc cancels)", start, language="markdown"),
            saved,
        )

    def action_promote(self) -> None:
        if not self._need_item():
            return
        if not self.queue.dataset:
            self.action_promote_other()
            return
        self._promote(self.queue.dataset)

    def _promote(self, dataset: str) -> None:
        item_id = self.item.queue_item_id  # type: ignore[union-attr]
        self._act(
            lambda s: (s.promote(item_id, dataset), s.view(item_id))[1],
            announce=f"promoted to {dataset}",
            keep=True,
        )

    def action_promote_other(self) -> None:
        if not self._need_item():
            return
        from reviewer.datasets.catalog import dataset_sizes
        from reviewer.tui.screens.modals import DatasetPicker

        names = [name for name, _n in dataset_sizes(self.app.ctx.engine)]

        def picked(name: str | None) -> None:
            if name:
                self._promote(name)

        self.app.push_screen(DatasetPicker(names, self.queue.dataset), picked)
