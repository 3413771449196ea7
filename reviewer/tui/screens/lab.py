"""Prompt Lab: the prompt on the left, the eval on the right, on one screen.

Edit the prompt (validated as you type; it opens at the system prompt, or at the line last
edited in this session; ctrl+f finds, ctrl+l goes to a line, alt+z turns soft wrap off so the
arrows move by logical line), pick the dataset and model, ctrl+r runs the eval in a worker (esc
cancels it; the focus stays where it was), the table compares each case with the baseline
(fixed ✗→✓, regressed ✓→✗; regraded first when the graders changed), Enter shows both outputs
side by side with the graders' reasons, ctrl+s saves the prompt as a new version (ctrl+g also
commits it to git), ctrl+h the history. Esc with unsaved edits asks: save, keep the draft for
later in this session, discard, or stay. Reopened, the lab shows the prompt's last run.

ctrl+t compares models × strategies: it asks for the models and the strategies (the prompt
file's by default), runs them all with progress (esc cancels) and shows one table: pass rate
(pass@1 when sampled) with its 95 % interval, p50/p95 latency, cost per 1,000 cases, the
Pareto front marked ★ (`reviewer.evals.choice`).

ctrl+n suggests a fix: the optimizer (`reviewer.evals.optimize`) reads the editor's text and the
failing cases of the last run (all of them, or one theme's, picked first) and proposes an edit,
shown as a diff with its rationale (`screens.proposal`); accepting puts it in the editor, unsaved.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Label, ProgressBar, Select, Static, TextArea
from textual.widgets.text_area import Selection

from reviewer.tui.literal import literal, plain, short
from reviewer.tui.screens.proposal import diff_text
from reviewer.tui.widgets.tables import FitTable

if TYPE_CHECKING:
    from reviewer.tui.app import ReviewerApp

CHANGE_STYLE = {
    "fixed": ("✗→✓ fixed", "bold green"),
    "regressed": ("✓→✗ regressed", "bold red"),
    "same-pass": ("✓ same", "green"),
    "same-fail": ("✗ same", "red"),
    "new": ("new", "cyan"),
    "error": ("error", "bold red"),
    "ungraded": ("ungraded", "dim"),
}


def _text_of(side: Any) -> str:
    """The text of a comparison side's output message."""
    if side is None or not side.output:
        return ""
    return str(side.output.get("content") or "")


def _mark(passed: bool | None) -> Text:
    if passed is None:
        return Text("·", style="dim")
    return Text("✓", style="green") if passed else Text("✗", style="red")


@dataclass
class LabSession:
    """What the Prompt Lab keeps of one prompt file for the rest of the app session."""

    draft: str | None = None  # the editor's text when it differs from the file (unsaved)
    cursor: tuple[int, int] | None = None  # where the last edit was
    soft_wrap: bool = True


_SYSTEM = re.compile(r"^(\s*)system\s*:\s*(.*)$")
_MESSAGES = re.compile(r"^\s*messages\s*:")


def prompt_start(text: str) -> tuple[int, int]:
    """Where the editor opens: the start of the system prompt's text (the line after `system: |`
    for a block), else the `messages:` line, else the top."""
    lines = text.split("\n")
    for row, line in enumerate(lines):
        found = _SYSTEM.match(line)
        if found is None:
            continue
        value = found.group(2)
        if value[:1] in ("|", ">") and row + 1 < len(lines):
            following = lines[row + 1]
            return row + 1, len(following) - len(following.lstrip())
        return row, len(line) - len(value)
    for row, line in enumerate(lines):
        if _MESSAGES.match(line):
            return row, 0
    return 0, 0


