"""Insights: what users and reviewers say about the logged calls, over time.

`insights()` computes, over day or week buckets and optionally split by model, prompt version
or queue:

- user satisfaction from the logged feedback (a score of 0.5 or more is positive), with its
  count, and the reviewers' verdicts (current complete reviews: pass or fail), with theirs;
- records (LLM calls: the other steps of agent traces are counted per trace), errors and the
  error rate, latency p50/p95 (linear interpolation between ranks, as eval summaries compute
  them), tokens and cost;
- the failure themes of the current reviews, per bucket (by the reviewed record's timestamp);
- theme coverage: per theme, the current reviews carrying it, the dataset items carrying it and
  the pass rate of the latest finished eval run of each dataset on those items; a theme with
  reviews and no dataset item is a gap;
- per agent trace, over the same periods (`reviewer.insights.traces`): steps, tokens and cost
  per trace, tool error rate per tool, the kinds of step where failing traces went wrong.

Records are bucketed by their timestamp (fixed-width UTC text, so a day is its first ten
characters); records without a timestamp are left out. Weeks start on Monday. The figures are
aggregated in SQL, one GROUP BY per (series, day), with the day's latencies gathered as text so
the percentiles are exact without a second scan; days are merged into weeks in Python.

`record_ids_for()` gives exactly the records behind a theme or a bucket, for a review queue.

Everything returned is made of dataclasses whose `to_dict()` is JSON-ready.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson
from sqlalchemy import (
    Case,
    ColumnElement,
    Connection,
    Engine,
    Table,
    Text,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlmodel import SQLModel

from reviewer.measures import percentile
from reviewer.records import MADE_HERE_FORMATS, TIMESTAMP_FORMAT
from reviewer.store import schema  # noqa: F401  (registers the tables)
from reviewer.store.events import (
    EVENTS,
    QUEUE_ITEMS,
    RECORDS,
    is_latest,
)

if TYPE_CHECKING:
    from reviewer.insights.traces import TraceInsights

__all__ = [
    "BUCKETS",
    "SPLITS",
    "Bucket",
    "CoverageRow",
    "Insights",
    "InsightsError",
    "NONE_KEY",
    "Series",
    "ThemeTrend",
    "bucket_start_of",
    "format_lines",
    "insights",
    "percentile",
    "record_ids_for",
]

DATASET_ITEMS: Table = SQLModel.metadata.tables["dataset_items"]
DATASETS: Table = SQLModel.metadata.tables["datasets"]
RUNS: Table = SQLModel.metadata.tables["eval_runs"]
RESULTS: Table = SQLModel.metadata.tables["eval_results"]
THEMES: Table = SQLModel.metadata.tables["themes"]

BucketSize = Literal["day", "week"]
Split = Literal["model", "prompt", "queue"]
BUCKETS: tuple[str, ...] = ("day", "week")
SPLITS: tuple[str, ...] = ("model", "prompt", "queue")
#: The series key of records without a model (or without a prompt name).
NONE_KEY = "(none)"
#: The series key when nothing is split.
ALL_KEY = "all"
#: An eval run status that makes its pass rate count (as in `reviewer.evals.compare`).
FINISHED = "done"


class InsightsError(ValueError):
    """A request that cannot be answered (an unknown bucket size or split, a bad date)."""


# -- shapes ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Bucket:
    """The figures of one period (or of a whole series, for `Series.totals`).

    Rates are None when there is nothing to divide by (no feedback, no review, no record);
    latencies are in milliseconds, None without a known latency.
    """

    start: str  # ISO date of the day, or of the Monday of the week
    records: int = 0
    feedback_n: int = 0
    feedback_positive: int = 0
    feedback_negative: int = 0
    satisfaction: float | None = None  # share of positive feedback
    reviews_n: int = 0  # current complete reviews with a verdict
    reviews_pass: int = 0
    reviews_fail: int = 0
    pass_rate: float | None = None  # share of passing reviews
    errors: int = 0
    error_rate: float | None = None  # share of records with an error
    latency_p50: float | None = None
    latency_p95: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None: no record of the period has a known cost

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Series:
    """The buckets of one split value (a model, `prompt@version`, a queue, or `all`)."""

    key: str
    buckets: list[Bucket]
    totals: Bucket  # the whole range (start: the first bucket's)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "buckets": [b.to_dict() for b in self.buckets],
            "totals": self.totals.to_dict(),
        }


@dataclass(slots=True)
class ThemeTrend:
    """Current reviews carrying a theme: in all, and per bucket (by the record's timestamp)."""

    theme: str
    total: int
    per_bucket: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class CoverageRow:
    """How well a theme is covered by tests (over all time, not the chosen period)."""

    theme: str
    reviewed: int  # current reviews carrying it
    dataset_items: int  # dataset items carrying it (not removed), all datasets
    eval_pass_rate: float | None  # latest finished run of each dataset, on those items
    gap: bool  # reviewed but no dataset item: what the next prompt change should close

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Insights:
    """Everything `insights()` computed; `buckets` are the period starts, every one in range."""

    bucket: str
    by: str | None
    since: str | None  # the first timestamp counted (resolved), None: from the first record
    until: str | None  # the first timestamp no longer counted, None: to the last record
    buckets: list[str] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    themes: list[ThemeTrend] = field(default_factory=list)
    coverage: list[CoverageRow] = field(default_factory=list)
    # the figures per trace (`reviewer.insights.traces`); None without agent traces or trace
    # reviews in the period
    traces: TraceInsights | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "by": self.by,
            "since": self.since,
            "until": self.until,
            "buckets": list(self.buckets),
            "series": [s.to_dict() for s in self.series],
            "themes": [t.to_dict() for t in self.themes],
            "coverage": [c.to_dict() for c in self.coverage],
            "traces": self.traces.to_dict() if self.traces is not None else None,
        }


