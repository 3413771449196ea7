"""`G`: generate test cases like a case (from the review screen or the datasets screen).

A small dialog asks how many, which kinds and which model, then runs the generation in a worker
with a progress bar (esc cancels it: the answers so far are cached, a new run resumes). When it
ends it says how many cases were made, how many duplicates were dropped and what it cost, and
enter opens the triage queue, where each case is kept (`d`) or dropped (`x`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from reviewer.tui.literal import literal

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reviewer.evals.generate import GenerateReport, Parent
    from reviewer.tui.app import ReviewerApp

#: How many cases the dialog offers to write.
DEFAULT_N = 10


def report_text(report: GenerateReport) -> str:
    """`8 new cases · 2 duplicates dropped (...) · $0.0004 · 2 requests (0 from the cache)`."""
    from reviewer.evals.compare import format_cost

    return (
        f"{report.summary()} · {format_cost(report.cost_usd)} · {report.requests} request"
        f"{'s' if report.requests != 1 else ''} ({report.cached} from the cache)"
    )


class GenerateDialog(ModalScreen[str | None]):
    """How many cases, which kinds, which model; then the generation. Answers the triage
    queue's name when the reviewer opens it (enter after the run), else None."""

    BINDINGS = [Binding("escape", "close", "close (cancels a run)", id="generate.close")]

    app: ReviewerApp

    @dataclass
    class Progressed(Message):
        """Requests answered so far, of `total`."""

        done: int
        total: int

    @dataclass
    class Finished(Message):
        """The run ended: its report, and the queue files read again (the triage queue's may
        be new)."""

        report: Any
        queues: list[Any]
        queue_errors: list[str]

    @dataclass
    class Failed(Message):
        """The run could not go on (no model configured, an unknown item...): why."""

        text: str

    def __init__(
        self, dataset: str, source: str, parents: Callable[[Engine], list[Parent]]
    ) -> None:
        super().__init__()
        self.dataset = dataset
        self.source = source
        self.parents = parents
        self.state = "idle"  # idle | running | done
        self.report: GenerateReport | None = None

    def compose(self) -> ComposeResult:
        from reviewer.evals.generate import KINDS, generator_model

        provider, model = generator_model(None)
        with Vertical(classes="dialog generate"):
            yield Label(
                Text.assemble(
                    ("Generate test cases like ", "bold"),
                    (literal(self.source), "bold cyan"),
                    (" for ", "bold"),
                    (literal(self.dataset), "bold cyan"),
                )
            )
            with Horizontal(classes="generate-row"):
                yield Label("how many", classes="generate-label")
                yield Input(str(DEFAULT_N), id="generate-n", type="integer")
            with Horizontal(classes="generate-row"):
                yield Label("kinds", classes="generate-label")
                yield Input(", ".join(KINDS), id="generate-kinds")
            with Horizontal(classes="generate-row"):
                yield Label("model", classes="generate-label")
                yield Input(placeholder=f"{provider}:{model} (blank)", id="generate-model")
            yield Static(
                Text(
                    "enter starts · tab moves · esc closes · the cases go to a triage queue "
                    "where d keeps and x drops each",
                    style="dim",
                ),
                id="generate-help",
            )
            yield ProgressBar(id="generate-progress", show_eta=False, classes="hidden")
            yield Static("", id="generate-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#generate-n", Input).focus()

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#generate-status", Static).update(Text(literal(text), style=style))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self.state == "running":
            return
        if self.state == "done" and self.report is not None:
            self.dismiss(self.report.queue if self.report.made or self.report.already else None)
            return
        self._start()

    def _start(self) -> None:
        from reviewer.evals.generate import GenerateError, check_request, parse_kinds

        raw_n = self.query_one("#generate-n", Input).value.strip()
        try:
            n = int(raw_n)
            kinds = parse_kinds(self.query_one("#generate-kinds", Input).value)
            check_request(n, kinds)
        except ValueError:
            self._status(f"how many: a whole number, not {raw_n!r}", "bold red")
            return
        except GenerateError as exc:
            self._status(str(exc), "bold red")
            return
        model = self.query_one("#generate-model", Input).value.strip() or None
        self.state = "running"
        bar = self.query_one(ProgressBar)
        bar.remove_class("hidden")
        bar.update(total=None, progress=0)
        self._status(f"generating {n} cases…")
        self.generate(n, kinds, model)

    @work(group="generate", exclusive=True, exit_on_error=False)
    async def generate(self, n: int, kinds: list[str], model: str | None) -> None:
        """The generation (its database work in threads); what it did travels in a message."""
        from reviewer.evals.generate import GenerateError, generate_cases
        from reviewer.evals.providers import ProviderError
        from reviewer.review.queues import load_queues

        ctx = self.app.ctx

        def progressed(done: int, total: int) -> None:
            self.post_message(self.Progressed(done, total))

        try:
            parents = await asyncio.to_thread(self.parents, ctx.engine)
            report = await generate_cases(
                ctx.engine, ctx.workspace, self.dataset, parents,
                n=n, kinds=kinds, model=model, progress=progressed,
            )  # fmt: skip
            queues, errors = await asyncio.to_thread(load_queues, ctx.workspace)
        except (GenerateError, ProviderError) as exc:
            self.post_message(self.Failed(str(exc)))
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database error, say: shown, never a trace
            from reviewer.tui.screens.review import why

            self.post_message(self.Failed(f"generation failed: {why(exc)}"))
            return
        self.post_message(self.Finished(report, queues, errors))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)
        self._status(f"{message.done} of {message.total} requests answered…")

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        report: GenerateReport = message.report
        self.state, self.report = "done", report
        ctx = self.app.ctx
        ctx.queues, ctx.queue_errors = message.queues, message.queue_errors
        self.app.queues_changed()
        bar = self.query_one(ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        lines = Text(literal(report_text(report)), style="bold green")
        if report.made or report.already:
            lines.append(
                f"\nenter opens the queue {literal(report.queue)} (d keeps, x drops) · esc closes",
                style="bold",
            )
        else:
            lines.append("\nnothing new to review · enter or esc closes", style="bold")
        for error in report.errors[:3]:
            lines.append("\n" + literal(error), style="yellow")
        self.query_one("#generate-status", Static).update(lines)
        self.app.notify(
            report_text(report) + f" · queue {report.queue}",
            title=f"generated for {report.dataset}",
            severity="warning" if report.errors else "information",
            timeout=8,
        )

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.state = "idle"
        self.query_one(ProgressBar).update(total=100, progress=0)
        self._status(message.text + "\n(enter tries again)", "bold red")
        self.app.notify(message.text, title="cannot generate", severity="error", timeout=10)

    def action_close(self) -> None:
        if self.state == "running":
            self.workers.cancel_group(self, "generate")
            self.state = "idle"
            self._status(
                "cancelled: the answers so far are cached, a new run resumes (esc closes)",
                "bold yellow",
            )
            return
        self.dismiss(None)
