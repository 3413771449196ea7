"""Comparing an eval run with its baseline: each change kind, the baseline chosen, the summary
line, percentiles, models side by side and the word diff. Runs and results are rows written
here, as the runner writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, insert

from reviewer.datasets.store import import_items
from reviewer.evals.compare import (
    RESULTS,
    RUNS,
    Baseline,
    CompareError,
    Side,
    baseline_for,
    compare,
    compare_models,
    diff_words,
    format_cost,
    format_latency,
    format_models,
    format_summary,
    percentile,
    previous_run,
)
from tests.unit.test_review_session import events, make_items, session


def make_dataset(engine: Engine, tmp_path: Path, n: int, name: str = "ds") -> None:
    """A dataset of n items `i0`.. with a question each and a logged output."""
    path = tmp_path / f"{name}-{n}.jsonl"
    lines = [
        {
            "id": f"i{i}",
            "messages": [
                {"role": "system", "content": "You are the shop's assistant."},
                {"role": "user", "content": f"Question {i}?"},
            ],
            "output": {"role": "assistant", "content": f"Logged answer {i}."},
        }
        for i in range(n)
    ]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    summary = import_items(engine, name, path, by="ana")
    assert summary.ok and summary.created == n


def make_run(
    engine: Engine,
    results: list[dict[str, Any]],
    *,
    prompt_hash: str = "h1",
    model: str = "gpt-4o-mini",
    status: str = "done",
    dataset: str = "ds",
    prompt: str = "support",
    graders: list[dict[str, Any]] | None = None,
) -> int:
    """An eval run with its results: each result gives item, passed and optionally latency,
    cost, error, grades, text."""
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(RUNS).values(
                key=f"k-{prompt_hash}-{model}",
                prompt_name=prompt,
                prompt_hash=prompt_hash,
                dataset_name=dataset,
                dataset_version=1,
                dataset_hash="dh",
                provider="openai",
                model=model,
                status=status,
                started_at="2026-11-20T10:00:00.000000Z",
                graders=None if graders is None else orjson.dumps(graders).decode(),
            )
        ).inserted_primary_key[0]
        for r in results:
            text = r.get("text", f"answer to {r['item']}")
            conn.execute(
                insert(RESULTS).values(
                    run_id=run_id,
                    item_id=r["item"],
                    output=None
                    if r.get("error")
                    else orjson.dumps({"role": "assistant", "content": text}).decode(),
                    passed=r.get("passed"),
                    score=None if r.get("passed") is None else float(bool(r.get("passed"))),
                    grades=orjson.dumps(
                        r.get(
                            "grades",
                            [
                                {
                                    "grader": "contains",
                                    "passed": r.get("passed"),
                                    "score": None,
                                    "reason": f"reason {r['item']} {prompt_hash}",
                                }
                            ],
                        )
                    ).decode(),
                    latency_ms=r.get("latency"),
                    input_tokens=r.get("tokens_in", 10),
                    output_tokens=r.get("tokens_out", 5),
                    cost_usd=r.get("cost"),
                    error=r.get("error"),
                    created_at="2026-11-20T10:00:01.000000Z",
                )
            )
    return int(run_id)


def test_each_change_kind_against_the_previous_prompt_version(engine, tmp_path):
    make_dataset(engine, tmp_path, 6)
    old = make_run(
        engine,
        [
            {"item": "i0", "passed": False},
            {"item": "i1", "passed": True},
            {"item": "i2", "passed": True},
            {"item": "i3", "passed": False},
            {"item": "i5", "passed": None, "error": "timeout"},
        ],
        prompt_hash="h1",
    )
    new = make_run(
        engine,
        [
            {"item": "i5", "passed": True, "latency": 500.0, "cost": 0.01},
            {"item": "i0", "passed": True, "latency": 1000.0, "cost": 0.02},
            {"item": "i1", "passed": False, "latency": 2000.0, "cost": 0.03},
            {"item": "i2", "passed": True, "latency": 3000.0, "cost": 0.04},
            {"item": "i3", "passed": False, "latency": 4000.0},
            {"item": "i4", "passed": None, "error": "429 Too Many Requests"},
        ],
        prompt_hash="h2",
    )
    result = compare(engine, new)
    assert result.baseline.kind == "run" and result.baseline.run_id == old
    # cases come in dataset order, whatever order the results were written in
    assert [c.item_id for c in result.cases] == ["i0", "i1", "i2", "i3", "i4", "i5"]
    changes = {c.item_id: c.change for c in result.cases}
    assert changes == {
        "i0": "fixed",
        "i1": "regressed",
        "i2": "same-pass",
        "i3": "same-fail",
        "i4": "error",
        "i5": "fixed",  # a baseline error counts as a fail
    }
    i1 = result.cases[1]
    assert i1.question == "Question 1?"
    assert i1.mark == "✓→✗"
    assert i1.baseline is not None and i1.baseline.text == "answer to i1"
    assert i1.baseline.reasons == ["contains: reason i1 h1"]
    assert i1.new.reasons == ["contains: reason i1 h2"]
    assert i1.new.latency_ms == 2000.0 and i1.new.cost_usd == 0.03
    assert result.cases[4].new.error == "429 Too Many Requests"
    assert result.cases[4].mark == "·→!"

    s = result.summary
    assert (s.fixed, s.regressed, s.same_pass, s.same_fail, s.new, s.errors) == (2, 1, 1, 1, 0, 1)
    assert (s.passed, s.graded) == (3, 5)  # an error is counted apart, not graded
    assert s.pass_rate == pytest.approx(0.6)
    assert (s.baseline_passed, s.baseline_graded) == (2, 4)
    assert s.baseline_pass_rate == pytest.approx(0.5)
    assert s.cost_usd == pytest.approx(0.10)
    assert s.p50_ms == pytest.approx(2000.0)
    assert s.p95_ms == pytest.approx(3800.0)
    assert (s.input_tokens, s.output_tokens) == (60, 30)
    assert format_summary(s) == (
        "pass rate 50% → 60% · 2 fixed · 1 regressed · 1 error · $0.10 · p50 2.0 s · p95 3.8 s"
    )
    assert [c.item_id for c in result.by_change("fixed", "regressed")] == ["i0", "i1", "i5"]
    doc = result.to_dict()
    assert doc["line"] == format_summary(s)
    assert (
        doc["cases"][1]["baseline"]["passed"] is True and doc["cases"][1]["new"]["passed"] is False
    )
    orjson.dumps(doc)  # JSON-ready


def test_baseline_prefers_another_prompt_version_then_the_same_model(engine, tmp_path):
    make_dataset(engine, tmp_path, 1)
    one = [{"item": "i0", "passed": True}]
    a = make_run(engine, one, prompt_hash="h1", model="gpt-4o-mini")
    b = make_run(engine, one, prompt_hash="h1", model="gpt-4o")
    make_run(engine, one, prompt_hash="h0", status="running")  # unfinished: never a baseline
    make_run(engine, one, prompt_hash="h1", prompt="other")  # another prompt
    c = make_run(engine, one, prompt_hash="h2", model="gpt-4o-mini")
    d = make_run(engine, one, prompt_hash="h2", model="gpt-4o")
    # the last run of another prompt version, with the same model
    assert previous_run(engine, c) == a
    assert previous_run(engine, d) == b
    # no other version before: the previous run, same model preferred
    assert previous_run(engine, b) == a
    assert previous_run(engine, a) is None
    e = make_run(engine, one, prompt_hash="h2", model="gpt-4o-mini")
    assert previous_run(engine, e) == a  # still the version before the edit, not the rerun
    with pytest.raises(CompareError, match="no eval run 999"):
        compare(engine, 999)


def test_no_baseline_at_all_makes_every_case_new(engine, tmp_path):
    path = tmp_path / "bare.jsonl"
    path.write_bytes(
        orjson.dumps({"id": "b0", "messages": [{"role": "user", "content": "Hi"}]}) + b"\n"
    )
    assert import_items(engine, "bare", path).ok
    run = make_run(engine, [{"item": "b0", "passed": True, "latency": 800.0}], dataset="bare")
    result = compare(engine, run)
    assert result.baseline.kind == "none"
    assert [c.change for c in result.cases] == ["new"]
    assert result.cases[0].mark == "·→✓"
    assert format_summary(result.summary) == (
        "pass rate 100% (no baseline) · — · p50 800 ms · p95 800 ms"
    )


def test_production_baseline_takes_the_reviewers_verdict(engine, tmp_path):
    ids = make_items(engine, tmp_path, 3)
    s = session(engine)
    s.next_item()
    for queue_item, verdict in zip(ids[:2], ["pass", "fail"], strict=True):
        s.set_score(queue_item, "helpful", 3)
        s.set_verdict(queue_item, verdict)
        s.promote(queue_item, "regressions")
    passed_event = next(e for e in events(engine) if e["verdict"] == "pass")
    # a third item imported from elsewhere: its output is known; its review id is one of this
    # workspace's events, but on another record, so its verdict is unknown
    other = tmp_path / "more.jsonl"
    other.write_bytes(
        orjson.dumps(
            {
                "id": "ext-1",
                "messages": [{"role": "user", "content": "Elsewhere?"}],
                "output": {"role": "assistant", "content": "Logged elsewhere."},
                "source": {"record_id": "chatcmpl-other", "review_id": passed_event["id"]},
            }
        )
        + b"\n"
    )
    assert import_items(engine, "regressions", other).ok
    from reviewer.datasets.versions import iter_version_items, version_info

    items = list(iter_version_items(engine, "regressions"))
    version = version_info(engine, "regressions").number
    refs = [i["id"] for i in items]
    run = make_run(
        engine,
        [
            {"item": refs[0], "passed": False},
            {"item": refs[1], "passed": True},
            {"item": refs[2], "passed": True},
        ],
        dataset="regressions",
    )
    with engine.begin() as conn:
        conn.execute(RUNS.update().where(RUNS.c.id == run).values(dataset_version=version))
    baseline = baseline_for(engine, run)
    assert baseline.kind == "production" and "regressions" in baseline.label
    assert baseline.cases[refs[0]].passed is True
    assert baseline.cases[refs[0]].text == "Answer 0."
    assert baseline.cases[refs[1]].passed is False
    assert baseline.cases[refs[2]].passed is None  # a review of another workspace
    assert baseline.cases[refs[2]].text == "Logged elsewhere."
    result = compare(engine, run)
    assert [c.change for c in result.cases] == ["regressed", "fixed", "new"]
    assert result.summary.baseline_pass_rate == pytest.approx(0.5)
    assert result.cases[0].question == "Question 0?"


def test_an_explicit_baseline_and_ungraded_results(engine, tmp_path):
    make_dataset(engine, tmp_path, 2)
    run = make_run(
        engine, [{"item": "i0", "passed": None, "grades": []}, {"item": "i1", "passed": True}]
    )
    given = Baseline(
        kind="run",
        label="hand-made",
        cases={"i0": Side(output=None, passed=True), "i1": Side(output=None, passed=False)},
    )
    result = compare(engine, run, given)
    assert [c.change for c in result.cases] == ["ungraded", "fixed"]
    assert (result.summary.graded, result.summary.ungraded) == (1, 1)
    assert result.summary.baseline == "hand-made"


def test_models_side_by_side(engine, tmp_path):
    make_dataset(engine, tmp_path, 4)
    mini = make_run(
        engine,
        [
            {"item": "i0", "passed": True, "latency": 100.0, "cost": 0.001},
            {"item": "i1", "passed": True, "latency": 200.0, "cost": 0.001},
            {"item": "i2", "passed": False, "latency": 300.0, "cost": 0.001},
            {"item": "i3", "passed": None, "error": "boom"},
        ],
        model="gpt-4o-mini",
    )
    big = make_run(
        engine,
        [
            {"item": f"i{i}", "passed": True, "latency": 1000.0 * (i + 1), "cost": 0.01}
            for i in range(4)
        ],
        model="gpt-4o",
    )
    models = compare_models(engine, [mini, big])
    assert [m.model for m in models] == ["gpt-4o-mini", "gpt-4o"]
    a, b = models
    assert (a.passed, a.graded, a.errors) == (2, 3, 1)  # the error apart
    assert a.pass_rate == pytest.approx(2 / 3) and b.pass_rate == pytest.approx(1.0)
    assert a.cost_usd == pytest.approx(0.003) and b.cost_usd == pytest.approx(0.04)
    assert a.p50_ms == pytest.approx(200.0) and b.p50_ms == pytest.approx(2500.0)
    assert b.p95_ms == pytest.approx(3850.0)
    lines = format_models(models)
    assert lines[0].split() == ["model", "pass", "rate", "passed", "errors", "p50", "p95", "cost"]
    assert lines[1].split() == [
        "gpt-4o-mini",
        "67%",
        "2/3",
        "1",
        "200",
        "ms",
        "290",
        "ms",
        "$0.0030",
    ]
    assert lines[2].split() == ["gpt-4o", "100%", "4/4", "0", "2.5", "s", "3.9", "s", "$0.04"]


def test_percentiles():
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert percentile([1.0, 2.0], 0) == 1.0 and percentile([1.0, 2.0], 100) == 2.0


def test_formatting_of_figures():
    assert format_cost(None) == "—"
    assert format_cost(0) == "$0.00"
    assert format_cost(0.123) == "$0.12"
    assert format_cost(0.00042) == "$0.00042"
    assert format_latency(None) == "-"
    assert format_latency(999.4) == "999 ms"
    assert format_latency(1100) == "1.1 s"


def test_diff_words_rebuilds_both_texts():
    a = "Our 90-day no-questions policy applies.\nThanks!"
    b = "Our 30-day policy applies to unworn shoes.\nThanks!"
    ops = diff_words(a, b)
    assert "".join(t for op, t in ops if op in ("equal", "delete")) == a
    assert "".join(t for op, t in ops if op in ("equal", "insert")) == b
    assert ("delete", "90") in ops and ("insert", "30") in ops
    assert ops[0] == ("equal", "Our ")
    assert {op for op, _ in ops} <= {"equal", "delete", "insert"}
    assert diff_words("same text", "same text") == [("equal", "same text")]
    assert diff_words("", "new") == [("insert", "new")]
    assert diff_words("old", "") == [("delete", "old")]


NO_90 = [{"type": "not_contains", "value": "90 days"}]


def test_graders_changed_the_baseline_outputs_are_regraded_with_the_new_graders(engine, tmp_path):
    make_dataset(engine, tmp_path, 3)
    texts = {"i0": "Returns within 30 days.", "i1": "Returns within 90 days.", "i2": "Hello."}
    # the baseline's grader wanted "never": every output failed it
    make_run(
        engine,
        [{"item": k, "passed": False, "text": t} for k, t in texts.items()],
        prompt_hash="h1",
        graders=[{"type": "contains", "value": "never"}],
    )
    new = make_run(
        engine,
        [{"item": k, "passed": k != "i1", "text": t} for k, t in texts.items()],
        prompt_hash="h2",
        graders=NO_90,
    )
    comparison = compare(engine, new)
    # byte-identical outputs: nothing was fixed, the graders changed
    assert [c.change for c in comparison.cases] == ["same-pass", "same-fail", "same-pass"]
    assert comparison.graders_changed and comparison.baseline.regraded
    assert comparison.cases[1].baseline.grades[0]["grader"].startswith("not_contains")
    s = comparison.summary
    assert (s.fixed, s.regressed, s.baseline_pass_rate) == (0, 0, pytest.approx(2 / 3))
    line = format_summary(s)
    assert "0 fixed" in line and line.count("graders changed since the baseline") == 1
    assert "regraded" in comparison.baseline.label
    assert comparison.to_dict()["baseline"]["regraded"] is True


def test_same_graders_keep_the_baseline_as_graded(engine, tmp_path):
    make_dataset(engine, tmp_path, 2)
    make_run(engine, [{"item": "i0", "passed": False}, {"item": "i1", "passed": True}],
             prompt_hash="h1", graders=NO_90)  # fmt: skip
    new = make_run(engine, [{"item": "i0", "passed": True}, {"item": "i1", "passed": True}],
                   prompt_hash="h2", graders=[{"not_contains": "90 days"}])  # fmt: skip
    comparison = compare(engine, new)  # the same grader, written shorter: not a change
    assert [c.change for c in comparison.cases] == ["fixed", "same-pass"]
    assert not comparison.graders_changed
    assert "graders changed" not in format_summary(comparison.summary)


def test_unreadable_judge_answers_are_counted_once_in_the_summary(engine, tmp_path):
    make_dataset(engine, tmp_path, 4)
    unreadable = {"grader": "llm_judge", "passed": False, "score": 0.0,
                  "reason": "unreadable judge answer: PASS!"}  # fmt: skip
    readable = {"grader": "llm_judge", "passed": True, "score": 1.0, "reason": "ok"}
    run = make_run(
        engine,
        [{"item": f"i{i}", "passed": i == 0, "grades": [readable if i == 0 else unreadable]}
         for i in range(4)],
    )  # fmt: skip
    summary = compare(engine, run).summary
    assert summary.judge_unreadable == 3
    line = format_summary(summary)
    assert line.count("judge answers unreadable: 3") == 1
    assert "unreadable" not in format_summary(compare(engine, make_run(engine, [])).summary)