# -- small helpers --------------------------------------------------------------------------------


def bucket_start_of(day: str | date, bucket: str = "day") -> str:
    """The start (ISO date) of the bucket holding `day` (an ISO date, or a timestamp)."""
    d = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    if bucket == "week":
        d -= timedelta(days=d.weekday())
    return d.isoformat()


def _step(bucket: str) -> timedelta:
    return timedelta(days=7 if bucket == "week" else 1)


def _period(start: str, end: str, bucket: str) -> list[str]:
    """Every bucket start from `start` to `end` (both bucket starts), in order."""
    out: list[str] = []
    d, last = date.fromisoformat(start), date.fromisoformat(end)
    while d <= last:
        out.append(d.isoformat())
        d += _step(bucket)
    return out


def _check(bucket: str, by: str | None) -> None:
    if bucket not in BUCKETS:
        raise InsightsError(f"the bucket is day or week, not {bucket!r}")
    if by is not None and by not in SPLITS:
        raise InsightsError(f"split by model, prompt or queue, not {by!r}")


def _resolve(when: str | date | datetime | None, now: datetime, *, end: bool) -> str | None:
    """A `since`/`until` as stored timestamp text (a date alone as `until`: the end of it)."""
    from reviewer.review.where import parse_when

    if when is None:
        return None
    if isinstance(when, datetime):
        moment = when if when.tzinfo else when.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    if isinstance(when, date):
        when = when.isoformat()
    try:
        return parse_when(when).resolve(now, end_of_day=end)
    except ValueError as exc:
        raise InsightsError(f"{'until' if end else 'since'}: {exc}") from None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _day() -> ColumnElement[str]:
    return func.substr(RECORDS.c.timestamp, 1, 10)


def _key(by: str | None) -> ColumnElement[str] | None:
    """The SQL expression of a record's series key (None: no split). For queues it reads the
    joined queue_items."""
    if by == "model":
        return func.coalesce(RECORDS.c.model, NONE_KEY)
    if by == "prompt":
        name, version = RECORDS.c.prompt_name, RECORDS.c.prompt_version
        return case(
            (name.is_(None), literal(NONE_KEY)),
            (version.is_(None), name),
            else_=name + "@" + version,
        )
    if by == "queue":
        return QUEUE_ITEMS.c.queue
    return None


def _range_conds(since: str | None, until: str | None) -> list[ColumnElement[bool]]:
    ts = RECORDS.c.timestamp
    conds: list[ColumnElement[bool]] = [
        ts.is_not(None),
        RECORDS.c.source_format.not_in(MADE_HERE_FORMATS),  # production calls only
    ]
    if since is not None:
        conds.append(ts >= since)
    if until is not None:
        conds.append(ts < until)
    return conds


def _count_if(cond: ColumnElement[bool]) -> Any:
    when: Case[int] = case((cond, 1), else_=0)
    return func.sum(when)


def _latencies(conn: Connection) -> Any:
    """An aggregate gathering a group's latencies as comma-separated text."""
    if conn.dialect.name == "postgresql":
        return func.string_agg(cast(RECORDS.c.latency_ms, Text), ",")
    return func.group_concat(RECORDS.c.latency_ms)


