"""The selected step of a trace: what it was (kind, name, time, tokens, cost, error, the marks of
the review), then its content. An LLM call shows its messages and output as the review screen
does (the conversation's rendering); a tool, retriever, agent or other step its inputs and outputs as formatted
JSON, a retriever's documents listed one by one, and its error. Everything from the log goes
through `literal`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from reviewer.review.traces import Step
from reviewer.tui.literal import literal, plain, short
from reviewer.tui.widgets.conversation import (
    fold_text,
    json_value,
    render_input,
    render_output,
)
from reviewer.tui.widgets.trace_tree import cost, duration

#: lines of a step's inputs or outputs shown before `o` unfolds them
DETAIL_FOLD = 40
#: lines of one retrieved document shown before `o` unfolds them
DOCUMENT_FOLD = 8
_DOC_TEXT = ("page_content", "content", "text", "document", "chunk")
_DOC_LISTS = ("documents", "docs", "results", "hits", "chunks")


def documents(outputs: Any) -> list[dict[str, Any]] | None:
    """A retriever's documents (a list of objects with a text), whether the outputs are the
    list itself or an object holding it; None when they are something else."""
    value = outputs
    if isinstance(value, dict):
        value = next((value[k] for k in _DOC_LISTS if isinstance(value.get(k), list)), None)
    if not isinstance(value, list) or not value or not all(isinstance(d, dict) for d in value):
        return None
    if not any(isinstance(d.get(k), str) for d in value for k in _DOC_TEXT):
        return None
    return value


def render_documents(docs: list[dict[str, Any]], *, unfolded: bool) -> RenderableType:
    blocks: list[RenderableType] = []
    for n, doc in enumerate(docs, start=1):
        text = next((doc[k] for k in _DOC_TEXT if isinstance(doc.get(k), str)), "")
        found = doc.get("metadata")
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        ident = doc.get("id") or meta.get("id") or meta.get("source") or ""
        score = doc.get("score", meta.get("score"))
        head = Text.assemble(
            (f"{n:>2}. ", "bold"),
            (short(str(ident), 60), "cyan"),
            (f"  score {short(str(score), 12)}" if score is not None else "", "dim"),
        )
        shown, hidden = fold_text(text, DOCUMENT_FOLD, unfolded)
        blocks.append(head)
        blocks.append(plain(shown))
        if hidden:
            blocks.append(Text(f"… folded, {hidden} more lines (o to unfold)", style="dim italic"))
        rest = {k: v for k, v in doc.items() if k not in (*_DOC_TEXT, "id", "score")}
        if rest:
            blocks.append(json_value(rest, fold=None if unfolded else DOCUMENT_FOLD))
        blocks.append(Text(""))
    return Group(*blocks)


def _rule(title: str, style: str = "dim") -> Rule:
    return Rule(Text(title, style=style), style=style, align="left")


def step_detail(record: dict[str, Any], *, unfolded: bool) -> RenderableType:
    """A step that is not an LLM call: its inputs, messages, outputs or documents, output, and
    error, each under a rule."""
    fold = None if unfolded else DETAIL_FOLD
    parts: list[RenderableType] = []
    inputs, outputs = record.get("inputs"), record.get("outputs")
    if inputs is not None:
        parts += [_rule("inputs"), json_value(inputs, fold=fold)]
    if record.get("messages"):
        parts += [_rule("messages"), render_input(record["messages"], unfolded=unfolded)]
    docs = documents(outputs)
    if docs is not None:
        parts += [_rule(f"documents ({len(docs)})"), render_documents(docs, unfolded=unfolded)]
    elif outputs is not None:
        parts += [_rule("outputs"), json_value(outputs, fold=fold)]
    if record.get("output") is not None:
        parts.append(render_output(record["output"], None, "output"))
    if record.get("error"):
        parts += [_rule("error", "red"), plain(record["error"], style="red")]
    if not parts:
        parts.append(Text("(nothing logged for this step but its timing)", style="dim"))
    return Group(*parts)


def step_head(step: Step, *, marked: bool, note: str | None) -> Text:
    """What the step is, in two or three lines."""
    text = Text.assemble(
        (step.kind, "bold"),
        " ",
        (short(step.label, 80), "bold"),
    )
    if step.error:
        text.append("  ✗ error", style="bold red")
    if marked:
        text.append("  ◆ where it went wrong", style="bold yellow")
    facts = [duration(step.latency_ms)]
    if step.input_tokens is not None or step.output_tokens is not None:
        facts.append(f"{step.input_tokens or 0}→{step.output_tokens or 0} tok")
    facts += [cost(step.cost_usd), literal(step.model or ""), (step.timestamp or "")[11:23]]
    text.append("\n" + " · ".join(f for f in facts if f), style="dim")
    if note:
        text.append("\n✎ ", style="bold")
        text.append(short(note, 300), style="italic")
    return text


class StepHead(Widget):
    """The step's head, of a fixed height: a new step repaints it without a new layout of the
    screen (moving through a trace stays cheap)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = Text("")

    def render(self) -> Text:
        return self.text

    def show(self, text: Text) -> None:
        self.text = text
        self.refresh()


class StepView(Vertical):
    """The selected step's head, then its content in one scrolling body (one update a step)."""

    DEFAULT_CSS = """
    StepView > #step-head { height: 4; padding: 0 1; border-bottom: solid $primary-background; }
    StepView > #step-detail { height: 1fr; padding: 0 1; }
    StepView > #step-detail > Static { width: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unfolded = False
        self._shown: tuple[Step, dict[str, Any]] | None = None

    def compose(self) -> ComposeResult:
        yield StepHead(id="step-head")
        # the tree keeps the focus (its keys are the screen's); pgup/pgdn scroll this
        with VerticalScroll(id="step-detail", can_focus=False):
            yield Static("", id="step-body")

    def show_head(self, step: Step | None, *, marked: bool, note: str | None) -> None:
        head = self.query_one(StepHead)
        if step is None:
            head.show(Text("(this trace has no step)", style="dim"))
        else:
            head.show(step_head(step, marked=marked, note=note))

    def show_loading(self) -> None:
        self._shown = None
        self.query_one("#step-body", Static).update(Text("loading…", style="dim"))

    def show_content(self, step: Step, record: dict[str, Any]) -> None:
        """An LLM call as the review screen shows a call (its messages, then its output);
        any other step its inputs, outputs or documents, and error."""
        self._shown = (step, record)
        if step.kind == "llm":
            body: RenderableType = Group(
                render_input(record.get("messages") or [], unfolded=self.unfolded),
                render_output(record.get("output"), record.get("error")),
            )
        else:
            body = step_detail(record, unfolded=self.unfolded)
        self.query_one("#step-body", Static).update(body)
        self.query_one("#step-detail", VerticalScroll).scroll_home(animate=False)

    def toggle_fold(self) -> None:
        """Unfold long messages, inputs, outputs and documents (and fold them again)."""
        self.unfolded = not self.unfolded
        if self._shown is not None:
            self.show_content(*self._shown)

    def scroll_page(self, pages: int) -> None:
        """Scroll the content (the keys stay with the tree)."""
        detail = self.query_one("#step-detail", VerticalScroll)
        if pages > 0:
            detail.scroll_page_down(animate=False)
        else:
            detail.scroll_page_up(animate=False)
