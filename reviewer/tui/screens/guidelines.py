"""`g` on the review screen: the queue's guidelines for reviewers (`queues/NAME.md`), over it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from reviewer.tui.literal import literal, markdown


class GuidelinesScreen(ModalScreen[None]):
    """The guidelines' Markdown, shown literally (markup and escapes in it are text)."""

    BINDINGS = [Binding("escape,q,g", "close", "close", id="guidelines.close")]

    def __init__(self, queue: str, text: str, source: str) -> None:
        super().__init__()
        self.queue = queue
        self.text = text
        self.source = source

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog guidelines", id="guidelines"):
            yield Label(
                Text.assemble(
                    (f"Guidelines — {literal(self.queue)}", "bold"),
                    (f"  {literal(self.source)} · esc closes", "dim"),
                ),
                classes="section",
            )
            yield Static(markdown(self.text, hyperlinks=False), id="guidelines-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#guidelines", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)  # (not a pop: the review screen's keys wait for this answer)
