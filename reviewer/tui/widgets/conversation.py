"""The conversation of a record: system, user, assistant and tool messages, then the output.

Rendered as one rich renderable in one Static (a single update per item keeps the next item
fast). Assistant text is Markdown; tool calls and results are formatted JSON; long messages
are folded until unfolded. Everything from the log goes through `literal`.
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from reviewer.tui.literal import literal, markdown, plain

FOLD_LINES = 14
SYSTEM_FOLD_LINES = 2

ROLE_STYLE = {
    "system": "bold magenta",
    "user": "bold cyan",
    "assistant": "bold green",
    "tool": "bold yellow",
}


def _json_block(text: str) -> RenderableType:
    """Arguments or a tool result: pretty JSON when it is JSON, else the text as it is."""
    try:
        value = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        return plain(text)
    if not isinstance(value, dict | list):
        return plain(text)
    return json_value(value)


def json_value(value: Any, *, fold: int | None = None) -> RenderableType:
    """A JSON value (a tool's inputs or outputs), indented and highlighted, shown literally;
    with `fold`, cut to that many lines and saying how many more there are."""
    if isinstance(value, str):
        return plain(value)
    try:
        pretty = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return plain(repr(value))
    hidden = 0
    if fold is not None:
        pretty, hidden = fold_text(pretty, fold, unfolded=False)
    block = Syntax(
        literal(pretty), "json", theme="ansi_dark", word_wrap=True, background_color="default"
    )
    if not hidden:
        return block
    return Group(block, Text(f"… folded, {hidden} more lines (o to unfold)", style="dim italic"))


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def fold_text(text: str, limit: int, unfolded: bool) -> tuple[str, int]:
    """The text to show and how many lines were hidden."""
    if unfolded:
        return text, 0
    lines = text.splitlines()
    if len(lines) <= limit and len(text) <= limit * 160:
        return text, 0
    shown = "\n".join(lines[:limit])[: limit * 160]
    return shown, max(len(lines) - limit, 1)


def render_message(
    message: dict[str, Any], *, unfolded: bool, is_output: bool = False
) -> RenderableType:
    role = str(message.get("role") or "?")
    content = str(message.get("content") or "")
    if role == "tool" and message.get("error") and content == str(message["error"]):
        content = ""  # the error line below says it
    parts: list[RenderableType] = []
    limit = SYSTEM_FOLD_LINES if role == "system" else FOLD_LINES
    shown, hidden = fold_text(content, limit, unfolded)
    if shown:
        if (
            role == "assistant"
            and not hidden
            and shown.lstrip()[:1] in ("{", "[")
            and _is_json(shown)
        ):
            parts.append(_json_block(shown))  # a JSON answer (an extraction endpoint): formatted
        elif role == "assistant":
            parts.append(markdown(shown, code_theme="ansi_dark", hyperlinks=False))
        elif role == "tool":
            parts.append(_json_block(shown) if not hidden else plain(shown))
        else:
            parts.append(plain(shown))
    if hidden:
        parts.append(Text(f"… folded, {hidden} more lines (o to unfold)", style="dim italic"))
    for part in message.get("parts") or ():
        kind = part.get("type", "part")
        if kind == "thinking":
            parts.append(plain("thinking: " + str(part.get("text") or ""), style="dim italic"))
        else:
            parts.append(
                plain(f"[{kind}] {part.get('url') or part.get('data') or ''}", style="dim")
            )
    for call in message.get("tool_calls") or ():
        head = Text.assemble(
            ("⚙ tool ", "bold yellow"), (literal(str(call.get("name") or "?")), "yellow")
        )
        parts.append(head)
        parts.append(_json_block(str(call.get("arguments") or "")))
    if role == "tool" and message.get("error"):
        # a failed tool run: its error, shown literally, before the result text (if any)
        parts.insert(0, plain("✗ tool error: " + str(message["error"]), style="bold red"))
    if role == "tool" and message.get("tool_call_id"):
        parts.insert(
            0, Text(f"↳ result of {literal(str(message['tool_call_id']))}", style="dim yellow")
        )
    if not parts:
        parts.append(Text("(empty)", style="dim"))
    label = Text("▌", style=ROLE_STYLE.get(role, "bold")) + Text(
        ("output" if is_output else literal(role))[:10], style=ROLE_STYLE.get(role, "bold")
    )
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=11, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(label, Group(*parts))
    return grid


def render_input(messages: list[dict[str, Any]], *, unfolded: bool) -> RenderableType:
    blocks: list[RenderableType] = []
    for message in messages:
        blocks.append(render_message(message, unfolded=unfolded))
        blocks.append(Text(""))
    return Group(*blocks)


def render_output(
    output: dict[str, Any] | None, error: str | None, label: str | None = None
) -> RenderableType:
    """The output under a rule saying what it is (`model output`, or `label`)."""
    if output is not None:
        return Group(
            Rule(Text(label or "model output", style="dim green"), style="dim green"),
            render_message(output, unfolded=True, is_output=True),
        )
    if error:
        return Group(
            Rule(Text("call failed", style="dim red"), style="dim red"), plain(error, style="red")
        )
    if label:
        return Text(f"(no {label}: e writes one)", style="dim")
    return Text("(no output logged)", style="dim")


class Conversation(VerticalScroll):
    """The scrolling conversation pane."""

    DEFAULT_CSS = """
    Conversation { padding: 0 1; }
    Conversation > Static { width: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unfolded = False
        self._last: tuple[list[dict[str, Any]], dict[str, Any] | None, str | None] = (
            [],
            None,
            None,
        )
        self._output_label: str | None = None
        self._to_last_turn = False

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="conversation-body")  # the conversation before the last user turn
        yield Static("", id="conversation-last")  # the last user turn and what followed it
        yield Static("", id="conversation-output")

    def show(
        self,
        messages: list[dict[str, Any]],
        output: dict[str, Any] | None,
        error: str | None = None,
        *,
        output_label: str | None = None,
    ) -> None:
        """Show a record. When it is taller than the pane, it opens at the last user turn, so
        the question being answered and the output being graded are in view together.
        `output_label` says what the output is when it is not the model's (a generated case's
        suggested expected answer)."""
        self._last = (messages, output, error)
        self._output_label = output_label
        self._update()
        self.scroll_home(animate=False)
        # The new text is laid out on a later refresh; until its size is known, the pane cannot
        # tell where the last turn is. So the move is tried after the next refresh and again when
        # the text's size is known.
        self._to_last_turn = True
        self.call_after_refresh(self._scroll_to_last_turn)

    def _scroll_to_last_turn(self) -> None:
        if self._to_last_turn and self.max_scroll_y > 0:
            last = self.query_one("#conversation-last", Static)
            self.scroll_to_widget(last, animate=False, top=True, immediate=True)

    def watch_virtual_size(self) -> None:
        # called when a layout gives the text its size (a Resize is sent only when the pane's
        # own region changes, not its content's)
        self.call_after_refresh(self._scroll_to_last_turn)

    def _update(self) -> None:
        messages, output, error = self._last
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        split = users[-1] if users else len(messages)
        self.query_one("#conversation-body", Static).update(
            render_input(messages[:split], unfolded=self.unfolded)
        )
        self.query_one("#conversation-last", Static).update(
            render_input(messages[split:], unfolded=self.unfolded)
        )
        self.query_one("#conversation-output", Static).update(
            render_output(output, error, self._output_label)
        )

    def toggle_fold(self) -> None:
        self._to_last_turn = False  # the reader unfolds to read what is above: stay there
        self.unfolded = not self.unfolded
        self._update()
