"""Choosing a model: models × strategies in one table (quality, speed, cost).

One row per run (a model with a strategy):

- quality: the pass rate over the graded cases; for a sampled run, pass@1 (the mean share of
  passing answers per case). Its 95 % interval is Wilson's score interval over the graded
  cases (a sampled run counts pass@1 × cases as the successes: the samples of one case are not
  independent, so they do not narrow it).
- speed: p50 and p95 latency of one answer, what a user of the strategy waits (its sequential
  steps added, its parallel calls the slowest of them); a sampled run's samples are repeated
  trials, each one answer.
- cost per 1,000 cases: the mean cost of one answer (every call of the strategy) × 1,000;
  unknown (`—`) when a model has no price.
- the Pareto front: the rows no other row dominates, with standard dominance: at least as good
  on quality, p50 latency and cost per 1,000 cases, and better on one. An unknown cost or
  latency is worse than any known one.

`choice_table` is pure (rows from entries); `entries_of` reads recorded runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from reviewer.measures import percentile

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054


@dataclass(slots=True)
class Entry:
    """What a run gives the table: its graded cases, quality, and one latency and cost per
    answer (a sampled run: one per sample)."""

    model: str
    strategy: str
    cases: int  # graded cases
    quality: float | None  # pass rate, or pass@1 when sampled
    sampled: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    costs_usd: list[float | None] = field(default_factory=list)
    run_id: int | None = None
    provider: str | None = None


@dataclass(slots=True)
class Row:
    """One line of the table."""

    model: str
    strategy: str
    cases: int
    quality: float | None
    quality_kind: str  # "pass rate" or "pass@1"
    ci_low: float | None
    ci_high: float | None
    p50_ms: float | None
    p95_ms: float | None
    cost_per_1000: float | None
    pareto: bool = False
    run_id: int | None = None
    provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson's score interval for `successes` out of `n` (None when n is 0)."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _key(row: Row) -> tuple[float, float, float]:
    """(quality, -latency, -cost): larger is better on every axis; unknown is the worst."""
    quality = row.quality if row.quality is not None else -math.inf
    latency = -row.p50_ms if row.p50_ms is not None else -math.inf
    cost = -row.cost_per_1000 if row.cost_per_1000 is not None else -math.inf
    return quality, latency, cost


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """a is at least as good as b on every axis and better on one (larger is better)."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def pareto_front(points: Sequence[Sequence[float]]) -> list[bool]:
    """For each point, whether no other point dominates it."""
    return [
        not any(dominates(other, point) for j, other in enumerate(points) if j != i)
        for i, point in enumerate(points)
    ]


def choice_table(entries: Sequence[Entry]) -> list[Row]:
    """The rows of the table, in the order given, the Pareto front marked."""
    rows: list[Row] = []
    for e in entries:
        interval = wilson(e.quality * e.cases, e.cases) if e.quality is not None else None
        known = [c for c in e.costs_usd if c is not None]
        per_answer = sum(known) / len(known) if known and len(known) == len(e.costs_usd) else None
        rows.append(
            Row(
                model=e.model,
                strategy=e.strategy,
                cases=e.cases,
                quality=e.quality,
                quality_kind="pass@1" if e.sampled else "pass rate",
                ci_low=interval[0] if interval else None,
                ci_high=interval[1] if interval else None,
                p50_ms=percentile(e.latencies_ms, 50),
                p95_ms=percentile(e.latencies_ms, 95),
                cost_per_1000=per_answer * 1000 if per_answer is not None else None,
                run_id=e.run_id,
                provider=e.provider,
            )
        )
    for row, front in zip(rows, pareto_front([_key(r) for r in rows]), strict=True):
        row.pareto = front
    return rows


# -- text -----------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def _usd(value: float | None) -> str:
    """`$1.95`; below a dollar three significant digits (`$0.0296`); `—` when unknown."""
    if value is None:
        return "—"
    if value == 0 or value >= 1:
        return f"${value:.2f}"
    return f"${value:.{2 - math.floor(math.log10(abs(value)))}f}"


HEADER = ("model", "strategy", "pass", "95% CI", "p50", "p95", "$/1k cases", "front")


def table_cells(row: Row) -> tuple[str, ...]:
    """A row as the cells of HEADER (the pass column says pass@1 for a sampled run)."""
    interval = f"{_pct(row.ci_low)}–{_pct(row.ci_high)}" if row.ci_low is not None else "-"
    quality = _pct(row.quality) + (" (pass@1)" if row.quality_kind == "pass@1" else "")
    return (
        row.model,
        row.strategy,
        quality,
        interval,
        _ms(row.p50_ms),
        _ms(row.p95_ms),
        _usd(row.cost_per_1000),
        "★" if row.pareto else "",
    )


def format_table(rows: Sequence[Row]) -> list[str]:
    """The table as text lines: a header, one line per row, and what the columns mean."""
    if not rows:
        return []
    cells = [HEADER, *(table_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    right = {2, 3, 4, 5, 6}
    lines = [
        "  ".join(
            (c.rjust(widths[i]) if i in right else c.ljust(widths[i])) for i, c in enumerate(line)
        ).rstrip()
        for line in cells
    ]
    lines.append(
        "pass: pass rate over the graded cases (pass@1 when sampled), 95% CI: Wilson score "
        "interval; ★ Pareto front on pass, p50 latency and cost (no other row is at least as "
        "good on all three and better on one)"
    )
    return lines


# -- from runs ------------------------------------------------------------------------------------


def entries_of(engine: Any, run_ids: Sequence[int]) -> list[Entry]:
    """The table's entries of recorded runs, in the order given: each run's quality (pass
    rate, or pass@1 when sampled), and one latency and cost per answer of its cases that did
    not fail (a sampled case gives one per sample)."""
    import orjson
    from sqlalchemy import select

    from reviewer.evals.compare import RESULTS, run_summary

    entries: list[Entry] = []
    for run_id in run_ids:
        summary = run_summary(engine, run_id)
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    RESULTS.c.latency_ms, RESULTS.c.cost_usd, RESULTS.c.samples, RESULTS.c.error
                ).where(RESULTS.c.run_id == run_id, RESULTS.c.error.is_(None))
            ).all()
        latencies: list[float] = []
        costs: list[float | None] = []
        for row in rows:
            samples = orjson.loads(row.samples) if row.samples else None
            answers = (
                [(s.get("latency_ms"), s.get("cost_usd")) for s in samples]
                if samples
                else [(row.latency_ms, row.cost_usd)]
            )
            for latency, cost in answers:
                if latency is not None:
                    latencies.append(float(latency))
                costs.append(cost)
        sampling = summary.sampling
        entries.append(
            Entry(
                model=summary.model,
                strategy=summary.strategy,
                cases=sampling.cases if sampling is not None else summary.graded,
                quality=sampling.pass_at_1 if sampling is not None else summary.pass_rate,
                sampled=sampling is not None,
                latencies_ms=latencies,
                costs_usd=costs,
                run_id=run_id,
                provider=summary.provider,
            )
        )
    return entries
