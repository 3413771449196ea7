"""Strategies through the real SDKs to the fake server: samples (pass@k, pass^k, flaky cases,
a cache entry per sample, a rerun that calls nothing, a killed run that resumes),
self-critique (draft, critique, revision), best-of (the judge picks), ensembles (majority and
judge), and the models × strategies table of `reviewer eval`."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.evals.runner import cache_key, draw_key, run_eval
from reviewer.evals.strategies import CRITIC_SYSTEM, JUDGE_SYSTEM, Strategy, parse_strategy
from tests.fake_llm import FakeLLM, Varying, last_user_text, structured_answer
from tests.integration.test_runner import (  # noqa: F401  (server, ws: fixtures)
    PROMPT,
    make_dataset,
    prompt,
    results,
    run_row,
    server,
    ws,
)

GOOD, BAD = "Returns within 30 days.", "Returns within 90 days, no questions."


def number(body: dict[str, Any]) -> int:
    return int("".join(ch for ch in last_user_text(body) if ch.isdigit()) or 0)


def flaky(body: dict[str, Any], i: int) -> str:
    """Question 1 always fails, question 3 passes its first three answers of five."""
    n = number(body)
    if n == 1:
        return BAD
    if n == 3:
        return GOOD if i % 5 < 3 else BAD
    return GOOD


def samples_of(engine: Engine, run_id: int) -> dict[str, list[dict[str, Any]]]:
    return {r["item_id"]: orjson.loads(r["samples"]) for r in results(engine, run_id)}


async def test_samples_report_pass_at_k_and_flaky_cases(
    engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 4)
    server.responder = Varying(flaky)
    [plain] = await run_eval(engine, prompt(), PROMPT, "ds")  # one answer each, cached
    assert server.count == 4

    server.reset()
    [run] = await run_eval(engine, prompt(), PROMPT, "ds", strategies=[Strategy(samples=5)])
    # sample 0 of each case is the plain request's cache entry: 4 more answers per case
    assert server.count == 16 and run.run_id != plain.run_id
    s = run.summary
    assert s["strategy"] == "samples=5" and s["samples"] == 5
    assert s["pass@1"] == pytest.approx((1 + 0 + 1 + 0.6) / 4)
    assert s["pass@5"] == pytest.approx(3 / 4) and s["pass^5"] == pytest.approx(2 / 4)
    assert s["consistency"] == pytest.approx((1 + 1 + 1 + 0.6) / 4)
    assert s["flaky"] == ["i3"]
    # a case's verdict is its majority: the flaky case passes (3 of 5), 3 of 4 cases pass
    assert (s["passed"], s["graded"], s["pass_rate"]) == (3, 4, 0.75)
    rows = {r["item_id"]: r for r in results(engine, run.run_id)}
    assert rows["i3"]["passed"] == 1 and rows["i1"]["passed"] == 0
    kept = samples_of(engine, run.run_id)
    assert [len(v) for v in kept.values()] == [5, 5, 5, 5]
    assert sorted(x["passed"] for x in kept["i3"]) == [False, False, True, True, True]
    assert sum(x["cached"] for v in kept.values() for x in v) == 4  # the plain answers
    assert orjson.loads(run_row(engine, run.run_id)["strategy"])["label"] == "samples=5"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM response_cache")).scalar() == 20

    server.reset()  # a rerun calls nothing
    [again] = await run_eval(engine, prompt(), PROMPT, "ds", strategies=[Strategy(samples=5)])
    assert (
        server.count == 0 and again.run_id == run.run_id and again.summary["pass@1"] == s["pass@1"]
    )
    server.reset()  # nor does another run with the answers cached (other graders)
    edited = PROMPT + '  - {type: contains, value: "days"}\n'
    [regraded] = await run_eval(
        engine, prompt(edited), edited, "ds", strategies=[Strategy(samples=5)]
    )
    assert server.count == 0 and regraded.summary["called"] == 0
    assert regraded.summary["flaky"] == ["i3"]


def test_sample_keys() -> None:
    key = cache_key("openai", "m", {}, [{"role": "user", "content": "hi"}])
    assert draw_key(key, 0) == key
    assert len({draw_key(key, k) for k in range(5)}) == 5


async def test_a_cancelled_sampled_run_resumes_with_the_missing_samples(
    engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 4)
    server.responder = Varying(flaky)
    server.answer_first(7)  # then every request hangs
    strategy = [Strategy(samples=3)]
    task = asyncio.create_task(
        run_eval(engine, prompt(), PROMPT, "ds", concurrency=2, strategies=strategy)
    )
    while sum(1 for r in server.log() if r.status == 200) < 7 or server.count < 9:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM response_cache")).scalar() == 7
        assert conn.execute(text("SELECT status FROM eval_runs")).scalar() == "cancelled"

    server.reset()
    server.responder = Varying(flaky)
    [outcome] = await run_eval(engine, prompt(), PROMPT, "ds", concurrency=2, strategies=strategy)
    assert outcome.status == "done" and outcome.resumed
    assert server.count == 12 - 7  # only the samples never answered
    assert outcome.summary["n"] == 4 and outcome.summary["samples"] == 3


CRITIQUE = {"problems": ["invents a 90-day return policy"], "advice": "say 30 days"}


def critiquing(body: dict[str, Any]) -> Any:
    system = body.get("system") or body["messages"][0].get("content") or ""
    if isinstance(system, str) and system.startswith(CRITIC_SYSTEM[:40]):
        return structured_answer(body, CRITIQUE)
    if last_user_text(body).startswith("A reviewer read your answer"):
        return GOOD
    return GOOD if number(body) % 2 == 0 else BAD


async def test_self_critique_drafts_critiques_and_revises(
    engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 2)
    server.responder = critiquing
    critic = "anthropic:claude-haiku-4-5"
    [run] = await run_eval(
        engine, prompt(), PROMPT, "ds", strategies=[parse_strategy(f"self-critique={critic}")]
    )
    log = server.log()
    assert [
        (r.path, r.model) for r in log if number(r.body) == 1 or "Question 1?" in json.dumps(r.body)
    ] == [
        ("/v1/chat/completions", "gpt-4o-mini"),  # the draft
        ("/v1/messages", "claude-haiku-4-5"),  # the critique
        ("/v1/chat/completions", "gpt-4o-mini"),  # the revision
    ]
    critique = next(
        r for r in log if r.path == "/v1/messages" and "Question 1?" in json.dumps(r.body)
    )
    assert critique.body["tool_choice"] == {"type": "tool", "name": "review"}
    assert critique.body["tools"][0]["input_schema"]["required"] == ["problems", "advice"]
    assert "Answer to review:\n" + BAD in last_user_text(critique.body)
    revision = [r for r in log if last_user_text(r.body).startswith("A reviewer read")]
    assert len(revision) == 2
    asked = last_user_text(revision[1].body)
    assert "- invents a 90-day return policy" in asked and "Advice: say 30 days" in asked
    assert [m["role"] for m in revision[1].body["messages"]] == [
        "system", "user", "assistant", "user",
    ]  # fmt: skip
    # the revision is graded: the draft of question 1 failed, its revision passes
    assert run.summary["pass_rate"] == 1.0 and run.summary["strategy"] == f"self-critique={critic}"
    [steps] = [s["steps"] for s in samples_of(engine, run.run_id)["i1"]]
    assert [s["step"] for s in steps] == ["draft", "critique", "revision"]
    assert steps[0]["output"]["content"] == BAD and steps[1]["answer"] == CRITIQUE
    row = {r["item_id"]: r for r in results(engine, run.run_id)}["i1"]
    assert orjson.loads(row["output"])["content"] == GOOD
    assert row["latency_ms"] == pytest.approx(sum(s["latency_ms"] for s in steps))
    assert row["input_tokens"] == sum(s["input_tokens"] for s in steps)
    assert row["cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in steps))

    server.reset()  # every step is cached
    await run_eval(
        engine, prompt(), PROMPT, "ds", strategies=[parse_strategy(f"self-critique={critic}")]
    )
    assert server.count == 0


def picking(body: dict[str, Any], i: int) -> Any:
    system = body["messages"][0].get("content") or ""
    if system.startswith(JUDGE_SYSTEM[:40]):
        shown = last_user_text(body)
        found = re.findall(r"\[(\d+)\]\n([^\n]*)", shown)
        best = next(int(n) for n, answer in found if "30 days" in answer)
        return structured_answer(body, {"best": best, "reason": "the real policy"})
    if number(body) == 0:
        return GOOD  # the same every time: no judge needed
    return [BAD, GOOD, "Returns within 90 days!"][i % 3]


async def test_best_of_asks_a_judge_to_pick(
    engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 3)
    server.responder = Varying(picking)
    [run] = await run_eval(
        engine, prompt(), PROMPT, "ds", strategies=[parse_strategy("best-of=3@gpt-4o")]
    )
    judged = [r for r in server.log() if r.model == "gpt-4o"]
    assert len(judged) == 2  # question 0's three answers were the same: no judge
    assert server.count == 3 * 3 + 2
    schema = judged[0].body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["best"]["enum"] == [1, 2, 3]
    assert run.summary["pass_rate"] == 1.0
    kept = samples_of(engine, run.run_id)
    assert [s["step"] for s in kept["i1"][0]["steps"]] == [
        "candidate 1", "candidate 2", "candidate 3", "judge",
    ]  # fmt: skip
    steps = kept["i1"][0]["steps"]
    assert kept["i1"][0]["latency_ms"] == pytest.approx(
        max(s["latency_ms"] for s in steps[:3]) + steps[3]["latency_ms"]
    )
    assert [s["step"] for s in kept["i0"][0]["steps"]] == [
        "candidate 1",
        "candidate 2",
        "candidate 3",
    ]


def by_model(body: dict[str, Any]) -> Any:
    system = (body.get("messages") or [{}])[0].get("content") or ""
    if isinstance(system, str) and system.startswith(JUDGE_SYSTEM[:40]):
        return structured_answer(body, {"best": 1, "reason": "first"})
    return {
        "gpt-4o-mini": BAD,
        "gpt-4o": GOOD,
        "claude-haiku-4-5": "  returns within 30 DAYS ",
        "m1": "Yes.",
        "m2": "No.",
    }[body["model"]]


async def test_ensembles_vote_or_ask_a_judge(
    engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 2)
    server.responder = by_model
    vote = parse_strategy("ensemble=gpt-4o-mini,gpt-4o,anthropic:claude-haiku-4-5")
    tie = parse_strategy("ensemble=m2,m1")
    judged = parse_strategy("ensemble=gpt-4o-mini,gpt-4o@gpt-4o")
    runs = await run_eval(
        engine, prompt(), PROMPT, "ds", models=["gpt-4o", "gpt-4o-mini"],
        strategies=[vote, tie, judged],
    )  # fmt: skip
    assert [(o.provider, o.model) for o in runs] == [
        ("openai", "gpt-4o-mini+gpt-4o+anthropic:claude-haiku-4-5"),
        ("openai", "m2+m1"),
        ("openai", "gpt-4o-mini+gpt-4o"),
    ]  # an ensemble runs once, whatever the -m models
    outputs = {
        o.model: orjson.loads(results(engine, o.run_id)[0]["output"])["content"] for o in runs
    }
    # two of three say 30 days (normalised: case, spaces, end punctuation): gpt-4o's text wins
    assert outputs["gpt-4o-mini+gpt-4o+anthropic:claude-haiku-4-5"] == GOOD
    assert outputs["m2+m1"] == "No."  # a tie goes to the first model listed
    assert outputs["gpt-4o-mini+gpt-4o"] == BAD  # the judge picked candidate 1
    assert [o.summary["pass_rate"] for o in runs] == [1.0, 1.0, 0.0]
    steps = samples_of(engine, runs[0].run_id)["i0"][0]["steps"]
    assert [(s["step"], s["model"]) for s in steps] == [
        ("model 1", "gpt-4o-mini"), ("model 2", "gpt-4o"), ("model 3", "claude-haiku-4-5"),
    ]  # fmt: skip
    # gpt-4o answered each question once (both ensembles share the answer) and judged twice
    assert sum(1 for r in server.log() if r.model == "gpt-4o") == 2 + 2


def test_cli_samples_and_the_models_by_strategies_table(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 4)
    server.responder = Varying(flaky)
    runner = CliRunner()
    base = ["--workspace", str(ws), "eval", "support", "-d", "ds"]

    out = runner.invoke(app, [*base, "--samples", "5", "--json"])
    assert out.exit_code == 0, out.output
    [run] = orjson.loads(out.stdout)["runs"]
    summary = run["summary"]
    assert summary["pass@1"] == pytest.approx(0.65) and summary["pass@5"] == 0.75
    assert summary["pass^5"] == 0.5 and summary["flaky"] == ["i3"]
    assert run["comparison"]["pass@1"] == pytest.approx(0.65)
    [case] = [c for c in run["cases"] if c["item_id"] == "i3"]
    assert case["samples"] == {
        "n": 5, "passed": 3, "pass@1": 0.6, "pass^5": 0.0, "consistency": 0.6, "flaky": True,
    }  # fmt: skip

    shown = runner.invoke(app, [*base, "--samples", "5"])
    assert shown.exit_code == 0, shown.output
    assert (
        "gpt-4o-mini · samples=5  pass rate 75% (no baseline) · pass@1 65% · pass@5 75% · pass^5 50% · 1 flaky"
        in shown.stdout
    )
    assert "flaky: i3 (3 of 5 passed · pass@1 60% · pass^5 0% · consistency 60%)" in shown.stdout

    table = runner.invoke(
        app,
        [*base, "-m", "gpt-4o-mini", "-m", "gpt-4o", "-s", "single", "-s", "samples=5", "--json"],
    )
    assert table.exit_code == 0, table.output
    rows = orjson.loads(table.stdout)["table"]
    assert [(r["model"], r["strategy"], r["quality_kind"]) for r in rows] == [
        ("gpt-4o-mini", "single", "pass rate"),
        ("gpt-4o", "single", "pass rate"),
        ("gpt-4o-mini", "samples=5", "pass@1"),
        ("gpt-4o", "samples=5", "pass@1"),
    ]
    assert set(rows[0]) == {
        "model", "strategy", "cases", "quality", "quality_kind", "ci_low", "ci_high", "p50_ms",
        "p95_ms", "cost_per_1000", "pareto", "run_id", "provider",
    }  # fmt: skip
    assert rows[2]["quality"] == pytest.approx(0.65) and rows[2]["cases"] == 4
    assert all(r["cost_per_1000"] > 0 and r["p95_ms"] >= r["p50_ms"] > 0 for r in rows)
    assert any(r["pareto"] for r in rows)

    text_ = runner.invoke(
        app, [*base, "-m", "gpt-4o-mini", "-m", "gpt-4o", "-s", "single", "-s", "samples=5"]
    )
    assert text_.exit_code == 0, text_.output
    lines = text_.stdout.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.startswith("model ") and "95% CI" in line
    )
    assert lines[header].split()[:3] == ["model", "strategy", "pass"]
    assert "65% (pass@1)" in lines[header + 3] and "Wilson" in lines[header + 5]

    mixed = runner.invoke(app, [*base, "-s", "single", "--samples", "3"])
    assert mixed.exit_code == 2 and "--strategy takes the whole strategy" in mixed.stderr
    bad = runner.invoke(app, [*base, "-s", "best-of=1"])
    assert bad.exit_code == 2 and "best-of=N with N from 2 to 20" in bad.stderr
    both = runner.invoke(app, [*base, "--self-critique", "--best-of", "3"])
    assert both.exit_code == 2 and "choose one way to make an answer" in both.stderr


def test_prompt_file_strategy(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 4)
    server.responder = Varying(flaky)
    (ws / "prompts" / "support.yaml").write_text(PROMPT + "samples: 5\n")
    out = CliRunner().invoke(app, ["--workspace", str(ws), "eval", "support", "-d", "ds", "--json"])
    assert out.exit_code == 0, out.output
    [run] = orjson.loads(out.stdout)["runs"]
    assert run["summary"]["strategy"] == "samples=5" and server.count == 20
    (ws / "prompts" / "support.yaml").write_text(PROMPT + "best_of: {n: 1}\n")
    bad = CliRunner().invoke(app, ["--workspace", str(ws), "eval", "support", "-d", "ds"])
    assert bad.exit_code == 2
    assert (
        "support.yaml: line 8: best_of.n: Input should be greater than or equal to 2" in bad.stderr
    )


def test_a_killed_sampled_cli_run_calls_only_the_answers_it_lacks(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.integration.test_runner import REPO

    make_dataset(engine, tmp_path, 4)
    server.responder = Varying(flaky)
    server.answer_first(6)
    command = [
        sys.executable, "-c", "from reviewer.cli import main; main()", "--workspace", str(ws),
        "eval", "support", "-d", "ds", "--samples", "3", "--concurrency", "2",
    ]  # fmt: skip
    child = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 6:  # the six answers are committed to the cache (every 0.2 s)
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM response_cache")).scalar_one()
    finally:
        child.kill()
        child.wait()

    server.reset()
    server.responder = Varying(flaky)
    out = CliRunner().invoke(
        app, ["--workspace", str(ws), "eval", "support", "-d", "ds", "--samples", "3", "--json"]
    )
    assert out.exit_code == 0, out.output
    [run] = orjson.loads(out.stdout)["runs"]
    assert run["resumed"] is True and server.count == 12 - 6
    assert run["summary"]["n"] == 4 and run["summary"]["called"] == 6


async def test_samples_on_postgres(pg_engine: Engine, tmp_path: Path, server: FakeLLM) -> None:  # noqa: F811
    await test_samples_report_pass_at_k_and_flaky_cases(pg_engine, tmp_path, server)


async def test_self_critique_on_postgres(
    pg_engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    await test_self_critique_drafts_critiques_and_revises(pg_engine, tmp_path, server)


async def test_strategies_of_one_eval_share_their_first_answer(
    engine: Engine,
    tmp_path: Path,
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 6)
    server.responder = Varying(flaky)
    single, sampled = await run_eval(
        engine, prompt(), PROMPT, "ds", strategies=[Strategy(), Strategy(samples=3)]
    )
    # the plain run's answer is the sampled run's first, asked once whenever each needs it
    assert server.count == 6 * 3
    assert single.summary["called"] + sampled.summary["called"] == 18
