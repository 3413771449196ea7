"""Insights per trace: how long agent runs are, what they cost, which tools fail, and at which
step reviewers say failing runs went wrong, over the same day or week buckets as the call
figures (`reviewer.insights.metrics`).

- Traces are read from the `traces` table (their totals), bucketed by the day they started. Only
  agent traces count: a trace with a step that is not an LLM call, or a trace id with more than
  one step. A chat session (calls sharing a session id, and nothing else) is not an agent run.
  A trace whose anchor was made here (generated inputs, eval outputs) is left out.
- Per bucket: traces, steps per trace (p50, p95, max), tokens per trace (input + output; p50,
  p95, total; a trace without any token count is left out of the percentiles), cost per trace
  (p50, p95, total), tool calls and tool errors, and the trace reviews (current complete reviews
  with a verdict in a `unit: trace` queue, or marking a step), the failing ones and the failing
  ones that marked a step.
- Tools: the tool steps (kind `tool`), by name, bucketed by their own timestamp: calls, errors,
  error rate.
- Marked steps: the current failing trace reviews that marked a step, counted by the marked
  step's kind and, for tool steps, by tool name; bucketed by the reviewed record's timestamp (as
  the themes are).

Everything is aggregated in SQL, one GROUP BY per (figure, day) that runs on SQLite and
PostgreSQL; a day's per-trace values are gathered as text so the percentiles are exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlmodel import SQLModel

from reviewer.insights.metrics import (
    NONE_KEY,
    _count_if,
    _current_verdicts,
    _day,
    _parse_values,
    _range_conds,
    _ratio,
    bucket_start_of,
)
from reviewer.measures import percentile
from reviewer.records import MADE_HERE_FORMATS
from reviewer.store.events import EVENTS, RECORDS
from reviewer.store.traces import SESSION_PREFIX

__all__ = [
    "MarkedRow",
    "ToolRow",
    "TraceBucket",
    "TraceFigures",
    "TraceInsights",
    "collect",
    "format_trace_lines",
]

TRACES: Table = SQLModel.metadata.tables["traces"]


@dataclass(slots=True)
class TraceBucket:
    """The trace figures of one period (or of the whole range, for `TraceInsights.totals`).
    Percentiles and costs are None when no trace of the period has the figure."""

    start: str
    traces: int = 0
    steps: int = 0  # all the steps of these traces
    steps_p50: float | None = None
    steps_p95: float | None = None
    steps_max: int | None = None
    tokens: int = 0  # input + output tokens of these traces
    tokens_p50: float | None = None
    tokens_p95: float | None = None
    cost_usd: float | None = None
    cost_p50: float | None = None
    cost_p95: float | None = None
    tool_calls: int = 0  # tool steps of the period (by their own timestamp)
    tool_errors: int = 0
    tool_error_rate: float | None = None
    reviews_n: int = 0  # current complete trace reviews with a verdict
    reviews_fail: int = 0
    marked: int = 0  # failing trace reviews that marked where it went wrong

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ToolRow:
    """One tool (by name) over the period: its calls, errors and error rate, and per bucket."""

    name: str
    calls: int
    errors: int
    error_rate: float | None
    calls_per_bucket: list[int]
    errors_per_bucket: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class MarkedRow:
    """Failing trace reviews whose marked step is of this kind (or this tool): in all, and per
    bucket."""

    key: str
    total: int
    per_bucket: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class TraceInsights:
    """The trace section of the insights (None there when the workspace has no agent trace and
    no trace review in the period: chat sessions alone say nothing)."""

    buckets: list[TraceBucket]
    totals: TraceBucket
    tools: list[ToolRow] = field(default_factory=list)
    marked_kinds: list[MarkedRow] = field(default_factory=list)
    marked_tools: list[MarkedRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "buckets": [b.to_dict() for b in self.buckets],
            "totals": self.totals.to_dict(),
            "tools": [t.to_dict() for t in self.tools],
            "marked_kinds": [m.to_dict() for m in self.marked_kinds],
            "marked_tools": [m.to_dict() for m in self.marked_tools],
        }


class _Acc:
    """Sums for one bucket of traces."""

    __slots__ = (
        "traces", "steps", "tokens", "costs", "tool_calls", "tool_errors", "reviews_n",
        "reviews_fail", "marked",
    )  # fmt: skip

    def __init__(self) -> None:
        self.traces = self.tool_calls = self.tool_errors = 0
        self.reviews_n = self.reviews_fail = self.marked = 0
        self.steps: list[float] = []
        self.tokens: list[float] = []
        self.costs: list[float] = []

    def add(self, other: _Acc) -> None:
        for name in ("traces", "tool_calls", "tool_errors", "reviews_n", "reviews_fail", "marked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.steps.extend(other.steps)
        self.tokens.extend(other.tokens)
        self.costs.extend(other.costs)

    def bucket(self, start: str) -> TraceBucket:
        steps, tokens, costs = sorted(self.steps), sorted(self.tokens), sorted(self.costs)
        return TraceBucket(
            start=start,
            traces=self.traces,
            steps=int(sum(steps)),
            steps_p50=percentile(steps, 50, presorted=True),
            steps_p95=percentile(steps, 95, presorted=True),
            steps_max=int(steps[-1]) if steps else None,
            tokens=int(sum(tokens)),
            tokens_p50=percentile(tokens, 50, presorted=True),
            tokens_p95=percentile(tokens, 95, presorted=True),
            cost_usd=sum(costs) if costs else None,
            cost_p50=percentile(costs, 50, presorted=True),
            cost_p95=percentile(costs, 95, presorted=True),
            tool_calls=self.tool_calls,
            tool_errors=self.tool_errors,
            tool_error_rate=_ratio(self.tool_errors, self.tool_calls),
            reviews_n=self.reviews_n,
            reviews_fail=self.reviews_fail,
            marked=self.marked,
        )


@dataclass(slots=True)
class TraceFigures:
    """What `collect` read, per day; `build` merges the days into the insights' buckets."""

    per_day: dict[str, _Acc] = field(default_factory=dict)
    tools: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (name, day)
    # (kind, name, day, failing reviews that marked such a step)
    marked: list[tuple[str, str | None, str, int]] = field(default_factory=list)
    agent_traces: int = 0

    def days(self) -> set[str]:
        return set(self.per_day) | {d for _, d in self.tools} | {m[2] for m in self.marked}

    def build(self, starts: list[str], bucket: str) -> TraceInsights | None:
        reviews = sum(acc.reviews_n for acc in self.per_day.values())
        if not self.agent_traces and not reviews:
            return None  # no agent run and no trace review: nothing to say
        index = {start: i for i, start in enumerate(starts)}
        accs = [_Acc() for _ in starts]

        def slot(day: str) -> int | None:
            return index.get(bucket_start_of(day, bucket))

        for day, acc in self.per_day.items():
            i = slot(day)
            if i is not None:
                accs[i].add(acc)
        calls: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
        errors: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
        for (name, day), (n, bad) in self.tools.items():
            i = slot(day)
            if i is None:
                continue
            calls[name][i] += n
            errors[name][i] += bad
            accs[i].tool_calls += n
            accs[i].tool_errors += bad
        kinds: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
        tools: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
        for kind, step_name, day, n in self.marked:
            i = slot(day)
            if i is None:
                continue
            kinds[kind][i] += n
            if kind == "tool":
                tools[step_name or NONE_KEY][i] += n
        total = _Acc()
        for acc in accs:
            total.add(acc)
        tool_rows = [
            ToolRow(
                name,
                sum(calls[name]),
                sum(errors[name]),
                _ratio(sum(errors[name]), sum(calls[name])),
                calls[name],
                errors[name],
            )
            for name in calls
        ]
        tool_rows.sort(key=lambda t: (-t.errors, -t.calls, t.name))
        return TraceInsights(
            buckets=[acc.bucket(start) for acc, start in zip(accs, starts, strict=True)],
            totals=total.bucket(starts[0] if starts else ""),
            tools=tool_rows,
            marked_kinds=_rows(kinds),
            marked_tools=_rows(tools),
        )


