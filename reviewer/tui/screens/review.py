"""Review: reading on the left, deciding on the right, keys at the bottom.

Keys are applied in the order they were typed, each to the item on screen once the keys before
it have taken effect: a burst of `4 p 3 p` scores and passes two items, never one of them twice.
Every key that reads or changes the review is a step in one queue; steps run one at a time, and
their calls to the core (`ReviewSession`) run on the screen's one session thread, each carrying
the id of the item it is for. An action is shown as done only once the core has committed it.
When it fails (a locked database, a refused action) the screen says what was not saved, the item
and the score focus stay where they were, and the keys typed after it are not applied.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from reviewer.datasets.promote import GENERATED, generated_origin
from reviewer.review.queues import QueueDef, RubricScore
from reviewer.store.events import ReviewError
from reviewer.tui.literal import literal, plain, short
from reviewer.tui.messages import QueuesChanged
from reviewer.tui.screens.home import progress_bar
from reviewer.tui.widgets.chips import Chips
from reviewer.tui.widgets.conversation import Conversation
from reviewer.tui.widgets.meta import meta_panel

if TYPE_CHECKING:
    from reviewer.datasets.promote import PromoteResult
    from reviewer.datasets.promote import PromotingSession as ReviewSession
    from reviewer.review.session import ItemView, Progress
    from reviewer.store.events import ReviewState
    from reviewer.store.suggestions import SuggestionView
    from reviewer.tui.app import ReviewerApp

T = TypeVar("T")

#: What the screen shows after a call: the item (None: none), the other reviewers' reviews
#: (None: unchanged), where the reviewer is in the queue, and the datasets holding the item.
Looked: TypeAlias = (
    "tuple[ItemView | None, list[ReviewState] | None, Progress, list[str], SuggestionView | None]"
)

#: A key waiting its turn: True when it was applied (or had nothing to do), False when it failed
#: or was refused, which drops the keys typed after it.
Step = Callable[[], Awaitable[bool]]


def why(exc: BaseException) -> str:
    """What went wrong, on one line: the database driver's own error when there is one."""
    from sqlalchemy.exc import DBAPIError

    from reviewer.store.db import DatabaseError, first_line

    if isinstance(exc, DatabaseError):  # written for the reviewer already
        return str(exc)
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, BaseException):
        cause = exc.orig
    return f"{cause.__class__.__name__}: {first_line(cause)}"


def _choices(
    options: list[tuple[str, Any, str]],
    chosen: Any,
    sep: str = "  ",
    marks: tuple[str, str] = ("[", "]"),
) -> Chips:
    """Options on one line, the chosen one between `marks` and highlighted (readable without
    colour); an option never breaks across lines."""
    opening, closing = marks
    text = Chips()
    for i, (label, value, style) in enumerate(options):
        lead = sep if i else ""
        if value == chosen:
            text.append(Text(lead) + Text(f"{opening}{label}{closing}", style=style))
        else:
            text.append(lead + (f" {label} " if sep == " " else label))
    return text


def what_was_undone(
    action: str,
    before: ReviewState,
    after: ReviewState,
    datasets_before: list[str],
    datasets_after: list[str],
) -> str:
    """An undone action in words, with its value: `verdict fail`, `helpful 3`, `promotion to
    support-regressions` (shown literally)."""
    if action == "verdict":
        said = f"verdict {before.verdict or '—'}"
    elif action == "score":
        names = sorted(
            k
            for k in {*before.scores, *after.scores}
            if before.scores.get(k) != after.scores.get(k)
        )
        said = ", ".join(f"{k} {short(str(before.scores.get(k, '—')), 30)}" for k in names)
        said = said or "score"
    elif action == "themes":
        said = "themes " + (", ".join(before.themes) or "—")
    elif action == "correct":
        said = "corrected answer"
    elif action == "accept":
        said = f"accepted suggestion ({before.verdict or '—'})"
    elif action == "keep":
        gone = [d for d in datasets_before if d not in datasets_after]
        said = f"keep in {', '.join(gone)}" if gone else "keep"
    elif action == "promote":
        gone = [d for d in datasets_before if d not in datasets_after]
        if gone:
            said = f"promotion to {', '.join(gone)}"
        elif datasets_after:  # a second d: the first one put it there and keeps it
            said = f"promotion (still in {', '.join(datasets_after)})"
        else:
            said = "promotion"
    elif action == "step":
        said = "where it went wrong" + (f" ({short(before.step_id, 40)})" if before.step_id else "")
    elif action == "step_note":
        said = "step note"
    else:  # note, skip, drop
        said = action
    return literal(said)


