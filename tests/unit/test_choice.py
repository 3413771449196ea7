"""The models × strategies table: Wilson intervals, the Pareto front, cost per 1,000 cases."""

from __future__ import annotations

import pytest

from reviewer.evals.choice import (
    Entry,
    choice_table,
    dominates,
    format_table,
    pareto_front,
    wilson,
)


def test_wilson_intervals() -> None:
    low, high = wilson(5, 10)  # type: ignore[misc]
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    low, high = wilson(8, 10)  # type: ignore[misc]
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    low, high = wilson(0, 10)  # type: ignore[misc]
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson(3, 0) is None


def test_dominance_is_standard() -> None:
    assert dominates((1, 1, 1), (1, 1, 0))
    assert not dominates((1, 1, 1), (1, 1, 1))  # equal: neither
    assert not dominates((2, 0, 0), (1, 1, 1))
    assert pareto_front([(1, 1, 1), (1, 1, 1), (0, 0, 0)]) == [True, True, False]


def entry(model: str, quality: float | None, p50: float, cost: float | None, **kw) -> Entry:
    return Entry(
        model=model, strategy=kw.pop("strategy", "single"), cases=kw.pop("cases", 10),
        quality=quality, latencies_ms=[p50], costs_usd=[cost / 1000 if cost is not None else None],
        **kw,
    )  # fmt: skip


def test_the_pareto_front_on_a_fixture() -> None:
    rows = choice_table(
        [
            entry("a", 0.9, 2000, 5.0),
            entry("b", 0.8, 500, 1.0),
            entry("c", 0.8, 600, 1.0),  # b is as good and faster
            entry("d", 0.95, 3000, 20.0),  # the best, slow and dear
            entry("e", 0.9, 2000, 5.0),  # the same as a: neither beats the other
            entry("f", 0.7, 400, None),  # no price (the worst cost), but the fastest
            entry("g", 0.5, 700, 2.0),  # b beats it on all three
        ]
    )
    assert [(r.model, r.pareto) for r in rows] == [
        ("a", True), ("b", True), ("c", False), ("d", True), ("e", True), ("f", True),
        ("g", False),
    ]  # fmt: skip
    a = rows[0]
    assert a.cost_per_1000 == pytest.approx(5.0) and a.p50_ms == 2000
    assert (a.ci_low, a.ci_high) == (
        pytest.approx(0.5958, abs=1e-4),
        pytest.approx(0.9821, abs=1e-4),
    )
    assert rows[5].cost_per_1000 is None


def test_sampled_rows_use_every_answer() -> None:
    [row] = choice_table(
        [
            Entry(
                model="m", strategy="samples=2", cases=2, quality=0.75, sampled=True,
                latencies_ms=[100, 200, 300, 400], costs_usd=[0.001, 0.001, 0.002, 0.002],
            )
        ]
    )  # fmt: skip
    assert row.quality_kind == "pass@1" and row.p50_ms == 250 and row.p95_ms == 385
    assert row.cost_per_1000 == pytest.approx(1.5)
    low, high = wilson(1.5, 2)  # type: ignore[misc]
    assert (row.ci_low, row.ci_high) == (low, high)
    lines = format_table([row])
    assert lines[0].split() == [
        "model", "strategy", "pass", "95%", "CI", "p50", "p95", "$/1k", "cases", "front",
    ]  # fmt: skip
    assert "75% (pass@1)" in lines[1] and "250 ms" in lines[1] and "$1.50" in lines[1]
    assert "★" in lines[1] and lines[-1].startswith("pass: pass rate")