def find_next(
    text: str, needle: str, after: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The next match of `needle` (ignoring case) from `after` (row, column), from the top
    again past the end: its start and end locations, or None."""
    lines = text.split("\n")
    row, column = after
    start = sum(len(line) + 1 for line in lines[:row]) + column
    if not needle:
        return None
    pattern = re.compile(re.escape(needle), re.IGNORECASE)
    match = pattern.search(text, start) or pattern.search(text)
    if match is None:
        return None

    def location(index: int) -> tuple[int, int]:
        row = text.count("\n", 0, index)
        return row, index - (text.rfind("\n", 0, index) + 1)

    return location(match.start()), location(match.end())


class PromptLabScreen(Screen[None]):
    """Change the prompt, rerun the evals, see what got fixed and what regressed."""

    DEFAULT_CSS = """
    #lab-status { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    #lab-status.unsaved { color: $warning; text-style: bold; }
    #lab-find { display: none; }
    """

    BINDINGS = [
        Binding("ctrl+r", "run", "run eval", id="lab.run", priority=True),
        Binding("ctrl+s", "save", "save", tooltip="save version", id="lab.save", priority=True),
        Binding("ctrl+g", "save_commit", "commit", tooltip="save + git commit",
                id="lab.commit", priority=True),
        Binding("ctrl+h", "history", "history", id="lab.history", priority=True),
        Binding("escape", "escape", "back", tooltip="cancel run / back", id="lab.back",
                priority=True),
        Binding("ctrl+o", "focus_next_pane", "editor/results", id="lab.switch", priority=True),
        Binding("ctrl+f", "find", "find", tooltip="find (enter: next)", id="lab.find",
                priority=True),
        Binding("ctrl+l", "go_to_line", "go to line", id="lab.line", show=False, priority=True),
        Binding("alt+z", "toggle_wrap", "soft wrap on/off (off: ↑ ↓ by logical line)",
                id="lab.wrap", show=False, priority=True),
        Binding("enter", "open_case", "on a case: both outputs side by side, the reasons",
                id="lab.case", show=False),
        Binding("ctrl+t", "compare", "compare models × strategies (one table, the Pareto front)",
                id="lab.compare", show=False, priority=True),
        Binding("ctrl+b", "pairwise", "humans judge the run shown against its baseline run, "
                "blinded (a pairwise queue)", id="lab.pairwise", show=False, priority=True),
        Binding("ctrl+n", "suggest", "suggest a fix",
                tooltip="the optimizer proposes an edit from the last run's failing cases",
                id="lab.suggest", priority=True),
    ]  # fmt: skip

    app: ReviewerApp

    @dataclass
    class DatasetsListed(Message):
        """The datasets to choose from: (label, name)."""

        options: list[tuple[str, str]]

    @dataclass
    class EvalProgressed(Message):
        """How many cases of the running eval are done."""

        done: int
        total: int

    @dataclass
    class LastRunRead(Message):
        """The prompt's last run, compared with its baseline (read when the lab opens), and the
        hash of the editor's text then."""

        comparison: Any
        text_hash: str

    @dataclass
    class ChoiceRead(Message):
        """The models × strategies table of a comparison run, and its runs' flaky cases."""

        rows: list[Any]
        flaky: list[str]

    @dataclass
    class FailuresRead(Message):
        """The failing cases of the last run (for a suggested fix)."""

        cases: list[Any]

    @dataclass
    class Proposed(Message):
        """The optimizer's proposal (None with `problem` when none could be had)."""

        proposal: Any
        theme: str | None
        problem: str | None = None

    @dataclass
    class Saved(Message):
        """A version was saved: its text, what to tell the reviewer, whether to leave then."""

        text: str
        notice: str
        leave: bool

    def __init__(self, prompt_path: Path, dataset: str | None = None) -> None:
        super().__init__()
        self.prompt_path = prompt_path
        self.dataset = dataset
        self.comparison: Any = None
        #: the results shown are the last run of another text than the editor's (on opening)
        self._other_text_run = False
        self.run_ids: list[int] = []
        self._eval_worker: Any = None
        self._valid = True
        self._saved_text = ""
        self._datasets: list[str] = []
        self._find_mode: Literal["find", "line"] = "find"

    @property
    def session(self) -> LabSession:
        """This prompt file's state kept on the app for the session."""
        key = str(self.prompt_path.resolve())
        return self.app.ctx.lab.setdefault(key, LabSession())

    @property
    def unsaved(self) -> bool:
        return self.query_one("#lab-editor", TextArea).text != self._saved_text

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self._saved_text = literal(self.prompt_path.read_text(encoding="utf-8"))
        session = self.session
        yield Static(
            Text.assemble(
                ("Prompt Lab  ", "bold"), (literal(str(self.prompt_path.name)), "bold cyan")
            ),
            id="review-header",
        )
        with Horizontal(id="lab-body"):
            with Vertical(id="lab-left"):
                yield TextArea(
                    session.draft if session.draft is not None else self._saved_text,
                    id="lab-editor",
                    language="yaml",
                    show_line_numbers=True,
                    soft_wrap=session.soft_wrap,
                    tab_behavior="indent",
                )
                yield Input(id="lab-find")
                yield Static("", id="lab-status")
                yield Static("", id="lab-problems")
            with Vertical(id="lab-right"):
                with Horizontal(id="lab-controls"):
                    yield Select([], prompt="dataset", id="lab-dataset", allow_blank=True)
                    yield Input(placeholder="model (blank: the prompt's)", id="lab-model")
                yield ProgressBar(id="lab-progress", show_eta=False)
                yield Static(
                    Text(
                        "ctrl+r runs the eval · ctrl+t compares models × strategies"
                        " · ctrl+n suggests a fix",
                        style="dim",
                    ),
                    id="lab-summary",
                )
                yield FitTable(
                    flex={"case", "question"},
                    id="lab-results",
                    cursor_type="row",
                    zebra_stripes=True,
                )
                yield FitTable(
                    flex={"model", "strategy"},
                    id="lab-choice",
                    cursor_type="row",
                    zebra_stripes=True,
                )
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#lab-results", DataTable)
        table.add_columns("case", "question", "before", "after", "change", "latency", "cost")
        from reviewer.evals.choice import HEADER

        choice = self.query_one("#lab-choice", DataTable)
        choice.add_columns(*HEADER)
        choice.display = False
        self.query_one("#lab-progress", ProgressBar).display = False  # until a run starts
        self._load_datasets()
        prompt = self._validate()
        self._load_last_run(
            prompt.name if prompt is not None else self.prompt_path.stem,
            self.query_one("#lab-editor", TextArea).text,
        )
        editor = self.query_one("#lab-editor", TextArea)
        where = self.session.cursor or prompt_start(editor.text)
        editor.move_cursor(where)
        # centred once the editor has its size (before, there is nothing to scroll)
        self.call_after_refresh(editor.scroll_cursor_visible, center=True)
        self._show_status()
        editor.focus()

    @work(thread=True, exit_on_error=False)
    def _load_datasets(self) -> None:
        from reviewer.datasets.catalog import dataset_sizes

        names = [(literal(f"{n} ({size})"), n) for n, size in dataset_sizes(self.app.ctx.engine)]
        self.post_message(self.DatasetsListed(names))

    @on(DatasetsListed)
    def _set_datasets(self, message: DatasetsListed) -> None:
        options = message.options
        select = self.query_one("#lab-dataset", Select)
        select.set_options(options)
        self._datasets = [v for _label, v in options]
        if self.dataset in self._datasets:
            select.value = self.dataset
        elif self._datasets:
            select.value = self._datasets[0]

    @work(thread=True, exit_on_error=False, group="lab-last-run")
    def _load_last_run(self, name: str, text: str) -> None:
        """The last run of the text in the editor; else the prompt's last run (of another text:
        a draft discarded since, an earlier version), said so above the results."""
        from reviewer.evals.compare import compare, latest_run
        from reviewer.evals.prompts import prompt_hash

        engine = self.app.ctx.engine
        text_hash = prompt_hash(text)
        run_id = latest_run(engine, name, self.dataset, text_hash)
        if run_id is None:
            run_id = latest_run(engine, name, self.dataset)
        if run_id is not None:
            self.post_message(self.LastRunRead(compare(engine, run_id), text_hash))

    @on(LastRunRead)
    def _last_run_read(self, message: LastRunRead) -> None:
        from reviewer.evals.compare import format_summary

        if self.comparison is not None:  # a run of this visit came first
            return
        c = message.comparison
        self.comparison, self.run_ids = c, [c.run_id]
        if self.dataset is None:
            self.dataset = c.dataset
            if c.dataset in self._datasets:
                self.query_one("#lab-dataset", Select).value = c.dataset
        head = f"last run {c.run_id} on {c.dataset} v{c.dataset_version} ({c.model}):"
        self._other_text_run = bool(c.prompt_hash) and c.prompt_hash != message.text_hash
        if self._other_text_run:
            head = (
                f"last run {c.run_id} on {c.dataset} v{c.dataset_version} ({c.model}), of another"
                " text of this prompt (ctrl+r runs the one in the editor):"
            )
        shown = "\n".join([head, format_summary(c.summary), *_flaky_lines(c)])
        self.query_one("#lab-summary", Static).update(Text(literal(shown), style="bold"))
        self._fill_results()

    # -- editing: validated as you type -------------------------------------------------------------

    @on(TextArea.Changed, "#lab-editor")
    def _edited(self, event: TextArea.Changed) -> None:
        editor = event.text_area
        session = self.session
        session.draft = editor.text if editor.text != self._saved_text else None
        session.cursor = editor.cursor_location
        self._validate()
        self._show_status()

    def _show_status(self) -> None:
        status = self.query_one("#lab-status", Static)
        editor = self.query_one("#lab-editor", TextArea)
        wrap = "wrap on (alt+z)" if editor.soft_wrap else "wrap off: ↑ ↓ by logical line (alt+z)"
        if self.unsaved:
            status.update(f"● unsaved changes (ctrl+s saves) · {wrap}")
            status.add_class("unsaved")
        else:
            status.update(f"saved · {wrap}")
            status.remove_class("unsaved")

    def _validate(self) -> Any:
        from reviewer.evals.prompts import PromptError, parse_prompt

        text = self.query_one("#lab-editor", TextArea).text
        problems = self.query_one("#lab-problems", Static)
        try:
            prompt = parse_prompt(text, self._display_path())
        except PromptError as exc:
            self._valid = False
            problems.update(Text("✗ " + literal(str(exc)), style="bold red"))
            return None
        self._valid = True
        problems.update(
            Text(literal(f"✓ valid · {prompt.provider} · {prompt.model}"), style="green")
        )
        return prompt

    def _display_path(self) -> str:
        try:
            return str(self.prompt_path.relative_to(self.app.ctx.workspace))
        except ValueError:
            return str(self.prompt_path)

    def action_toggle_wrap(self) -> None:
        editor = self.query_one("#lab-editor", TextArea)
        editor.soft_wrap = self.session.soft_wrap = not editor.soft_wrap
        editor.scroll_cursor_visible()
        self._show_status()

    # -- find and go to line ------------------------------------------------------------------------

    def action_find(self) -> None:
        self._open_find("find", "find in the prompt: enter goes to the next match, esc closes")

    def action_go_to_line(self) -> None:
        self._open_find("line", "go to line: a number, enter")

    def _open_find(self, mode: Literal["find", "line"], placeholder: str) -> None:
        box = self.query_one("#lab-find", Input)
        if self._find_mode != mode:
            box.value = ""
        self._find_mode = mode
        box.placeholder = placeholder
        box.display = True
        box.focus()

    def _close_find(self) -> None:
        self.query_one("#lab-find", Input).display = False
        self.query_one("#lab-editor", TextArea).focus()

    @on(Input.Submitted, "#lab-find")
    def _find_submitted(self, event: Input.Submitted) -> None:
        editor = self.query_one("#lab-editor", TextArea)
        value = event.value.strip()
        if not value:
            return
        if self._find_mode == "line":
            if not value.isdigit():
                self.notify(f"not a line number: {value}", severity="warning", markup=False)
                return
            row = min(max(int(value), 1), editor.document.line_count) - 1
            editor.move_cursor((row, 0), center=True)
            self._close_find()
            return
        text = editor.text
        found = find_next(text, event.value, editor.selection.end)
        if found is None:
            self.notify(f"not found: {event.value}", severity="warning", markup=False)
            return
        editor.selection = Selection(*found)
        editor.scroll_cursor_visible(center=True)

    # -- running --------------------------------------------------------------------------------------

    def action_run(self) -> None:
        prompt = self._validate()
        if prompt is None:
            self.notify(
                "fix the prompt first (see below the editor)", severity="error", markup=False
            )
            return
        if prompt.kind == "judge":  # a judge runs against the reviewers' verdicts
            self._eval_worker = self.run_worker(
                self._run_judge(prompt), group="lab-run", exclusive=True, exit_on_error=False
            )
            return
        dataset = self.query_one("#lab-dataset", Select).value
        if not isinstance(dataset, str):
            self.notify(
                "no dataset: promote reviewed items first (d on the review screen)",
                severity="warning",
                markup=False,
            )
            return
        model = self.query_one("#lab-model", Input).value.strip() or None
        text = self.query_one("#lab-editor", TextArea).text
        self._eval_worker = self.run_worker(
            self._run(prompt, text, dataset, model),
            group="lab-run",
            exclusive=True,
            exit_on_error=False,
        )

    def _started(self, doing: str) -> None:
        """A run begins: what it does above the results, and its progress bar shown (hidden
        until the first run: with nothing to count, a bar only moves back and forth)."""
        self.query_one("#lab-summary", Static).update(Text(doing, style="bold"))
        bar = self.query_one("#lab-progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)

    async def _evaluate(
        self, resume: str, prompt: Any, text: str, dataset: str, **options: Any
    ) -> list[Any] | None:
        """`run_eval` with the progress bar following it: its outcomes, or None when it could
        not run (why is said above the results); cancelled, what was done is kept and the key
        `resume` carries on."""
        from reviewer.evals.runner import run_eval

        summary = self.query_one("#lab-summary", Static)

        def progress(done: int, total: int) -> None:  # from the loop or a thread: a message
            self.post_message(self.EvalProgressed(done, total))

        try:
            return await run_eval(
                self.app.ctx.engine, prompt, text, dataset, progress=progress,
                workspace=self.app.ctx.workspace, by=self.app.ctx.reviewer, **options,
            )  # fmt: skip
        except asyncio.CancelledError:
            summary.update(
                Text(f"cancelled: the results so far are kept; {resume} resumes", style="yellow")
            )
            raise
        except Exception as exc:  # a missing key, an unknown model: shown here, the app goes on
            summary.update(Text(literal(f"{exc.__class__.__name__}: {exc}"), style="bold red"))
            return None

    async def _run(self, prompt: Any, text: str, dataset: str, model: str | None) -> None:
        from reviewer.evals.compare import compare, format_summary

        self._started("running…")
        summary = self.query_one("#lab-summary", Static)
        outcomes = await self._evaluate(
            "ctrl+r", prompt, text, dataset, models=[model] if model else None
        )
        if outcomes is None:
            return
        self.run_ids = [o.run_id for o in outcomes]
        self.comparison = await asyncio.to_thread(compare, self.app.ctx.engine, self.run_ids[0])
        self._other_text_run = False
        lines = [format_summary(self.comparison.summary), *_flaky_lines(self.comparison)]
        if len(outcomes) > 1:
            from reviewer.evals.compare import compare_models, format_models

            lines += format_models(
                await asyncio.to_thread(compare_models, self.app.ctx.engine, self.run_ids)
            )
        summary.update(Text(literal("\n".join(lines)), style="bold"))
        self._fill_results()  # the focus stays where the reviewer put it (ctrl+o switches)

    async def _run_judge(self, judge: Any) -> None:
        """The judge in the editor on the items reviewers graded in the queue it assists: each
        case passes when it agrees with the human verdict, against its previous version."""
        from reviewer.evals.calibrate import judge_against_humans
        from reviewer.evals.compare import format_summary

        self._started("asking the judge about the reviewed items…")
        summary = self.query_one("#lab-summary", Static)

        def progress(done: int, total: int) -> None:
            self.post_message(self.EvalProgressed(done, total))

        try:
            self.comparison = await judge_against_humans(
                self.app.ctx.engine, self.app.ctx.workspace, judge, progress=progress
            )
            self._other_text_run = False
        except Exception as exc:  # no model, no queue (AssistError): said here
            summary.update(Text(literal(f"{exc}"), style="bold red"))
            return
        line = format_summary(self.comparison.summary).replace(
            "pass rate", "agreement with the reviewers", 1
        )
        summary.update(
            Text(literal(f"{line} · before/after: agrees with the human verdict"), style="bold")
        )
        self._fill_results()

    # -- models × strategies ------------------------------------------------------------------------

    def action_pairwise(self) -> None:
        from reviewer.tui.screens.pair import pairwise_from_lab

        pairwise_from_lab(self, self.comparison)

    def action_compare(self) -> None:
        prompt = self._validate()
        if prompt is None or prompt.kind == "judge":
            self.notify(
                "fix the prompt first (see below the editor)"
                if prompt is None
                else "a judge is compared with the reviewers: ctrl+r",
                severity="error" if prompt is None else "warning",
                markup=False,
            )
            return
        if not isinstance(self.query_one("#lab-dataset", Select).value, str):
            self.notify(
                "no dataset: promote reviewed items first (d on the review screen)",
                severity="warning",
                markup=False,
            )
            return
        from reviewer.evals.strategies import strategy_of

        model = self.query_one("#lab-model", Input).value.strip() or prompt.model or prompt.provider
        labels = list(dict.fromkeys(["single", strategy_of(prompt).label]))
        self.app.push_screen(CompareSetup(model, " ".join(labels)), self._compare_chosen)

    def _compare_chosen(self, chosen: tuple[list[str], list[Any]] | None) -> None:
        if chosen is None:
            return
        prompt = self._validate()
        dataset = self.query_one("#lab-dataset", Select).value
        if prompt is None or not isinstance(dataset, str):
            return
        models, strategies = chosen
        text = self.query_one("#lab-editor", TextArea).text
        self._eval_worker = self.run_worker(
            self._run_compare(prompt, text, dataset, models, strategies),
            group="lab-run",
            exclusive=True,
            exit_on_error=False,
        )

    async def _run_compare(
        self, prompt: Any, text: str, dataset: str, models: list[str], strategies: list[Any]
    ) -> None:
        from reviewer.evals.choice import choice_table, entries_of
        from reviewer.evals.compare import case_samples, compare

        self._started(f"comparing {len(models)} model(s) × {len(strategies)} strategies…")
        engine = self.app.ctx.engine
        outcomes = await self._evaluate(
            "ctrl+t", prompt, text, dataset, models=models, strategies=strategies
        )
        if outcomes is None:
            return
        self.run_ids = [o.run_id for o in outcomes]

        def read() -> tuple[list[Any], list[str]]:
            rows = choice_table(entries_of(engine, self.run_ids))
            flaky: list[str] = []
            for outcome in outcomes:
                for case in compare(engine, outcome.run_id).cases:
                    sampled = case_samples(case.item_id, case.new)
                    if sampled is not None and sampled.flaky:
                        flaky.append(
                            f"{outcome.model} · {outcome.summary.get('strategy')}: "
                            f"{case.item_id} {sampled.c}/{sampled.n}"
                        )
            return rows, flaky

        rows, flaky = await asyncio.to_thread(read)
        self.post_message(self.ChoiceRead(rows, flaky))

    @on(ChoiceRead)
    def _choice_read(self, message: ChoiceRead) -> None:
        from reviewer.evals.choice import table_cells

        table = self.query_one("#lab-choice", DataTable)
        table.clear()
        for i, row in enumerate(message.rows):
            cells = table_cells(row)
            table.add_row(
                *(Text(literal(c), style="bold green" if row.pareto else "") for c in cells),
                key=str(i),
            )
        self.query_one("#lab-results", DataTable).display = False
        table.display = True
        front = sum(1 for r in message.rows if r.pareto)
        lines = [
            f"{len(message.rows)} run{'s' if len(message.rows) != 1 else ''} · ★ {front} on the "
            "Pareto front (pass, p50 latency, cost per 1,000 cases) · 95% CI: Wilson"
        ]
        if message.flaky:
            lines.append("flaky: " + " · ".join(message.flaky))
        self.query_one("#lab-summary", Static).update(Text(literal("\n".join(lines)), style="bold"))

    @on(EvalProgressed)
    def _eval_progressed(self, message: EvalProgressed) -> None:
        self.query_one("#lab-progress", ProgressBar).update(
            total=message.total, progress=message.done
        )

    def _fill_results(self) -> None:
        table = self.query_one("#lab-results", DataTable)
        table.display = True
        self.query_one("#lab-choice", DataTable).display = False
        table.clear()
        if self.comparison is None:
            return
        for i, case in enumerate(self.comparison.cases):
            label, style = CHANGE_STYLE.get(case.change, (case.change, ""))
            new = case.new
            table.add_row(
                Text(literal(short(str(case.item_id).rsplit("/", 1)[-1], 14))),
                Text(literal(short(case.question, 34))),
                _mark(case.baseline.passed if case.baseline else None), _after(case),
                Text(label, style=style),
                f"{new.latency_ms / 1000:.1f} s" if new.latency_ms is not None else "—",
                f"${new.cost_usd:.4f}" if new.cost_usd is not None else "—",
                key=str(i),
            )  # fmt: skip

    @on(DataTable.RowSelected, "#lab-results")
    def _case(self, event: DataTable.RowSelected) -> None:
        if self.comparison is not None and event.row_key.value is not None:
            self.app.push_screen(CaseScreen(self.comparison.cases[int(str(event.row_key.value))]))

    def action_open_case(self) -> None:
        """The highlighted case (enter on the results table does the same)."""
        table = self.query_one("#lab-results", DataTable)
        if self.comparison is not None and table.row_count:
            self.app.push_screen(CaseScreen(self.comparison.cases[table.cursor_row]))

    def action_escape(self) -> None:
        if self.query_one("#lab-find", Input).display:
            self._close_find()
            return
        if self._eval_worker is not None and self._eval_worker.is_running:
            self._eval_worker.cancel()
            self.notify("eval cancelled", markup=False)
            return
        if self.unsaved:
            self.app.push_screen(LeaveLab(self.prompt_path.name), self._leave_answered)
            return
        self.app.pop_screen()

    def _leave_answered(self, answer: str | None) -> None:
        if answer == "save":
            self._save(commit=False, leave=True)
        elif answer == "keep":
            self.app.pop_screen()  # the draft stays in the session: reopening shows it
        elif answer == "discard":
            self.session.draft = None
            self.app.pop_screen()

    def action_focus_next_pane(self) -> None:
        editor = self.query_one("#lab-editor", TextArea)
        (self.query_one("#lab-results", DataTable) if editor.has_focus else editor).focus()

    # -- versions -------------------------------------------------------------------------------------

    def action_save(self) -> None:
        self._save(commit=False)

    def action_save_commit(self) -> None:
        self._save(commit=True)

    def _save(self, commit: bool, leave: bool = False) -> None:
        if self._validate() is None:
            self.notify("the prompt has errors: not saved", severity="error", markup=False)
            return
        text = self.query_one("#lab-editor", TextArea).text
        self.run_worker(
            self._save_worker(text, commit, leave), group="lab-save", exit_on_error=False
        )

    async def _save_worker(self, text: str, commit: bool, leave: bool) -> None:
        from reviewer.evals.versions import save_version

        ctx = self.app.ctx
        name = self.prompt_path.stem
        try:
            version = await asyncio.to_thread(
                save_version, ctx.engine, ctx.workspace, name, text, by=ctx.reviewer, commit=commit
            )
        except Exception as exc:  # git refused, the file cannot be written: say so
            self.notify(f"not saved: {exc}", severity="error", markup=False)
            return
        commit_id = version.git_commit
        if commit_id:
            extra = f", committed {commit_id[:8]}"
        else:
            extra = f" ({version.git_note})" if commit and version.git_note else ""
        notice = f"saved {name}: version {version.number} ({version.hash[:10]}){extra}"
        self.post_message(self.Saved(text, notice, leave))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self._saved_text = message.text
        session = self.session
        editor = self.query_one("#lab-editor", TextArea)
        session.draft = editor.text if editor.text != message.text else None
        self._show_status()
        self.notify(message.notice, markup=False)
        if message.leave and self.app.screen is self:
            self.app.pop_screen()

    def action_history(self) -> None:
        self.app.push_screen(HistoryScreen(self.prompt_path.stem))

    # -- a suggested fix ------------------------------------------------------------------------------

    def action_suggest(self) -> None:
        from reviewer.evals.optimize import OptimizeError, optimizer_of

        prompt = self._validate()
        if prompt is None or prompt.kind == "judge":
            self.notify(
                "fix the prompt first (see below the editor)"
                if prompt is None
                else "a judge is calibrated against the reviewers, not fixed here",
                severity="warning",
                markup=False,
            )
            return
        run_id = getattr(self.comparison, "run_id", None)
        if run_id is None:
            self.notify(
                "run the eval first (ctrl+r): a fix is proposed from the last run's failing cases",
                severity="warning",
                markup=False,
            )
            return
        if self._other_text_run:  # its failures are not the editor text's
            self.notify(
                "the run shown is of another text of this prompt: ctrl+r runs the one in the"
                " editor, then ctrl+n proposes a fix from its failing cases",
                severity="warning",
                markup=False,
            )
            return
        try:
            optimizer_of(prompt)
        except OptimizeError as exc:
            self.notify(literal(str(exc)), severity="warning", markup=False)
            return
        self._read_failures(int(run_id))

    @work(thread=True, exit_on_error=False, group="lab-suggest")
    def _read_failures(self, run_id: int) -> None:
        from reviewer.evals.optimize import failing_cases

        self.post_message(self.FailuresRead(failing_cases(self.app.ctx.engine, run_id)))

    @on(FailuresRead)
    def _failures_read(self, message: FailuresRead) -> None:
        from reviewer.evals.optimize import themes_of

        cases = message.cases
        if not cases:
            self.notify("no failing cases in the last run: nothing to fix", markup=False)
            return
        themes = themes_of(cases)
        if not themes:
            self._ask(cases, None)
            return
        from reviewer.tui.screens.proposal import ALL, ThemePicker

        counts = [(t, sum(1 for c in cases if t in c.themes)) for t in themes]

        def chosen(theme: str | None) -> None:
            if theme is not None:
                self._ask(cases, None if theme == ALL else theme)

        self.app.push_screen(ThemePicker(len(cases), counts), chosen)

    def _ask(self, cases: list[Any], theme: str | None) -> None:
        text = self.query_one("#lab-editor", TextArea).text
        self.notify("asking the optimizer for a fix…", markup=False)
        self._propose(text, cases, theme)

    @work(thread=True, exit_on_error=False, group="lab-suggest")
    def _propose(self, text: str, cases: list[Any], theme: str | None) -> None:
        from reviewer.evals.optimize import OptimizeError, propose

        ctx = self.app.ctx
        try:
            proposal = asyncio.run(propose(ctx.engine, ctx.workspace, text, cases, theme=theme))
        except OptimizeError as exc:
            self.post_message(self.Proposed(None, theme, str(exc)))
            return
        self.post_message(self.Proposed(proposal, theme))

    @on(Proposed)
    def _proposed(self, message: Proposed) -> None:
        from reviewer.evals.compare import format_cost
        from reviewer.tui.screens.proposal import ProposalScreen

        proposal = message.proposal
        if proposal is None:
            self.notify(literal(message.problem or "no proposal"), severity="warning", markup=False)
            return
        cost = "from the cache" if proposal.cached else f"cost {format_cost(proposal.cost_usd)}"
        self.notify(f"fix suggested ({cost})", markup=False)

        def answered(accepted: bool | None) -> None:
            if accepted:
                editor = self.query_one("#lab-editor", TextArea)
                before, after = editor.text.split("\n"), literal(proposal.prompt).split("\n")
                row = next(
                    (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                    min(len(before), len(after)) - 1,
                )
                editor.load_text("\n".join(after))
                editor.move_cursor((max(row, 0), 0), center=True)  # at the first changed line
                self.notify(
                    "the fix is in the editor, not saved: ctrl+r shows what it fixes and breaks",
                    markup=False,
                )

        self.app.push_screen(ProposalScreen(proposal, message.theme), answered)


def _after(case: Any) -> Text:
    """The new side's mark, with how many samples passed for a sampled case (`✓ 3/5`)."""
    from reviewer.evals.compare import case_samples

    mark = _mark(case.new.passed)
    sampled = case_samples(case.item_id, case.new)
    if sampled is not None:
        mark.append(f" {sampled.c}/{sampled.n}", style="yellow" if sampled.flaky else "dim")
    return mark


def _flaky_lines(comparison: Any) -> list[str]:
    """`flaky: ID 3/5 · ID 2/5` for a sampled run with flaky cases ([] otherwise)."""
    from reviewer.evals.compare import case_samples

    found = [case_samples(c.item_id, c.new) for c in comparison.cases]
    flaky = [f"{s.item_id} {s.c}/{s.n}" for s in found if s is not None and s.flaky]
    return ["flaky: " + " · ".join(flaky)] if flaky else []


class CompareSetup(ModalScreen[tuple[list[str], list[Any]] | None]):
    """ctrl+t in the lab: the models and the strategies to compare (enter runs, esc cancels).
    Both are lists separated by spaces (or commas, for models)."""

    DEFAULT_CSS = """
    CompareSetup { align: center middle; }
    CompareSetup > .dialog { width: 96; max-width: 100%; }
    CompareSetup #compare-problem { color: $error; height: auto; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "cancel", id="compare.cancel", priority=True),
    ]

    def __init__(self, models: str, strategies: str) -> None:
        super().__init__()
        self.models = models
        self.strategies = strategies

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Compare models × strategies", style="bold"))
            yield Static(
                Text(
                    "models: names, provider:name for another provider\n"
                    "strategies: single samples=N self-critique[=MODEL] best-of=N[@JUDGE] "
                    "ensemble=A,B[@JUDGE], joined with + (best-of=3+samples=5)",
                    style="dim",
                )
            )
            yield Label("models")
            yield Input(
                literal(self.models), placeholder="models", id="compare-models",
                select_on_focus=False,
            )  # fmt: skip
            yield Label("strategies")
            yield Input(
                literal(self.strategies), placeholder="strategies", id="compare-strategies",
                select_on_focus=False,
            )  # fmt: skip
            yield Static("", id="compare-problem")
            yield Static(Text("enter runs · tab moves · esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#compare-models", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        from reviewer.evals.strategies import StrategyError, parse_strategy

        models = self.query_one("#compare-models", Input).value.replace(",", " ").split()
        spelled = self.query_one("#compare-strategies", Input).value.split()
        problem = self.query_one("#compare-problem", Static)
        if not models or not spelled:
            problem.update("give at least one model and one strategy")
            return
        try:
            strategies = list(dict.fromkeys(parse_strategy(s) for s in spelled))
        except StrategyError as exc:
            problem.update(Text(literal(str(exc))))
            return
        self.dismiss((list(dict.fromkeys(models)), strategies))

    def action_cancel(self) -> None:
        self.dismiss(None)


class LeaveLab(ModalScreen[str]):
    """Esc on unsaved edits: save, keep the draft for later in this session, discard, or stay."""

    DEFAULT_CSS = """
    LeaveLab { align: center middle; }
    """

    BINDINGS = [
        Binding("s", "answer('save')", "save a version and leave", id="leave.save"),
        Binding("k", "answer('keep')", "leave, keep the draft for this session", id="leave.keep"),
        Binding("d", "answer('discard')", "discard the edits and leave", id="leave.discard"),
        Binding("escape", "answer('stay')", "stay", id="leave.stay"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.prompt_name = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                Text.assemble(
                    (literal(self.prompt_name), "bold cyan"), " has unsaved changes", style="bold"
                )
            )
            yield Static(
                Text.assemble(
                    ("s", "bold cyan"),
                    "    save a version and leave\n",
                    ("k", "bold cyan"),
                    "    leave, keep the draft (back when the lab reopens)\n",
                    ("d", "bold cyan"),
                    "    discard the edits and leave\n",
                    ("esc", "bold cyan"),
                    "  stay",
                )  # fmt: skip
            )

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)


class CaseScreen(ModalScreen[None]):
    """One case: the baseline and the new output side by side, the diff and the graders' reasons."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "close", id="case.close")]

    def __init__(self, case: Any) -> None:
        super().__init__()
        self.case = case

    def compose(self) -> ComposeResult:
        from reviewer.evals.compare import diff_words

        case = self.case
        before, after = case.baseline, case.new
        label, style = CHANGE_STYLE.get(case.change, (case.change, ""))
        with Vertical(classes="dialog case"):
            yield Label(
                Text.assemble(
                    ("case ", "bold"),
                    literal(str(case.item_id)),
                    "  ",
                    (label, style),
                    ("   (esc closes)", "dim"),
                )
            )
            yield Static(plain(short(case.question, 400), style="italic"))
            with Horizontal(classes="case-sides"):
                with VerticalScroll():
                    yield Label(
                        Text.assemble(("before ", "bold"), _mark(before.passed if before else None))
                    )
                    yield Static(
                        plain(_text_of(before) or (before.error if before else None) or "—")
                    )
                    yield Static(_reasons(before.grades if before else None))
                with VerticalScroll():
                    yield Label(Text.assemble(("after ", "bold"), _mark(after.passed)))
                    diff = Text()
                    for op, piece in diff_words(_text_of(before), _text_of(after)):
                        if op != "delete":
                            diff.append(
                                literal(piece), style="black on green" if op == "insert" else ""
                            )
                    yield Static(
                        diff if _text_of(after) else plain(after.error or "—", style="red")
                    )
                    yield Static(_reasons(after.grades))


def _reasons(grades: list[dict[str, Any]] | None) -> Text:
    text = Text()
    for g in grades or []:
        passed = g.get("passed")
        text.append("✓ " if passed else "✗ ", style="green" if passed else "red")
        text.append(literal(f"{g.get('grader')}: {g.get('reason') or ''}") + "\n", style="dim")
    return text


class HistoryScreen(ModalScreen[None]):
    """The prompt's versions with their diffs and eval results, newest first."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "close", id="history.close")]

    app: ReviewerApp

    @dataclass
    class Read(Message):
        """The history, read off the event loop."""

        text: Text

    def __init__(self, name: str) -> None:
        super().__init__()
        self.prompt_name = name

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Label(
                Text(f"History of {literal(self.prompt_name)}  (esc closes)"), classes="section"
            )
            yield Static("loading…", id="history-body")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        from reviewer.evals.versions import ensure_current, history

        ctx = self.app.ctx
        ensure_current(ctx.engine, ctx.workspace, self.prompt_name)
        text = Text()
        for entry in history(ctx.engine, self.prompt_name):
            text.append(
                literal(
                    f"version {entry.number}  {entry.hash[:10]}  {entry.created_at[:16]}  {entry.by or ''}"
                ),
                style="bold",
            )
            if entry.git_commit:
                text.append(f"  git {entry.git_commit[:8]}", style="cyan")
            text.append("\n")
            for run in entry.runs:
                rate = run["pass_rate"]
                shown = f"{rate:.0%}" if rate is not None else "not graded"
                line = f"  eval on {run['dataset']} v{run.get('dataset_version', '?')}: pass rate {shown} ({run.get('model', '')})"
                text.append(literal(line) + "\n", style="green")
            text.append_text(diff_text("\n".join((entry.diff or "").splitlines()[2:]), "  "))
            text.append("\n")
        self.post_message(self.Read(text if text.plain else Text("no version yet", style="dim")))

    @on(Read)
    def _read(self, message: Read) -> None:
        self.query_one("#history-body", Static).update(message.text)
