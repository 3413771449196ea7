"""The eval runner and `reviewer eval` against the fake LLM server over real HTTP: results and
summaries, the response cache (checked by the server's request log), resuming a cancelled or
killed run, several models side by side, errors, judges, and the CLI's exit codes and JSON."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from reviewer.cli import app
from reviewer.datasets.store import import_items
from reviewer.evals.prompts import PromptFile, parse_prompt
from reviewer.evals.providers import RetryPolicy
from reviewer.evals.runner import RunOutcome, run_eval
from tests.fake_llm import Fail, FakeLLM, Hang, last_user_text

REPO = Path(__file__).resolve().parents[2]

PROMPT = """\
name: support
provider: openai
model: gpt-4o-mini
params: {temperature: 0.3}
system: You are the support assistant of a shoe shop.
graders:
  - {type: not_contains, value: "90 days"}
"""


def policy_answer(body: dict[str, Any]) -> Any:
    """Even questions get the right policy, odd ones an invented one."""
    question = last_user_text(body)
    number = int("".join(ch for ch in question if ch.isdigit()) or 0)
    return "Returns within 30 days." if number % 2 == 0 else "Returns within 90 days, no questions."


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with FakeLLM(responder=policy_answer) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-openai")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-secret")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_url)
        for var in ("ANTHROPIC_AUTH_TOKEN", "REVIEWER_JUDGE_MODEL", "REVIEWER_JUDGE_PROVIDER"):
            monkeypatch.delenv(var, raising=False)
        yield fake


@pytest.fixture
def ws(tmp_path: Path, engine: Engine) -> Path:
    """The workspace of the `engine` fixture's database, with a prompt file."""
    root = tmp_path / "ws"
    (root / "prompts").mkdir(parents=True)
    (root / "queues").mkdir()
    (root / "prompts" / "support.yaml").write_text(PROMPT)
    return root


def make_dataset(engine: Engine, folder: Path, n: int, name: str = "ds") -> list[str]:
    """Items i0.. asking `Question k?`; importing more later adds only the new ones."""
    lines = [
        {"id": f"i{i}", "messages": [{"role": "user", "content": f"Question {i}?"}]}
        for i in range(n)
    ]
    path = folder / f"{name}-{n}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    assert import_items(engine, name, path, by="ana").ok
    return [f"Question {i}?" for i in range(n)]


def prompt(text_: str = PROMPT) -> PromptFile:
    return parse_prompt(text_, "prompts/support.yaml")


