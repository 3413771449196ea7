"""Review of a `unit: trace` queue: the trace instead of a single call.

The trace's totals in a header line; its steps as a tree on the left (`TraceTree`, drawn line by
line, so a trace of 10,000 steps opens at once); the selected step's content beside it
(`StepView`, read when the step is selected, a few kept); the review on the right, as on the
review screen, whose keys all work here and are stored on the trace's anchor.

Every key is a step of the review screen's one queue of keys (see `reviewer.tui.screens.review`):
moving in the tree too, so `→ j j m` marks the third step of the next trace, never a step of the
trace that was on screen when the keys were typed. The trace of a new item is read on the
session thread with the item itself, before the keys after it run.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Static

from reviewer.review.traces import Step, Trace, load_trace, step_record
from reviewer.tui.literal import plain, short
from reviewer.tui.screens.review import ReviewScreen
from reviewer.tui.screens.review import Step as KeyStep
from reviewer.tui.widgets.step_view import StepView
from reviewer.tui.widgets.trace_tree import TraceTree, cost, count, duration

if TYPE_CHECKING:
    from reviewer.datasets.promote import PromotingSession as ReviewSession
    from reviewer.review.session import ItemView

#: how many steps' content the screen keeps (going back and forth costs no read)
CONTENT_CACHE = 64
#: seconds the selection rests on a step before its content is read and drawn
CONTENT_DELAY = 0.04
JUMP_NAMES = {"llm": "LLM call", "tool": "tool call"}


def totals_line(totals: dict[str, Any]) -> Text:
    """`trace t1 · 5 steps: 2 llm, 2 tool · ✗ 1 error (1 tool) · 9.0s · 250→30 tok · $0.0030 ·
    tools lookup_order`, shown literally."""
    text = Text.assemble(("trace ", "dim"), (short(str(totals["key"]), 40), "bold"))
    text.append(
        f" · {totals['steps']} steps: {totals['llm_calls']} llm, {totals['tool_calls']} tool · "
    )
    if totals["errors"]:
        text.append(
            f"✗ {totals['errors']} error{'s' if totals['errors'] != 1 else ''}"
            f" ({totals['tool_errors']} tool)",
            style="bold red",
        )
    else:
        text.append("no error", style="dim")
    figures = [duration(totals["duration_ms"])]
    if totals["input_tokens"] is not None or totals["output_tokens"] is not None:
        figures.append(
            f"{count(totals['input_tokens'] or 0)}→{count(totals['output_tokens'] or 0)} tok"
        )
    figures.append(cost(totals["cost_usd"]))
    text.append("".join(f" · {f}" for f in figures if f))
    tools = orjson.loads(totals["tools"]) if totals.get("tools") else []
    if tools:
        text.append(" · tools ", style="dim")
        text.append(short(", ".join(tools), 80))
    return text


def trace_facts(trace: Trace, record: dict[str, Any]) -> Group:
    """The trace's facts below the review: its id, its time, its tools, its final output."""
    t = trace.totals
    lines: list[Text] = [Text("─" * 30, style="dim")]
    lines.append(plain(f"trace {t['key']}", style="bold"))
    when = (t["started"] or "")[:19].replace("T", " ")
    if t["ended"]:
        when += " → " + t["ended"][11:19]
    lines.append(Text(when, style="dim"))
    tools = orjson.loads(t["tools"]) if t.get("tools") else []
    if tools:
        lines.append(plain("tools " + ", ".join(tools)))
    if t["final_output"]:
        lines.append(plain("final output: " + short(t["final_output"], 240), style="italic"))
    lines.append(plain(f"anchor {t['anchor_id']}", style="dim"))
    source = record.get("source") or {}
    lines.append(
        plain(f"{source.get('path')}:{source.get('line')} ({source.get('format')})", style="dim")
    )
    return Group(*lines)


def lone_step(record: dict[str, Any]) -> Step:
    """A queue item whose trace is not in the traces table (yet): its record as the one step."""
    usage = record.get("usage") or {}
    return Step(
        id=record["id"],
        parent_id=None,
        kind=record.get("kind") or "llm",
        name=record.get("name"),
        model=record.get("model"),
        timestamp=record.get("timestamp"),
        latency_ms=record.get("latency_ms"),
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        cost_usd=record.get("cost_usd"),
        error=record.get("error"),
    )


