"""Strategies: their spelling, the prompt file's keys, the options of `reviewer eval`, majority
voting (normalised answers, the tie rule) and a case's row from its samples."""

from __future__ import annotations

import pytest

from reviewer.evals.prompts import PromptError, parse_prompt
from reviewer.evals.strategies import (
    Strategy,
    StrategyError,
    combine,
    normalise,
    parse_strategy,
    pick_majority,
    strategy_of,
    with_options,
)

BASE = "name: p\nprovider: openai\nmodel: gpt-4o-mini\n"


@pytest.mark.parametrize(
    ("spelled", "expected"),
    [
        ("single", Strategy()),
        ("samples=5", Strategy(samples=5)),
        ("self-critique", Strategy("self_critique")),
        (
            "self-critique=anthropic:claude-haiku-4-5",
            Strategy("self_critique", critic="anthropic:claude-haiku-4-5"),
        ),
        ("best-of=3", Strategy("best_of", n=3)),
        ("best-of=3@gpt-4o", Strategy("best_of", n=3, judge="gpt-4o")),
        ("ensemble=a,b,c", Strategy("ensemble", models=("a", "b", "c"))),
        (
            "ensemble=a,b@gpt-4o",
            Strategy("ensemble", models=("a", "b"), select="judge", judge="gpt-4o"),
        ),
        ("best-of=3+samples=5", Strategy("best_of", samples=5, n=3)),
        ("samples=5+self-critique", Strategy("self_critique", samples=5)),
    ],
)
def test_spellings_round_trip(spelled: str, expected: Strategy) -> None:
    parsed = parse_strategy(spelled)
    assert parsed == expected
    assert parse_strategy(parsed.label) == parsed


@pytest.mark.parametrize(
    ("spelled", "message"),
    [
        ("", "an empty strategy"),
        ("greedy", "unknown strategy 'greedy'"),
        ("samples=0", "samples=N with N from 1 to 100"),
        ("best-of=1", "best-of=N with N from 2 to 20"),
        ("best-of=3@", "a judge model after @"),
        ("ensemble=a", "ensemble=A,B[,C...] with two to ten models"),
        ("self-critique+best-of=3", "one way to make an answer at a time"),
    ],
)
def test_bad_spellings_say_what_is_wrong(spelled: str, message: str) -> None:
    with pytest.raises(
        StrategyError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")
    ):
        parse_strategy(spelled)


def test_prompt_file_keys() -> None:
    assert strategy_of(parse_prompt(BASE, "p.yaml")).plain
    assert strategy_of(parse_prompt(BASE + "samples: 5\nbest_of: 3\n", "p.yaml")) == Strategy(
        "best_of", samples=5, n=3
    )
    assert strategy_of(parse_prompt(BASE + "self_critique: true\n", "p.yaml")) == Strategy(
        "self_critique"
    )
    assert strategy_of(
        parse_prompt(BASE + "ensemble: {models: [a, b], select: judge}\n", "p.yaml")
    ) == Strategy("ensemble", models=("a", "b"), select="judge")
    for extra, message in [
        ("samples: 0\n", "p.yaml: line 4: samples: Input should be greater than or equal to 1"),
        ("ensemble: [a]\n", "p.yaml: line 4: ensemble.models: two to ten models, not 1"),
        (
            "self_critique: {modle: x}\n",
            "p.yaml: line 4: self_critique: unknown key 'modle' (self_critique has model)",
        ),
        (
            "best_of: 2\nensemble: [a, b]\n",
            "p.yaml: line 1: best_of and ensemble: choose one way to make an answer",
        ),
    ]:
        with pytest.raises(PromptError) as error:
            parse_prompt(BASE + extra, "p.yaml")
        assert str(error.value).startswith(message), str(error.value)
    judge = "name: j\nprovider: openai\nmodel: m\nkind: judge\ninstructions: grade\nsamples: 3\n"
    with pytest.raises(PromptError, match="a judge \\(kind: judge\\) takes no strategy"):
        parse_prompt(judge, "j.yaml")


def test_options_of_reviewer_eval() -> None:
    base = Strategy("best_of", samples=3, n=2)
    assert with_options(base) == base
    assert with_options(base, samples=5) == Strategy("best_of", samples=5, n=2)
    assert with_options(base, judge="gpt-4o") == Strategy("best_of", samples=3, n=2, judge="gpt-4o")
    assert with_options(base, self_critique=True) == Strategy("self_critique", samples=3)
    assert with_options(Strategy(), ensemble=["a,b", "c"], judge="j") == Strategy(
        "ensemble", models=("a", "b", "c"), select="judge", judge="j"
    )
    with pytest.raises(StrategyError, match="--self-critique and --best-of: choose one"):
        with_options(base, self_critique=True, best_of=3)
    with pytest.raises(StrategyError, match="--judge and --select go with --best-of or --ensemble"):
        with_options(Strategy(), judge="x")
    with pytest.raises(StrategyError, match="--samples is from 1 to 100, not 0"):
        with_options(base, samples=0)


def test_majority_of_normalised_answers_and_the_tie_rule() -> None:
    assert normalise("  Returns within 30 DAYS.  ") == normalise("returns within 30 days")
    assert normalise('"Yes!"') == "yes"
    assert pick_majority(["90 days.", "30 days", "30 Days!"]) == 1  # the group's first answer
    assert pick_majority(["No.", "Yes.", "no", "yes"]) == 0  # tie: the earliest model's group
    assert pick_majority(["a", "b", "c"]) == 0


def sample(k: int, passed: bool | None, error: str | None = None, **kw) -> dict:
    return {
        "sample": k, "output": {"role": "assistant", "content": f"answer {k}"}, "passed": passed,
        "score": None if passed is None else float(passed), "grades": [{"passed": passed}],
        "latency_ms": kw.get("latency", 100.0 * (k + 1)), "input_tokens": 10, "output_tokens": 5,
        "cost_usd": kw.get("cost", 0.001), "cached": kw.get("cached", False), "error": error,
    }  # fmt: skip


def test_a_case_row_from_its_samples() -> None:
    row = combine(
        [sample(0, False), sample(1, True), sample(2, True), sample(3, False), sample(4, True)]
    )
    assert row["passed"] is True and row["output"]["content"] == "answer 1"  # agrees with it
    assert row["score"] == pytest.approx(0.6) and row["latency_ms"] == pytest.approx(300.0)
    assert (row["input_tokens"], row["output_tokens"]) == (50, 25)
    assert row["cost_usd"] == pytest.approx(0.005) and row["cached"] is False
    assert combine([sample(0, True), sample(1, False)])["passed"] is False  # a tie fails
    assert combine([sample(0, True, cost=None)])["cost_usd"] is None
    failed = combine([sample(0, True), sample(1, None, error="timed out")])
    assert failed["error"] == "sample 2 of 2: timed out" and failed["passed"] is None
    assert combine([sample(0, None, error="boom")])["error"] == "boom"