class Clock:
    """A retry sleep that records its waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def results(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM eval_results WHERE run_id = :r ORDER BY item_id"), {"r": run_id}
        )
        return [dict(r) for r in rows.mappings()]


def run_row(engine: Engine, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT * FROM eval_runs WHERE id = :r"), {"r": run_id})
            .mappings()
            .one()
        )


def database_text(engine: Engine) -> str:
    """Every text value in every table (to look for secrets)."""
    out = []
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        for (table,) in list(tables):
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.extend(str(v) for v in row if v is not None)
    return "\n".join(out)


async def test_a_run_records_results_and_its_summary(
    engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    questions = make_dataset(engine, tmp_path, 10)
    seen: list[tuple[int, int]] = []
    [outcome] = await run_eval(
        engine, prompt(), PROMPT, "ds", progress=lambda d, t: seen.append((d, t))
    )
    assert outcome.status == "done" and not outcome.resumed
    s = outcome.summary
    assert (s["n"], s["passed"], s["graded"], s["pass_rate"], s["errors"]) == (10, 5, 10, 0.5, 0)
    assert s["called"] == 10 and s["cached"] == 0 and s["resumed"] == 0
    assert s["cost_usd"] > 0 and s["p95_ms"] >= s["p50_ms"] > 0
    assert seen[-1] == (10, 10) and [d for d, _t in seen] == list(range(1, 11))

    rows = results(engine, outcome.run_id)
    assert [r["item_id"] for r in rows] == sorted(f"i{i}" for i in range(10))
    by_item = {r["item_id"]: r for r in rows}
    good, bad = by_item["i2"], by_item["i3"]
    assert good["passed"] == 1 and bad["passed"] == 0
    assert orjson.loads(bad["output"]) == {
        "role": "assistant",
        "content": "Returns within 90 days, no questions.",
    }
    [grade] = orjson.loads(bad["grades"])
    assert grade["grader"] == 'not_contains "90 days"' and grade["passed"] is False
    assert good["input_tokens"] > 0 and good["cost_usd"] > 0 and good["cached"] == 0

    run = run_row(engine, outcome.run_id)
    assert run["status"] == "done" and run["model"] == "gpt-4o-mini"
    assert orjson.loads(run["summary"])["pass_rate"] == 0.5
    assert orjson.loads(run["params"]) == {"temperature": 0.3}

    log = server.log()
    assert sorted(last_user_text(r.body) for r in log) == sorted(questions)
    assert all(r.body["messages"][0]["content"].startswith("You are the support") for r in log)
    assert all(r.headers["authorization"] == "Bearer sk-test-secret-openai" for r in log)
    # the key went to the server, never into the database
    assert "sk-test-secret" not in database_text(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM prompt_versions")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM response_cache")).scalar() == 10


async def test_the_cache_means_no_model_is_called_again(
    engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    make_dataset(engine, tmp_path, 6)
    [first] = await run_eval(engine, prompt(), PROMPT, "ds")
    assert server.count == 6

    server.reset()  # nothing changed: the same run, nothing called
    [again] = await run_eval(engine, prompt(), PROMPT, "ds")
    assert server.count == 0
    assert again.run_id == first.run_id and again.resumed and again.summary["n"] == 6

    # other graders: another run, every answer from the cache, graded anew
    edited = PROMPT + '  - {type: contains, value: "days"}\n'
    [regraded] = await run_eval(engine, prompt(edited), edited, "ds")
    assert server.count == 0
    assert regraded.run_id != first.run_id and not regraded.resumed
    assert regraded.summary["cached"] == 6 and regraded.summary["called"] == 0
    assert regraded.summary["pass_rate"] == 0.5
    assert all(r["cached"] for r in results(engine, regraded.run_id))

    # a new dataset version with one more item: only that one is called
    make_dataset(engine, tmp_path, 7)
    [grown] = await run_eval(engine, prompt(), PROMPT, "ds")
    assert [last_user_text(r.body) for r in server.log()] == ["Question 6?"]
    assert grown.summary["n"] == 7 and grown.summary["cached"] == 6

    # --no-cache: a fresh run that calls the model for every item
    server.reset()
    [fresh] = await run_eval(engine, prompt(), PROMPT, "ds", cache=False)
    assert server.count == 7 and fresh.run_id not in (first.run_id, grown.run_id)
    assert fresh.summary["cached"] == 0


async def test_a_cancelled_run_started_again_calls_only_what_is_missing(
    engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    questions = make_dataset(engine, tmp_path, 12)
    server.answer_first(5)  # then every request hangs
    five = asyncio.Event()

    def progress(done: int, total: int) -> None:
        if done >= 5:
            five.set()

    task = asyncio.create_task(
        run_eval(engine, prompt(), PROMPT, "ds", concurrency=3, progress=progress, cache=False)
    )
    await asyncio.wait_for(five.wait(), 60)
    while server.count < 8:  # the hanging requests reached the server too
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with engine.connect() as conn:
        run_id, status = conn.execute(text("SELECT id, status FROM eval_runs")).one()
    assert status == "cancelled"
    kept = results(engine, run_id)
    assert len(kept) == 5 and all(r["error"] is None for r in kept)
    answered = {orjson.loads(r["output"])["content"] for r in kept}
    assert answered <= {"Returns within 30 days.", "Returns within 90 days, no questions."}

    server.reset()
    [outcome] = await run_eval(engine, prompt(), PROMPT, "ds", concurrency=3, cache=False)
    assert outcome.run_id == run_id and outcome.resumed and outcome.status == "done"
    done_before = {q for q in questions if f"i{q.split()[1][:-1]}" in {r["item_id"] for r in kept}}
    assert sorted(last_user_text(r.body) for r in server.log()) == sorted(
        set(questions) - done_before
    )
    assert server.count == 7
    assert outcome.summary["n"] == 12 and outcome.summary["resumed"] == 5
    assert run_row(engine, run_id)["status"] == "done"


def test_a_killed_cli_run_started_again_calls_only_what_is_missing(
    engine: Engine, tmp_path: Path, ws: Path, server: FakeLLM
) -> None:
    make_dataset(engine, tmp_path, 10)
    server.answer_first(4)
    command = [
        sys.executable, "-c", "from reviewer.cli import main; main()",
        "--workspace", str(ws), "eval", "support", "--dataset", "ds", "--concurrency", "2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 4:  # the four answers are committed (in batches, every 0.2 s)
            assert time.monotonic() < deadline, child.stderr.read1().decode()  # type: ignore[union-attr]
            assert child.poll() is None
            time.sleep(0.05)
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM eval_results")).scalar_one()
    finally:
        child.kill()
        child.wait()
    with engine.connect() as conn:
        run_id, status = conn.execute(text("SELECT id, status FROM eval_runs")).one()
    assert status == "running"  # killed: nobody marked it

    server.reset()
    result = CliRunner().invoke(
        app, ["--workspace", str(ws), "eval", "support", "--dataset", "ds", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    [run] = doc["runs"]
    assert run["run_id"] == run_id and run["resumed"] is True
    assert server.count == 6 and run["summary"]["called"] == 6
    assert run["summary"]["n"] == 10 and run["summary"]["resumed"] == 4


def test_ctrl_c_marks_the_run_cancelled_and_keeps_its_results(
    engine: Engine, tmp_path: Path, ws: Path, server: FakeLLM
) -> None:
    make_dataset(engine, tmp_path, 8)
    server.answer_first(3)
    command = [
        sys.executable, "-c", "from reviewer.cli import main; main()",
        "--workspace", str(ws), "eval", "support", "--dataset", "ds", "--concurrency", "2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 3:
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM eval_results")).scalar_one()
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130
    assert b"interrupted: the results so far are kept" in err and b"Traceback" not in err
    with engine.connect() as conn:
        run_id, status, summary = conn.execute(
            text("SELECT id, status, summary FROM eval_runs")
        ).one()
    assert status == "cancelled" and orjson.loads(summary)["n"] == 3
    assert len(results(engine, run_id)) == 3


async def test_echo_is_a_dry_run(engine: Engine, tmp_path: Path, server: FakeLLM) -> None:
    make_dataset(engine, tmp_path, 3)
    dry = "name: support\nprovider: echo\nsystem: Be brief.\ngraders: [{contains: Question}]\n"
    [outcome] = await run_eval(engine, prompt(dry), dry, "ds")
    assert (outcome.provider, outcome.model) == ("echo", "echo")
    assert outcome.summary["pass_rate"] == 1.0 and outcome.summary["cost_usd"] == 0.0
    output = orjson.loads(results(engine, outcome.run_id)[0]["output"])
    assert output["content"] == "system: Be brief.\n\nuser: Question 0?"
    assert server.count == 0


async def test_models_run_side_by_side_within_one_limit(
    engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    make_dataset(engine, tmp_path, 8)
    server.latency = 0.05
    outcomes = await run_eval(
        engine,
        prompt(),
        PROMPT,
        "ds",
        models=["gpt-4o-mini", "anthropic:claude-haiku-4-5"],
        concurrency=3,
    )
    assert [(o.provider, o.model) for o in outcomes] == [
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-haiku-4-5"),
    ]
    assert len({o.run_id for o in outcomes}) == 2
    for o in outcomes:
        assert o.status == "done" and o.summary["n"] == 8 and o.summary["pass_rate"] == 0.5
        assert o.summary["cost_usd"] > 0
    log = server.log()
    assert sum(r.path == "/v1/chat/completions" for r in log) == 8
    assert sum(r.path == "/v1/messages" for r in log) == 8
    assert {r.model for r in log if r.path == "/v1/messages"} == {"claude-haiku-4-5"}
    # side by side: the two models' requests are interleaved, never more than 3 in flight
    paths = [r.path for r in log]
    assert paths.index("/v1/messages") < len(paths) - 1 - paths[::-1].index("/v1/chat/completions")
    events = sorted(
        [(r.received_at, 1) for r in log] + [(r.answered_at or 0.0, -1) for r in log],
        key=lambda e: (e[0], e[1]),
    )
    in_flight = peak = 0
    for _at, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak <= 3


async def test_failed_calls_are_recorded_and_tried_again(
    engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    make_dataset(engine, tmp_path, 5)
    clock = Clock()
    retry = RetryPolicy(max_attempts=2, sleep=clock.sleep)
    server.push(Fail(500, message="boom"), Fail(500, message="boom"), Hang(), Hang())
    [outcome] = await run_eval(
        engine, prompt(), PROMPT, "ds", concurrency=1, retry=retry, timeout=0.3
    )
    rows = {r["item_id"]: r for r in results(engine, outcome.run_id)}
    assert rows["i0"]["error"] == "openai gpt-4o-mini: HTTP 500: boom (after 2 attempts)"
    assert rows["i1"]["error"] == "openai gpt-4o-mini: timed out after 0.3 s (after 2 attempts)"
    assert rows["i0"]["passed"] is None and rows["i0"]["output"] is None
    assert outcome.summary["errors"] == 2 and outcome.summary["n"] == 5
    # errors are counted apart: 2 of the 3 graded answers pass (i2, i4)
    assert (outcome.summary["passed"], outcome.summary["graded"]) == (2, 3)
    assert outcome.summary["pass_rate"] == pytest.approx(2 / 3)
    assert len(clock.waits) == 2 and server.count == 7

    server.reset()
    [again] = await run_eval(engine, prompt(), PROMPT, "ds", retry=retry)
    assert sorted(last_user_text(r.body) for r in server.log()) == ["Question 0?", "Question 1?"]
    assert again.run_id == outcome.run_id and again.summary["errors"] == 0
    assert again.summary["pass_rate"] == pytest.approx(0.6)


JUDGED = """\
name: support
provider: openai
model: gpt-4o-mini
system: You are the support assistant of a shoe shop.
graders:
  - {type: llm_judge, rubric: "States the 30-day return policy.", model: gpt-4o}