def _rows(counts: dict[str, list[int]]) -> list[MarkedRow]:
    rows = [MarkedRow(key, sum(per), per) for key, per in counts.items() if sum(per)]
    return sorted(rows, key=lambda r: (-r.total, r.key))


def _gather(conn: Connection, column: Any) -> Any:
    """An aggregate gathering a group's values as comma-separated text (NULLs left out)."""
    if conn.dialect.name == "postgresql":
        return func.string_agg(cast(column, Text), ",")
    return func.group_concat(column)


def agent_trace() -> Any:
    """A condition on `traces`: an agent run (a step that is not an LLM call, or a trace id
    with more than one step), not a chat session."""
    return or_(
        TRACES.c.steps > TRACES.c.llm_calls,
        and_(TRACES.c.steps > 1, not_(TRACES.c.key.startswith(SESSION_PREFIX))),
    )


def collect(
    conn: Connection,
    since: str | None,
    until: str | None,
    trace_queues: Collection[str] = (),
) -> TraceFigures:
    """Read the trace figures from `since` (inclusive) to `until` (exclusive), per day.
    `trace_queues` names the `unit: trace` queues (their reviews are trace reviews; a review
    marking a step is one wherever it is)."""
    out = TraceFigures()
    anchor = RECORDS.alias("anchor")
    started = TRACES.c.started
    day = func.substr(started, 1, 10)
    tin, tout = TRACES.c.input_tokens, TRACES.c.output_tokens
    tokens = case(
        (and_(tin.is_(None), tout.is_(None)), literal(None)),
        else_=func.coalesce(tin, 0) + func.coalesce(tout, 0),
    )
    conds: list[Any] = [
        started.is_not(None),
        anchor.c.source_format.not_in(MADE_HERE_FORMATS),
        agent_trace(),
    ]
    if since is not None:
        conds.append(started >= since)
    if until is not None:
        conds.append(started < until)
    query = (
        select(
            day.label("day"),
            func.count().label("n"),
            _gather(conn, TRACES.c.steps).label("steps"),
            _gather(conn, tokens).label("tokens"),
            _gather(conn, TRACES.c.cost_usd).label("costs"),
        )
        .select_from(TRACES.join(anchor, anchor.c.id == TRACES.c.anchor_id))
        .where(*conds)
        .group_by(day)
    )
    for row in conn.execute(query):
        acc = out.per_day.setdefault(str(row.day), _Acc())
        acc.traces = int(row.n)
        acc.steps = _parse_values(row.steps)
        acc.tokens = _parse_values(row.tokens)
        acc.costs = _parse_values(row.costs)
        out.agent_traces += acc.traces

    record_conds = _range_conds(since, until)
    rday = _day()
    name = func.coalesce(RECORDS.c.name, NONE_KEY)
    tools = (
        select(
            name.label("name"),
            rday.label("day"),
            func.count().label("n"),
            func.count(RECORDS.c.error).label("errors"),
        )
        .where(*record_conds, RECORDS.c.kind == "tool")
        .group_by(name, rday)
    )
    for row in conn.execute(tools):
        out.tools[(str(row.name), str(row.day))] = (int(row.n), int(row.errors or 0))

    e = EVENTS.alias("e")
    trace_review: ColumnElement[bool] = e.c.step_id.is_not(None)
    if trace_queues:
        trace_review = or_(trace_review, e.c.queue.in_(sorted(trace_queues)))
    failed = e.c.verdict == "fail"
    reviews = (
        select(
            rday.label("day"),
            func.count().label("n"),
            _count_if(failed).label("fail"),
            _count_if(and_(failed, e.c.step_id.is_not(None))).label("marked"),
        )
        .select_from(e.join(RECORDS, RECORDS.c.id == e.c.record_id))
        .where(*record_conds, *_current_verdicts(e), trace_review)
        .group_by(rday)
    )
    for row in conn.execute(reviews):
        acc = out.per_day.setdefault(str(row.day), _Acc())
        acc.reviews_n = int(row.n)
        acc.reviews_fail = int(row.fail or 0)
        acc.marked = int(row.marked or 0)

    s = RECORDS.alias("s")
    marked = (
        select(s.c.kind, s.c.name, rday.label("day"), func.count().label("n"))
        .select_from(e.join(RECORDS, RECORDS.c.id == e.c.record_id).join(s, s.c.id == e.c.step_id))
        .where(*record_conds, *_current_verdicts(e), failed, e.c.step_id.is_not(None))
        .group_by(s.c.kind, s.c.name, rday)
    )
    for row in conn.execute(marked):
        out.marked.append((str(row.kind or "llm"), row.name, str(row.day), int(row.n)))
    return out


