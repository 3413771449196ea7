"""`reviewer eval` against the fake server: when only the graders changed, the baseline's stored
outputs are regraded (no model call) and the summary says so; judge answers that cannot be read
are counted once in the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from reviewer.cli import app
from tests.fake_llm import FakeLLM, last_user_text
from tests.integration.test_runner import (  # noqa: F401  (server, ws: fixtures)
    PROMPT,
    make_dataset,
    policy_answer,
    server,
    ws,
)


def eval_text(root: Path) -> str:
    result = CliRunner().invoke(app, ["--workspace", str(root), "eval", "support", "-d", "ds"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_only_the_graders_changed_nothing_is_fixed(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 4)
    (ws / "prompts" / "support.yaml").write_text(PROMPT.replace("90 days", "never"))
    first = eval_text(ws)  # every answer passes "not never"
    assert "pass rate 100%" in first and server.count == 4

    (ws / "prompts" / "support.yaml").write_text(PROMPT)  # now "90 days" fails: odd questions
    second = eval_text(ws)
    assert server.count == 4  # the same outputs, from the cache; the baseline regraded offline
    assert "pass rate 50% → 50%" in second and "0 fixed · 0 regressed" in second
    assert second.count("graders changed since the baseline") == 1
    with engine.connect() as conn:
        graders = conn.execute(text("SELECT graders FROM eval_runs ORDER BY id")).scalars().all()
    assert len(graders) == 2 and graders[0] != graders[1]

    result = CliRunner().invoke(
        app, ["--workspace", str(ws), "eval", "support", "-d", "ds", "--json"]
    )
    doc = orjson.loads(result.stdout)
    assert doc["graders_changed"] is True
    assert doc["runs"][0]["comparison"]["graders_changed"] is True


JUDGED = PROMPT.replace(
    '  - {type: not_contains, value: "90 days"}\n',
    '  - {type: llm_judge, rubric: "States the 30-day policy.", model: gpt-4o}\n',
)


def garbled_judge(body: dict[str, Any]) -> Any:
    """A stand-in server that answers the judge in prose for every question but the first."""
    if body.get("model") == "gpt-4o":
        if "Question 0?" in last_user_text(body):
            return orjson.dumps({"pass": True, "score": 1, "reason": "states it"}).decode()
        return "PASS, looks fine to me"
    return policy_answer(body)


def test_unreadable_judge_answers_are_counted_in_the_summary(
    engine: Engine,
    tmp_path: Path,
    ws: Path,  # noqa: F811
    server: FakeLLM,  # noqa: F811
) -> None:
    make_dataset(engine, tmp_path, 4)
    server.responder = garbled_judge
    (ws / "prompts" / "support.yaml").write_text(JUDGED)
    out = eval_text(ws)
    assert out.count("judge answers unreadable: 3") == 1
    assert out.count("unreadable") == 1  # once, not per case