def _parse_values(text: str | None) -> list[float]:
    return [float(v) for v in text.split(",")] if text else []


def _cost(cost: float | None) -> str:
    """`$1.23`, or `—` when no record has a known cost (not `$0.00`)."""
    return "—" if cost is None else f"${cost:.2f}"


# -- accumulation ---------------------------------------------------------------------------------


class _Acc:
    """Sums for one bucket, turned into a `Bucket` once everything is in."""

    __slots__ = (
        "records", "feedback_n", "feedback_positive", "errors", "input_tokens",
        "output_tokens", "cost_usd", "latencies", "reviews_pass", "reviews_fail",
    )  # fmt: skip

    def __init__(self) -> None:
        self.records = self.feedback_n = self.feedback_positive = self.errors = 0
        self.input_tokens = self.output_tokens = 0
        self.cost_usd: float | None = None
        self.latencies: list[float] = []
        self.reviews_pass = self.reviews_fail = 0

    def add(self, other: _Acc) -> None:
        self.records += other.records
        self.feedback_n += other.feedback_n
        self.feedback_positive += other.feedback_positive
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd
        self.latencies.extend(other.latencies)
        self.reviews_pass += other.reviews_pass
        self.reviews_fail += other.reviews_fail

    def bucket(self, start: str) -> Bucket:
        self.latencies.sort()  # runs already sorted per day: timsort merges them quickly
        reviews = self.reviews_pass + self.reviews_fail
        return Bucket(
            start=start,
            records=self.records,
            feedback_n=self.feedback_n,
            feedback_positive=self.feedback_positive,
            feedback_negative=self.feedback_n - self.feedback_positive,
            satisfaction=_ratio(self.feedback_positive, self.feedback_n),
            reviews_n=reviews,
            reviews_pass=self.reviews_pass,
            reviews_fail=self.reviews_fail,
            pass_rate=_ratio(self.reviews_pass, reviews),
            errors=self.errors,
            error_rate=_ratio(self.errors, self.records),
            latency_p50=percentile(self.latencies, 50, presorted=True),
            latency_p95=percentile(self.latencies, 95, presorted=True),
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=self.cost_usd,
        )


# -- insights -------------------------------------------------------------------------------------