# -- text -----------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def format_trace_lines(traces: TraceInsights) -> list[str]:
    """The trace section as text lines (what `reviewer stats` prints after the call figures)."""
    lines = ["traces (agent runs, by the day they started)"]
    header = (
        f"{'period':<10}  {'traces':>6}  {'steps p50':>9}  {'p95':>6}  {'max':>5}  "
        f"{'tokens p50':>10}  {'p95':>8}  {'total':>9}  {'cost p50':>9}  {'p95':>9}  "
        f"{'total':>9}  {'tool errors':>14}  {'failed':>9}  {'marked':>6}"
    )

    def row(label: str, b: TraceBucket) -> str:
        return (
            f"{label:<10}  {b.traces:>6}  {_num(b.steps_p50, 1):>9}  {_num(b.steps_p95, 1):>6}  "
            f"{_num(b.steps_max):>5}  {_num(b.tokens_p50):>10}  {_num(b.tokens_p95):>8}  "
            f"{b.tokens:>9}  {_usd(b.cost_p50):>9}  {_usd(b.cost_p95):>9}  "
            f"{_usd(b.cost_usd):>9}  "
            f"{f'{b.tool_errors}/{b.tool_calls} {_pct(b.tool_error_rate)}':>14}  "
            f"{f'{b.reviews_fail}/{b.reviews_n}':>9}  {b.marked:>6}"
        )

    lines.append(header)
    for b in traces.buckets:
        lines.append(row(b.start, b))
    lines.append(row("total", traces.totals))
    lines.append("")
    if traces.tools:
        width = max([len(t.name) for t in traces.tools] + [4])
        lines.append("tool error rate per tool")
        lines.append(f"  {'tool':<{width}}  {'calls':>6}  {'errors':>6}  {'rate':>5}")
        for t in traces.tools:
            lines.append(
                f"  {t.name:<{width}}  {t.calls:>6}  {t.errors:>6}  {_pct(t.error_rate):>5}"
            )
    else:
        lines.append("tools: no tool calls in the period")
    lines.append("")
    if traces.marked_kinds:
        lines.append("where failing traces went wrong (the marked step)")
        for label, rows in (("kind", traces.marked_kinds), ("tool", traces.marked_tools)):
            if rows:
                counts = ", ".join(f"{r.key} {r.total}" for r in rows)
                lines.append(f"  by {label}: {counts}")
    else:
        lines.append("marked steps: no failing trace review marked a step")
    return lines
