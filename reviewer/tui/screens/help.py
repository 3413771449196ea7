"""`?`: every key of the screen below and of the app, made from the bindings themselves."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

EXTRA_HELP = {
    "ReviewScreen": [
        ("0-9", "give the focused rubric score that value (a category's options are numbered 1-9)"),
        ("↑ ↓ pgup pgdn home end", "scroll the conversation (an item opens at its last user turn)"),
    ],
    "TraceScreen": [
        ("0-9", "give the focused rubric score that value (a category's options are numbered 1-9)"),
        ("o", "unfold the step's long messages, inputs, outputs and documents (and fold them)"),
        ("✗ ◆ ✎", "in the tree: a step that failed, the step marked, a step with a note"),
        ("▾ ▸", "in the tree: a step's children shown, folded"),
    ],
    "PairScreen": [("", "which run is on which side is never shown, nor the win rate so far")],
    "ThemePicker": [("↑ ↓", "move")],
}


def offered(screen: Screen[object], binding: Binding) -> bool:
    """Whether `screen` offers the binding's action: a key the screen turns off (its
    `check_action` says False, as the pair screen does for pass and fail) is not listed."""
    namespace, action, parameters = parse(binding.action)
    if namespace:  # the app's or another node's action: not the screen's to turn off
        return True
    return screen.check_action(action, parameters) is not False


def key_display(binding: Binding) -> str:
    """The binding's keys as they are typed (`[`, `=`, `?`, `pgdn`), not their names."""
    return ", ".join(format_key(k.strip()) for k in binding.key.split(","))


def bindings_table(title: str, bindings: list[Binding], extra: list[tuple[str, str]]) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        show_header=False,
        padding=(0, 2),
    )
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    table.add_column(style="dim")
    seen: set[str] = set()
    for b in bindings:
        if b.id and b.id in seen:
            continue
        if b.id and b.id.startswith("review.score_"):
            continue  # one line for all digits, below
        seen.add(b.id or b.key)
        # the tooltip is the longer text when the footer shows a short description
        table.add_row(key_display(b), b.tooltip or b.description or b.action, b.id or "")
    for key, text in extra:
        table.add_row(key, text, "")
    return table


class HelpScreen(ModalScreen[None]):
    """The keys of the current screen and of the whole app."""

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "close", id="help.close")]

    def __init__(self, beneath: Screen[object]) -> None:
        super().__init__()
        self.beneath = beneath

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Label("Keys  (esc closes)", classes="section")
            name = type(self.beneath).__name__
            # a screen's keys and those it inherits (the trace screen has the review's too)
            classes = [
                c
                for c in reversed(type(self.beneath).__mro__)
                if c.__module__.startswith("reviewer.") and "BINDINGS" in c.__dict__
            ]
            screen_bindings = [
                b
                for c in classes
                for b in c.__dict__["BINDINGS"]
                if isinstance(b, Binding) and offered(self.beneath, b)
            ]
            extra = next(
                (EXTRA_HELP[c.__name__] for c in reversed(classes) if c.__name__ in EXTRA_HELP), []
            )
            yield Static(bindings_table(name.replace("Screen", ""), screen_bindings, extra))
            app_bindings = [b for b in type(self.app).BINDINGS if isinstance(b, Binding)]
            app_bindings.append(
                Binding("ctrl+p", "command_palette", "command palette", id="app.palette")
            )
            yield Static(bindings_table("Everywhere", app_bindings, []))
            yield Static(
                Text(
                    "Keys can be remapped: in .reviewer/config.yaml of the workspace write\n"
                    "  keymap:\n    review.pass: y\n    review.fail: x\n"
                    "using the ids in the right column.",
                    style="dim",
                )
            )