def insights(
    engine: Engine,
    *,
    bucket: str = "day",
    by: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    now: datetime | None = None,
    trace_queues: Collection[str] = (),
) -> Insights:
    """The figures over `bucket` periods, split `by` model, prompt version or queue (one series
    `all` when None), from `since` (inclusive) to `until` (exclusive; a date alone: the end of
    that day), both ISO dates/times or durations back from `now` (7d, 12h). Without them the
    range runs from the first to the last record. Every period in range is listed, empty ones
    with zeros and None. Theme coverage is over all time. The call figures count LLM calls (the
    other steps of a trace are in `traces`, over the same periods, not split; `trace_queues`
    names the `unit: trace` queues whose reviews are trace reviews)."""
    from reviewer.insights.traces import collect

    _check(bucket, by)
    now = now or datetime.now(UTC)
    lo, hi = _resolve(since, now, end=False), _resolve(until, now, end=True)
    result = Insights(bucket=bucket, by=by, since=lo, until=hi)
    key_expr = _key(by)
    conds = _range_conds(lo, hi)
    day = _day()
    # (key, day) -> sums; days merged into buckets below
    per_day: dict[tuple[str, str], _Acc] = {}

    with engine.connect() as conn:
        cols: list[Any] = [
            day.label("day"),
            func.count().label("n"),
            func.count(RECORDS.c.feedback_score).label("fb"),
            _count_if(RECORDS.c.feedback_score >= 0.5).label("fb_pos"),
            func.count(RECORDS.c.error).label("errors"),
            func.sum(RECORDS.c.input_tokens).label("tin"),
            func.sum(RECORDS.c.output_tokens).label("tout"),
            func.sum(RECORDS.c.cost_usd).label("cost"),
            _latencies(conn).label("lat"),
        ]
        group: list[Any] = [day]
        if key_expr is not None:
            cols.insert(0, key_expr.label("key"))
            group.insert(0, key_expr)
        query = (
            select(*cols)
            .select_from(_records_from(by))
            .where(*conds, RECORDS.c.kind == "llm")  # calls; the other steps are per trace
            .group_by(*group)
        )
        for row in conn.execute(query):
            acc = _Acc()
            acc.records = int(row.n)
            acc.feedback_n = int(row.fb or 0)
            acc.feedback_positive = int(row.fb_pos or 0)
            acc.errors = int(row.errors or 0)
            acc.input_tokens = int(row.tin or 0)
            acc.output_tokens = int(row.tout or 0)
            acc.cost_usd = float(row.cost) if row.cost is not None else None
            acc.latencies = sorted(_parse_values(row.lat))
            key = str(row.key) if key_expr is not None else ALL_KEY
            per_day[(key, str(row.day))] = acc

        e = EVENTS.alias("e")
        review_key = e.c.queue if by == "queue" else key_expr
        rcols: list[Any] = [day.label("day"), e.c.verdict, func.count().label("n")]
        rgroup: list[Any] = [day, e.c.verdict]
        if review_key is not None:
            rcols.insert(0, review_key.label("key"))
            rgroup.insert(0, review_key)
        reviews = (
            select(*rcols)
            .select_from(e.join(RECORDS, RECORDS.c.id == e.c.record_id))
            .where(*conds, *_current_verdicts(e))
            .group_by(*rgroup)
        )
        for row in conn.execute(reviews):
            key = str(row.key) if review_key is not None else ALL_KEY
            acc = per_day.setdefault((key, str(row.day)), _Acc())
            if row.verdict == "pass":
                acc.reviews_pass += int(row.n)
            else:
                acc.reviews_fail += int(row.n)

        theme_rows = conn.execute(
            select(e.c.themes, day.label("day"))
            .select_from(e.join(RECORDS, RECORDS.c.id == e.c.record_id))
            .where(*conds, is_latest(e), e.c.themes.is_not(None))
        ).all()
        result.coverage = _coverage(conn)
        trace_figures = collect(conn, lo, hi, trace_queues)

    days = sorted({d for _, d in per_day} | {str(r.day) for r in theme_rows} | trace_figures.days())
    first = bucket_start_of(lo[:10], bucket) if lo else (days[0] if days else None)
    last = _last_day(hi) if hi else (days[-1] if days else None)
    if first is None and last is not None:
        first = last
    if last is None and first is not None:
        last = first
    if first is not None and last is not None:
        result.buckets = _period(
            bucket_start_of(first, bucket), bucket_start_of(last, bucket), bucket
        )
    index = {start: i for i, start in enumerate(result.buckets)}

    merged: dict[str, list[_Acc]] = defaultdict(lambda: [_Acc() for _ in result.buckets])
    for (key, d), acc in per_day.items():
        i = index.get(bucket_start_of(d, bucket))
        if i is not None:
            merged[key][i].add(acc)
    if by is None:
        merged[ALL_KEY]  # one series even when empty
    start0 = result.buckets[0] if result.buckets else ""
    for key in sorted(merged):
        accs = merged[key]
        total = _Acc()
        for acc in accs:
            total.add(acc)
        buckets = [acc.bucket(start) for acc, start in zip(accs, result.buckets, strict=True)]
        result.series.append(Series(key, buckets, total.bucket(start0)))
    result.series.sort(key=lambda s: (-s.totals.records, s.key))

    trends: dict[str, list[int]] = {}
    for themes, d in theme_rows:
        i = index.get(bucket_start_of(str(d), bucket))
        if i is None:
            continue
        for theme in set(orjson.loads(themes)):
            trends.setdefault(theme, [0] * len(result.buckets))[i] += 1
    result.themes = sorted(
        (ThemeTrend(theme, sum(counts), counts) for theme, counts in trends.items()),
        key=lambda t: (-t.total, t.theme),
    )
    result.traces = trace_figures.build(result.buckets, bucket)
    return result


def _last_day(until: str) -> str:
    """The day of the last moment before `until` (exclusive)."""
    moment = datetime.strptime(until, TIMESTAMP_FORMAT) - timedelta(microseconds=1)
    return moment.date().isoformat()


def _records_from(by: str | None) -> Any:
    if by == "queue":
        return RECORDS.join(QUEUE_ITEMS, QUEUE_ITEMS.c.record_id == RECORDS.c.id)
    return RECORDS


def _current_verdicts(e: Any) -> list[ColumnElement[bool]]:
    """Conditions: `e` is a current complete review with a verdict."""
    return [
        is_latest(e),
        e.c.complete.is_(True),
        e.c.skipped.is_(False),
        e.c.verdict.in_(("pass", "fail")),
    ]


# -- theme coverage -------------------------------------------------------------------------------