"""


def judging_answer(body: dict[str, Any]) -> Any:
    system = body["messages"][0]["content"]
    if system.startswith("You are a strict, fair evaluator"):
        passed = "30 days" in last_user_text(body)
        return orjson.dumps(
            {"pass": passed, "score": 0.9 if passed else 0.1, "reason": "r"}
        ).decode()
    return policy_answer(body)


async def test_judges_call_a_model_through_the_cache(
    engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    make_dataset(engine, tmp_path, 4)
    server.responder = judging_answer
    [outcome] = await run_eval(engine, prompt(JUDGED), JUDGED, "ds")
    assert outcome.summary["pass_rate"] == 0.5
    judges = [r for r in server.log() if r.model == "gpt-4o"]
    assert len(judges) == 4 and server.count == 8
    grades = orjson.loads(results(engine, outcome.run_id)[0]["grades"])
    assert grades[0]["grader"] == "llm_judge" and grades[0]["score"] == 0.9

    server.reset()  # other graders: a new run, the answers and the judgements from the cache
    edited = JUDGED + '  - {type: contains, value: "days"}\n'
    [regraded] = await run_eval(engine, prompt(edited), edited, "ds")
    assert server.count == 0 and regraded.summary["pass_rate"] == 0.5


async def test_render_errors_are_recorded_without_a_call(
    engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    make_dataset(engine, tmp_path, 3)
    templated = PROMPT + "messages:\n  - {role: user, content: 'Hi {{ customer }}'}\n"
    [outcome] = await run_eval(engine, prompt(templated), templated, "ds")
    assert server.count == 0 and outcome.summary["errors"] == 3
    error = results(engine, outcome.run_id)[0]["error"]
    assert "prompts/support.yaml" in error and "undefined variable 'customer'" in error


def test_cli_exit_codes_and_json(engine: Engine, tmp_path: Path, ws: Path, server: FakeLLM) -> None:
    make_dataset(engine, tmp_path, 6)
    runner = CliRunner()
    base = ["--workspace", str(ws), "eval"]

    ok = runner.invoke(app, [*base, "support", "--dataset", "ds", "--json"])
    assert ok.exit_code == 0, ok.output
    doc = orjson.loads(ok.stdout)
    assert doc["ok"] is True and doc["prompt"] == "support" and doc["dataset_version"] == 1
    [run] = doc["runs"]
    assert run["model"] == "gpt-4o-mini" and run["status"] == "done"
    assert run["summary"]["pass_rate"] == 0.5 and run["comparison"]["pass_rate"] == 0.5
    assert run["line"].startswith("pass rate 50%")
    assert len(run["cases"]) == 6
    assert {c["change"] for c in run["cases"]} == {"new"}  # no baseline yet

    below = runner.invoke(app, [*base, "support", "--dataset", "ds", "--fail-under", "0.9"])
    assert below.exit_code == 1, below.output
    assert "gpt-4o-mini" in below.stdout and "pass rate 50%" in below.stdout
    assert "gpt-4o-mini: pass rate below 90%" in below.stderr
    at = runner.invoke(app, [*base, "support", "--dataset", "ds", "--fail-under", "0.5"])
    assert at.exit_code == 0, at.output

    both = runner.invoke(
        app,
        [*base, str(ws / "prompts" / "support.yaml"), "--dataset", "ds", "--json",
         "-m", "gpt-4o", "-m", "anthropic:claude-haiku-4-5", "--fail-under", "0.4"],
    )  # fmt: skip
    assert both.exit_code == 0, both.output
    runs = orjson.loads(both.stdout)["runs"]
    assert [(r["provider"], r["model"]) for r in runs] == [
        ("openai", "gpt-4o"),
        ("anthropic", "claude-haiku-4-5"),
    ]

    unknown = runner.invoke(app, [*base, "nope", "--dataset", "ds"])
    assert unknown.exit_code == 2 and "no prompt named 'nope'" in unknown.stderr
    assert "prompts: support" in unknown.stderr
    missing = runner.invoke(app, [*base, "support", "--dataset", "other"])
    assert missing.exit_code == 2 and "no dataset named 'other'" in missing.stderr
    (ws / "prompts" / "bad.yaml").write_text("name: bad\nprovider: gemini\nmodel: x\n")
    bad = runner.invoke(app, [*base, "bad", "--dataset", "ds"])
    assert bad.exit_code == 2 and "bad.yaml: line 2: provider" in bad.stderr
    rate = runner.invoke(app, [*base, "support", "--dataset", "ds", "--fail-under", "90"])
    assert rate.exit_code == 2 and "--fail-under is a pass rate from 0 to 1" in rate.stderr


def test_cli_missing_api_key_is_a_clear_message(
    engine: Engine, tmp_path: Path, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dataset(engine, tmp_path, 2)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = CliRunner().invoke(app, ["--workspace", str(ws), "eval", "support", "-d", "ds"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "reviewer: OPENAI_API_KEY is not set: export it, or set base_url for a local server"
    )
    assert "Traceback" not in result.output
    with engine.connect() as conn:  # nothing was recorded
        assert conn.execute(text("SELECT count(*) FROM eval_runs")).scalar() == 0


def test_outcome_to_dict() -> None:
    outcome = RunOutcome(1, "echo", "echo", "done", False, {"n": 0})
    assert outcome.to_dict() == {
        "run_id": 1, "provider": "echo", "model": "echo", "status": "done", "resumed": False,
        "summary": {"n": 0},
    }  # fmt: skip


async def test_cache_on_postgres(pg_engine: Engine, tmp_path: Path, server: FakeLLM) -> None:
    assert pg_engine.dialect.name == "postgresql"
    await test_the_cache_means_no_model_is_called_again(pg_engine, tmp_path, server)


async def test_resume_on_postgres(pg_engine: Engine, tmp_path: Path, server: FakeLLM) -> None:
    await test_a_cancelled_run_started_again_calls_only_what_is_missing(pg_engine, tmp_path, server)


async def test_errors_and_retries_on_postgres(
    pg_engine: Engine, tmp_path: Path, server: FakeLLM
) -> None:
    await test_failed_calls_are_recorded_and_tried_again(pg_engine, tmp_path, server)
