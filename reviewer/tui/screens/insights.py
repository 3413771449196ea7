"""Insights: what users and reviewers say, over time, with sparklines; a theme or a period opens
a review queue of exactly its records. With agent traces (or trace reviews), a trace section:
steps, tokens and cost per trace, tool error rate per tool, where failing traces went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from reviewer.tui.literal import literal
from reviewer.tui.widgets.tables import FitTable, Tail

if TYPE_CHECKING:
    from reviewer.review.queues import QueueDef
    from reviewer.tui.app import ReviewerApp

BARS = "▁▂▃▄▅▆▇█"
SPLITS = (None, "model", "prompt", "queue")


def spark(
    values: list[float | None], *, low: float | None = None, high: float | None = None
) -> str:
    """A sparkline: one bar a period, blank where there is no figure."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    lo = min(known) if low is None else low
    hi = max(known) if high is None else high
    span = (hi - lo) or 1.0
    return "".join(
        " " if v is None else BARS[min(len(BARS) - 1, int((v - lo) / span * (len(BARS) - 1) + 0.5))]
        for v in values
    )


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def ms(value: float | None) -> str:
    return (
        "—" if value is None else (f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms")
    )


class InsightsScreen(Screen[None]):
    """Satisfaction, verdicts, themes, latency, cost and errors per period, split as you choose."""

    BINDINGS = [
        Binding("escape,q", "back", "home", id="insights.back"),
        Binding("b", "bucket", "day/week", id="insights.bucket"),
        Binding("s", "split", "split by", id="insights.split"),
        Binding("enter", "open_queue", "queue of these records", id="insights.open"),
        Binding("g", "suggest", "suggested themes", id="insights.suggest"),
        Binding("tab", "app.focus_next", "next table", show=False, id="insights.next"),
    ]

    app: ReviewerApp

    @dataclass
    class Measured(Message):
        """The insights for the bucket and split asked for, computed off the event loop."""

        load: int  # which load (only the latest is shown)
        data: Any

    @dataclass
    class QueueMade(Message):
        """A queue of the chosen records was written and synced (None: there were no records)."""

        queue: QueueDef | None
        records: int

    def __init__(self) -> None:
        super().__init__()
        self._loads = 0
        self.bucket = "day"
        self.split: str | None = None
        self.data: Any = None
        self.series_index = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="review-header")
        with Vertical(id="insights-body"):
            yield Label("Series (sparklines: one bar a period)", classes="section")
            yield FitTable(flex={""}, id="insights-series", cursor_type="row")
            with Horizontal(id="insights-traces"):
                with Vertical(id="insights-traces-figures"):
                    yield Label("Per trace", id="insights-traces-title", classes="section")
                    yield FitTable(flex={"trend"}, id="insights-trace-figures", cursor_type="row")
                with Vertical():
                    yield Label("Tool error rate", classes="section")
                    yield FitTable(flex={"tool"}, id="insights-tools", cursor_type="row")
                with Vertical():
                    yield Label("Marked on failing traces", classes="section")
                    yield FitTable(flex={"step", "trend"}, id="insights-marked", cursor_type="row")
            with Horizontal(id="insights-lower"):
                with Vertical(id="insights-left"):
                    yield Label(
                        "Periods of the selected series — enter: a queue of its records",
                        classes="section",
                    )
                    yield DataTable(id="insights-periods", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="insights-right"):
                    with Vertical():
                        yield Label(
                            "Failure themes — enter: a queue of their records", classes="section"
                        )
                        yield FitTable(flex={"trend"}, id="insights-themes", cursor_type="row")
                    with Vertical():
                        yield Label(
                            "Coverage — reviewed, test cases, eval pass rate",
                            classes="section",
                        )
                        yield FitTable(
                            flex={"theme"}, minimum=10, id="insights-coverage", cursor_type="row"
                        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#insights-series", DataTable).add_columns(
            "series",
            "records",
            "satisfaction",
            "",
            "pass rate",
            "",
            "errors",
            "p95 latency",
            "",
            "cost",
        )
        self.query_one("#insights-periods", DataTable).add_columns(
            "period",
            "records",
            "satisfaction",
            "feedback",
            "reviews",
            "pass rate",
            "errors",
            "p50",
            "p95",
            "cost",
        )
        self.query_one("#insights-themes", DataTable).add_columns("theme", "reviews", "trend")
        self.query_one("#insights-trace-figures", DataTable).add_columns(
            "per trace", "p50", "p95", "all", "trend"
        )
        self.query_one("#insights-tools", DataTable).add_columns("tool", "calls", "errors")
        self.query_one("#insights-marked", DataTable).add_columns("step", "traces", "trend")
        self.query_one("#insights-traces").display = False
        self.query_one("#insights-coverage", DataTable).add_columns(
            "theme", "reviewed", "cases", "eval", ""
        )
        self.query_one("#insights-series", DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self._loads += 1
        self._load(self._loads, self.bucket, self.split)

    @work(thread=True, exclusive=True, group="insights", exit_on_error=False)
    def _load(self, load: int, bucket: str, split: str | None) -> None:
        from reviewer.insights.metrics import insights

        ctx = self.app.ctx
        trace_queues = [q.name for q in ctx.queues if q.unit == "trace"]
        data = insights(ctx.engine, bucket=bucket, by=split, trace_queues=trace_queues)
        self.post_message(self.Measured(load, data))

    @on(Measured)
    def _fill(self, message: Measured) -> None:
        if message.load != self._loads:
            return  # a later load is on its way
        data = message.data
        self.data = data
        split = self.split or "none"
        period = f"{data.buckets[0]} … {data.buckets[-1]}" if data.buckets else "no records"
        self.query_one("#review-header", Static).update(
            Text.assemble(
                ("Insights", "bold"),
                literal(f"  ·  by {self.bucket} (b)  ·  split by {split} (s)  ·  {period}"),
            )
        )
        series = self.query_one("#insights-series", DataTable)
        series.clear()
        for s in data.series:
            b = s.buckets
            t = s.totals
            series.add_row(
                Text(literal(s.key), style="bold"), str(t.records),
                pct(t.satisfaction), Tail(Text(spark([x.satisfaction for x in b], low=0, high=1), style="green")),
                pct(t.pass_rate), Tail(Text(spark([x.pass_rate for x in b], low=0, high=1), style="cyan")),
                Text(f"{t.errors} ({pct(t.error_rate)})", style="red" if t.errors else ""),
                ms(t.latency_p95), Tail(Text(spark([x.latency_p95 for x in b]), style="yellow")),
                f"${t.cost_usd:.2f}" if t.cost_usd is not None else "—",
            )  # fmt: skip
        if series.row_count:
            series.move_cursor(row=min(self.series_index, series.row_count - 1))
        themes = self.query_one("#insights-themes", DataTable)
        themes.clear()
        for theme in data.themes:
            themes.add_row(
                Text(literal(theme.theme)),
                str(theme.total),
                Tail(Text(spark([float(n) for n in theme.per_bucket], low=0), style="magenta")),
                key=theme.theme,
            )
        coverage = self.query_one("#insights-coverage", DataTable)
        coverage.clear()
        for row in data.coverage:
            coverage.add_row(
                Text(literal(row.theme)), str(row.reviewed), str(row.dataset_items), pct(row.eval_pass_rate),
                Text("gap: no case", style="bold red") if row.gap else Text(""),
            )  # fmt: skip
        self._fill_traces(data.traces)
        self._fill_periods()

    def _fill_traces(self, traces: Any) -> None:
        """The trace section, shown only when there are agent traces or trace reviews."""
        self.query_one("#insights-traces").display = traces is not None
        if traces is None:
            return
        b, t = traces.buckets, traces.totals

        def num(value: float | None, digits: int = 0) -> str:
            return "—" if value is None else f"{value:,.{digits}f}"

        def usd(value: float | None) -> str:
            return "—" if value is None else f"${value:.4f}"

        def trend(values: list[float | None], style: str) -> Tail:
            return Tail(Text(spark(values, low=0), style=style))

        figures = self.query_one("#insights-trace-figures", DataTable)
        figures.clear()
        runs = "run" if t.traces == 1 else "runs"
        self.query_one("#insights-traces-title", Label).update(
            f"Per trace: {t.traces} agent {runs} (trend per {self.bucket})"
        )
        figures.add_row("steps", num(t.steps_p50, 1), num(t.steps_p95, 1), f"max {num(t.steps_max)}",
                        trend([x.steps_p95 for x in b], "yellow"))  # fmt: skip
        figures.add_row("tokens", num(t.tokens_p50), num(t.tokens_p95), num(t.tokens),
                        trend([x.tokens_p95 for x in b], "yellow"))  # fmt: skip
        figures.add_row("cost", usd(t.cost_p50), usd(t.cost_p95), usd(t.cost_usd),
                        trend([x.cost_p95 for x in b], "yellow"))  # fmt: skip
        figures.add_row(
            "failed", "", "", f"{t.reviews_fail}/{t.reviews_n}",
            trend([float(x.reviews_fail) for x in b], "red"),
        )  # fmt: skip
        tools = self.query_one("#insights-tools", DataTable)
        tools.clear()
        for row in traces.tools:
            tools.add_row(
                Text(literal(row.name)), str(row.calls),
                Text(f"{row.errors} ({pct(row.error_rate)})", style="red" if row.errors else ""),
            )  # fmt: skip
        marked = self.query_one("#insights-marked", DataTable)
        marked.clear()
        rows = [(m.key, m) for m in traces.marked_kinds]
        rows += [(f"tool {m.key}", m) for m in traces.marked_tools]
        for label, m in rows:
            marked.add_row(
                Text(literal(label)), str(m.total),
                trend([float(n) for n in m.per_bucket], "magenta"),
            )  # fmt: skip

    def _fill_periods(self) -> None:
        periods = self.query_one("#insights-periods", DataTable)
        periods.clear()
        if self.data is None or not self.data.series:
            return
        s = self.data.series[min(self.series_index, len(self.data.series) - 1)]
        for b in s.buckets:
            bad = (b.satisfaction is not None and b.satisfaction < 0.5) or (
                b.pass_rate is not None and b.pass_rate < 0.5
            )
            periods.add_row(
                Text(literal(b.start), style="bold red" if bad else ""), str(b.records),
                pct(b.satisfaction), str(b.feedback_n), str(b.reviews_n), pct(b.pass_rate),
                str(b.errors), ms(b.latency_p50), ms(b.latency_p95),
                f"${b.cost_usd:.2f}" if b.cost_usd is not None else "—", key=b.start,
            )  # fmt: skip

    @on(DataTable.RowHighlighted, "#insights-series")
    def _series_moved(self, event: DataTable.RowHighlighted) -> None:
        self.series_index = event.cursor_row
        self._fill_periods()

    @on(DataTable.RowSelected, "#insights-themes")
    @on(DataTable.RowSelected, "#insights-periods")
    def _chosen(self) -> None:
        self.action_open_queue()

    def action_bucket(self) -> None:
        self.bucket = "week" if self.bucket == "day" else "day"
        self.reload()

    def action_split(self) -> None:
        self.split = SPLITS[(SPLITS.index(self.split) + 1) % len(SPLITS)]
        self.series_index = 0
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_suggest(self) -> None:
        from reviewer.tui.screens.suggestions import SuggestionsScreen

        def closed(_result: None) -> None:
            self.reload()  # accepted suggestions change the themes

        self.app.push_screen(SuggestionsScreen(), closed)

    def action_open_queue(self) -> None:
        """A queue of exactly the records behind the highlighted theme or period."""
        if self.data is None:
            return
        themes = self.query_one("#insights-themes", DataTable)
        periods = self.query_one("#insights-periods", DataTable)
        if themes.has_focus and themes.row_count:
            theme = str(themes.coordinate_to_cell_key(themes.cursor_coordinate).row_key.value)
            self._make_queue(f"theme {theme}", f"Calls reviewers tagged {theme}", {"theme": theme})
        elif periods.has_focus and periods.row_count:
            start = str(periods.coordinate_to_cell_key(periods.cursor_coordinate).row_key.value)
            s = self.data.series[min(self.series_index, len(self.data.series) - 1)]
            key = None if s.key == "all" else s.key
            label = f"{self.bucket} {start}" + (f" {s.key}" if key else "")
            self._make_queue(label, f"The calls of the {self.bucket} starting {start}" + (f" ({s.key})" if key else ""),
                             {"bucket_start": start, "bucket": self.bucket, "key": key, "by": self.split})  # fmt: skip
        else:
            self.notify(
                "highlight a theme or a period (tab moves between tables)",
                severity="warning",
                markup=False,
            )

    def _make_queue(self, name: str, description: str, selection: dict[str, Any]) -> None:
        template = next((q for q in self.app.ctx.queues if q.rubric), None)
        self._write_queue(name, description, selection, template)

    @work(thread=True, exclusive=True, group="insights-queue", exit_on_error=False)
    def _write_queue(
        self, name: str, description: str, selection: dict[str, Any], template: QueueDef | None
    ) -> None:
        from reviewer.insights.metrics import record_ids_for
        from reviewer.review.adhoc import queue_for_records
        from reviewer.review.sync import sync_queues

        ctx = self.app.ctx
        ids = record_ids_for(ctx.engine, **selection)
        if not ids:
            self.post_message(self.QueueMade(None, 0))
            return
        queue = queue_for_records(ctx.workspace, name, description, ids, template=template)
        sync_queues(ctx.engine, [queue])
        self.post_message(self.QueueMade(queue, len(ids)))

    @on(QueueMade)
    def _open(self, message: QueueMade) -> None:
        queue = message.queue
        if queue is None:
            self.notify("no records there", severity="warning", markup=False)
            return
        ctx = self.app.ctx
        ctx.queues = [q for q in ctx.queues if q.name != queue.name] + [queue]
        self.notify(
            f"queue {queue.name}: {message.records} records (queues/{queue.name}.yaml)",
            markup=False,
        )
        self.app.open_review(queue.name)