def _coverage(conn: Connection) -> list[CoverageRow]:
    e = EVENTS.alias("e")
    reviewed: Counter[str] = Counter()
    for (themes,) in conn.execute(select(e.c.themes).where(is_latest(e), e.c.themes.is_not(None))):
        reviewed.update(set(orjson.loads(themes)))

    items: Counter[str] = Counter()
    refs: dict[str, set[tuple[str, str]]] = defaultdict(set)  # theme -> (dataset, item ref)
    rows = conn.execute(
        select(DATASET_ITEMS.c.id, DATASET_ITEMS.c.ref, DATASET_ITEMS.c.themes, DATASETS.c.name)
        .join(DATASETS, DATASETS.c.id == DATASET_ITEMS.c.dataset_id)
        .where(DATASET_ITEMS.c.removed.is_(False), DATASET_ITEMS.c.themes.is_not(None))
    )
    for row in rows:
        ref = row.ref or f"{row.name}/{row.id}"
        for theme in set(orjson.loads(row.themes)):
            items[theme] += 1
            refs[theme].add((row.name, ref))

    outcomes = _latest_outcomes(conn, {name for pairs in refs.values() for name, _ in pairs})
    names = set(reviewed) | set(items) | set(conn.execute(select(THEMES.c.name)).scalars())
    out = []
    for theme in names:
        graded = passed = 0
        for pair in refs.get(theme, ()):
            outcome = outcomes.get(pair)
            if outcome is not None:
                graded += 1
                passed += outcome
        out.append(
            CoverageRow(
                theme=theme,
                reviewed=reviewed[theme],
                dataset_items=items[theme],
                eval_pass_rate=_ratio(passed, graded),
                gap=reviewed[theme] > 0 and items[theme] == 0,
            )
        )
    return sorted(out, key=lambda c: (-c.reviewed, -c.dataset_items, c.theme))


def _latest_outcomes(conn: Connection, datasets: Iterable[str]) -> dict[tuple[str, str], bool]:
    """(dataset, item ref) -> passed, in the latest finished eval run of each dataset, for the
    graded results (an error counts as a fail; an ungraded result is left out)."""
    wanted = sorted(set(datasets))
    if not wanted:
        return {}
    runs = conn.execute(
        select(RUNS.c.id, RUNS.c.dataset_name)
        .where(RUNS.c.status == FINISHED, RUNS.c.dataset_name.in_(wanted))
        .order_by(RUNS.c.finished_at, RUNS.c.id)
    ).all()
    latest = {row.dataset_name: int(row.id) for row in runs}  # the last one wins
    if not latest:
        return {}
    by_run = {run_id: name for name, run_id in latest.items()}
    out: dict[tuple[str, str], bool] = {}
    for row in conn.execute(
        select(RESULTS.c.run_id, RESULTS.c.item_id, RESULTS.c.passed, RESULTS.c.error).where(
            RESULTS.c.run_id.in_(sorted(by_run))
        )
    ):
        if row.error is not None and row.passed is not True:
            out[(by_run[int(row.run_id)], row.item_id)] = False
        elif row.passed is not None:
            out[(by_run[int(row.run_id)], row.item_id)] = bool(row.passed)
    return out


# -- the records behind a figure ------------------------------------------------------------------