#: What the output of a generated case is, on screen.
SUGGESTED_EXPECTED = "suggested expected answer"

#: how many pending items (in queue order) the app pre-grades when an assisted queue opens;
#: `reviewer assist` does a whole queue
PRE_GRADE = 100


def _suggestion_text(found: SuggestionView) -> Text:
    """`✗ fail · helpful 2 · tone neutral · invented-policy · 0.80`, shown literally."""
    verdict = {"pass": ("✓ pass", "green"), "fail": ("✗ fail", "red")}.get(
        found.verdict or "", (found.verdict or "—", "")
    )
    parts = [f"{k} {v}" for k, v in found.scores.items()]
    if found.themes:
        parts.append(", ".join(found.themes))
    if found.confidence is not None:
        parts.append(f"{found.confidence:.2f}")
    return Text.assemble(
        (verdict[0], f"bold {verdict[1]}".strip()),
        " · " if parts else "",
        literal(" · ".join(parts)),
    )


def _digit_bindings() -> list[Binding]:
    return [
        Binding(str(d), f"score({d})", f"score {d}", show=False, id=f"review.score_{d}")
        for d in range(0, 10)
    ]


class ReviewScreen(Screen[None]):
    """One queue, item after item."""

    BINDINGS = [
        Binding("p", "verdict('pass')", "pass", id="review.pass"),
        Binding("y", "accept", "accept suggestion", show=False, id="review.accept"),
        Binding("f", "verdict('fail')", "fail", id="review.fail"),
        Binding("t", "themes", "theme", id="review.themes"),
        Binding("e", "correct", "correct", id="review.correct"),
        Binding("n", "note", "note", id="review.note"),
        Binding("d", "promote", "dataset", id="review.promote"),
        # in a triage queue of generated cases (see check_action): d keeps, x drops
        Binding("d", "keep", "keep", tooltip="keep the generated case", id="review.keep"),
        Binding("x", "drop", "drop", tooltip="drop the generated case", id="review.drop"),
        Binding("D", "promote_other", "other dataset", show=False, id="review.promote_other"),
        Binding(
            "G",
            "generate",
            "generate",
            show=False,
            tooltip="generate test cases like this one (a triage queue receives them)",
            id="review.generate",
        ),
        Binding("s", "skip", "skip", id="review.skip"),
        Binding("u", "undo", "undo", id="review.undo"),
        Binding("right,l", "next_item", "next", show=False, id="review.next"),
        Binding("left,h", "previous_item", "previous", show=False, id="review.previous"),
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
        Binding("g", "guidelines", "guides", show=False, id="review.guidelines"),
        Binding(
            "P", "prompt_lab", "lab", tooltip="the Prompt Lab for this prompt", id="review.lab"
        ),
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
        # a triage queue of generated cases: d keeps a case, x drops it
        self.triage = GENERATED in queue.filter.format
        self.session: ReviewSession | None = None
        self.item: ItemView | None = None
        self.score_focus = 0
        self.others: list[Any] = []  # other reviewers' reviews, once this one gave theirs
        self.progress: Progress | None = None  # where the reviewer is in the queue
        self.datasets: list[str] = []  # the datasets holding a case of this review of the item
        self.suggestion: SuggestionView | None = None  # the assistant's, for the item on screen
        self.failure: str | None = None  # the last action that failed, shown until one works
        self._steps: deque[Step] = deque()
        self._draining = False
        self._paused = False  # a step's dialog is open: the keys after it wait for it
        self._session_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="review")
        self._session_closed = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`d` keeps (and `x` drops) in a triage queue of generated cases, `d` promotes in any
        other queue; the footer shows the one that applies."""
        if action in ("keep", "drop"):
            return self.triage
        if action == "promote":
            return not self.triage
        return True

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
        self._reading().focus()
        if self.queue.assist is not None:
            self.pre_grade()
        start = self.start_item
        if start is not None:
            self._enqueue(partial(self._apply, lambda s: s.open(start), failed="opening the item"))
        else:
            self._enqueue(partial(self._apply, lambda s: s.next_item(), failed="the next item"))

    # -- the assistant: pre-grading in the background, never in the way of a key ---------------

    @dataclass
    class PreGraded(Message):
        """The queue's judge finished pre-grading (`report`), or cannot run (`error`)."""

        report: Any = None
        error: str | None = None

    @work(group="assist", exclusive=True, exit_on_error=False)
    async def pre_grade(self) -> None:
        """Suggestions for the queue's next PRE_GRADE pending items (cached ones cost nothing)."""
        from reviewer.evals.assist import AssistError, assist_queue

        ctx = self.app.ctx
        try:
            report = await assist_queue(
                ctx.engine, ctx.workspace, self.queue, limit=PRE_GRADE, concurrency=8
            )
        except AssistError as exc:
            self.post_message(self.PreGraded(error=str(exc)))
            return
        self.post_message(self.PreGraded(report=report))

    @on(PreGraded)
    def _pre_graded(self, message: PreGraded) -> None:
        if message.error is not None:
            if self.app.ctx.assist_off == message.error:
                return  # said already in this session
            self.app.ctx.assist_off = message.error
            self.notify(
                f"{message.error}. Reviewing works as usual, without suggestions.",
                title="the assistant is off",
                severity="warning",
                timeout=8,
            )
            return
        report = message.report
        if report.suggested:
            self.notify(f"the assistant suggested reviews for {report.suggested} items", timeout=3)
            self._enqueue(self._look_at_suggestion)
        if report.errors:
            self.notify(
                f"the assistant could not grade {report.errors} items: "
                + (report.error_messages[0] if report.error_messages else ""),
                severity="warning",
                timeout=8,
            )

    async def _look_at_suggestion(self) -> bool:
        """The item on screen may have a suggestion now: read it (on the session thread)."""
        item = self.item
        if item is None or self.session is None:
            return True
        found = await self._in_session(lambda s: s.suggestion(item))
        if self.item is item:
            self.suggestion = found
            if self.progress is not None:
                self._show_item(self.progress, changed=False)
        return True

    def on_resize(self) -> None:
        """The header's progress bar fits the new width."""
        if self.progress is not None:
            self._show_item(self.progress, changed=False)

    @on(QueuesChanged)
    def _queues_changed(self) -> None:
        """New members may have joined the queue: an empty screen looks again."""
        self._enqueue(self._look_again)

    async def _look_again(self) -> bool:
        if self.item is not None or self.session is None:
            return True
        return await self._apply(lambda s: s.next_item(), failed="the next item")

    # -- keys in order: a queue of steps, one at a time --------------------------------------------

    def _enqueue(self, step: Step) -> None:
        self._steps.append(step)
        self._drain_soon()

    def _drain_soon(self) -> None:
        if self._steps and not self._draining and not self._paused:
            self._draining = True
            self.run_worker(self._drain(), group="review", exit_on_error=False)

    async def _drain(self) -> None:
        """Run the waiting steps in the order of their keys, each after the one before it."""
        try:
            while self._steps and not self._paused:
                step = self._steps.popleft()
                if not await step():
                    self._drop_waiting()
        except BaseException:
            self._steps.clear()
            raise
        finally:
            self._draining = False

    def _drop_waiting(self) -> None:
        """A key failed: the keys typed after it assumed it worked, so they are not applied."""
        dropped = len(self._steps)
        self._steps.clear()
        if dropped:
            self.notify(
                f"{dropped} key{'s' if dropped != 1 else ''} typed after it not applied",
                severity="warning",
                markup=False,
            )

    def _ask(self, dialog: Screen[Any], then: Callable[[Any], Step | None]) -> None:
        """Open a step's dialog; the keys after it wait until it closes, and what it answered
        (the step `then` makes of it) runs before them."""
        self._paused = True

        def answered(result: Any) -> None:
            self._paused = False
            step = then(result)
            if step is not None:
                self._steps.appendleft(step)
            self._drain_soon()

        self.app.push_screen(dialog, answered)

    async def _in_session(self, call: Callable[[ReviewSession], T]) -> T:
        """`call` on the session thread (one thread: the core's calls run in key order)."""
        assert self.session is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._session_thread, call, self.session)

    def _call_and_look(
        self, call: Callable[[ReviewSession], ItemView | None], session: ReviewSession
    ) -> Looked:
        """On the session thread: the call, then what the screen shows after it."""
        item = call(session)
        others = (
            session.other_reviews(item)
            if item is not None and self.queue.reviews_per_item > 1
            else None
        )
        datasets = session.datasets_of(item) if item is not None else []
        suggestion = session.suggestion(item) if item is not None else None
        return item, others, session.progress(), datasets, suggestion

    async def _apply(
        self,
        call: Callable[[ReviewSession], ItemView | None],
        *,
        failed: str,
        announce: str | None = None,
        keep: bool = False,
        nothing: str = "no further item that way",
        score_focus: int | None = None,
    ) -> bool:
        """Run `call` on the session and show the item it returns; False when it failed (the
        screen says so and keeps the item and the focus).

        When it returns None: with keep, the current item stays (the end of the queue was
        reached by navigation); without, the queue is finished and the screen says so. With
        score_focus, the focus moves there once the call has succeeded on the same item.
        """
        try:
            looked = await self._in_session(partial(self._call_and_look, call))
        except ReviewError as exc:  # a refused action (a required score missing...): say why
            self._refused(str(exc))
            return False
        except Exception as exc:  # not committed (a locked database...): say so, keep the item
            self._failed(f"{failed} not saved: {why(exc)}")
            return False
        self._take(looked, announce=announce, keep=keep, nothing=nothing, score_focus=score_focus)
        return True

    def _take(
        self,
        looked: Looked,
        *,
        announce: str | None = None,
        keep: bool = False,
        nothing: str = "",
        score_focus: int | None = None,
    ) -> None:
        """Show what a call that succeeded left on screen (see `_apply`)."""
        item, others, progress, datasets, suggestion = looked
        before = self.item.queue_item_id if self.item is not None else None
        self.failure = None
        if item is not None:
            self.item = item
            self.datasets = datasets
            self.suggestion = suggestion
            if others is not None:
                self.others = others
        elif keep:
            announce = nothing
        else:
            self.item = None
            self.datasets = []
            self.suggestion = None
        changed = (self.item.queue_item_id if self.item is not None else None) != before
        if changed:
            self.score_focus = 0
        elif score_focus is not None:
            self.score_focus = score_focus
        self.progress = progress
        self._show_item(progress, changed=changed)
        if announce:
            self.notify(announce, timeout=1.5, markup=False)

    def _refused(self, message: str) -> None:
        self.notify(message, severity="warning", markup=False)
        if self.item is None:  # nothing to show: say why there, too
            self.query_one("#rubric", Static).update(Text(literal(message), style="bold yellow"))

    def _failed(self, message: str, title: str = "not saved") -> None:
        """Say on screen what failed; the item and the focus stay as they were."""
        self.failure = message
        self.notify(message, title=title, severity="error", timeout=10, markup=False)
        if self.item is None:
            self.query_one("#rubric", Static).update(Text(literal(message), style="bold red"))
        elif self.progress is not None:  # what did succeed before it is shown too
            self._show_item(self.progress, changed=False)
        else:
            self.query_one("#rubric", Static).update(self._rubric_panel())

    # -- rendering -------------------------------------------------------------------------------

    def _show_item(self, progress: Progress, *, changed: bool = True) -> None:
        """Show the header and the review; the conversation too when the item changed."""
        header = self.query_one("#review-header", Static)
        done = progress.done + progress.skipped
        pos = (
            f"{progress.position} / {progress.total}"
            if self.item is not None
            else f"– / {progress.total}"
        )
        counts = f"{progress.pending} pending · {progress.done} done · {progress.skipped} skipped"
        name = literal(self.queue.name)
        # the bar takes what the rest leaves (up to 40): the counts always show
        room = self.size.width - 2 - len(name) - len(pos) - len(counts) - 5 - 6 - 5
        header.update(
            Text.assemble(
                (name, "bold"),
                "  ·  ",
                (pos, "bold"),
                "   ",
                progress_bar(done, progress.total, width=max(5, min(40, room))),
                "   ",
                (counts, "dim"),
            )  # fmt: skip
        )
        if self.item is None:
            self._show_nothing()
            self.query_one("#rubric", Static).update(
                Text(
                    "Nothing left to review in this queue.\n\nPress u to undo, ← to go back, or q for home.",
                    style="bold",
                )
            )
            return
        self._show_record(self.item, changed=changed)
        self.query_one("#rubric", Static).update(self._rubric_panel())

    def _reading(self) -> Widget:
        """What has the focus while reading an item (the keys that scroll go to it)."""
        return self.query_one(Conversation)

    def _show_nothing(self) -> None:
        """The reading side when the queue has no item left."""
        self.query_one(Conversation).show([], None)
        self.query_one("#meta", Static).update("")

    def _show_record(self, item: ItemView, *, changed: bool) -> None:
        """The reading side of the item: its conversation and its facts (when it changed)."""
        if not changed:
            return
        record = item.record
        self.query_one(Conversation).show(
            record.get("messages") or [],
            record.get("output"),
            record.get("error"),
            output_label=SUGGESTED_EXPECTED if generated_origin(record) else None,
        )
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
        self._scores_themes_note(grid)
        corrected = review.corrected
        origin = generated_origin(self.item.record)
        if origin is not None:  # a generated case: its expected answer, suggested or written
            suggested = (self.item.record.get("output") or {}).get("content")
            grid.add_row(
                "expected",
                plain("✎ " + short(corrected, 80), style="cyan")
                if corrected
                else Text(
                    "suggested (e edits it)" if suggested else "— (e writes one)",
                    style="dim",
                ),
            )
        else:
            grid.add_row(
                "corrected",
                plain("✎ " + short(corrected, 80), style="cyan")
                if corrected
                else Text("—", style="dim"),
            )
        if origin is not None:
            grid.add_row(
                "generated",
                plain(f"{origin.get('kind')} of {origin.get('parent')}", style="bold magenta"),
            )
        done = f"done · {verdict}"
        if origin is not None:
            done = f"kept in {', '.join(self.datasets)}" if self.datasets else "dropped"
            if not self.datasets and verdict == "pass":
                done = "done · pass (d keeps it)"
        self._status_row(grid, done)
        if self.datasets:
            grid.add_row("dataset", plain("in " + ", ".join(self.datasets), style="bold cyan"))
        elif origin is not None:
            grid.add_row("dataset", Text("— (d keeps it · x drops it)", style="dim"))
        else:
            grid.add_row("dataset", Text("— (d adds it)", style="dim"))
        self._suggestion_rows(grid)
        if self.item.held_by:
            grid.add_row("held by", plain(", ".join(self.item.held_by), style="dim"))
        for other in self.others:
            scores = " ".join(f"{k}={v}" for k, v in other.scores.items())
            grid.add_row(
                plain(other.reviewer, style="dim"),
                plain(f"{other.verdict or '—'} {scores}", style="dim"),
            )
        self._failure_row(grid)
        return grid

    def _scores_themes_note(self, grid: Table) -> None:
        """The rubric's scores (the focused one marked), the themes and the note: rows of the
        panel beside the item, on this screen and the pair screen."""
        assert self.item is not None
        review = self.item.review
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

    def _status_row(self, grid: Table, done: str) -> None:
        """The item's status: skipped by this reviewer, `done` once the review is complete, else
        the queue's status (pending, also when another reviewer skipped it)."""
        assert self.item is not None
        review = self.item.review
        if review.skipped:
            status = "skipped by you"
        elif review.complete:
            status = done
        elif self.item.status == "skipped":
            status = "pending (skipped by another reviewer)"
        else:
            status = self.item.status
        grid.add_row("status", Text(status, style="green" if review.complete else "dim"))

    def _failure_row(self, grid: Table) -> None:
        """What the last key could not save, in red."""
        if self.failure:
            grid.add_row(Text("failed", style="bold red"), plain(self.failure, style="bold red"))

    def _suggestion_rows(self, grid: Table) -> None:
        """The assistant's suggestion, marked as suggested; hidden on a blind item until the
        reviewer's verdict."""
        found = self.suggestion
        if found is None or self.item is None:
            return
        blind = self.session is not None and self.session.is_blind(self.item)
        if blind and self.item.review.verdict is None:
            grid.add_row(
                Text("suggested", style="magenta"),
                Text("hidden: a blind check, give your verdict first", style="dim"),
            )
            return
        grid.add_row(Text("suggested", style="bold magenta"), _suggestion_text(found))
        if found.reason:
            grid.add_row("", plain(short(found.reason, 160), style="italic magenta"))
        if self.item.review.suggestion in ("accepted", "edited"):
            grid.add_row(
                "", Text(f"{self.item.review.suggestion} from the suggestion", style="dim")
            )
        else:
            grid.add_row("", Text("y accepts it whole", style="dim"))

    def _score_cell(self, score: RubricScore, value: Any) -> Text | Chips:
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

    # -- actions: each key a step, applied to the item on screen when its turn comes --------------

    def _current(self) -> ItemView | None:
        if self.item is None:
            self.notify("no item on screen", severity="warning", markup=False)
        return self.item

    def action_verdict(self, verdict: str) -> None:
        self._enqueue(partial(self._verdict, verdict))

    async def _verdict(self, verdict: str) -> bool:
        announce = None
        found, item = self.suggestion, self.item
        if (
            found is not None
            and item is not None
            and self.session is not None
            and self.session.is_blind(item)
            and not item.review.verdict
        ):  # the blind item's suggestion can be told now
            confidence = "" if found.confidence is None else f", {found.confidence:.1f}"
            announce = f"saved: {verdict} · the assistant said {found.verdict}{confidence}"
        return await self._decide(
            verdict, lambda s, item_id: s.set_verdict(item_id, verdict), announce
        )

    def action_accept(self) -> None:
        self._enqueue(self._accept)

    async def _accept(self) -> bool:
        """`y`: the assistant's suggestion becomes this review, then the next item."""
        found = self.suggestion
        if self.item is None or found is None:
            self._refused(
                "no suggestion for this item"
                + ("" if self.queue.assist else ": the queue has no assist: judge")
            )
            return False
        if (
            self.session is not None
            and self.session.is_blind(self.item)
            and not self.item.review.verdict
        ):
            self._refused("a blind check: give your own verdict first")
            return False
        return await self._decide(
            "the suggestion",
            lambda s, item_id: s.accept_suggestion(item_id, found.id),
            f"accepted the suggestion: {found.verdict}",
        )

    def action_skip(self) -> None:
        self._enqueue(partial(self._decide, "skip", lambda s, item_id: s.skip(item_id), "skipped"))

    async def _decide(
        self,
        what: str,
        call: Callable[[ReviewSession, int], ItemView],
        announce: str | Callable[[], str] | None = None,
    ) -> bool:
        """A verdict or a skip on the item on screen, then the next item."""
        item = self._current()
        if item is None:
            return False
        item_id = item.queue_item_id

        def decide_then_next(
            session: ReviewSession,
        ) -> tuple[ItemView, Looked | None, Exception | None]:
            decided = call(session, item_id)  # when this raises, nothing was saved
            try:
                return decided, self._call_and_look(lambda s: s.next_item(), session), None
            except Exception as exc:  # saved, but the next item could not be had
                return decided, None, exc

        try:
            decided, looked, later = await self._in_session(decide_then_next)
        except ReviewError as exc:
            self._refused(str(exc))
            return False
        except Exception as exc:
            self._failed(f"{what} not saved: {why(exc)}")
            return False
        said = announce() if callable(announce) else announce
        self.notify(said or f"saved: {what}", timeout=1.5, markup=False)
        if looked is None:
            self.item = decided
            self._failed(
                f"{what} saved; the next item could not be loaded: {why(later or Exception())}",
                title="next item",
            )
            return False
        self._take(looked)
        return True

    def action_score(self, digit: int) -> None:
        self._enqueue(partial(self._score, digit))

    async def _score(self, digit: int) -> bool:
        item = self._current()
        if item is None or not self.queue.rubric:
            return item is not None
        score = self.queue.rubric[self.score_focus]
        value = score.digit_value(digit)
        if value is None:
            self.notify(f"{digit} is not a value of {score.name}", severity="warning", markup=False)
            return False
        after = min(self.score_focus + 1, len(self.queue.rubric) - 1)
        if item.review.scores.get(score.name) == value:  # already so: just move on
            self.score_focus = after
            self.query_one("#rubric", Static).update(self._rubric_panel())
            return True
        item_id = item.queue_item_id
        return await self._apply(
            lambda s: s.set_score(item_id, score.name, value),
            failed=f"{score.name} {value}",
            score_focus=after,
        )

    def action_focus_score(self, step: int) -> None:
        self._enqueue(partial(self._focus_score, step))

    async def _focus_score(self, step: int) -> bool:
        if self.queue.rubric:
            self.score_focus = (self.score_focus + step) % len(self.queue.rubric)
            if self.item is not None:
                self.query_one("#rubric", Static).update(self._rubric_panel())
        return True

    def action_undo(self) -> None:
        self._enqueue(self._undo)

    async def _undo(self) -> bool:
        """Undo the reviewer's last action here, and say which it was and on which item."""
        undid: list[str] = []

        def undo(s: ReviewSession) -> ItemView | None:
            target = s.last_action()
            if target is None:
                return None
            item_id, action = target
            before, was_in = s.view(item_id).review, s.datasets_of(item_id)
            view = s.undo()
            if view is not None:
                undid.append(
                    what_was_undone(action, before, view.review, was_in, s.datasets_of(view))
                )
            return view

        if not await self._apply(undo, failed="undo", keep=True, nothing="nothing to undo"):
            return False
        if undid and self.item is not None and self.progress is not None:
            where = f"{self.item.position or '–'}/{self.progress.total}"
            self.notify(f"undid {undid[0]} on {where}", timeout=3, markup=False)
        return True

    def action_next_item(self) -> None:
        self._enqueue(partial(self._apply, lambda s: s.next(), failed="moving on", keep=True))

    def action_previous_item(self) -> None:
        self._enqueue(partial(self._apply, lambda s: s.previous(), failed="moving back", keep=True))

    def action_edit_score(self) -> None:
        """Enter on a free-text rubric score: write it in the editor."""
        self._enqueue(self._edit_score)

    async def _edit_score(self) -> bool:
        item = self._current()
        if item is None or not self.queue.rubric:
            return item is not None
        score = self.queue.rubric[self.score_focus]
        if score.type != "text":
            return True
        from reviewer.tui.screens.modals import TextEditor

        item_id = item.queue_item_id
        current = item.review.scores.get(score.name) or ""

        def saved(text: str | None) -> Step | None:
            if text is None:
                return None
            return partial(
                self._apply,
                lambda s: s.set_score(item_id, score.name, text.strip() or None),
                failed=score.name,
                announce=f"{score.name} saved",
                keep=True,
            )

        self._ask(TextEditor(score.name, str(current)), saved)
        return True

    def action_prompt_lab(self) -> None:
        """The Prompt Lab for this record's prompt, on the queue's dataset."""
        self._enqueue(self._prompt_lab)

    async def _prompt_lab(self) -> bool:
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
            return True
        self.app.push_screen(PromptLabScreen(path, self.queue.dataset))
        return True

    def action_guidelines(self) -> None:
        self._enqueue(self._guidelines)

    async def _guidelines(self) -> bool:
        """The queue's guidelines over the screen (read off the event loop); the keys typed
        after `g` wait until they are closed."""
        from reviewer.review.queues import QueueFileError
        from reviewer.tui.screens.guidelines import GuidelinesScreen

        queue = self.queue
        try:
            found = await self._in_session(lambda _s: (queue.guidelines_path, queue.guidelines()))
        except QueueFileError as exc:
            self.notify(str(exc), title="guidelines", severity="error", markup=False)
            return True
        path, text = found
        if path is None or text is None:
            self.notify(
                f"queue {queue.name} has no guidelines: write them in Markdown in "
                f"{self._workspace_path(self._guidelines_file())} (see the README)",
                severity="warning",
                timeout=8,
                markup=False,
            )
            return True
        self._ask(GuidelinesScreen(queue.name, text, self._workspace_path(path)), lambda _r: None)
        return True

    def _guidelines_file(self) -> Path:
        """Where the queue's guidelines go: beside its YAML file, named like it."""
        if self.queue.path:
            return Path(self.queue.path).with_suffix(".md")
        return self.app.ctx.workspace / "queues" / f"{self.queue.name}.md"

    def _workspace_path(self, path: Path) -> str:
        """`path` as the reviewer knows it: relative to the workspace when inside it."""
        try:
            return str(path.resolve().relative_to(self.app.ctx.workspace.resolve()))
        except ValueError:
            return str(path)

    def action_stats(self) -> None:
        from reviewer.tui.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen(self.queue))

    def action_fold(self) -> None:
        self.query_one(Conversation).toggle_fold()

    def action_back(self) -> None:
        self._enqueue(self._back)

    async def _back(self) -> bool:
        """Home, once the keys before this one are applied; the item only looked at goes back."""
        if self.session is not None and not self._session_closed:
            self._session_closed = True
            try:
                await self._in_session(lambda s: s.close())
            except Exception as exc:  # nothing of the review is lost: only the claim stays
                self.notify(f"leaving the queue: {why(exc)}", severity="warning", markup=False)
        self.app.pop_screen()
        return True

    def on_unmount(self) -> None:
        """Quitting from here: the session thread gives back an item only looked at, after the
        calls still running there."""
        if self.session is not None and not self._session_closed:
            self._session_closed = True
            self._session_thread.submit(self.session.close)
        self._session_thread.shutdown(wait=False)

    def action_themes(self) -> None:
        self._enqueue(self._themes)

    async def _themes(self) -> bool:
        item = self._current()
        if item is None:
            return False
        from reviewer.review.themes import list_themes
        from reviewer.tui.screens.modals import ThemePicker

        item_id = item.queue_item_id
        current = list(item.review.themes)
        engine = self.app.ctx.engine
        try:
            known = await self._in_session(lambda _s: [t.name for t in list_themes(engine)])
        except Exception as exc:
            self._failed(f"the themes could not be read: {why(exc)}")
            return False
        # this queue's themes first, then those reviews used, then the other queues' (a queue
        # that names none, as a pairwise one, still offers the workspace's vocabulary)
        others = [t for q in self.app.ctx.queues for t in q.themes]
        offered = list(dict.fromkeys([*self.queue.themes, *known, *others]))

        def chosen(names: list[str] | None) -> Step | None:
            if names is None:
                return None
            return partial(
                self._apply,
                lambda s: s.set_themes(item_id, names),
                failed="themes",
                announce="themes saved",
                keep=True,
            )

        self._ask(ThemePicker(offered, current), chosen)
        return True

    def action_note(self) -> None:
        self._enqueue(partial(self._edit_text, "note"))

    def action_correct(self) -> None:
        self._enqueue(partial(self._edit_text, "corrected answer"))

    async def _edit_text(self, what: str) -> bool:
        """The note or the corrected answer of the item on screen, in the editor."""
        item = self._current()
        if item is None:
            return False
        from reviewer.tui.screens.modals import TextEditor

        item_id = item.queue_item_id
        if what == "note":
            editor = TextEditor("note", item.review.note or "", language=None)
        else:
            start = item.review.corrected or self._answer_given(item)
            record = item.record
            editor = TextEditor(
                "expected answer" if generated_origin(record) else "corrected answer",
                start,
                language="markdown",
                beside=(record.get("messages") or [], record.get("output"), record.get("error")),
            )

        def saved(text: str | None) -> Step | None:
            if text is None:
                return None
            if what == "note":
                return partial(
                    self._apply,
                    lambda s: s.set_note(item_id, text),
                    failed=what,
                    announce="note saved",
                    keep=True,
                )
            return partial(
                self._apply,
                lambda s: s.set_correction(item_id, text),
                failed=what,
                announce=(
                    "expected answer saved"
                    if generated_origin(item.record)
                    else "corrected answer saved"
                ),
                keep=True,
            )

        self._ask(editor, saved)
        return True

    def _answer_given(self, item: ItemView) -> str:
        """What the corrected answer's editor starts from: the answer being corrected."""
        return str((item.record.get("output") or {}).get("content") or "")

    def action_promote(self) -> None:
        self._enqueue(self._promote_to_queue_dataset)

    async def _promote_to_queue_dataset(self) -> bool:
        if self.queue.dataset:
            return await self._promote(self.queue.dataset)
        return await self._promote_other()

    async def _promote(self, dataset: str) -> bool:
        item = self._current()
        if item is None:
            return False
        item_id = item.queue_item_id
        results: list[PromoteResult] = []

        def promote(s: ReviewSession) -> ItemView:
            results.append(s.promote(item_id, dataset))
            return s.view(item_id)

        if not await self._apply(promote, failed=f"promotion to {dataset}", keep=True):
            return False
        name = literal(results[0].dataset)
        self.notify(
            f"promoted to {name}" if results[0].created else f"already in {name}",
            timeout=3,
            markup=False,
        )
        return True

    def action_keep(self) -> None:
        self._enqueue(self._keep)

    async def _keep(self) -> bool:
        """`d` in a triage queue: keep the generated case (into the queue's dataset), then the
        next one; an item that is not a generated case is promoted as `d` does elsewhere."""
        item = self._current()
        if item is None:
            return False
        if generated_origin(item.record) is None:
            return await self._promote_to_queue_dataset()
        kept: list[PromoteResult] = []

        def keep(s: ReviewSession, item_id: int) -> ItemView:
            kept.append(s.keep(item_id))
            return s.view(item_id)

        def said() -> str:
            name = literal(kept[0].dataset)
            return f"kept in {name}" if kept[0].created else f"already in {name}"

        return await self._decide("keep", keep, said)

    def action_drop(self) -> None:
        self._enqueue(partial(self._decide, "drop", lambda s, item_id: s.drop(item_id), "dropped"))

    def action_generate(self) -> None:
        self._enqueue(self._generate)

    async def _generate(self) -> bool:
        """`G`: generate test cases like the item on screen (the case its review makes), for
        the dataset holding it, else the queue's dataset."""
        item = self._current()
        if item is None:
            return False
        dataset = (
            self.queue.dataset
            if self.queue.dataset in self.datasets or not self.datasets
            else self.datasets[0]
        )
        if not dataset:
            self._refused(
                f"queue {self.queue.name} names no dataset for the generated cases: add "
                "dataset: NAME to its file, or promote the item with D first"
            )
            return False
        from reviewer.evals.generate import parent_from_review
        from reviewer.tui.screens.generate import GenerateDialog

        item_id, reviewer = item.queue_item_id, self.app.ctx.reviewer
        where = f"item {item.position or '–'} of {self.queue.name}"

        def opened(queue: str | None) -> Step | None:
            if queue and queue != self.queue.name:
                self.app.open_review(queue)
            return None

        self._ask(
            GenerateDialog(
                dataset, where, lambda engine: [parent_from_review(engine, item_id, reviewer)]
            ),
            opened,
        )
        return True

    def action_promote_other(self) -> None:
        self._enqueue(self._promote_other)

    async def _promote_other(self) -> bool:
        if self._current() is None:
            return False
        from reviewer.datasets.catalog import dataset_sizes
        from reviewer.tui.screens.modals import DatasetPicker

        engine = self.app.ctx.engine
        try:
            names = await self._in_session(lambda _s: [name for name, _n in dataset_sizes(engine)])
        except Exception as exc:
            self._failed(f"the datasets could not be read: {why(exc)}")
            return False

        def picked(name: str | None) -> Step | None:
            return partial(self._promote, name) if name else None

        self._ask(DatasetPicker(names, self.queue.dataset), picked)
        return True