class TraceScreen(ReviewScreen):
    """One `unit: trace` queue, trace after trace."""

    BINDINGS = [
        Binding("j,down", "step(1)", "next step", show=False, id="trace.next_step"),
        Binding("k,up", "step(-1)", "previous step", show=False, id="trace.previous_step"),
        Binding("home", "edge(0)", "first step", show=False, id="trace.first_step"),
        Binding("end", "edge(-1)", "last step", show=False, id="trace.last_step"),
        Binding("E", "next_error", "next error", id="trace.next_error"),
        Binding("L", "next_kind('llm')", "next LLM call", show=False, id="trace.next_llm"),
        Binding("T", "next_kind('tool')", "next tool call", show=False, id="trace.next_tool"),
        Binding(
            "space",
            "fold_step",
            "fold",
            tooltip="fold or unfold the selected step's children",
            show=False,
            id="trace.fold",
        ),
        Binding("z", "fold_all", "fold all", show=False, id="trace.fold_all"),
        Binding("Z", "unfold_all", "unfold all", show=False, id="trace.unfold_all"),
        Binding(
            "m",
            "mark_step",
            "wrong step",
            tooltip="mark the selected step as where it went wrong (again on it: clear)",
            id="trace.mark",
        ),
        Binding(
            "c",
            "step_note",
            "step note",
            tooltip="a note on the selected step (ctrl+s saves, esc cancels)",
            id="trace.note",
        ),
        Binding(
            "pagedown", "page(1)", "scroll down", show=False, tooltip="scroll the step's content "
            "down", id="trace.page_down",
        ),
        Binding(
            "pageup", "page(-1)", "scroll up", show=False, tooltip="scroll the step's content up",
            id="trace.page_up",
        ),
    ]  # fmt: skip

    @dataclass
    class StepLoaded(Message):
        """A step's content, read off the event loop."""

        step: Step
        record: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trace: Trace | None = None
        self._trace_of: str | None = None  # the anchor whose trace is on screen
        self._loaded: dict[str, Trace | None] = {}  # traces read on the session thread
        self._contents: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._by_id: dict[str, Step] = {}
        self._content_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="review-header")
        yield Static("", id="trace-header")
        with Horizontal(id="review-body"):
            with Container(id="trace-main"):
                yield TraceTree(id="trace-tree")
                yield StepView(id="step-view")
            with Vertical(id="side"):
                yield Static("", id="rubric")
                yield Static("", id="meta")
        yield Footer()

    # -- the trace of the item on screen ----------------------------------------------------------

    def _reading(self) -> Widget:
        return self.query_one(TraceTree)

    def _call_and_look(
        self, call: Callable[[ReviewSession], ItemView | None], session: ReviewSession
    ) -> Any:
        """On the session thread: the call, what the screen shows after it, and the trace of a
        new item (so the keys after it find its tree on screen)."""
        looked = super()._call_and_look(call, session)
        item = looked[0]
        if item is not None and item.record_id != self._trace_of:
            self._loaded[item.record_id] = load_trace(session.engine, item.record_id)
        return looked

    def _show_nothing(self) -> None:
        self.trace, self._trace_of, self._by_id = None, None, {}
        self.query_one(TraceTree).show([], marked=None, noted=set())
        self.query_one("#trace-header", Static).update("")
        self.query_one(StepView).show_head(None, marked=False, note=None)
        self.query_one("#meta", Static).update("")

    def _show_record(self, item: ItemView, *, changed: bool) -> None:
        tree = self.query_one(TraceTree)
        review = item.review
        if item.record_id != self._trace_of:
            if item.record_id in self._loaded:
                trace = self._loaded.pop(item.record_id)
            else:  # not read with the item (never expected): read it now
                trace = load_trace(self.app.ctx.engine, item.record_id)
            self._loaded.clear()
            self.trace, self._trace_of = trace, item.record_id
            steps = trace.steps if trace is not None else [lone_step(item.record)]
            self._by_id = {s.id: s for s in steps}
            tree.show(steps, marked=review.step_id, noted=set(review.step_notes))
            if review.step_id in self._by_id:  # reopened: at the step marked
                tree.select_step(tree.index_of(review.step_id))
            header = self.query_one("#trace-header", Static)
            meta = self.query_one("#meta", Static)
            if trace is not None:
                header.update(totals_line(trace.totals))
                meta.update(trace_facts(trace, item.record))
            else:
                header.update(Text("this call's trace is not built yet", style="dim"))
                meta.update("")
        else:
            tree.set_marks(review.step_id, set(review.step_notes))
            self._show_step_head()

    def _answer_given(self, item: ItemView) -> str:
        """The corrected answer starts from the trace's final output."""
        given = super()._answer_given(item)
        if not given and self.trace is not None:
            given = self.trace.totals.get("final_output") or ""
        return given

    def _rubric_panel(self) -> Table:
        grid = super()._rubric_panel()
        assert self.item is not None
        review = self.item.review
        if review.step_id:
            step = self._by_id.get(review.step_id)
            what = f"{step.kind} {step.label}" if step is not None else review.step_id
            grid.add_row(
                "went wrong",
                Text.assemble(("◆ ", "bold yellow"), (short(what, 60), "bold yellow")),
            )
        else:
            grid.add_row("went wrong", Text("— (m marks one)", style="dim"))
        notes = len(review.step_notes)
        grid.add_row(
            "step notes",
            Text(f"✎ {notes}") if notes else Text("— (c writes one)", style="dim"),
        )
        return grid

    # -- the selected step ------------------------------------------------------------------------

    def _show_step_head(self) -> None:
        step = self.query_one(TraceTree).selected
        review = self.item.review if self.item is not None else None
        self.query_one(StepView).show_head(
            step,
            marked=step is not None and review is not None and review.step_id == step.id,
            note=review.step_notes.get(step.id) if step is not None and review else None,
        )

    @on(TraceTree.Selected)
    def _step_selected(self, message: TraceTree.Selected) -> None:
        """The step's head at once; its content once the selection rests (moving through many
        steps in a row reads and draws only the one it stops on)."""
        self._show_step_head()
        if self._content_timer is not None:
            self._content_timer.stop()
            self._content_timer = None
        if CONTENT_DELAY:
            self._content_timer = self.set_timer(CONTENT_DELAY, self._show_content)
        else:
            self._show_content()

    def _show_content(self) -> None:
        self._content_timer = None
        step = self.query_one(TraceTree).selected
        if step is None:
            return
        view = self.query_one(StepView)
        record = self._contents.get(step.id)
        if record is not None:
            self._contents.move_to_end(step.id)
            view.show_content(step, record)
            return
        view.show_loading()
        self._load_step(step)

    @work(thread=True, exclusive=True, group="step", exit_on_error=False)
    def _load_step(self, step: Step) -> None:
        self.post_message(self.StepLoaded(step, step_record(self.app.ctx.engine, step.id)))

    @on(StepLoaded)
    def _step_loaded(self, message: StepLoaded) -> None:
        self._contents[message.step.id] = message.record
        while len(self._contents) > CONTENT_CACHE:
            self._contents.popitem(last=False)
        if message.step is self.query_one(TraceTree).selected:
            self.query_one(StepView).show_content(message.step, message.record)

    # -- keys: each a step of the screen's queue of keys ------------------------------------------

    def _in_tree(self, do: Callable[[TraceTree], object]) -> None:
        async def step() -> bool:
            do(self.query_one(TraceTree))
            return True

        self._enqueue(step)

    def action_step(self, delta: int) -> None:
        self._in_tree(lambda tree: tree.move(delta))

    def action_edge(self, row: int) -> None:
        self._in_tree(lambda tree: tree.select_row(row if row >= 0 else len(tree.rows) - 1))

    def action_next_error(self) -> None:
        self._enqueue(partial(self._jump, lambda s: s.error is not None, "error"))

    def action_next_kind(self, kind: str) -> None:
        self._enqueue(partial(self._jump, lambda s: s.kind == kind, JUMP_NAMES.get(kind, kind)))

    async def _jump(self, match: Callable[[Step], bool], what: str) -> bool:
        tree = self.query_one(TraceTree)
        found = tree.find(match)
        if found is None:
            self.notify(f"no {what} in this trace", severity="warning", timeout=2)
            return True
        index, wrapped = found
        tree.select_step(index)
        if wrapped:
            self.notify(f"from the top: the first {what}", timeout=1.5)
        return True

    def action_fold_step(self) -> None:
        def fold(tree: TraceTree) -> None:
            if not tree.toggle_fold():
                self.notify("no step under this one", timeout=1.5)

        self._in_tree(fold)

    def action_fold_all(self) -> None:
        self._in_tree(lambda tree: tree.fold_all())

    def action_unfold_all(self) -> None:
        self._in_tree(lambda tree: tree.unfold_all())

    def action_page(self, pages: int) -> None:
        self.query_one(StepView).scroll_page(pages)

    def action_fold(self) -> None:
        """`o`: unfold long messages, inputs, outputs and documents of the step (and fold)."""
        self.query_one(StepView).toggle_fold()

    def _selected_step(self) -> tuple[ItemView, Step] | None:
        item = self._current()
        if item is None:
            return None
        step = self.query_one(TraceTree).selected
        if step is None:
            self._refused("no step selected")
            return None
        return item, step

    def action_mark_step(self) -> None:
        self._enqueue(self._mark_step)

    async def _mark_step(self) -> bool:
        """Mark the selected step as where the trace went wrong; on the marked step, clear it."""
        chosen = self._selected_step()
        if chosen is None:
            return False
        item, step = chosen
        item_id = item.queue_item_id
        clear = item.review.step_id == step.id
        return await self._apply(
            lambda s: s.set_step(item_id, None if clear else step.id),
            failed="the step marked",
            announce="mark cleared"
            if clear
            else f"marked as where it went wrong: {short(step.label, 40)}",
            keep=True,
        )

    def action_step_note(self) -> None:
        self._enqueue(self._step_note)

    async def _step_note(self) -> bool:
        """A note on the selected step, in the editor (empty clears it; esc cancels)."""
        chosen = self._selected_step()
        if chosen is None:
            return False
        item, step = chosen
        from reviewer.tui.screens.modals import TextEditor

        item_id, step_id = item.queue_item_id, step.id
        editor = TextEditor(
            f"note on {step.kind} {short(step.label, 40)}",
            item.review.step_notes.get(step_id, ""),
            what="step note",
        )

        def saved(text: str | None) -> KeyStep | None:
            if text is None:
                return None
            return partial(
                self._apply,
                lambda s: s.set_step_note(item_id, step_id, text),
                failed="step note",
                announce="step note saved",
                keep=True,
            )

        self._ask(editor, saved)
        return True