def record_ids_for(
    engine: Engine,
    *,
    theme: str | None = None,
    bucket_start: str | None = None,
    bucket: str = "day",
    key: str | None = None,
    by: str | None = None,
    negative_only: bool = False,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    now: datetime | None = None,
) -> list[str]:
    """The ids of exactly the records behind a figure, by timestamp (then id): those with a
    current review carrying `theme`, in the bucket starting at `bucket_start` (a `bucket`
    period), in the series `key` of the split `by`. With `negative_only`, only the bad ones:
    negative user feedback, an error, or a current complete review that failed. `since` and
    `until` bound the period as for `insights()` (a theme over the period shown)."""
    _check(bucket, by)
    if key is not None and by is None and key != ALL_KEY:
        raise InsightsError("a series key needs the split it belongs to (by)")
    moment = now or datetime.now(UTC)
    conds = _range_conds(_resolve(since, moment, end=False), _resolve(until, moment, end=True))
    if bucket_start is not None:
        start = date.fromisoformat(bucket_start_of(bucket_start, bucket))
        conds.append(RECORDS.c.timestamp >= start.isoformat())
        conds.append(RECORDS.c.timestamp < (start + _step(bucket)).isoformat())
    key_expr = _key(by) if key is not None and key != ALL_KEY else None
    if key_expr is not None:
        conds.append(key_expr == key)
    e = EVENTS.alias("e")
    if negative_only:
        f = EVENTS.alias("f")
        failed = exists().where(
            f.c.record_id == RECORDS.c.id, *_current_verdicts(f), f.c.verdict == "fail"
        )
        if key_expr is not None and by == "queue":
            failed = failed.where(f.c.queue == key)
        conds.append(or_(RECORDS.c.feedback_score < 0.5, RECORDS.c.error.is_not(None), failed))
    with engine.connect() as conn:
        if theme is None:
            query = select(RECORDS.c.id, RECORDS.c.timestamp).select_from(
                _records_from(by if key_expr is not None else None)
            )
            calls = RECORDS.c.kind == "llm"  # a period's calls, as counted in its figures
            rows: list[Any] = list(conn.execute(query.where(*conds, calls).distinct()))
        else:
            theme_conds = [is_latest(e), e.c.themes.is_not(None)]
            query = (
                select(RECORDS.c.id, RECORDS.c.timestamp, e.c.themes)
                .select_from(
                    e.join(RECORDS, RECORDS.c.id == e.c.record_id).join(
                        QUEUE_ITEMS, QUEUE_ITEMS.c.id == e.c.queue_item_id
                    )
                )
                .where(*conds, *theme_conds)
            )
            rows = [r for r in conn.execute(query) if theme in orjson.loads(r.themes)]
    seen: dict[str, str] = {}
    for row in rows:
        seen[row.id] = row.timestamp or ""
    return [rid for rid, _ in sorted(seen.items(), key=lambda kv: (kv[1], kv[0]))]


# -- text -----------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f}s" if value >= 1000 else f"{value:.0f}ms"


def format_lines(result: Insights) -> list[str]:
    """The figures as text lines (what `reviewer stats` prints): a table per series, the
    themes with their counts per bucket, and the theme coverage with its gaps."""
    lines: list[str] = []
    header = (
        f"{'period':<10}  {'records':>7}  {'satisfied':<15}  {'reviews pass':<15}  "
        f"{'errors':>11}  {'p50':>7}  {'p95':>7}  {'tokens in/out':>21}  {'cost':>9}"
    )

    def row(label: str, b: Bucket) -> str:
        return (
            f"{label:<10}  {b.records:>7}  "
            f"{_pct(b.satisfaction):>5} of {b.feedback_n:<7}  "
            f"{_pct(b.pass_rate):>5} of {b.reviews_n:<7}  "
            f"{b.errors:>4} {_pct(b.error_rate):>6}  "
            f"{_ms(b.latency_p50):>7}  {_ms(b.latency_p95):>7}  "
            f"{f'{b.input_tokens}/{b.output_tokens}':>21}  {_cost(b.cost_usd):>9}"
        )

    span = f"{result.buckets[0]} .. {result.buckets[-1]}" if result.buckets else "no records"
    split = f", by {result.by}" if result.by else ""
    lines.append(f"insights per {result.bucket}{split}: {span}")
    for series in result.series:
        lines.append("")
        if result.by:
            lines.append(f"{result.by} {series.key}")
        lines.append(header)
        for b in series.buckets:
            lines.append(row(b.start, b))
        lines.append(row("total", series.totals))
    lines.append("")
    if result.themes:
        lines.append("themes (current reviews per period)")
        width = max(len(t.theme) for t in result.themes)
        for t in result.themes:
            counts = " ".join(str(n) for n in t.per_bucket)
            lines.append(f"  {t.theme:<{width}}  {t.total:>5}  {counts}")
    else:
        lines.append("themes: none in the period")
    lines.append("")
    if result.coverage:
        width = max([len(c.theme) for c in result.coverage] + [5])
        lines.append("theme coverage (all time)")
        lines.append(f"  {'theme':<{width}}  {'reviewed':>8}  {'items':>6}  {'eval pass':>9}")
        for c in result.coverage:
            flag = "  gap: no dataset item" if c.gap else ""
            lines.append(
                f"  {c.theme:<{width}}  {c.reviewed:>8}  {c.dataset_items:>6}  "
                f"{_pct(c.eval_pass_rate):>9}{flag}"
            )
    else:
        lines.append("coverage: no themes yet")
    if result.traces is not None:
        from reviewer.insights.traces import format_trace_lines

        lines.append("")
        lines.extend(format_trace_lines(result.traces))
    return lines
