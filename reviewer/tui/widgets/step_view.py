"""The selected step of a trace: what it was (kind, name, time, tokens, cost, error, the marks of
the review), then its content. An LLM call shows its messages and output as the review screen
does (`Conversation`); a tool, retriever, agent or other step its inputs and outputs as formatted
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
from textual.widgets import Static

from reviewer.review.traces import Step
from reviewer.tui.literal import literal, plain, short
from reviewer.tui.widgets.conversation import (
    Conversation,
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


class StepView(Vertical):
    """The selected step's head, then its content (a conversation, or the detail)."""

    DEFAULT_CSS = """
    StepView > #step-head { height: auto; max-height: 5; padding: 0 1;
                            border-bottom: solid $primary-background; }
    StepView > #step-conversation { height: 1fr; }
    StepView > #step-detail { height: 1fr; padding: 0 1; }
    StepView > #step-detail > Static { width: 1fr; }
    StepView > .hidden { display: none; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unfolded = False
        self._shown: tuple[Step, dict[str, Any]] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="step-head")
        conversation = Conversation(id="step-conversation", classes="hidden")
        conversation.can_focus = False  # the tree keeps the focus (its keys are the screen's)
        yield conversation
        with VerticalScroll(id="step-detail", can_focus=False):
            yield Static("", id="step-body")

    def show_head(self, step: Step | None, *, marked: bool, note: str | None) -> None:
        head = self.query_one("#step-head", Static)
        if step is None:
            head.update(Text("(this trace has no step)", style="dim"))
        else:
            head.update(step_head(step, marked=marked, note=note))

    def show_loading(self) -> None:
        self._shown = None
        self.query_one("#step-conversation").add_class("hidden")
        self.query_one("#step-detail").remove_class("hidden")
        self.query_one("#step-body", Static).update(Text("loading…", style="dim"))

    def show_content(self, step: Step, record: dict[str, Any]) -> None:
        self._shown = (step, record)
        conversation = self.query_one(Conversation)
        detail = self.query_one("#step-detail", VerticalScroll)
        if step.kind == "llm":
            detail.add_class("hidden")
            conversation.remove_class("hidden")
            conversation.unfolded = self.unfolded
            conversation.show(
                record.get("messages") or [], record.get("output"), record.get("error")
            )
        else:
            conversation.add_class("hidden")
            detail.remove_class("hidden")
            self.query_one("#step-body", Static).update(step_detail(record, unfolded=self.unfolded))
            detail.scroll_home(animate=False)

    def toggle_fold(self) -> None:
        """Unfold long messages, inputs, outputs and documents (and fold them again)."""
        self.unfolded = not self.unfolded
        if self._shown is not None:
            self.show_content(*self._shown)

    def scroll_page(self, pages: int) -> None:
        """Scroll the content (the keys stay with the tree)."""
        target = (
            self.query_one(Conversation)
            if not self.query_one(Conversation).has_class("hidden")
            else self.query_one("#step-detail", VerticalScroll)
        )
        if pages > 0:
            target.scroll_page_down(animate=False)
        else:
            target.scroll_page_up(animate=False)
