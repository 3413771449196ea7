"""The Prompt Lab's "suggest a fix" (ctrl+n): a theme to target, then the optimizer's proposal.

`ThemePicker` asks which failing cases to give the optimizer: all of them, or only one theme's.
`ProposalScreen` shows the proposal as a diff over the editor's text (+ lines green, - lines
red), with the optimizer's rationale, the cases it was given and the cost; `a` accepts it (the
lab puts it in the editor, not saved), `r` or esc rejects it. The proposal is model text: every
line of it goes through `literal` before it reaches the screen.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from reviewer.tui.literal import literal

ALL = "\x00all"  # the picker's "all failing cases" (no theme can be spelled so)


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff's lines with their styles: + green, - red, @@ cyan, the rest dim."""
    styled = []
    for line in diff.splitlines():
        if line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = "dim"
        styled.append((line, style))
    return styled


def diff_text(diff: str, indent: str = "") -> Text:
    """A unified diff's lines, shown literally, one Text (a part of a longer one)."""
    text = Text()
    for line, style in _diff_lines(diff):
        text.append(literal(indent + line) + "\n", style=style)
    return text


class DiffView:
    """A unified diff shown literally, wrapped to the width it is given with each piece of a
    long line under its text and carrying the line's mark (`+`, `-`, or a space), so the end
    of an added line is never taken for a line of context, in colour or without."""

    def __init__(self, diff: str) -> None:
        self.lines = _diff_lines(diff)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = max(1, options.max_width - 1)
        for line, style in self.lines:
            mark, rest = (line[:1], line[1:]) if line[:1] in "+- " else (" ", line)
            for piece in Text(literal(rest), style=style).wrap(console, room) or [Text()]:
                yield Text.assemble((mark, style), piece)


class ThemePicker(ModalScreen[str | None]):
    """Which failing cases the optimizer gets: all (the first option) or one theme's."""

    DEFAULT_CSS = """
    ThemePicker { align: center middle; }
    """

    BINDINGS = [Binding("escape", "cancel", "cancel", id="suggest.cancel", priority=True)]

    def __init__(self, total: int, themes: list[tuple[str, int]]) -> None:
        super().__init__()
        self.total = total
        self.themes = themes

    def compose(self) -> ComposeResult:
        options = [Option(f"all failing cases ({self.total})", id=ALL)]
        options += [
            Option(literal(f"{theme} ({n})"), id=f"theme:{i}")
            for i, (theme, n) in enumerate(self.themes)
        ]
        with Vertical(classes="dialog ask"):
            yield Label(Text("Suggest a fix for…", style="bold"))
            yield OptionList(*options, id="suggest-themes")
            yield Static(Text("enter asks the optimizer · esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        chosen = event.option.id or ALL
        self.dismiss(ALL if chosen == ALL else self.themes[int(chosen.split(":", 1)[1])][0])

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProposalScreen(ModalScreen[bool]):
    """The optimizer's proposal: a accepts (into the editor, not saved), r or esc rejects."""

    DEFAULT_CSS = """
    ProposalScreen { align: center middle; }
    ProposalScreen #proposal-diff { height: auto; max-height: 32; }
    """

    BINDINGS = [
        Binding("a", "answer(True)", "accept into the editor", id="proposal.accept"),
        Binding("r,escape", "answer(False)", "reject", id="proposal.reject"),
    ]

    def __init__(self, proposal: Any, theme: str | None) -> None:
        super().__init__()
        self.proposal = proposal
        self.theme = theme

    def compose(self) -> ComposeResult:
        from reviewer.evals.compare import format_cost

        p = self.proposal
        cost = "cached, no cost" if p.cached else format_cost(p.cost_usd)
        target = f" with theme {self.theme}" if self.theme else ""
        head = f"Suggested fix by {p.model} · {len(p.cases)} failing case(s){target} · {cost}"
        with Vertical(classes="dialog proposal"):
            yield Label(Text(literal(head), style="bold"))
            yield Static(Text.assemble(("why: ", "bold"), literal(p.rationale)), id="proposal-why")
            if p.problem:
                yield Static(
                    Text(literal(f"not a usable prompt: {p.problem}"), style="bold red"),
                    id="proposal-problem",
                )
            cases = ", ".join(c.id for c in p.cases[:12]) + (" …" if len(p.cases) > 12 else "")
            yield Static(Text(literal(f"from cases: {cases}"), style="dim"))
            with VerticalScroll(id="proposal-diff"):
                body = DiffView(p.diff) if p.diff else Text("(no change proposed)", style="dim")
                yield Static(body, id="proposal-diff-text")
            yield Static(
                Text.assemble(
                    ("a", "bold cyan"),
                    " accept into the editor (not saved; ctrl+r shows what it fixes and breaks)\n",
                    ("r", "bold cyan"),
                    " / ",
                    ("esc", "bold cyan"),
                    " reject",
                )  # fmt: skip
            )

    def action_answer(self, accepted: bool) -> None:
        self.dismiss(accepted)
